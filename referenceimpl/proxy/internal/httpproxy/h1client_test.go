package httpproxy

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

// oneShotBackend answers one keep-alive request per connection and then
// closes the connection without saying so, as a backend whose idle timeout
// ran out does; it counts the connections it accepted.
func oneShotBackend(t *testing.T) (addr string, conns *atomic.Int32) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	conns = new(atomic.Int32)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			go func() {
				defer c.Close()
				if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
					return
				}
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
				time.Sleep(20 * time.Millisecond) // the client pools the connection
			}()
		}
	}()
	return l.Addr().String(), conns
}

func TestH1ClientRetriesClosedPooledConn(t *testing.T) {
	addr, conns := oneShotBackend(t)
	cl := &h1Client{dial: (&net.Dialer{}).DialContext, maxIdle: 4, idleTimeout: time.Minute}
	defer cl.CloseIdleConnections()
	for i := range 3 {
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/", nil)
		resp, err := cl.RoundTrip(req, nil)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != "ok" {
			t.Fatalf("request %d: body %q", i, b)
		}
		time.Sleep(50 * time.Millisecond) // the backend has closed it
	}
	if n := conns.Load(); n != 3 {
		t.Errorf("%d backend connections, want 3", n)
	}
}

func TestH1ClientPoolsAndExpires(t *testing.T) {
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") })}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var dials atomic.Int32
	srv.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			dials.Add(1)
		}
	}
	go srv.Serve(l)
	defer srv.Close()
	cl := &h1Client{dial: (&net.Dialer{}).DialContext, maxIdle: 4, idleTimeout: 100 * time.Millisecond}
	get := func() {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, "http://"+l.Addr().String()+"/", nil)
		resp, err := cl.RoundTrip(req, nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	get()
	get()
	if n := dials.Load(); n != 1 {
		t.Fatalf("%d connections for two sequential requests, want 1", n)
	}
	time.Sleep(300 * time.Millisecond)
	cl.mu.Lock()
	idle := len(cl.idle)
	cl.mu.Unlock()
	if idle != 0 {
		t.Fatalf("%d endpoints with idle connections after the idle timeout, want 0", idle)
	}
	get()
	if n := dials.Load(); n != 2 {
		t.Fatalf("%d connections, want 2 after the idle one expired", n)
	}
}

func TestH1ClientCancel(t *testing.T) {
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	defer srv.Close()
	cl := &h1Client{dial: (&net.Dialer{}).DialContext, maxIdle: 4, idleTimeout: time.Minute}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+l.Addr().String()+"/", nil)
	if _, err := cl.RoundTrip(req, nil); err != context.DeadlineExceeded {
		t.Fatalf("got %v, want %v", err, context.DeadlineExceeded)
	}
}

func TestH1ClientHeaderLimit(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		http.ReadRequest(bufio.NewReader(c))
		io.WriteString(c, "HTTP/1.1 200 OK\r\nX-Big: ")
		io.Copy(c, io.LimitReader(neverEnding('a'), maxResponseHeader+1))
	}()
	cl := &h1Client{dial: (&net.Dialer{}).DialContext, maxIdle: 4, idleTimeout: time.Minute}
	req, _ := http.NewRequest(http.MethodGet, "http://"+l.Addr().String()+"/", nil)
	if _, err := cl.RoundTrip(req, nil); err == nil || !errors.Is(err, errHeaderTooLarge) {
		t.Fatalf("got %v, want %v", err, errHeaderTooLarge)
	}
}

type neverEnding byte

func (b neverEnding) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(b)
	}
	return len(p), nil
}
