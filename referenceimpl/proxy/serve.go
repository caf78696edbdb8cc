package proxy

import (
	"context"
	"fmt"
	"net"
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

// Serve accepts intercepted connections on l until ctx ends, then closes l.
// HTTP connections then finish their requests: idle ones close at once,
// busy ones after their response, h2c ones get GOAWAY; after a few seconds
// the rest are closed.
func (p *Proxy) Serve(ctx context.Context, l net.Listener) error {
	if err := p.loop.Start(); err != nil {
		return fmt.Errorf("starting the I/O loop: %w", err)
	}
	defer p.loop.Stop()
	p.loop.Watch(l)
	self, _ := netip.ParseAddrPort(l.Addr().String())
	stop := context.AfterFunc(ctx, func() { l.Close() })
	defer stop()
	var open httpConns
	var err error
	for {
		var c net.Conn
		c, err = l.Accept()
		if err != nil {
			break
		}
		open.wg.Add(1)
		go p.handle(ctx, c, self, &open)
	}
	open.wait(shutdownGrace)
	p.http.CloseIdleConnections()
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// shutdownGrace is how long Serve lets HTTP connections finish.
const shutdownGrace = 5 * time.Second

// httpConns are the HTTP connections being served; wg also counts
// connections accepted but not yet told HTTP or not.
type httpConns struct {
	wg sync.WaitGroup
	mu sync.Mutex
	m  map[net.Conn]struct{}
}

func (o *httpConns) add(c net.Conn) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.m == nil {
		o.m = make(map[net.Conn]struct{})
	}
	o.m[c] = struct{}{}
}

func (o *httpConns) remove(c net.Conn) {
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.m, c)
}

// wait waits up to d for the connections to end, then closes those left.
func (o *httpConns) wait(d time.Duration) {
	done := make(chan struct{})
	go func() { o.wg.Wait(); close(done) }()
	select {
	case <-done:
		return
	case <-time.After(d):
	}
	o.mu.Lock()
	for c := range o.m {
		c.Close()
	}
	o.mu.Unlock()
	<-done
}

// handle dispatches one intercepted connection by its original destination.
// Serve waits (open) for HTTP connections only: a byte stream passed
// through may last as long as its peers want.
func (p *Proxy) handle(ctx context.Context, c net.Conn, self netip.AddrPort, open *httpConns) {
	dst, t, ok := p.route(c, self)
	if ok && t != nil && t.HTTP != nil {
		defer open.wg.Done()
		p.metrics.conn("http")
		p.serveHTTP(ctx, c, dst, open)
		return
	}
	open.wg.Done()
	if !ok {
		return
	}
	p.loop.Watch(c)
	switch {
	case t == nil:
		p.metrics.conn("passthrough")
		p.forward(c, dst, nil)
	case t.TCP != nil:
		p.metrics.conn("tcp")
		p.forwardTo(c, *t.TCP, nil)
	case t.TLS != nil:
		p.metrics.conn("tls")
		p.forwardTLS(c, t.TLS)
	}
}

// route finds c's original destination and its table (nil: none); false:
// c was reset.
func (p *Proxy) route(c net.Conn, self netip.AddrPort) (netip.AddrPort, *meshconfig.Table, bool) {
	dst, err := p.opts.OriginalDst(c)
	if err != nil {
		p.log.Warn("dropping connection", "client", c.RemoteAddr(), "error", err)
		p.metrics.conn("error")
		l4.Reset(c)
		return dst, nil, false
	}
	dst = netip.AddrPortFrom(dst.Addr().Unmap(), dst.Port())
	if dst == netip.AddrPortFrom(self.Addr().Unmap(), self.Port()) {
		// Dialed the proxy itself: forwarding would loop.
		p.metrics.conn("error")
		l4.Reset(c)
		return dst, nil, false
	}
	var t *meshconfig.Table
	if cfg := p.cfg.Load(); cfg != nil {
		t = cfg.Lookup(p.opts.Namespace, dst)
	}
	return dst, t, true
}

// serveHTTP serves an HTTP connection, HTTP/1.1 or h2c by its first bytes.
func (p *Proxy) serveHTTP(ctx context.Context, c net.Conn, dst netip.AddrPort, open *httpConns) {
	open.add(c)
	defer open.remove(c)
	h2, hc, err := h2c.Sniff(p.loop.Wrap(c), sniffTimeout)
	switch {
	case err != nil:
		c.Close()
	case h2:
		p.h2c.ServeConn(httpproxy.WithDst(ctx, dst), hc)
	default:
		p.h1.ServeConn(httpproxy.WithDst(ctx, dst), hc)
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
