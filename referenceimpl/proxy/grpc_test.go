package proxy

import (
	"context"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"gamma-conformance/referenceimpl/meshconfig"
)

// grpcBackend runs a real grpc-go server (h2c) with the health service and,
// for any other method, a handler that sleeps for the "sleep" metadata
// value, then answers with a trailer and status ABORTED.
func grpcBackend(t *testing.T) (*health.Server, string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := health.NewServer()
	s := grpc.NewServer(grpc.UnknownServiceHandler(func(_ any, stream grpc.ServerStream) error {
		md, _ := metadata.FromIncomingContext(stream.Context())
		if v := md.Get("sleep"); len(v) > 0 {
			d, _ := time.ParseDuration(v[0])
			select {
			case <-time.After(d):
			case <-stream.Context().Done():
			}
		}
		stream.SetTrailer(metadata.Pairs("x-trailer", "from-backend"))
		return status.Error(codes.Aborted, "as asked")
	}))
	healthpb.RegisterHealthServer(s, hs)
	go s.Serve(l)
	t.Cleanup(s.Stop)
	return hs, l.Addr().String()
}

func TestGRPC(t *testing.T) {
	hs, addr := grpcBackend(t)
	h := newHarness(t, "")
	grpcRule := func(name string, bs ...meshconfig.Backend) meshconfig.HTTPRule {
		r := rule(name, bs...)
		r.Route.Kind = "GRPCRoute"
		return r
	}
	slow := grpcRule("slow", backend("v1", 1, addr))
	slow.Timeouts.Request = 100 * time.Millisecond
	tbl := table(vip, 7070, &meshconfig.HTTPTable{
		Rules: []meshconfig.HTTPRule{
			grpcRule("health", backend("v1", 1, addr)),
			grpcRule("test", backend("v1", 1, addr)),
			grpcRule("invalid", meshconfig.Backend{Name: "missing", Weight: 1, Invalid: true}),
			grpcRule("empty", backend("empty", 1)),
			slow,
		},
		Matches: []meshconfig.HTTPMatch{prefix(0, "/grpc.health.v1.Health"), prefix(1, "/test.Echo"), prefix(2, "/test.Invalid"),
			prefix(3, "/test.Empty"), prefix(4, "/test.Slow")},
	})
	tbl.Protocol = meshconfig.ProtocolGRPC
	h.apply(&meshconfig.Snapshot{Version: 1, Tables: []meshconfig.Table{tbl}})

	conn, err := grpc.NewClient("passthrough:///"+vip+":7070",
		grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) { return h.dial(ctx, "tcp", addr) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	hc := healthpb.NewHealthClient(conn)

	if r, err := hc.Check(ctx, &healthpb.HealthCheckRequest{}); err != nil || r.Status != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("unary Check through the proxy: %v, %v", r, err)
	}
	if _, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: "unknown"}); status.Code(err) != codes.NotFound {
		t.Errorf("backend status from trailers: got %v, want NotFound", err)
	}

	// Server streaming: each update must arrive while the stream is open.
	hs.SetServingStatus("svc", healthpb.HealthCheckResponse_SERVING)
	w, err := hc.Watch(ctx, &healthpb.HealthCheckRequest{Service: "svc"})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []healthpb.HealthCheckResponse_ServingStatus{healthpb.HealthCheckResponse_SERVING, healthpb.HealthCheckResponse_NOT_SERVING, healthpb.HealthCheckResponse_SERVING} {
		if i == 1 {
			hs.SetServingStatus("svc", healthpb.HealthCheckResponse_NOT_SERVING)
		} else if i == 2 {
			hs.SetServingStatus("svc", healthpb.HealthCheckResponse_SERVING)
		}
		m, err := w.Recv()
		if err != nil || m.Status != want {
			t.Fatalf("stream message %d: got %v, %v; want %v", i, m, err, want)
		}
	}

	var trailer metadata.MD
	err = conn.Invoke(ctx, "/test.Echo/Trailer", &emptypb.Empty{}, &emptypb.Empty{}, grpc.Trailer(&trailer))
	if status.Code(err) != codes.Aborted || len(trailer.Get("x-trailer")) != 1 || trailer.Get("x-trailer")[0] != "from-backend" {
		t.Errorf("trailers: got %v and %v, want Aborted and x-trailer=from-backend", err, trailer)
	}

	for method, want := range map[string]codes.Code{
		"/test.Nomatch/M": codes.Unimplemented,
		"/test.Invalid/M": codes.Unavailable,
		"/test.Empty/M":   codes.Unavailable,
		"/test.Slow/M":    codes.DeadlineExceeded,
	} {
		mctx := metadata.AppendToOutgoingContext(ctx, "sleep", "5s")
		err := conn.Invoke(mctx, method, &emptypb.Empty{}, &emptypb.Empty{})
		if status.Code(err) != want {
			t.Errorf("%s: got %v, want %v", method, err, want)
		}
	}
}
