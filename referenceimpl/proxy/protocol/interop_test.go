// Package protocol runs grpc-go's interop cases through the reference
// mesh's proxy, run standalone (gamma-proxy run --config-file) as a new
// user would: a black box on loopback with one route to a grpc-go interop
// server. make protocol runs it; its module is its own (see go.mod).
package protocol

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/interop"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
)

// snapshot is a meshconfig snapshot with one HTTP route, all paths, to
// the endpoint %s.
const snapshot = `{"version":1,"tables":[{"service":{"namespace":"ns","name":"svc"},"port":80,"vips":["10.96.0.10"],"protocol":"HTTP",
"http":{"rules":[{"route":{"kind":"GRPCRoute","namespace":"ns","name":"interop"},"index":0,"backends":[{"name":"interop","weight":1,"endpoints":["%s"]}],"timeouts":{}}],
"matches":[{"rule":0,"path":{"type":"PathPrefix","value":"/"}}]}}]}`

// startProxy builds gamma-proxy from the project (three directories up)
// and runs it standalone with a route to backend; it returns its address.
func startProxy(t *testing.T, backend string) string {
	dir := t.TempDir()
	bin := filepath.Join(dir, "gamma-proxy")
	build := exec.Command("go", "build", "-o", bin, "./cmd/gamma-proxy")
	build.Dir = "../../.."
	build.Env = append(os.Environ(), "GOWORK=off")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building gamma-proxy: %v\n%s", err, out)
	}
	cfg := filepath.Join(dir, "snapshot.json")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, snapshot, backend), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(bin, "run", "--config-file", cfg, "--outbound-port", fmt.Sprint(port), "--admin-addr", "127.0.0.1:0", "--ready-addr", "")
	// The proxy dies with the test binary, also when a failure ends it
	// (grpc-go's interop cases call log.Fatal) before any cleanup runs.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() })
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		if strings.Contains(sc.Text(), "running standalone") {
			go io.Copy(io.Discard, stderr)
			return fmt.Sprintf("127.0.0.1:%d", port)
		}
	}
	t.Fatalf("gamma-proxy did not start: %v", sc.Err())
	return ""
}

// TestGRPCInterop runs grpc-go's interop cases that need no credentials,
// load balancer or xDS (pick_first needs server IDs the plain interop
// server does not fill) through the proxy. A failing case ends the test
// binary (the interop package calls log.Fatal): the run fails all the same.
func TestGRPCInterop(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	testgrpc.RegisterTestServiceServer(srv, interop.NewTestServer())
	go srv.Serve(l)
	t.Cleanup(srv.Stop)
	cc, err := grpc.NewClient(startProxy(t, l.Addr().String()), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	tc := testgrpc.NewTestServiceClient(cc)
	cases := []struct {
		name string
		do   func(context.Context)
	}{
		{"empty_unary", func(ctx context.Context) { interop.DoEmptyUnaryCall(ctx, tc) }},
		{"large_unary", func(ctx context.Context) { interop.DoLargeUnaryCall(ctx, tc) }},
		{"client_streaming", func(ctx context.Context) { interop.DoClientStreaming(ctx, tc) }},
		{"server_streaming", func(ctx context.Context) { interop.DoServerStreaming(ctx, tc) }},
		{"ping_pong", func(ctx context.Context) { interop.DoPingPong(ctx, tc) }},
		{"empty_stream", func(ctx context.Context) { interop.DoEmptyStream(ctx, tc) }},
		{"timeout_on_sleeping_server", func(ctx context.Context) { interop.DoTimeoutOnSleepingServer(ctx, tc) }},
		{"cancel_after_begin", func(ctx context.Context) { interop.DoCancelAfterBegin(ctx, tc) }},
		{"cancel_after_first_response", func(ctx context.Context) { interop.DoCancelAfterFirstResponse(ctx, tc) }},
		{"custom_metadata", func(ctx context.Context) { interop.DoCustomMetadata(ctx, tc) }},
		{"status_code_and_message", func(ctx context.Context) { interop.DoStatusCodeAndMessage(ctx, tc) }},
		{"special_status_message", func(ctx context.Context) { interop.DoSpecialStatusMessage(ctx, tc) }},
		{"unimplemented_service", func(ctx context.Context) {
			interop.DoUnimplementedService(ctx, testgrpc.NewUnimplementedServiceClient(cc))
		}},
		{"unimplemented_method", func(ctx context.Context) { interop.DoUnimplementedMethod(ctx, cc) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			c.do(ctx)
		})
	}
	fmt.Printf("grpc_interop_cases=%d grpc_interop_passed=%d\n", len(cases), len(cases))
}
