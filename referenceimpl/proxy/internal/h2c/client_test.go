package h2c

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// clTestServer starts a net/http server that speaks only h2c, after
// configure (if any) has set it up; it records its connections' states.
func clTestServer(t testing.TB, h http.Handler, configure ...func(*http.Server)) (*httptest.Server, *clConnStates) {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	var ps http.Protocols
	ps.SetUnencryptedHTTP2(true)
	srv.Config.Protocols = &ps
	for _, c := range configure {
		c(srv.Config)
	}
	states := &clConnStates{closed: make(chan struct{}, 1024)}
	srv.Config.ConnState = states.record
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, states
}

type clConnStates struct {
	opened atomic.Int32
	closed chan struct{}
}

func (c *clConnStates) record(_ net.Conn, s http.ConnState) {
	switch s {
	case http.StateNew:
		c.opened.Add(1)
	case http.StateClosed, http.StateHijacked:
		select {
		case c.closed <- struct{}{}:
		default:
		}
	}
}

// waitClosed waits for the server to see a connection close.
func (c *clConnStates) waitClosed(t *testing.T, within time.Duration) {
	t.Helper()
	select {
	case <-c.closed:
	case <-time.After(within):
		t.Fatalf("the server saw no connection close within %v", within)
	}
}

// clTestTransport returns a Transport dialing TCP, and its dial count.
func clTestTransport(t testing.TB) (*Transport, *atomic.Int32) {
	var dials atomic.Int32
	var d net.Dialer
	tr := &Transport{Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		return d.DialContext(ctx, network, addr)
	}}
	t.Cleanup(tr.CloseIdleConnections)
	return tr, &dials
}

func clGet(t *testing.T, tr http.RoundTripper, url string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return clDo(t, tr, req)
}

// clDo sends req and reads the whole response body; any error fails t.
func clDo(t *testing.T, tr http.RoundTripper, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func TestClientGET(t *testing.T) {
	srv, _ := clTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("X-Multi", "a")
		w.Header().Add("X-Multi", "b")
		w.Header().Set("X-Te", r.Header.Get("Te"))
		// A request whose HEADERS ended the stream has ContentLength 0;
		// with a separate empty DATA frame it would be -1.
		fmt.Fprintf(w, "%s %s %d %s %s %s", r.Proto, r.Method, r.ContentLength, r.Host, r.URL.RequestURI(), r.Header.Get("X-Test"))
	}))
	tr, dials := clTestTransport(t)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/p/a?q=1", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = "example.test"
	req.Header.Set("X-Test", "v")
	// Connection-specific headers would make the server reset the stream.
	req.Header.Set("Connection", "keep-alive")
	req.Header.Set("Keep-Alive", "timeout=5")
	req.Header.Set("Proxy-Connection", "keep-alive")
	req.Header.Set("Upgrade", "h2c")
	req.Header.Set("Transfer-Encoding", "chunked")
	req.Header.Set("Te", "trailers")
	for range 3 {
		resp, b := clDo(t, tr, req)
		if want := "HTTP/2.0 GET 0 example.test /p/a?q=1 v"; b != want {
			t.Errorf("body %q, want %q", b, want)
		}
		if resp.StatusCode != 200 || resp.Status != "200 OK" || resp.Proto != "HTTP/2.0" || resp.ProtoMajor != 2 || resp.ProtoMinor != 0 {
			t.Errorf("status %d %q proto %q %d.%d", resp.StatusCode, resp.Status, resp.Proto, resp.ProtoMajor, resp.ProtoMinor)
		}
		if got := resp.Header["X-Multi"]; len(got) != 2 || got[0] != "a" || got[1] != "b" {
			t.Errorf("X-Multi %q, want [a b]", got)
		}
		if got := resp.Header.Get("X-Te"); got != "trailers" {
			t.Errorf("server saw Te %q, want trailers", got)
		}
		if resp.ContentLength != int64(len(b)) || resp.Request != req {
			t.Errorf("ContentLength %d for %d bytes, Request %p want %p", resp.ContentLength, len(b), resp.Request, req)
		}
	}
	if n := dials.Load(); n != 1 {
		t.Errorf("%d dials for 3 sequential requests, want 1", n)
	}
}

func TestClientNoContent(t *testing.T) {
	srv, _ := clTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	tr, _ := clTestTransport(t)
	resp, body := clGet(t, tr, srv.URL)
	if resp.StatusCode != 204 || resp.Status != "204 No Content" || resp.Body != http.NoBody || resp.ContentLength != 0 || body != "" {
		t.Errorf("status %q body %T %q ContentLength %d", resp.Status, resp.Body, body, resp.ContentLength)
	}
}

func clRandom(n int) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{1})
	r.Read(b)
	return b
}

// clReader hides the type of its reader, so that a request built on it
// has an unknown length.
type clReader struct{ r io.Reader }

func (r clReader) Read(p []byte) (int, error) { return r.r.Read(p) }

func TestClientPOSTLarge(t *testing.T) {
	const size = 10 << 20
	srv, _ := clTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Header().Set("X-Request-Length", strconv.FormatInt(r.ContentLength, 10))
		// Reversed, so that an echo of the wrong bytes shows.
		for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
			b[i], b[j] = b[j], b[i]
		}
		w.Write(b)
	}))
	tr, dials := clTestTransport(t)
	data := clRandom(size)
	want := bytes.Clone(data)
	for i, j := 0, len(want)-1; i < j; i, j = i+1, j-1 {
		want[i], want[j] = want[j], want[i]
	}
	// Without flow control credit, the body would stall until this.
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	for _, tc := range []struct {
		name string
		body io.Reader
		clen string
	}{
		{"known length", bytes.NewReader(data), strconv.Itoa(size)},
		{"unknown length", clReader{bytes.NewReader(data)}, "-1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL, tc.body)
			if err != nil {
				t.Fatal(err)
			}
			resp, got := clDo(t, tr, req)
			if resp.StatusCode != 200 || resp.Header.Get("X-Request-Length") != tc.clen {
				t.Fatalf("status %d, server saw ContentLength %q, want %s", resp.StatusCode, resp.Header.Get("X-Request-Length"), tc.clen)
			}
			if got != string(want) {
				t.Fatalf("response body of %d bytes differs from the %d expected", len(got), len(want))
			}
		})
	}
	if n := dials.Load(); n != 1 {
		t.Errorf("%d dials, want 1", n)
	}
}

func TestClientResponseTrailers(t *testing.T) {
	srv, _ := clTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "X-Declared")
		io.WriteString(w, "body")
		w.(http.Flusher).Flush()
		w.Header().Add("X-Declared", "d1")
		w.Header().Add("X-Declared", "d2")
		w.Header().Set(http.TrailerPrefix+"X-Undeclared", "u")
	}))
	tr, _ := clTestTransport(t)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL, nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if v, ok := resp.Trailer["X-Declared"]; !ok || v != nil || len(resp.Trailer) != 1 {
		t.Errorf("Trailer before the body %v, want only X-Declared with no value", resp.Trailer)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil || string(b) != "body" {
		t.Fatalf("body %q, %v", b, err)
	}
	if got := resp.Trailer["X-Declared"]; len(got) != 2 || got[0] != "d1" || got[1] != "d2" {
		t.Errorf("X-Declared trailer %q, want [d1 d2]", got)
	}
	if got := resp.Trailer.Get("X-Undeclared"); got != "u" {
		t.Errorf("X-Undeclared trailer %q, want u", got)
	}
}

// clTrailerBody sets a request trailer when it reaches its end, as a
// proxy copying a request does.
type clTrailerBody struct {
	r       io.Reader
	trailer http.Header
}

func (b *clTrailerBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err == io.EOF {
		b.trailer.Set("X-Req-Trailer", "at-eof")
	}
	return n, err
}

func (b *clTrailerBody) Close() error { return nil }

func TestClientRequestTrailers(t *testing.T) {
	srv, _ := clTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, declared := r.Trailer["X-Req-Trailer"]
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		fmt.Fprintf(w, "%s declared=%v trailer=%q", b, declared, r.Trailer.Get("X-Req-Trailer"))
	}))
	tr, _ := clTestTransport(t)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL, nil)
	req.Trailer = http.Header{"X-Req-Trailer": nil}
	req.Body = &clTrailerBody{r: strings.NewReader("payload"), trailer: req.Trailer}
	req.ContentLength = -1
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if want := `payload declared=true trailer="at-eof"`; string(b) != want {
		t.Errorf("server answered %q, want %q", b, want)
	}
}

// clFailingBody fails after its first bytes, once the server has them.
type clFailingBody struct {
	sent bool
	read <-chan struct{}
	err  error
}

func (b *clFailingBody) Read(p []byte) (int, error) {
	if !b.sent {
		b.sent = true
		return copy(p, "partial"), nil
	}
	select {
	case <-b.read:
	case <-time.After(5 * time.Second):
	}
	return 0, b.err
}

func TestClientRequestBodyError(t *testing.T) {
	serverErr := make(chan error, 1)
	read := make(chan struct{})
	srv, _ := clTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/fail" {
			b := make([]byte, len("partial"))
			if _, err := io.ReadFull(r.Body, b); err != nil {
				serverErr <- err
				return
			}
			close(read)
		}
		_, err := io.ReadAll(r.Body)
		serverErr <- err
	}))
	tr, _ := clTestTransport(t)
	errBody := errors.New("body source failed")
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+"/fail", &clFailingBody{read: read, err: errBody})
	if _, err := tr.RoundTrip(req); !errors.Is(err, errBody) {
		t.Errorf("RoundTrip: %v, want %v", err, errBody)
	}
	select {
	case err := <-serverErr:
		if err == nil {
			t.Error("the server read the whole body without error")
		}
	case <-time.After(5 * time.Second):
		t.Error("the server handler did not finish")
	}

	// A body longer than its Content-Length does not go out whole.
	req, _ = http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL, strings.NewReader("0123456789"))
	req.ContentLength = 5
	if _, err := tr.RoundTrip(req); err == nil || !strings.Contains(err.Error(), "Content-Length") {
		t.Errorf("RoundTrip of a body longer than its Content-Length: %v", err)
	}
}

func TestClientConcurrent100(t *testing.T) {
	const n = 100
	var arrived atomic.Int32
	all := make(chan struct{})
	srv, states := clTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if arrived.Add(1) == n {
			close(all)
		}
		select {
		case <-all:
		case <-time.After(10 * time.Second):
			http.Error(w, "not all requests arrived together", 500)
			return
		}
		io.WriteString(w, r.URL.Query().Get("i"))
	}))
	tr, dials := clTestTransport(t)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/?i="+strconv.Itoa(i), nil)
			resp, err := tr.RoundTrip(req)
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if err != nil || resp.StatusCode != 200 || string(b) != strconv.Itoa(i) {
				errs <- fmt.Errorf("request %d: status %d body %q, %v", i, resp.StatusCode, b, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if d, o := dials.Load(), states.opened.Load(); d != 1 || o != 1 {
		t.Errorf("%d dials, %d server connections, want 1 and 1", d, o)
	}
}

// A stream whose body nobody reads does not hold up the others.
func TestClientUnreadBodyDoesNotBlock(t *testing.T) {
	srv, _ := clTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/big" {
			w.Write(make([]byte, 3<<20))
			return
		}
		io.WriteString(w, "small")
	}))
	tr, dials := clTestTransport(t)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/big", nil)
	big, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer big.Body.Close()
	time.Sleep(100 * time.Millisecond) // the big body arrives
	for range 5 {
		if _, body := clGet(t, tr, srv.URL+"/small"); body != "small" {
			t.Fatalf("body %q", body)
		}
	}
	n, err := io.Copy(io.Discard, big.Body)
	if err != nil || n != 3<<20 {
		t.Errorf("big body: %d bytes, %v", n, err)
	}
	if d := dials.Load(); d != 1 {
		t.Errorf("%d dials, want 1", d)
	}
}

func TestClientServerGoAway(t *testing.T) {
	srv, states := clTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}), func(s *http.Server) {
		// The server says GOAWAY to a connection idle this long, then
		// closes it.
		s.IdleTimeout = 100 * time.Millisecond
	})
	tr, dials := clTestTransport(t)
	if _, body := clGet(t, tr, srv.URL); body != "ok" {
		t.Fatalf("body %q", body)
	}
	states.waitClosed(t, 5*time.Second)
	if _, body := clGet(t, tr, srv.URL); body != "ok" {
		t.Fatalf("body %q after GOAWAY", body)
	}
	if d := dials.Load(); d != 2 {
		t.Errorf("%d dials, want 2", d)
	}
}

func TestClientCancel(t *testing.T) {
	handlerCanceled := make(chan string, 1)
	srv, _ := clTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/body" {
			w.Write(make([]byte, 1024))
			w.(http.Flusher).Flush()
		}
		select {
		case <-r.Context().Done():
			handlerCanceled <- r.URL.Path
		case <-time.After(10 * time.Second):
		}
	}))
	tr, _ := clTestTransport(t)
	waitHandler := func(path string) {
		t.Helper()
		select {
		case p := <-handlerCanceled:
			if p != path {
				t.Errorf("handler of %s canceled, want %s", p, path)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("the handler's context of %s was not canceled", path)
		}
	}

	t.Run("mid-body", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/body", nil)
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if _, err := io.ReadFull(resp.Body, make([]byte, 1024)); err != nil {
			t.Fatal(err)
		}
		cancel()
		_, err = resp.Body.Read(make([]byte, 10))
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Read after cancel: %v, want context.Canceled", err)
		}
		waitHandler("/body")
	})
	t.Run("before response", func(t *testing.T) {
		// Time enough for the request to reach the handler.
		ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/wait", nil)
		_, err := tr.RoundTrip(req)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("RoundTrip: %v, want context.DeadlineExceeded", err)
		}
		waitHandler("/wait")
	})
	t.Run("body close", func(t *testing.T) {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/body", nil)
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if _, err := resp.Body.Read(make([]byte, 10)); !errors.Is(err, errClientBodyClosed) {
			t.Errorf("Read after Close: %v, want %v", err, errClientBodyClosed)
		}
		waitHandler("/body")
	})
}

func TestClientEarlyHints(t *testing.T) {
	srv, _ := clTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Del("Link")
		io.WriteString(w, "final")
	}))
	tr, _ := clTestTransport(t)

	var codes []int
	var links []string
	trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
		codes = append(codes, code)
		links = append(links, h.Get("Link"))
		return nil
	}}
	req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(t.Context(), trace), http.MethodGet, srv.URL, nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "final" || resp.Header.Get("Link") != "" {
		t.Errorf("final response %d %q Link %q", resp.StatusCode, b, resp.Header.Get("Link"))
	}
	if len(codes) != 1 || codes[0] != 103 || links[0] != "</style.css>; rel=preload" {
		t.Errorf("1xx responses %v with Link %q, want one 103", codes, links)
	}

	errStop := errors.New("no hints, thanks")
	trace = &httptrace.ClientTrace{Got1xxResponse: func(int, textproto.MIMEHeader) error { return errStop }}
	req, _ = http.NewRequestWithContext(httptrace.WithClientTrace(t.Context(), trace), http.MethodGet, srv.URL, nil)
	if _, err := tr.RoundTrip(req); !errors.Is(err, errStop) {
		t.Errorf("RoundTrip with a failing Got1xxResponse: %v, want %v", err, errStop)
	}
}

func TestClientLargeHeaders(t *testing.T) {
	srv, _ := clTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Big", strings.Repeat("b", 64<<10))
		w.Header().Set("X-Request-Big", strconv.Itoa(len(r.Header.Get("X-Big"))))
	}))
	tr, _ := clTestTransport(t)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL, nil)
	req.Header.Set("X-Big", strings.Repeat("a", 64<<10))
	for range 2 {
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("X-Big"); got != strings.Repeat("b", 64<<10) {
			t.Errorf("response X-Big of %d bytes, want %d", len(got), 64<<10)
		}
		if got := resp.Header.Get("X-Request-Big"); got != strconv.Itoa(64<<10) {
			t.Errorf("server got a request X-Big of %s bytes, want %d", got, 64<<10)
		}
	}
}

func TestClientCloseIdleConnections(t *testing.T) {
	release := make(chan struct{})
	srv, states := clTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			<-release
		}
		io.WriteString(w, "ok")
	}))
	tr, dials := clTestTransport(t)
	clGet(t, tr, srv.URL)
	tr.CloseIdleConnections()
	states.waitClosed(t, 5*time.Second)

	// A connection with a stream in flight stays open.
	slow := make(chan string, 1)
	go func() {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/slow", nil)
		resp, err := tr.RoundTrip(req)
		if err != nil {
			slow <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		slow <- string(b)
	}()
	for states.opened.Load() != 2 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // the request reaches the handler
	tr.CloseIdleConnections()
	close(release)
	if got := <-slow; got != "ok" {
		t.Errorf("request in flight during CloseIdleConnections: %q", got)
	}
	if d := dials.Load(); d != 2 {
		t.Errorf("%d dials, want 2", d)
	}
	select {
	case <-states.closed:
		t.Error("CloseIdleConnections closed a busy connection")
	default:
	}
}

func TestClientIdleTimeout(t *testing.T) {
	srv, states := clTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	tr, dials := clTestTransport(t)
	tr.IdleTimeout = 150 * time.Millisecond
	clGet(t, tr, srv.URL)
	start := time.Now()
	clGet(t, tr, srv.URL) // reuses the connection, idle again from now
	states.waitClosed(t, 5*time.Second)
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Errorf("idle connection closed after %v, want about 150ms", d)
	}
	clGet(t, tr, srv.URL)
	if d := dials.Load(); d != 2 {
		t.Errorf("%d dials, want 2", d)
	}
}

func TestClientNoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	func() {
		srv, _ := clTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(w, r.Body)
		}))
		defer srv.Close()
		tr, _ := clTestTransport(t)
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Go(func() {
				var body io.Reader
				if i%2 == 0 {
					body = strings.NewReader("body")
				}
				req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL, body)
				resp, err := tr.RoundTrip(req)
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			})
		}
		wg.Wait()
		tr.CloseIdleConnections()
	}()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// --- gRPC ---

type clTestService struct {
	testgrpc.UnimplementedTestServiceServer
	release chan struct{} // StreamingOutputCall waits on it between messages
}

func (s *clTestService) UnaryCall(ctx context.Context, req *testgrpc.SimpleRequest) (*testgrpc.SimpleResponse, error) {
	if st := req.GetResponseStatus(); st.GetCode() != 0 {
		return nil, status.Error(codes.Code(st.GetCode()), st.GetMessage())
	}
	grpc.SetTrailer(ctx, metadata.Pairs("x-trailer", "t"))
	return &testgrpc.SimpleResponse{Payload: &testgrpc.Payload{Body: make([]byte, req.GetResponseSize())}}, nil
}

func (s *clTestService) StreamingOutputCall(req *testgrpc.StreamingOutputCallRequest, stream grpc.ServerStreamingServer[testgrpc.StreamingOutputCallResponse]) error {
	for i, p := range req.GetResponseParameters() {
		if i > 0 {
			select {
			case <-s.release:
			case <-stream.Context().Done():
				return stream.Context().Err()
			}
		}
		if err := stream.Send(&testgrpc.StreamingOutputCallResponse{Payload: &testgrpc.Payload{Body: make([]byte, p.GetSize())}}); err != nil {
			return err
		}
	}
	return nil
}

func (s *clTestService) FullDuplexCall(stream grpc.BidiStreamingServer[testgrpc.StreamingOutputCallRequest, testgrpc.StreamingOutputCallResponse]) error {
	for {
		req, err := stream.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := stream.Send(&testgrpc.StreamingOutputCallResponse{Payload: req.GetPayload()}); err != nil {
			return err
		}
	}
}

func clGRPCServer(t *testing.T) (*clTestService, string) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	svc := &clTestService{release: make(chan struct{})}
	s := grpc.NewServer()
	testgrpc.RegisterTestServiceServer(s, svc)
	go s.Serve(l)
	t.Cleanup(s.Stop)
	return svc, l.Addr().String()
}

func clGRPCMessage(t *testing.T, m proto.Message) []byte {
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return append(binary.BigEndian.AppendUint32([]byte{0}, uint32(len(b))), b...)
}

func clReadGRPCMessage(r io.Reader, m proto.Message) error {
	var h [5]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return err
	}
	b := make([]byte, binary.BigEndian.Uint32(h[1:]))
	if _, err := io.ReadFull(r, b); err != nil {
		return err
	}
	return proto.Unmarshal(b, m)
}

func clGRPCRequest(t *testing.T, ctx context.Context, addr, method string, body io.Reader) *http.Request {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/grpc.testing.TestService/"+method, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/grpc")
	req.Header.Set("Te", "trailers")
	return req
}

// clEOF checks that r is at its end.
func clEOF(t *testing.T, r io.Reader) {
	t.Helper()
	if n, err := r.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Fatalf("read %d bytes, %v at the end of the response", n, err)
	}
}

func TestClientGRPC(t *testing.T) {
	svc, addr := clGRPCServer(t)
	tr, dials := clTestTransport(t)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()

	t.Run("unary", func(t *testing.T) {
		msg := clGRPCMessage(t, &testgrpc.SimpleRequest{ResponseSize: 1000, Payload: &testgrpc.Payload{Body: make([]byte, 100)}})
		resp, err := tr.RoundTrip(clGRPCRequest(t, ctx, addr, "UnaryCall", bytes.NewReader(msg)))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out testgrpc.SimpleResponse
		if err := clReadGRPCMessage(resp.Body, &out); err != nil {
			t.Fatal(err)
		}
		if len(out.GetPayload().GetBody()) != 1000 {
			t.Errorf("payload of %d bytes, want 1000", len(out.GetPayload().GetBody()))
		}
		clEOF(t, resp.Body)
		if got, x := resp.Trailer.Get("Grpc-Status"), resp.Trailer.Get("X-Trailer"); got != "0" || x != "t" {
			t.Errorf("trailers %v, want grpc-status 0 and x-trailer t", resp.Trailer)
		}
	})
	t.Run("unary error", func(t *testing.T) {
		msg := clGRPCMessage(t, &testgrpc.SimpleRequest{ResponseStatus: &testgrpc.EchoStatus{Code: int32(codes.NotFound), Message: "nope"}})
		resp, err := tr.RoundTrip(clGRPCRequest(t, ctx, addr, "UnaryCall", bytes.NewReader(msg)))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		clEOF(t, resp.Body)
		// A trailers-only response: the status is in the header.
		if got, m := resp.Header.Get("Grpc-Status"), resp.Header.Get("Grpc-Message"); got != "5" || m != "nope" {
			t.Errorf("header %v, want grpc-status 5 and grpc-message nope", resp.Header)
		}
	})
	t.Run("server streaming", func(t *testing.T) {
		msg := clGRPCMessage(t, &testgrpc.StreamingOutputCallRequest{ResponseParameters: []*testgrpc.ResponseParameters{{Size: 10}, {Size: 20}}})
		resp, err := tr.RoundTrip(clGRPCRequest(t, ctx, addr, "StreamingOutputCall", bytes.NewReader(msg)))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out testgrpc.StreamingOutputCallResponse
		// The server sends the second message only once released.
		if err := clReadGRPCMessage(resp.Body, &out); err != nil || len(out.GetPayload().GetBody()) != 10 {
			t.Fatalf("first message: %d bytes, %v", len(out.GetPayload().GetBody()), err)
		}
		svc.release <- struct{}{}
		if err := clReadGRPCMessage(resp.Body, &out); err != nil || len(out.GetPayload().GetBody()) != 20 {
			t.Fatalf("second message: %d bytes, %v", len(out.GetPayload().GetBody()), err)
		}
		clEOF(t, resp.Body)
		if got := resp.Trailer.Get("Grpc-Status"); got != "0" {
			t.Errorf("grpc-status %q, want 0", got)
		}
	})
	t.Run("bidi streaming", func(t *testing.T) {
		pr, pw := io.Pipe()
		send := func(body string) {
			_, err := pw.Write(clGRPCMessage(t, &testgrpc.StreamingOutputCallRequest{Payload: &testgrpc.Payload{Body: []byte(body)}}))
			if err != nil {
				t.Error(err)
			}
		}
		go send("one")
		resp, err := tr.RoundTrip(clGRPCRequest(t, ctx, addr, "FullDuplexCall", pr))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out testgrpc.StreamingOutputCallResponse
		if err := clReadGRPCMessage(resp.Body, &out); err != nil || string(out.GetPayload().GetBody()) != "one" {
			t.Fatalf("first echo %q, %v", out.GetPayload().GetBody(), err)
		}
		send("two")
		if err := clReadGRPCMessage(resp.Body, &out); err != nil || string(out.GetPayload().GetBody()) != "two" {
			t.Fatalf("second echo %q, %v", out.GetPayload().GetBody(), err)
		}
		pw.Close()
		clEOF(t, resp.Body)
		if got := resp.Trailer.Get("Grpc-Status"); got != "0" {
			t.Errorf("grpc-status %q, want 0", got)
		}
	})
	if d := dials.Load(); d != 1 {
		t.Errorf("%d dials, want 1", d)
	}
}

// --- A hand-written server, for what net/http's cannot be made to do ---

// clRawServer accepts connections and runs handle on each, with the
// connection's index from 0; handle reports what it found wrong.
type clRawServer struct {
	addr string
	errs chan error
}

func clNewRawServer(t *testing.T, handle func(i int, rc *clRawConn) error) *clRawServer {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rs := &clRawServer{addr: l.Addr().String(), errs: make(chan error, 16)}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Go(func() {
		for i := 0; ; i++ {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() {
				defer c.Close()
				rc, err := clNewRawConn(c)
				if err == nil {
					err = handle(i, rc)
				}
				if err != nil {
					rs.errs <- fmt.Errorf("server connection %d: %w", i, err)
				}
			})
		}
	})
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
		close(rs.errs)
		for err := range rs.errs {
			t.Error(err)
		}
	})
	return rs
}

type clRawConn struct {
	c    net.Conn
	fr   *http2.Framer
	enc  *hpack.Encoder
	hbuf bytes.Buffer
}

func clNewRawConn(c net.Conn) (*clRawConn, error) {
	preface := make([]byte, len(http2.ClientPreface))
	if _, err := io.ReadFull(c, preface); err != nil || string(preface) != http2.ClientPreface {
		return nil, fmt.Errorf("preface %q, %v", preface, err)
	}
	rc := &clRawConn{c: c, fr: http2.NewFramer(c, c)}
	rc.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	rc.enc = hpack.NewEncoder(&rc.hbuf)
	return rc, nil
}

// next returns the next frame other than SETTINGS, WINDOW_UPDATE and
// PING, acknowledging SETTINGS.
func (rc *clRawConn) next() (http2.Frame, error) {
	for {
		f, err := rc.fr.ReadFrame()
		if err != nil {
			return nil, err
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				if err := rc.fr.WriteSettingsAck(); err != nil {
					return nil, err
				}
			}
			continue
		case *http2.WindowUpdateFrame, *http2.PingFrame:
			continue
		}
		return f, nil
	}
}

// request reads the next request header.
func (rc *clRawConn) request() (*http2.MetaHeadersFrame, error) {
	f, err := rc.next()
	if err != nil {
		return nil, err
	}
	h, ok := f.(*http2.MetaHeadersFrame)
	if !ok {
		return nil, fmt.Errorf("got %v, want HEADERS", f.Header())
	}
	return h, nil
}

// respond sends a response with body.
func (rc *clRawConn) respond(id uint32, status int, body string) error {
	rc.hbuf.Reset()
	rc.enc.WriteField(hpack.HeaderField{Name: ":status", Value: strconv.Itoa(status)})
	if err := rc.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: rc.hbuf.Bytes(), EndHeaders: true, EndStream: body == ""}); err != nil {
		return err
	}
	if body == "" {
		return nil
	}
	return rc.fr.WriteData(id, true, []byte(body))
}

// drain reads frames until the client closes the connection.
func (rc *clRawConn) drain() error {
	for {
		if _, err := rc.fr.ReadFrame(); err != nil {
			return nil
		}
	}
}

// readBody reads the request body of stream id up to END_STREAM.
func (rc *clRawConn) readBody(id uint32) (string, error) {
	var b strings.Builder
	for {
		f, err := rc.next()
		if err != nil {
			return "", err
		}
		d, ok := f.(*http2.DataFrame)
		if !ok || d.StreamID != id {
			return "", fmt.Errorf("got %v, want DATA on stream %d", f.Header(), id)
		}
		b.Write(d.Data())
		if d.StreamEnded() {
			return b.String(), nil
		}
	}
}

func TestClientRawEndStream(t *testing.T) {
	rs := clNewRawServer(t, func(_ int, rc *clRawConn) error {
		if err := rc.fr.WriteSettings(); err != nil {
			return err
		}
		for range 2 {
			h, err := rc.request()
			if err != nil {
				return err
			}
			method := h.PseudoValue("method")
			if method == "GET" != h.StreamEnded() {
				return fmt.Errorf("%s request: END_STREAM on HEADERS %v", method, h.StreamEnded())
			}
			body := ""
			if !h.StreamEnded() {
				// A body of known length ends the stream on its
				// last DATA frame.
				f, err := rc.next()
				if err != nil {
					return err
				}
				d, ok := f.(*http2.DataFrame)
				if !ok || !d.StreamEnded() {
					return fmt.Errorf("got %v, want DATA with END_STREAM", f.Header())
				}
				body = string(d.Data())
			}
			if err := rc.respond(h.StreamID, 200, method+":"+body); err != nil {
				return err
			}
		}
		return rc.drain()
	})
	tr, _ := clTestTransport(t)
	if _, body := clGet(t, tr, "http://"+rs.addr); body != "GET:" {
		t.Errorf("body %q", body)
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, "http://"+rs.addr, strings.NewReader("data"))
	if _, b := clDo(t, tr, req); b != "POST:data" {
		t.Errorf("body %q", b)
	}
}

// A request on a stream above a GOAWAY's last stream, or refused, goes
// again on a new connection, body included.
func TestClientRawRetry(t *testing.T) {
	for _, refuse := range []string{"GOAWAY", "REFUSED_STREAM"} {
		t.Run(refuse, func(t *testing.T) {
			rs := clNewRawServer(t, func(i int, rc *clRawConn) error {
				if err := rc.fr.WriteSettings(); err != nil {
					return err
				}
				h, err := rc.request()
				if err != nil {
					return err
				}
				if i == 0 {
					if refuse == "GOAWAY" {
						return rc.fr.WriteGoAway(0, http2.ErrCodeNo, nil)
					}
					if err := rc.fr.WriteRSTStream(h.StreamID, http2.ErrCodeRefusedStream); err != nil {
						return err
					}
					return rc.drain()
				}
				body, err := rc.readBody(h.StreamID)
				if err != nil {
					return err
				}
				if err := rc.respond(h.StreamID, 200, fmt.Sprintf("conn %d: %s", i, body)); err != nil {
					return err
				}
				return rc.drain()
			})
			tr, dials := clTestTransport(t)
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, "http://"+rs.addr, strings.NewReader("data"))
			if _, b := clDo(t, tr, req); b != "conn 1: data" || dials.Load() != 2 {
				t.Errorf("body %q after %d dials, want conn 1: data after 2", b, dials.Load())
			}
		})
	}
}

func TestClientRawPushPromise(t *testing.T) {
	goaway := make(chan http2.ErrCode, 1)
	rs := clNewRawServer(t, func(_ int, rc *clRawConn) error {
		if err := rc.fr.WriteSettings(); err != nil {
			return err
		}
		h, err := rc.request()
		if err != nil {
			return err
		}
		rc.hbuf.Reset()
		rc.enc.WriteField(hpack.HeaderField{Name: ":method", Value: "GET"})
		if err := rc.fr.WritePushPromise(http2.PushPromiseParam{StreamID: h.StreamID, PromiseID: 2, BlockFragment: rc.hbuf.Bytes(), EndHeaders: true}); err != nil {
			return err
		}
		for {
			f, err := rc.next()
			if err != nil {
				return fmt.Errorf("no GOAWAY: %w", err)
			}
			if g, ok := f.(*http2.GoAwayFrame); ok {
				goaway <- g.ErrCode
				return nil
			}
		}
	})
	tr, _ := clTestTransport(t)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+rs.addr, nil)
	if _, err := tr.RoundTrip(req); err == nil || !strings.Contains(err.Error(), "PROTOCOL_ERROR") {
		t.Errorf("RoundTrip: %v, want a PROTOCOL_ERROR", err)
	}
	select {
	case code := <-goaway:
		if code != http2.ErrCodeProtocol {
			t.Errorf("GOAWAY %v, want PROTOCOL_ERROR", code)
		}
	case <-time.After(5 * time.Second):
		t.Error("no GOAWAY")
	}
}

// The request body keeps within the server's windows and frame size.
func TestClientRawFlowControl(t *testing.T) {
	const window, size = 1000, 100_000
	rs := clNewRawServer(t, func(_ int, rc *clRawConn) error {
		if err := rc.fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: window}); err != nil {
			return err
		}
		// A first request, answered once the client acknowledged the
		// settings, makes the second one start under them.
		h, err := rc.request()
		if err != nil {
			return err
		}
		for {
			f, err := rc.fr.ReadFrame()
			if err != nil {
				return err
			}
			if s, ok := f.(*http2.SettingsFrame); ok && s.IsAck() {
				break
			}
		}
		if err := rc.respond(h.StreamID, 200, "warm"); err != nil {
			return err
		}
		if h, err = rc.request(); err != nil {
			return err
		}
		streamWin, connWin, got := int64(window), int64(65535), 0
		for {
			f, err := rc.next()
			if err != nil {
				return err
			}
			d, ok := f.(*http2.DataFrame)
			if !ok {
				return fmt.Errorf("got %v, want DATA", f.Header())
			}
			n := int64(len(d.Data()))
			if n > streamWin || n > connWin || n > 16384 {
				return fmt.Errorf("DATA of %d bytes with windows %d (stream) and %d (connection)", n, streamWin, connWin)
			}
			streamWin -= n
			connWin -= n
			got += int(n)
			if d.StreamEnded() {
				break
			}
			// Grant the credit back in small steps.
			if streamWin == 0 {
				rc.fr.WriteWindowUpdate(h.StreamID, window)
				rc.fr.WriteWindowUpdate(0, window)
				streamWin += window
				connWin += window
			}
		}
		if err := rc.respond(h.StreamID, 200, strconv.Itoa(got)); err != nil {
			return err
		}
		return rc.drain()
	})
	tr, _ := clTestTransport(t)
	if _, body := clGet(t, tr, "http://"+rs.addr); body != "warm" {
		t.Fatalf("body %q", body)
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, "http://"+rs.addr, bytes.NewReader(make([]byte, size)))
	if _, b := clDo(t, tr, req); b != strconv.Itoa(size) {
		t.Errorf("server got %s bytes, want %d", b, size)
	}
}

func BenchmarkClientGET(b *testing.B) {
	srv, _ := clTestServer(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello")
	}))
	h2c, _ := clTestTransport(b)
	var ps http.Protocols
	ps.SetUnencryptedHTTP2(true)
	std := &http.Transport{Protocols: &ps}
	b.Cleanup(std.CloseIdleConnections)
	for _, bc := range []struct {
		name string
		rt   http.RoundTripper
	}{{"h2c", h2c}, {"net-http", std}} {
		b.Run(bc.name, func(b *testing.B) {
			req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
			b.ReportAllocs()
			for b.Loop() {
				resp, err := bc.rt.RoundTrip(req)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.Copy(io.Discard, resp.Body); err != nil {
					b.Fatal(err)
				}
				resp.Body.Close()
			}
		})
	}
}
