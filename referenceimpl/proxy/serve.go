package proxy

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"gamma-conformance/referenceimpl/meshconfig"
	"gamma-conformance/referenceimpl/proxy/internal/h2c"
	"gamma-conformance/referenceimpl/proxy/internal/httpproxy"
	"gamma-conformance/referenceimpl/proxy/internal/l4"
	"gamma-conformance/referenceimpl/proxy/internal/route"
)

const (
	dialTimeout = 5 * time.Second
	sniTimeout  = 10 * time.Second
	// sniffTimeout bounds the wait for an HTTP connection's first bytes,
	// as the HTTP/1.1 server's ReadHeaderTimeout does.
	sniffTimeout = 30 * time.Second
)

// Serve accepts intercepted connections on l until ctx ends, then closes l
// and stops the HTTP servers (in-flight requests get a few seconds).
func (p *Proxy) Serve(ctx context.Context, l net.Listener) error {
	if err := p.loop.Start(); err != nil {
		return fmt.Errorf("starting the I/O loop: %w", err)
	}
	defer p.loop.Stop()
	p.loop.Watch(l)
	self, _ := netip.ParseAddrPort(l.Addr().String())
	hl := newConnListener(l.Addr())
	srv := &http.Server{
		Handler:           p.http,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       5 * time.Minute,
		ErrorLog:          log.New(io.Discard, "", 0),
		Protocols:         http1Only(),
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return httpproxy.WithDst(ctx, c.(*dstConn).dst)
		},
	}
	var wg sync.WaitGroup
	wg.Go(func() { srv.Serve(hl) })
	stop := context.AfterFunc(ctx, func() { l.Close() })
	defer stop()
	var err error
	for {
		var c net.Conn
		c, err = l.Accept()
		if err != nil {
			break
		}
		go p.handle(ctx, c, self, hl)
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if srv.Shutdown(shutCtx) != nil {
		srv.Close() // streams still open after the grace period
	}
	wg.Wait()
	p.http.CloseIdleConnections()
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// http1Only: h2c connections go to the proxy's own HTTP/2 server.
func http1Only() *http.Protocols {
	var ps http.Protocols
	ps.SetHTTP1(true)
	return &ps
}

// handle dispatches one intercepted connection by its original destination.
func (p *Proxy) handle(ctx context.Context, c net.Conn, self netip.AddrPort, hl *connListener) {
	dst, err := p.opts.OriginalDst(c)
	if err != nil {
		p.log.Warn("dropping connection", "client", c.RemoteAddr(), "error", err)
		p.metrics.conn("error")
		l4.Reset(c)
		return
	}
	dst = netip.AddrPortFrom(dst.Addr().Unmap(), dst.Port())
	if dst == netip.AddrPortFrom(self.Addr().Unmap(), self.Port()) {
		// Dialed the proxy itself: forwarding would loop.
		p.metrics.conn("error")
		l4.Reset(c)
		return
	}
	var t *meshconfig.Table
	if cfg := p.cfg.Load(); cfg != nil {
		t = cfg.Lookup(p.opts.Namespace, dst)
	}
	switch {
	case t == nil:
		p.loop.Watch(c)
		p.metrics.conn("passthrough")
		p.forward(c, dst, nil)
	case t.HTTP != nil:
		p.metrics.conn("http")
		h2, hc, err := h2c.Sniff(p.loop.Wrap(c), sniffTimeout)
		switch {
		case err != nil:
			c.Close()
		case h2:
			p.h2c.ServeConn(httpproxy.WithDst(ctx, dst), hc)
		case !hl.push(&dstConn{Conn: hc, dst: dst}):
			c.Close()
		}
	case t.TCP != nil:
		p.loop.Watch(c)
		p.metrics.conn("tcp")
		p.forwardTo(c, *t.TCP, nil)
	case t.TLS != nil:
		p.loop.Watch(c)
		p.metrics.conn("tls")
		p.forwardTLS(c, t.TLS)
	}
}

func (p *Proxy) forwardTLS(c net.Conn, rules []meshconfig.TLSRule) {
	sni, peeked, err := l4.PeekSNI(c, sniTimeout)
	if err != nil {
		p.log.Debug("no TLS ClientHello", "client", c.RemoteAddr(), "error", err)
		l4.Reset(c)
		return
	}
	for _, r := range rules {
		if l4.MatchHostname(r.Hostnames, sni) {
			p.forwardTo(c, r.Backends, peeked)
			return
		}
	}
	l4.Reset(c)
}

// forwardTo picks a backend by weight and one of its endpoints; an invalid
// backend or one with no endpoints resets the connection.
func (p *Proxy) forwardTo(c net.Conn, bs meshconfig.Backends, first []byte) {
	b := route.PickBackend(bs)
	if b == nil || b.Invalid {
		l4.Reset(c)
		return
	}
	ep, ok := route.PickEndpoint(b)
	if !ok {
		l4.Reset(c)
		return
	}
	p.forward(c, ep, first)
}

// forward dials dst, writes first to it and splices the two connections.
func (p *Proxy) forward(c net.Conn, dst netip.AddrPort, first []byte) {
	up, err := net.DialTimeout("tcp", dst.String(), dialTimeout)
	if err != nil {
		p.log.Debug("dial failed", "dst", dst, "error", err)
		l4.Reset(c)
		return
	}
	p.loop.Watch(up)
	if len(first) > 0 {
		if _, err := up.Write(first); err != nil {
			up.Close()
			l4.Reset(c)
			return
		}
	}
	l4.Pipe(c, up)
}

// dstConn is an intercepted connection handed to the HTTP server with its
// original destination.
type dstConn struct {
	net.Conn
	dst netip.AddrPort
}

// connListener feeds connections to an http.Server.
type connListener struct {
	addr net.Addr
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
}

func newConnListener(addr net.Addr) *connListener {
	return &connListener{addr: addr, ch: make(chan net.Conn), done: make(chan struct{})}
}

func (l *connListener) push(c net.Conn) bool {
	select {
	case l.ch <- c:
		return true
	case <-l.done:
		return false
	}
}

func (l *connListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *connListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *connListener) Addr() net.Addr { return l.addr }
