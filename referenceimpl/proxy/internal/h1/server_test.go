package h1

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"
)

// serve runs Server{h} on a loopback listener; the returned function
// shuts it down (cancels ServeConn's context).
func serve(t *testing.T, h http.Handler) (string, context.CancelFunc) {
	t.Helper()
	return serveWith(t, &Server{Handler: h})
}

func serveWith(t *testing.T, srv *Server) (string, context.CancelFunc) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { srv.ServeConn(ctx, c) })
		}
	})
	t.Cleanup(func() { cancel(); l.Close(); wg.Wait() })
	return l.Addr().String(), cancel
}

// raw sends req on a new connection and returns the connection and a
// reader of the answer.
func raw(t *testing.T, addr, req string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, req)
	return c, bufio.NewReader(c)
}

func readResponse(t *testing.T, br *bufio.Reader, method string) (*http.Response, string) {
	t.Helper()
	resp, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

var hello = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Path", r.URL.Path)
	io.WriteString(w, "hello "+r.URL.Path)
})

// Small bodies get a Content-Length; the connection stays open; pipelined
// requests are answered in order.
func TestKeepAliveAndPipelining(t *testing.T) {
	addr, _ := serve(t, hello)
	_, br := raw(t, addr, "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n")
	for _, p := range []string{"/a", "/b"} {
		resp, body := readResponse(t, br, "GET")
		if resp.StatusCode != 200 || body != "hello "+p || resp.ContentLength != int64(len(body)) || resp.Close {
			t.Fatalf("%s: %d %q length %d close %v", p, resp.StatusCode, body, resp.ContentLength, resp.Close)
		}
		if resp.Header.Get("Date") == "" {
			t.Fatalf("%s: no Date header", p)
		}
	}
}

// A body larger than the buffer, without Content-Length, is chunked, and
// what a handler flushes leaves at once.
func TestChunkedAndFlush(t *testing.T) {
	next := make(chan struct{})
	addr, _ := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "first;")
		w.(http.Flusher).Flush()
		<-next
		io.WriteString(w, strings.Repeat("x", 5000))
	}))
	_, br := raw(t, addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.TransferEncoding) != 1 || resp.TransferEncoding[0] != "chunked" {
		t.Fatalf("transfer encoding %v", resp.TransferEncoding)
	}
	buf := make([]byte, 6)
	if _, err := io.ReadFull(resp.Body, buf); err != nil || string(buf) != "first;" {
		t.Fatalf("flushed chunk %q, %v", buf, err)
	}
	close(next)
	rest, _ := io.ReadAll(resp.Body)
	if len(rest) != 5000 {
		t.Fatalf("rest %d bytes", len(rest))
	}
}

func TestNoBodyAnswers(t *testing.T) {
	addr, _ := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/204" {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		w.Header().Set("Content-Length", "5")
		io.WriteString(w, "hello")
	}))
	_, br := raw(t, addr, "HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET /204 HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, body := readResponse(t, br, "HEAD")
	if resp.ContentLength != 5 || body != "" {
		t.Fatalf("HEAD: length %d body %q", resp.ContentLength, body)
	}
	resp, body = readResponse(t, br, "GET")
	if resp.StatusCode != 204 || body != "" || resp.Header.Get("Content-Length") != "" {
		t.Fatalf("204: %d %q %v", resp.StatusCode, body, resp.Header)
	}
}

func TestTrailers(t *testing.T) {
	addr, _ := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "X-Declared")
		io.WriteString(w, "body")
		w.Header().Set("X-Declared", "d")
		w.Header().Set(http.TrailerPrefix+"X-Undeclared", "u")
	}))
	resp, err := http.Get("http://" + addr + "/")
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

// "Expect: 100-continue" is answered when the handler reads the body.
func TestExpectContinue(t *testing.T) {
	addr, _ := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		io.WriteString(w, "got "+string(b))
	}))
	c, br := raw(t, addr, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
	line, err := br.ReadString('\n')
	if err != nil || line != "HTTP/1.1 100 Continue\r\n" {
		t.Fatalf("first line %q, %v", line, err)
	}
	br.ReadString('\n')
	io.WriteString(c, "data")
	resp, body := readResponse(t, br, "POST")
	if resp.StatusCode != 200 || body != "got data" {
		t.Fatalf("%d %q", resp.StatusCode, body)
	}
}

func TestHTTP10Closes(t *testing.T) {
	addr, _ := serve(t, hello)
	_, br := raw(t, addr, "GET /old HTTP/1.0\r\n\r\n")
	resp, body := readResponse(t, br, "GET")
	if body != "hello /old" || !resp.Close {
		t.Fatalf("%q close %v", body, resp.Close)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("connection still open after an HTTP/1.0 answer: %v", err)
	}
}

// A body the handler did not read is skipped: the next request parses.
func TestUnreadBodyIsDrained(t *testing.T) {
	addr, _ := serve(t, hello)
	_, br := raw(t, addr, "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789GET /b HTTP/1.1\r\nHost: x\r\n\r\n")
	readResponse(t, br, "POST")
	resp, body := readResponse(t, br, "GET")
	if resp.StatusCode != 200 || body != "hello /b" {
		t.Fatalf("second request: %d %q", resp.StatusCode, body)
	}
}

func TestBadRequests(t *testing.T) {
	addr, _ := serve(t, hello)
	for _, tc := range []struct {
		req  string
		code int
	}{
		{"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("v", 2<<20) + "\r\n\r\n", 431},
		{"NOT A REQUEST\r\n\r\n", 400},
		{"GET / HTTP/1.1\r\n\r\n", 400}, // no Host
	} {
		_, br := raw(t, addr, tc.req)
		resp, _ := readResponse(t, br, "GET")
		if resp.StatusCode != tc.code {
			t.Errorf("%.30q: %d, want %d", tc.req, resp.StatusCode, tc.code)
		}
	}
}

func TestHijack(t *testing.T) {
	addr, _ := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
		brw.Flush()
		line, _ := brw.ReadString('\n')
		brw.WriteString("echo: " + line)
		brw.Flush()
	}))
	c, br := raw(t, addr, "GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 101 {
		t.Fatalf("%v %v", resp, err)
	}
	io.WriteString(c, "ping\n")
	line, err := br.ReadString('\n')
	if err != nil || line != "echo: ping\n" {
		t.Fatalf("%q %v", line, err)
	}
}

func TestInformational(t *testing.T) {
	addr, _ := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Del("Link")
		io.WriteString(w, "done")
	}))
	var got []int
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
		Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
			if h.Get("Link") == "" {
				t.Error("103 without its Link header")
			}
			got = append(got, code)
			return nil
		},
	})
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+addr+"/", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if len(got) != 1 || got[0] != 103 || string(body) != "done" || resp.Header.Get("Link") != "" {
		t.Fatalf("1xx %v, final %q %v", got, body, resp.Header)
	}
}

// A handler panic closes the connection without an answer.
func TestPanicClosesConnection(t *testing.T) {
	addr, _ := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "partial")
		panic(http.ErrAbortHandler)
	}))
	_, br := raw(t, addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	if b, err := io.ReadAll(br); err != nil || len(b) != 0 {
		t.Fatalf("got %q, %v; want the connection closed with nothing sent", b, err)
	}
}

// Shutting down closes an idle connection and lets a busy one finish.
func TestShutdown(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	addr, shutdown := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			started <- struct{}{}
			<-release
		}
		io.WriteString(w, "ok")
	}))
	_, idleBR := raw(t, addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	readResponse(t, idleBR, "GET")
	_, busyBR := raw(t, addr, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
	<-started
	shutdown()
	if _, err := idleBR.ReadByte(); err != io.EOF {
		t.Fatalf("idle connection after shutdown: %v", err)
	}
	close(release)
	resp, body := readResponse(t, busyBR, "GET")
	if body != "ok" || !resp.Close {
		t.Fatalf("busy connection after shutdown: %q close %v", body, resp.Close)
	}
}

// A request body that stops coming loses its connection after the body
// read timeout (it had none: a client could hold a connection and a
// handler forever), and the handler's read fails.
func TestStalledBodyTimesOut(t *testing.T) {
	readErr := make(chan error, 1)
	addr, _ := serveWith(t, &Server{BodyReadTimeout: 200 * time.Millisecond, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := io.ReadAll(r.Body)
		readErr <- err
	})})
	c, br := raw(t, addr, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab")
	defer c.Close()
	select {
	case err := <-readErr:
		if err == nil {
			t.Fatal("the handler read a whole body that never came")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the body read did not time out")
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	io.Copy(io.Discard, br) // the connection ends
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("the connection stayed open")
	}
}
