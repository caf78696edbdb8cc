package h2c

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

type ctxKey struct{}

// serve runs Server{h} on a loopback listener as the proxy does (Sniff,
// then ServeConn); HTTP/1.1 connections get "h1" and are closed. It
// returns the address and a function that shuts the server down.
func serve(t *testing.T, h http.Handler) (string, context.CancelFunc) {
	t.Helper()
	return serveWith(t, &Server{Handler: h})
}

// serveServer is serve with a Server of the caller's.
func serveServer(t *testing.T, srv *Server) string {
	t.Helper()
	addr, _ := serveWith(t, srv)
	return addr
}

func serveWith(t *testing.T, srv *Server) (string, context.CancelFunc) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), ctxKey{}, "from the base context"))
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				h2, rc, err := Sniff(c, 5*time.Second)
				switch {
				case err != nil:
					c.Close()
				case h2:
					srv.ServeConn(ctx, rc)
				default:
					io.WriteString(rc, "h1")
					rc.Close()
				}
			})
		}
	})
	t.Cleanup(func() { cancel(); l.Close(); wg.Wait() })
	return l.Addr().String(), func() { cancel(); l.Close() }
}

// client is net/http's h2c client: the reference implementation.
func client(addr string) *http.Client {
	var ps http.Protocols
	ps.SetUnencryptedHTTP2(true)
	return &http.Client{Transport: &http.Transport{
		Protocols: &ps,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}}
}

func TestGet(t *testing.T) {
	addr, _ := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor != 2 || r.Method != "GET" || r.URL.Path != "/a/b" || r.URL.RawQuery != "q=1" || r.Host != "svc.example" {
			t.Errorf("request %s %s %q %v host %q", r.Proto, r.Method, r.URL.Path, r.URL.RawQuery, r.Host)
		}
		if got := r.Header.Get("X-Test"); got != "v1" {
			t.Errorf("X-Test = %q", got)
		}
		if got := r.Header.Get("Cookie"); got != "a=1; b=2" {
			t.Errorf("Cookie = %q, want the two cookies joined", got)
		}
		if got := r.Context().Value(ctxKey{}); got != "from the base context" {
			t.Errorf("request context value = %v", got)
		}
		w.Header().Set("X-Answer", "42")
		w.WriteHeader(http.StatusTeapot)
		io.WriteString(w, "short and stout")
	}))
	req, _ := http.NewRequest("GET", "http://svc.example/a/b?q=1", nil)
	req.Header.Set("X-Test", "v1")
	req.AddCookie(&http.Cookie{Name: "a", Value: "1"})
	req.AddCookie(&http.Cookie{Name: "b", Value: "2"})
	resp, err := client(addr).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusTeapot || resp.Header.Get("X-Answer") != "42" || string(body) != "short and stout" {
		t.Fatalf("got %d %v %q", resp.StatusCode, resp.Header, body)
	}
}

// A 10 MiB body each way is more than every flow control window.
func TestLargeBodiesBothWays(t *testing.T) {
	addr, _ := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(w, r.Body)
	}))
	src := make([]byte, 10<<20)
	rand.Read(src)
	resp, err := client(addr).Post("http://x/", "application/octet-stream", bytes.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || !bytes.Equal(got, src) {
		t.Fatalf("echoed %d bytes (%v), want the %d sent", len(got), err, len(src))
	}
}

func TestTrailers(t *testing.T) {
	addr, _ := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body)
		if got := r.Trailer.Get("X-Req-Trailer"); got != "sent after the body" {
			t.Errorf("request trailer = %q", got)
		}
		w.Header().Set("Trailer", "X-Declared")
		io.WriteString(w, "body")
		w.Header().Set("X-Declared", "d")
		w.Header().Set(http.TrailerPrefix+"X-Undeclared", "u")
	}))
	req, _ := http.NewRequest("POST", "http://x/", io.MultiReader(strings.NewReader("payload")))
	req.Trailer = http.Header{"X-Req-Trailer": {"sent after the body"}}
	resp, err := client(addr).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "body" || resp.Trailer.Get("X-Declared") != "d" || resp.Trailer.Get("X-Undeclared") != "u" {
		t.Fatalf("body %q trailer %v", body, resp.Trailer)
	}
	if resp.Header.Get("X-Declared") != "" {
		t.Fatalf("trailer sent as a header: %v", resp.Header)
	}
}

// A gRPC error answered without a body: one HEADERS frame ending the
// stream, which gRPC clients read as a trailers-only response.
func TestHeadersOnly(t *testing.T) {
	addr, _ := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/grpc")
		w.Header().Set("Grpc-Status", "14")
		w.WriteHeader(http.StatusOK)
	}))
	resp, err := client(addr).Get("http://x/svc/Method")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Header.Get("Grpc-Status") != "14" || len(body) != 0 || resp.ContentLength != 0 {
		t.Fatalf("got %v, body %q, length %d", resp.Header, body, resp.ContentLength)
	}
}

// What a handler flushes reaches the client before the handler goes on.
func TestFlushStreams(t *testing.T) {
	next := make(chan struct{})
	addr, _ := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "first;")
		w.(http.Flusher).Flush()
		<-next
		io.WriteString(w, "second")
	}))
	resp, err := client(addr).Get("http://x/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 6)
	done := make(chan error, 1)
	go func() { _, err := io.ReadFull(resp.Body, buf); done <- err }()
	select {
	case err := <-done:
		if err != nil || string(buf) != "first;" {
			t.Fatalf("read %q, %v", buf, err)
		}
	case <-time.After(5 * time.Second):
		close(next)
		t.Fatal("the flushed chunk did not arrive before the handler went on")
	}
	close(next)
	rest, _ := io.ReadAll(resp.Body)
	if string(rest) != "second" {
		t.Fatalf("rest %q", rest)
	}
}

// A client that cancels its request cancels the handler's context.
func TestClientCancelReachesHandler(t *testing.T) {
	canceled := make(chan error, 1)
	addr, _ := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.(http.Flusher).Flush()
		<-r.Context().Done()
		canceled <- r.Context().Err()
	}))
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://x/", nil)
	resp, err := client(addr).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	resp.Body.Close()
	select {
	case err := <-canceled:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("handler context ended with %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the handler's context was not canceled")
	}
}

func TestInformational(t *testing.T) {
	addr, _ := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Del("Link")
		io.WriteString(w, "done")
	}))
	var got []string
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
		Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
			got = append(got, fmt.Sprint(code, " ", h.Get("Link")))
			return nil
		},
	})
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://x/", nil)
	resp, err := client(addr).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.ReadAll(resp.Body)
	resp.Body.Close()
	if len(got) != 1 || got[0] != "103 </style.css>; rel=preload" || resp.StatusCode != 200 || resp.Header.Get("Link") != "" {
		t.Fatalf("1xx seen: %q; final %d %v", got, resp.StatusCode, resp.Header)
	}
}

// A header block larger than a frame goes out in CONTINUATION frames.
func TestLargeHeaders(t *testing.T) {
	big := strings.Repeat("v", 64<<10)
	addr, _ := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Big") != big {
			t.Errorf("request header of %d bytes", len(r.Header.Get("X-Big")))
		}
		w.Header().Set("X-Big", big)
	}))
	req, _ := http.NewRequest("GET", "http://x/", nil)
	req.Header.Set("X-Big", big)
	resp, err := client(addr).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("X-Big") != big {
		t.Fatalf("response header of %d bytes", len(resp.Header.Get("X-Big")))
	}
}

func TestConcurrentStreams(t *testing.T) {
	addr, _ := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.URL.Path)
	}))
	c := client(addr)
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Go(func() {
			path := fmt.Sprintf("/%d", i)
			resp, err := c.Get("http://x" + path)
			if err != nil {
				t.Error(err)
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(body) != path {
				t.Errorf("%s answered %q", path, body)
			}
		})
	}
	wg.Wait()
}

// A handler panic resets its stream, not the connection.
func TestHandlerPanicResetsTheStream(t *testing.T) {
	addr, _ := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/panic" {
			panic(http.ErrAbortHandler)
		}
		io.WriteString(w, "fine")
	}))
	c := client(addr)
	if resp, err := c.Get("http://x/panic"); err == nil {
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil {
			t.Fatalf("a panicking handler answered %d", resp.StatusCode)
		}
	}
	resp, err := c.Get("http://x/ok")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "fine" {
		t.Fatalf("after the panic: %q", body)
	}
}

// Shutting down lets an open stream finish; new requests then fail over
// to a new connection (here: the listener is closed, so they fail).
func TestShutdownLetsStreamsFinish(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{})
	addr, shutdown := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		io.WriteString(w, "finished")
	}))
	c := client(addr)
	type result struct {
		body string
		err  error
	}
	res := make(chan result, 1)
	go func() {
		resp, err := c.Get("http://x/")
		if err != nil {
			res <- result{err: err}
			return
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		res <- result{string(body), err}
	}()
	<-started
	shutdown()
	time.Sleep(100 * time.Millisecond) // GOAWAY is out
	close(release)
	if r := <-res; r.err != nil || r.body != "finished" {
		t.Fatalf("in-flight stream after shutdown: %q, %v", r.body, r.err)
	}
}

// Sniff tells HTTP/1.1 from h2c without waiting for more bytes than a
// short request has, and replays what it read.
func TestSniffHTTP1(t *testing.T) {
	a, b := net.Pipe()
	go func() { io.WriteString(a, "GET / HTTP/1.0\r\n\r\n") }()
	h2, rc, err := Sniff(b, 5*time.Second)
	if err != nil || h2 {
		t.Fatalf("h2 %v, err %v", h2, err)
	}
	buf := make([]byte, 18)
	if _, err := io.ReadFull(rc, buf); err != nil || string(buf) != "GET / HTTP/1.0\r\n\r\n" {
		t.Fatalf("replayed %q, %v", buf, err)
	}
	a.Close()
}

// rawH2C opens a connection to addr, sends the client preface and the
// SETTINGS f, and returns a framer on it.
func rawH2C(t *testing.T, addr string, settings ...http2.Setting) (*http2.Framer, net.Conn) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	io.WriteString(c, http2.ClientPreface)
	fr := http2.NewFramer(c, c)
	if err := fr.WriteSettings(settings...); err != nil {
		t.Fatal(err)
	}
	return fr, c
}

// goAwayCode reads frames until a GOAWAY and returns its error code.
func goAwayCode(t *testing.T, fr *http2.Framer, c net.Conn) http2.ErrCode {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("no GOAWAY: %v", err)
		}
		if ga, ok := f.(*http2.GoAwayFrame); ok {
			return ga.ErrCode
		}
	}
}

// A client's SETTINGS_MAX_FRAME_SIZE out of range is a connection error
// (RFC 9113 6.5.2): the hand-made server stored 0 and then wrote empty
// CONTINUATION frames without end.
func TestMaxFrameSizeOutOfRange(t *testing.T) {
	addr, _ := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	for _, v := range []uint32{0, 16383, 1 << 24} {
		fr, c := rawH2C(t, addr, http2.Setting{ID: http2.SettingMaxFrameSize, Val: v})
		if code := goAwayCode(t, fr, c); code != http2.ErrCodeProtocol {
			t.Errorf("SETTINGS_MAX_FRAME_SIZE %d: GOAWAY %v, want PROTOCOL_ERROR", v, code)
		}
	}
}

// A WINDOW_UPDATE that takes the connection window above 2^31-1 is a
// FLOW_CONTROL_ERROR (RFC 9113 6.9.1): the hand-made server wrapped the
// window negative and never sent the response's DATA.
func TestWindowOverflow(t *testing.T) {
	addr, _ := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	fr, c := rawH2C(t, addr)
	if err := fr.WriteWindowUpdate(0, 1<<31-1); err != nil {
		t.Fatal(err)
	}
	if code := goAwayCode(t, fr, c); code != http2.ErrCodeFlowControl {
		t.Errorf("GOAWAY %v, want FLOW_CONTROL_ERROR", code)
	}
}

// A request body that stops coming gets its stream reset after the body
// read timeout, and the handler's read fails; a gRPC one is left alone.
func TestStalledBodyTimesOut(t *testing.T) {
	readErr := make(chan error, 1)
	srv := &Server{BodyReadTimeout: 200 * time.Millisecond, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := io.ReadAll(r.Body)
		readErr <- err
	})}
	addr := serveServer(t, srv)
	fr, c := rawH2C(t, addr)
	var hbuf bytes.Buffer
	enc := hpack.NewEncoder(&hbuf)
	for _, f := range [][2]string{{":method", "POST"}, {":scheme", "http"}, {":authority", "x"}, {":path", "/"}} {
		enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: hbuf.Bytes(), EndHeaders: true}); err != nil {
		t.Fatal(err)
	}
	fr.WriteData(1, false, []byte("ab"))
	go io.Copy(io.Discard, c)
	select {
	case err := <-readErr:
		if err == nil {
			t.Fatal("the handler read a whole body that never came")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the body read did not time out")
	}
}

// A body read after the handler returned (as a Transport does when the
// backend answered before the whole body was sent) must not touch the
// finished stream: it crashed the proxy when the read deadline moved.
func TestBodyReadAfterHandler(t *testing.T) {
	read := make(chan error, 1)
	addr, _ := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		go func() {
			time.Sleep(50 * time.Millisecond)
			_, err := r.Body.Read(make([]byte, 10))
			read <- err
		}()
		w.WriteHeader(http.StatusRequestEntityTooLarge)
	}))
	resp, err := client(addr).Post("http://x/", "text/plain", io.LimitReader(neverEnding('x'), 1<<20))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d", resp.StatusCode)
	}
	<-read // and the server still runs:
	if resp, err := client(addr).Get("http://x/"); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}
}

type neverEnding byte

func (b neverEnding) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(b)
	}
	return len(p), nil
}
