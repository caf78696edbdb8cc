package proxy

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gamma-conformance/referenceimpl/meshconfig"
	"gamma-conformance/referenceimpl/proxy/internal/httpproxy"
)

// h1Case is one raw-socket case of the HTTP/1.1 battery: what the client
// writes (steps, with a pause between them), and how long it then waits
// for more answer bytes once they stop coming.
type h1Case struct {
	name  string
	steps []string
	// head: the first request is HEAD (its answer has no body).
	head bool
	// quiet is how long the client waits for more bytes (0: 300 ms).
	quiet time.Duration
}

// differentFromNetHTTP are the cases where the proxy answers otherwise than
// net/http's server does, and why it is right to.
var differentFromNetHTTP = map[string]string{
	"http/1.0 chunked":           "RFC 9110 6.2: the proxy answers an HTTP/1.0 request as HTTP/1.1, the highest version it conforms to (SHOULD); net/http answers HTTP/1.0",
	"http/1.0 without host":      "as http/1.0 chunked",
	"http/1.0 keep-alive":        "as http/1.0 chunked",
	"expect on http/1.0":         "RFC 9110 15.2: a server MUST NOT send a 1xx answer to an HTTP/1.0 client; net/http relays the backend's 100 Continue (and answers HTTP/1.0)",
	"content-length and chunked": "RFC 9112 6.1: a request with both Content-Length and Transfer-Encoding is framed by the latter, and the connection MUST close after the answer; net/http keeps it open and reads the next request",
	"chunked and content-length": "as content-length and chunked",
	"early 413 before the body":  "the proxy relays the backend's early answer at once; net/http's server first reads up to 256 KiB of the unread request body (the client here sends no more)",
	"target asterisk on OPTIONS": "a transparent sidecar forwards OPTIONS * to the server it is for; net/http's server answers it itself",
}

// stricterThanNetHTTP are the cases where the proxy, unlike net/http's
// server, refuses the request (a 4xx, the connection closed, the backend
// sees nothing); the README says why.
var stricterThanNetHTTP = map[string]string{
	"target authority-form on GET": "RFC 9112 3.2.3: authority form is for CONNECT only; net/http takes it as a URI of scheme \"other.example\" and would forward \"GET 80\"",
	"target asterisk on GET":       "RFC 9112 3.2.4: asterisk form is for OPTIONS only",
	"target relative, no slash":    "RFC 9112 3.2: origin form starts with \"/\"",
}

func crlf(lines ...string) string { return strings.Join(lines, "\r\n") }

const hostLine = "Host: " + vip

func rawGet(path string, extra ...string) string {
	return crlf(append(append([]string{"GET " + path + " HTTP/1.1", hostLine}, extra...), "", "")...)
}

func rawPost(path string, body string, extra ...string) string {
	return crlf(append(append([]string{"POST " + path + " HTTP/1.1", hostLine}, extra...), "", body)...)
}

func chunked(path string, chunks string) string {
	return rawPost(path, chunks, "Transfer-Encoding: chunked")
}

// h1Battery is the battery: framing, smuggling, header syntax, Host,
// request targets, Expect, pipelining, connection handling, early
// responses, slow bodies, CONNECT.
func h1Battery() []h1Case {
	c := func(name string, steps ...string) h1Case { return h1Case{name: name, steps: steps} }
	cs := []h1Case{
		// Framing.
		c("get", rawGet("/")),
		c("get with query", rawGet("/q?a=1&b=%20")),
		{name: "head", steps: []string{crlf("HEAD / HTTP/1.1", hostLine, "", "")}, head: true},
		c("post content-length", rawPost("/", "hello", "Content-Length: 5")),
		c("post content-length 0", rawPost("/", "", "Content-Length: 0")),
		c("post chunked", chunked("/", "5\r\nhello\r\n0\r\n\r\n")),
		c("post chunked two chunks", chunked("/", "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")),
		c("chunk extension", chunked("/", "5;ext=1\r\nhello\r\n0\r\n\r\n")),
		c("chunked trailers", chunked("/", "5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n")),
		c("chunk size upper hex", chunked("/", "A\r\n0123456789\r\n0\r\n\r\n")),
		// Smuggling: what follows a bad chunk must never reach the backend.
		c("bad chunk size then request", chunked("/", "zz\r\nhello\r\n0\r\n\r\n")+rawGet("/SMUGGLED")),
		c("chunk size overflow", chunked("/", "fffffffffffffffff\r\nx\r\n0\r\n\r\n")+rawGet("/SMUGGLED")),
		c("negative chunk size", chunked("/", "-1\r\nx\r\n0\r\n\r\n")+rawGet("/SMUGGLED")),
		c("chunk data longer than size", chunked("/", "3\r\nhello\r\n0\r\n\r\n")+rawGet("/SMUGGLED")),
		c("chunk missing CRLF", chunked("/", "5\r\nhello0\r\n\r\n")+rawGet("/SMUGGLED")),
		c("chunk size with space", chunked("/", "5 \r\nhello\r\n0\r\n\r\n")+rawGet("/next")),
		c("chunk bare LF", chunked("/", "5\nhello\n0\n\n")+rawGet("/SMUGGLED")),
		c("content-length and chunked", rawPost("/", "5\r\nhello\r\n0\r\n\r\n", "Content-Length: 3", "Transfer-Encoding: chunked")+rawGet("/SMUGGLED")),
		c("chunked and content-length", rawPost("/", "5\r\nhello\r\n0\r\n\r\n", "Transfer-Encoding: chunked", "Content-Length: 3")+rawGet("/SMUGGLED")),
		c("two different content-lengths", rawPost("/", "hello", "Content-Length: 5", "Content-Length: 3")),
		c("two equal content-lengths", rawPost("/", "hello", "Content-Length: 5", "Content-Length: 5")),
		c("content-length list", rawPost("/", "hello", "Content-Length: 5, 5")),
		c("content-length plus sign", rawPost("/", "hello", "Content-Length: +5")),
		c("content-length not a number", rawPost("/", "hello", "Content-Length: five")),
		c("content-length negative", rawPost("/", "hello", "Content-Length: -5")),
		c("transfer-encoding gzip, chunked", rawPost("/", "5\r\nhello\r\n0\r\n\r\n", "Transfer-Encoding: gzip, chunked")),
		c("transfer-encoding chunked, gzip", rawPost("/", "5\r\nhello\r\n0\r\n\r\n", "Transfer-Encoding: chunked, gzip")),
		c("transfer-encoding identity", rawPost("/", "hello", "Transfer-Encoding: identity", "Content-Length: 5")),
		c("transfer-encoding xchunked", rawPost("/", "5\r\nhello\r\n0\r\n\r\n", "Transfer-Encoding: xchunked")),
		c("transfer-encoding twice", rawPost("/", "5\r\nhello\r\n0\r\n\r\n", "Transfer-Encoding: chunked", "Transfer-Encoding: chunked")),
		c("space before colon: transfer-encoding", rawPost("/", "5\r\nhello\r\n0\r\n\r\n", "Transfer-Encoding : chunked")+rawGet("/SMUGGLED")),
		c("http/1.0 chunked", crlf("POST / HTTP/1.0", "Transfer-Encoding: chunked", "", "5\r\nhello\r\n0\r\n\r\n")),
		c("get with body", rawGet("/", "Content-Length: 5")+"hello"),
		c("body shorter than content-length, client gone", rawPost("/", "hel", "Content-Length: 5")),
		// Header syntax.
		c("space before colon", rawGet("/", "X-A : b")),
		c("obs-fold", rawGet("/", "X-A: b", " c")),
		c("header without colon", rawGet("/", "X-A b")),
		c("header name with parenthesis", rawGet("/", "X(A): b")),
		c("header value with NUL", rawGet("/", "X-A: b\x00c")),
		c("header value with bare CR", rawGet("/", "X-A: b\rc")),
		c("empty header name", rawGet("/", ": b")),
		c("tab in header value", rawGet("/", "X-A: b\tc")),
		c("header bare LF", "GET / HTTP/1.1\n"+hostLine+"\nX-A: b\n\n"),
		c("many headers", rawGet("/", strings.Repeat("X-Many: v\r\n", 500)+"X-Last: v")),
		{name: "header too large", steps: []string{rawGet("/", "X-Big: "+strings.Repeat("v", 2<<20))}, quiet: 2 * time.Second},
		c("non-ASCII header value", rawGet("/", "X-A: caf\xc3\xa9")),
		// Host.
		c("no host", crlf("GET / HTTP/1.1", "", "")),
		c("empty host", crlf("GET / HTTP/1.1", "Host:", "", "")),
		c("two hosts", crlf("GET / HTTP/1.1", hostLine, "Host: other", "", "")),
		c("host with space and slash", crlf("GET / HTTP/1.1", "Host: a b/c", "", "")),
		c("host with port", crlf("GET / HTTP/1.1", "Host: "+vip+":80", "", "")),
		c("host with userinfo", crlf("GET / HTTP/1.1", "Host: u@h", "", "")),
		c("host ipv6", crlf("GET / HTTP/1.1", "Host: [::1]:80", "", "")),
		c("http/1.0 without host", crlf("GET / HTTP/1.0", "", "")),
		c("absolute form with other host", crlf("GET http://abs.example/p HTTP/1.1", "Host: other", "", "")),
		c("absolute form without host", crlf("GET http://abs.example/p HTTP/1.1", "", "")),
		// Request targets.
		c("target authority-form on GET", crlf("GET other.example:80 HTTP/1.1", hostLine, "", "")),
		c("target asterisk on OPTIONS", crlf("OPTIONS * HTTP/1.1", hostLine, "", "")),
		c("target asterisk on GET", crlf("GET * HTTP/1.1", hostLine, "", "")),
		c("target relative, no slash", crlf("GET a/b HTTP/1.1", hostLine, "", "")),
		c("target with fragment", rawGet("/a#b")),
		c("target with space", crlf("GET /a b HTTP/1.1", hostLine, "", "")),
		c("target dot segments", rawGet("/a/../b/%2e%2e/c")),
		c("target https absolute", crlf("GET https://abs.example/p HTTP/1.1", hostLine, "", "")),
		c("http/2.0 request line", crlf("GET / HTTP/2.0", hostLine, "", "")),
		c("http/1.2", crlf("GET / HTTP/1.2", hostLine, "", "")),
		c("bad version", crlf("GET / HTTPS/1.1", hostLine, "", "")),
		c("lower-case method", crlf("get / HTTP/1.1", hostLine, "", "")),
		c("extension method", crlf("PURGE / HTTP/1.1", hostLine, "", "")),
		c("leading empty line", "\r\n"+rawGet("/")),
		// Expect.
		c("expect 100-continue", rawPost("/", "", "Content-Length: 5", "Expect: 100-continue"), "hello"),
		c("expect 100-continue upper case", rawPost("/", "", "Content-Length: 5", "Expect: 100-Continue"), "hello"),
		c("expect unknown", rawPost("/", "hello", "Content-Length: 5", "Expect: something")),
		c("expect on http/1.0", crlf("POST / HTTP/1.0", "Content-Length: 5", "Expect: 100-continue", "", "hello")),
		// Pipelining and connections.
		c("two pipelined gets", rawGet("/1")+rawGet("/2")),
		c("pipelined post and get", rawPost("/1", "hello", "Content-Length: 5")+rawGet("/2")),
		c("pipelined, middle closes", rawGet("/1")+rawGet("/2", "Connection: close")+rawGet("/3")),
		c("connection close", rawGet("/", "Connection: close")),
		c("http/1.0 keep-alive", crlf("GET / HTTP/1.0", "Connection: keep-alive", "", "")+crlf("GET /2 HTTP/1.0", "", "")),
		c("hop-by-hop header named in connection", rawGet("/", "Connection: X-Hop", "X-Hop: 1", "X-Kept: 1")),
		// Early responses and slow bodies.
		{name: "early 413 before the body", steps: []string{rawPost("/413", "0123456789", "Content-Length: 100000")}, quiet: time.Second},
		c("slow chunked body", chunked("/", "5\r\nhello\r\n"), "6\r\n world\r\n", "0\r\n\r\n"),
		c("slow content-length body", rawPost("/", "hel", "Content-Length: 5"), "lo"),
		// CONNECT.
		c("connect", crlf("CONNECT "+vip+":80 HTTP/1.1", "Host: "+vip+":80", "", "")),
	}
	return cs
}

// recBackend is the battery's backend: it records every byte it receives.
// /413 answers 413 without reading the body; any other path reads the body
// and answers what it got.
type recBackend struct {
	addr string
	mu   sync.Mutex
	got  bytes.Buffer
}

type recConn struct {
	net.Conn
	b *recBackend
}

func (c recConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.b.mu.Lock()
	c.b.got.Write(p[:n])
	c.b.mu.Unlock()
	return n, err
}

type recListener struct {
	net.Listener
	b *recBackend
}

func (l recListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return recConn{c, l.b}, nil
}

func newRecBackend(t *testing.T) *recBackend {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &recBackend{addr: l.Addr().String()}
	srv := &http.Server{ErrorLog: log.New(io.Discard, "", 0), Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/413" {
			// At once: net/http's server would read up to 256 KiB of the
			// unread body before answering.
			http.NewResponseController(w).EnableFullDuplex()
			http.Error(w, "too large", http.StatusRequestEntityTooLarge)
			return
		}
		body, err := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %s %q %v host=%q\n", r.Method, r.RequestURI, body, err, r.Host)
	})}
	go srv.Serve(recListener{l, b})
	t.Cleanup(func() { srv.Close() })
	return b
}

func (b *recBackend) take() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.got.String()
	b.got.Reset()
	return s
}

// h1Side is one server under test with its own backend.
type h1Side struct {
	addr    string
	backend *recBackend
	handler *httpproxy.Handler
}

// h1Sides starts the proxy, and net/http's server running the proxy's own
// HTTP handler: the two differ only in their HTTP/1.1 server.
func h1Sides(t *testing.T) (proxy, base h1Side) {
	dst := netip.MustParseAddrPort(vip + ":80")
	mk := func() (*Proxy, *recBackend) {
		b := newRecBackend(t)
		p := New(Options{OriginalDst: func(net.Conn) (netip.AddrPort, error) { return dst, nil }, Logger: discardLogger()})
		if err := p.Apply(&meshconfig.Snapshot{Version: 1, Tables: []meshconfig.Table{table(vip, 80, &meshconfig.HTTPTable{
			Rules: []meshconfig.HTTPRule{rule("battery", backend("backend", 1, b.addr))}, Matches: []meshconfig.HTTPMatch{prefix(0, "/")},
		})}}); err != nil {
			t.Fatal(err)
		}
		return p, b
	}
	listen := func() net.Listener {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	ctx, cancel := context.WithCancel(context.Background())
	p, pb := mk()
	pl := listen()
	done := make(chan struct{})
	go func() { p.Serve(ctx, pl); close(done) }()
	q, qb := mk()
	ql := listen()
	srv := &http.Server{Handler: q.http, ErrorLog: log.New(io.Discard, "", 0),
		ConnContext: func(ctx context.Context, _ net.Conn) context.Context { return httpproxy.WithDst(ctx, dst) }}
	go srv.Serve(ql)
	t.Cleanup(func() { cancel(); <-done; srv.Close() })
	return h1Side{pl.Addr().String(), pb, p.http}, h1Side{ql.Addr().String(), qb, q.http}
}

// h1Result is what a case did on one side.
type h1Result struct {
	client  string // the answers, normalized (normalizeAnswers)
	closed  bool   // the server closed the connection
	backend string // every byte the backend received
	status  int    // the first answer's status, 0: none
}

func runH1Case(t *testing.T, s h1Side, c h1Case) h1Result {
	conn, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for i, step := range c.steps {
		if i > 0 {
			time.Sleep(50 * time.Millisecond)
		}
		conn.Write([]byte(step))
	}
	quiet := c.quiet
	if quiet == 0 {
		quiet = 300 * time.Millisecond
	}
	var got []byte
	buf := make([]byte, 64<<10)
	closed := false
	for {
		conn.SetReadDeadline(time.Now().Add(quiet))
		n, err := conn.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			var ne net.Error
			closed = !(errorsAs(err, &ne) && ne.Timeout())
			break
		}
	}
	conn.Close()
	time.Sleep(50 * time.Millisecond) // what the backend still gets
	s.handler.CloseIdleConnections()
	// The backends' addresses differ: a request with no Host gets theirs.
	r := h1Result{closed: closed, backend: strings.ReplaceAll(s.backend.take(), s.backend.addr, "BACKEND")}
	r.client, r.status = normalizeAnswers(got, c.head)
	r.client = strings.ReplaceAll(r.client, s.backend.addr, "BACKEND")
	return r
}

// normalizeAnswers parses the answers in raw; each becomes its status line,
// its header fields but Date sorted, and its body. Bytes that do not parse
// are kept as they are.
func normalizeAnswers(raw []byte, head bool) (string, int) {
	br := bufio.NewReader(bytes.NewReader(raw))
	var out strings.Builder
	first := 0
	for {
		if _, err := br.Peek(1); err != nil {
			break
		}
		method := http.MethodGet
		if head {
			method = http.MethodHead
		}
		resp, err := http.ReadResponse(br, &http.Request{Method: method})
		if err != nil {
			rest, _ := io.ReadAll(br)
			fmt.Fprintf(&out, "unparsed: %q\n", rest)
			break
		}
		if first == 0 {
			first = resp.StatusCode
		}
		body, err := io.ReadAll(resp.Body)
		var fields []string
		for k, vs := range resp.Header {
			if k != "Date" {
				fields = append(fields, fmt.Sprintf("%s: %q", k, vs))
			}
		}
		slices.Sort(fields)
		if resp.StatusCode == http.StatusContinue && strings.HasSuffix(out.String(), "100 Continue\n") {
			// net/http's server sends its own 100 Continue and, at times,
			// relays the backend's: one is what counts.
			continue
		}
		if resp.StatusCode == http.StatusContinue {
			fmt.Fprintf(&out, "%s 100 Continue\n", resp.Proto)
			continue
		}
		fmt.Fprintf(&out, "%s %s te=%v cl=%d close=%v\n%s\nbody %q %v\n", resp.Proto, resp.Status, resp.TransferEncoding, resp.ContentLength, resp.Close, strings.Join(fields, "\n"), body, err)
		if err != nil {
			break
		}
	}
	return out.String(), first
}

// runH1Pair runs case c on both sides at once.
func runH1Pair(t *testing.T, proxy, base h1Side, c h1Case) (p, b h1Result) {
	var wg sync.WaitGroup
	wg.Go(func() { p = runH1Case(t, proxy, c) })
	wg.Go(func() { b = runH1Case(t, base, c) })
	wg.Wait()
	return p, b
}

// TestHTTP1Battery runs every case of the battery on the proxy and on
// net/http's server with the proxy's handler, and compares what the client
// got and what the backend received.
func TestHTTP1Battery(t *testing.T) {
	proxy, base := h1Sides(t)
	cases := h1Battery()
	differ, stricter, explained := 0, 0, 0
	for _, c := range cases {
		p, b := runH1Pair(t, proxy, base, c)
		if p != b && c.quiet < 2*time.Second {
			// A side may just have been slow (a loaded machine): judge
			// the case on a longer wait for the answers.
			c.quiet = 2 * time.Second
			p, b = runH1Pair(t, proxy, base, c)
		}
		if strings.Contains(p.backend, "SMUGGLED") {
			t.Errorf("%s: a smuggled request reached the backend through the proxy:\n%s", c.name, p.backend)
		}
		if p == b {
			continue
		}
		if why, ok := stricterThanNetHTTP[c.name]; ok && p.status >= 400 && p.status < 500 && p.closed && p.backend == "" {
			stricter++
			t.Logf("%s: the proxy is stricter than net/http (%s)", c.name, why)
			continue
		}
		if why, ok := differentFromNetHTTP[c.name]; ok {
			explained++
			t.Logf("%s: the proxy differs from net/http on purpose (%s)", c.name, why)
			continue
		}
		differ++
		t.Errorf("%s: the proxy differs from net/http.\nproxy (closed %v):\n%s\nbackend got:\n%q\nnet/http (closed %v):\n%s\nbackend got:\n%q",
			c.name, p.closed, p.client, p.backend, b.closed, b.client, b.backend)
	}
	t.Logf("HTTP/1.1 battery: %d cases, %d differ unexplained, %d where the proxy is stricter, %d other explained differences", len(cases), differ, stricter, explained)
	fmt.Printf("h1_battery_cases=%d h1_battery_unexplained=%d h1_battery_stricter=%d h1_battery_explained=%d\n", len(cases), differ, stricter, explained)
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }

// TestAbortedUploadsLeaveNoGoroutines sends 300 uploads, 50 at a time,
// that each stop halfway and close their connection, to a backend that
// reads them: once they are over, the proxy's goroutines are back to
// where they started (each open client connection holds one goroutine,
// each open backend connection of net/http's Transport two; none
// outlives its connection).
func TestAbortedUploadsLeaveNoGoroutines(t *testing.T) {
	proxy, _ := h1Sides(t)
	upload := rawPost("/", strings.Repeat("x", 1000), "Content-Length: 100000")
	abort := func() {
		c, err := net.Dial("tcp", proxy.addr)
		if err != nil {
			t.Error(err)
			return
		}
		c.Write([]byte(upload))
		time.Sleep(20 * time.Millisecond)
		c.Close()
	}
	abort() // the backend connection pool and workers warm up
	time.Sleep(100 * time.Millisecond)
	start := runtime.NumGoroutine()
	for range 6 {
		var wg sync.WaitGroup
		for range 50 {
			wg.Go(abort)
		}
		wg.Wait()
	}
	n := runtime.NumGoroutine()
	for deadline := time.Now().Add(10 * time.Second); n > start+5 && time.Now().Before(deadline); n = runtime.NumGoroutine() {
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("goroutines: %d before 300 aborted uploads, %d after", start, n)
	if n > start+5 {
		t.Errorf("goroutines grew from %d to %d after 300 aborted uploads", start, n)
	}
}

// An HTTP/1.1 client that leaves halfway through its upload is counted as
// 499, as h2c ones are, not as 503 "backend unavailable"; a malformed
// body (a bad chunk) gets 400.
func TestClientBodyFailuresCounted(t *testing.T) {
	b := newRecBackend(t)
	dst := netip.MustParseAddrPort(vip + ":80")
	p := New(Options{OriginalDst: func(net.Conn) (netip.AddrPort, error) { return dst, nil }, Logger: discardLogger()})
	if err := p.Apply(&meshconfig.Snapshot{Version: 1, Tables: []meshconfig.Table{table(vip, 80, &meshconfig.HTTPTable{
		Rules: []meshconfig.HTTPRule{rule("aborts", backend("backend", 1, b.addr))}, Matches: []meshconfig.HTTPMatch{prefix(0, "/")},
	})}}); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Serve(ctx, l); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	side := h1Side{addr: l.Addr().String(), backend: b, handler: p.http}
	runH1Case(t, side, h1Case{name: "abort", steps: []string{rawPost("/", "0123456789", "Content-Length: 100")}, quiet: 50 * time.Millisecond})
	r := runH1Case(t, side, h1Case{name: "bad chunk", steps: []string{chunked("/", "zz\r\nx\r\n0\r\n\r\n")}})
	if r.status != http.StatusBadRequest {
		t.Errorf("a bad chunk: %d, want 400", r.status)
	}
	rec := httptest.NewRecorder()
	p.AdminHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	metrics := rec.Body.String()
	for _, want := range []string{`code="499",route="HTTPRoute/ns/aborts"} 1`, `code="400",route="HTTPRoute/ns/aborts"} 1`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s:\n%s", want, metrics)
		}
	}
	if strings.Contains(metrics, `code="503"`) {
		t.Errorf("a client failure counted as 503:\n%s", metrics)
	}
}
