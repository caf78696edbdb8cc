package httpproxy

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"sync"
	"time"

	"gamma-conformance/referenceimpl/proxy/internal/h1"
)

// h1Client sends plain requests (GET, HEAD, OPTIONS or TRACE, no body, no
// protocol upgrade: nearly all of a sidecar's HTTP/1.1 traffic) to backends
// over a pool of keep-alive connections per endpoint, on the calling
// goroutine: it writes the request and reads the response itself.
// net/http.Transport instead hands every request to a write goroutine of
// the connection and gets the response back from a read goroutine, and its
// read goroutine waits for the end of the body before pooling the
// connection: four goroutine switches per request, a large share of the
// proxy's CPU time on small requests in profiles. Every other request goes
// to the Transport, whose concurrent request write and response read the
// bodies and upgrades need.
//
// As the Transport does, a request that fails on a pooled connection before
// any byte of a response arrived (the backend closed the idle connection) is
// sent again on another one: the methods taken here are idempotent.
type h1Client struct {
	dial        func(ctx context.Context, network, addr string) (net.Conn, error)
	maxIdle     int // idle connections kept per endpoint
	idleTimeout time.Duration

	mu   sync.Mutex
	idle map[string][]*h1Conn // by endpoint, most recently used last
}

// fastPath reports whether the client sends r; the relay has already
// removed the hop-by-hop headers, apart from an upgrade's Connection and
// Upgrade.
func (*h1Client) fastPath(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
	default:
		return false
	}
	return (r.Body == nil || r.Body == http.NoBody) && r.Header.Get("Upgrade") == ""
}

// h1Conn is one backend connection. While idle it is in its client's pool
// and its timer closes it after idleTimeout; in use, it belongs to one
// request until that request's response body is done.
type h1Conn struct {
	cl    *h1Client
	key   string
	c     net.Conn
	lr    h1.HeaderLimit // br's source
	br    *bufio.Reader
	bw    *bufio.Writer
	timer *time.Timer
}

// maxResponseHeader bounds a response header, as the Transport's default
// MaxResponseHeaderBytes does.
const maxResponseHeader = 10 << 20

var errHeaderTooLarge = errors.New("backend response header too large")

// errRetryOnNewConn: a pooled connection failed before the response began.
var errRetryOnNewConn = errors.New("pooled backend connection closed")

// RoundTrip sends r (for which fastPath holds) to r.URL.Host; got1xx, if
// not nil, gets the informational responses.
func (cl *h1Client) RoundTrip(r *http.Request, got1xx func(int, textproto.MIMEHeader) error) (*http.Response, error) {
	for {
		pc, reused := cl.get(r.URL.Host)
		if pc == nil {
			c, err := cl.dial(r.Context(), "tcp", r.URL.Host)
			if err != nil {
				return nil, err
			}
			pc = cl.newConn(r.URL.Host, c)
		}
		resp, err := pc.roundTrip(r, reused, got1xx)
		if err != errRetryOnNewConn {
			return resp, err
		}
	}
}

func (cl *h1Client) newConn(key string, c net.Conn) *h1Conn {
	pc := &h1Conn{cl: cl, key: key, c: c, lr: h1.HeaderLimit{R: c, Err: errHeaderTooLarge}, bw: bufio.NewWriterSize(c, 4<<10)}
	pc.br = bufio.NewReaderSize(&pc.lr, 4<<10)
	pc.timer = time.AfterFunc(time.Hour, pc.expire)
	pc.timer.Stop()
	return pc
}

// get takes the most recently pooled connection to key, if any.
func (cl *h1Client) get(key string) (*h1Conn, bool) {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	for {
		conns := cl.idle[key]
		if len(conns) == 0 {
			return nil, false
		}
		pc := conns[len(conns)-1]
		conns[len(conns)-1] = nil
		cl.idle[key] = conns[:len(conns)-1]
		if pc.timer.Stop() {
			return pc, true
		}
		pc.c.Close() // expiring: its timer fired just now
	}
}

// put pools pc, or closes it when the pool for its endpoint is full.
func (cl *h1Client) put(pc *h1Conn) {
	cl.mu.Lock()
	if len(cl.idle[pc.key]) >= cl.maxIdle {
		cl.mu.Unlock()
		pc.c.Close()
		return
	}
	if cl.idle == nil {
		cl.idle = make(map[string][]*h1Conn)
	}
	cl.idle[pc.key] = append(cl.idle[pc.key], pc)
	pc.timer.Reset(cl.idleTimeout)
	cl.mu.Unlock()
}

// expire closes pc when its idle timeout ran out, unless get took it.
func (pc *h1Conn) expire() {
	cl := pc.cl
	cl.mu.Lock()
	defer cl.mu.Unlock()
	conns := cl.idle[pc.key]
	for i, c := range conns {
		if c == pc {
			cl.idle[pc.key] = append(conns[:i], conns[i+1:]...)
			pc.c.Close()
			break
		}
	}
	if len(cl.idle[pc.key]) == 0 {
		delete(cl.idle, pc.key)
	}
}

// CloseIdleConnections closes the pooled connections.
func (cl *h1Client) CloseIdleConnections() {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	for _, conns := range cl.idle {
		for _, pc := range conns {
			pc.timer.Stop()
			pc.c.Close()
		}
	}
	clear(cl.idle)
}

// notStopped is the stop function of a request whose context never ends.
func notStopped() bool { return true }

// aLongTimeAgo is a deadline that makes pending I/O fail at once.
var aLongTimeAgo = time.Unix(1, 0)

// roundTrip sends r on pc and reads the response header. Cancelling r's
// context fails pc's pending and future I/O; pc is then closed, never
// pooled. errRetryOnNewConn: pc was pooled and failed before a response.
func (pc *h1Conn) roundTrip(r *http.Request, reused bool, got1xx func(int, textproto.MIMEHeader) error) (*http.Response, error) {
	ctx := r.Context()
	stop := notStopped
	if ctx.Done() != nil { // a context that can end: most have no timeout
		stop = context.AfterFunc(ctx, func() { pc.c.SetDeadline(aLongTimeAgo) })
	}
	fail := func(err error) (*http.Response, error) {
		stop()
		pc.c.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	err := r.Write(pc.bw)
	if err == nil {
		err = pc.bw.Flush()
	}
	pc.lr.Left = maxResponseHeader + 1
	if err == nil {
		_, err = pc.br.Peek(1)
	}
	if err != nil {
		if reused && ctx.Err() == nil {
			fail(err)
			return nil, errRetryOnNewConn
		}
		return fail(err)
	}
	for {
		resp, err := http.ReadResponse(pc.br, r)
		if err != nil {
			return fail(err)
		}
		if resp.StatusCode >= 200 || resp.StatusCode == http.StatusSwitchingProtocols {
			pc.lr.Left = 0
			body := &h1Body{pc: pc, ctx: ctx, stop: stop, rc: resp.Body, reuse: !resp.Close}
			if resp.Body == http.NoBody {
				body.release(nil)
			}
			resp.Body = body
			return resp, nil
		}
		// An informational response (103 Early Hints, say): the relay
		// passes it on.
		if got1xx != nil {
			if err := got1xx(resp.StatusCode, textproto.MIMEHeader(resp.Header)); err != nil {
				return fail(err)
			}
		}
	}
}

// h1Body is a response body on an h1Conn: once the body is read to its end
// the connection goes back to the pool (unless the response or a
// cancellation closed it); closed before its end, the connection is closed.
type h1Body struct {
	pc    *h1Conn
	ctx   context.Context
	stop  func() bool
	rc    io.ReadCloser
	reuse bool
	done  bool
	err   error // what reads return once done
}

func (b *h1Body) Read(p []byte) (int, error) {
	if b.done {
		return 0, b.err
	}
	n, err := b.rc.Read(p)
	if err != nil {
		if err != io.EOF && b.ctx.Err() != nil {
			err = b.ctx.Err()
		}
		b.release(err)
	}
	return n, err
}

func (b *h1Body) Close() error {
	if !b.done {
		b.release(net.ErrClosed)
	}
	return nil
}

// release gives the connection up: back to the pool after a clean end of
// the body (err io.EOF or nil), closed otherwise.
func (b *h1Body) release(err error) {
	b.done = true
	b.err = err
	if err == nil {
		b.err = io.EOF
	}
	if b.stop() && b.reuse && (err == nil || err == io.EOF) {
		b.pc.cl.put(b.pc)
		return
	}
	b.pc.c.Close()
}
