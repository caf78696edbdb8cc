// Package proxy is the reference mesh's sidecar proxy. It accepts the
// outbound TCP connections of its pod (redirected to it by Intercept), finds
// the route table for each connection's original destination in the current
// configuration and applies it: HTTP/1.1 and h2c (gRPC) requests are routed
// per request, TCP tables forward by weight, TLS tables route by the
// ClientHello's server name, and connections to unrouted destinations pass
// through byte for byte.
//
// The configuration is a meshconfig.Snapshot, pushed by the control plane
// over a stream (StreamConfig) or set directly (Apply). A snapshot is
// validated whole; an invalid one is rejected and the previous one stays.
// Swaps are atomic: a request finishes on the configuration it started with.
//
// HTTP connections are told apart by their first bytes: HTTP/1.1 is served
// by internal/h1, h2c by internal/h2c's Server (hand-made on x/net's
// Framer and hpack, held to h2spec), both with one handler
// (internal/httpproxy) that routes each request and relays it. Plain
// HTTP/1.1 requests go to backends on the handler's goroutine, h2c ones
// through internal/h2c's Transport, the rest (HTTP/1.1 with a body or an
// upgrade) through net/http's Transport.
//
// As a sidecar it runs by default on one thread (SetProcs, DefaultProcs).
// When that thread runs out of work, it writes out the writes it coalesced
// and polls its sockets for a short while (Options.BusyPoll) before it
// sleeps: see package internal/ioloop.
package proxy

import (
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"gamma-conformance/referenceimpl/meshconfig"
	"gamma-conformance/referenceimpl/proxy/internal/h1"
	"gamma-conformance/referenceimpl/proxy/internal/h2c"
	"gamma-conformance/referenceimpl/proxy/internal/httpproxy"
	"gamma-conformance/referenceimpl/proxy/internal/ioloop"
	"gamma-conformance/referenceimpl/proxy/internal/origdst"
	"gamma-conformance/referenceimpl/proxy/internal/route"
)

// Options configure a Proxy.
type Options struct {
	// Namespace is the pod's namespace (from the Downward API); it selects
	// the consumer overlays that apply to this pod's clients.
	Namespace string
	// OriginalDst returns the destination a client dialed. Nil means
	// SO_ORIGINAL_DST, which needs the interception rules; tests supply
	// their own.
	OriginalDst func(net.Conn) (netip.AddrPort, error)
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// BusyPoll is how long the proxy polls its sockets after a burst of
	// activity before it lets its thread sleep (DefaultBusyPoll; 0: never).
	BusyPoll time.Duration

	// The rest is read by Run only.

	// OutboundPort is the port the interception rules redirect to; Run
	// listens on it on 127.0.0.1 and, when the host has it, ::1.
	OutboundPort int
	// AdminAddr serves AdminHandler; ReadyAddr serves ReadyHandler (empty: off).
	AdminAddr, ReadyAddr string
	// Stream is the control plane's config stream; unused with ConfigFile.
	Stream StreamOptions
	// ConfigFile, when set, runs the proxy standalone: the configuration is
	// this file's meshconfig.Snapshot (JSON, as /config_dump's "snapshot"
	// shows it) and never changes, and there is no interception: every
	// connection to the outbound port is taken as dialed to Destination.
	ConfigFile string
	// Destination is the original destination of every connection in
	// standalone mode; zero: the file's first table's first VIP and port.
	Destination netip.AddrPort
}

// DefaultBusyPoll is how long gamma-proxy polls its sockets after each
// burst of activity: longer than a backend on the same node takes to
// answer a small request, so that a request relayed and its answer cost
// no wakeup of the proxy. On this project's 2-core VM, a wakeup on an idle
// CPU takes about 30 µs, and polling took 50-60 µs off BenchmarkProxy's
// median latency. The price is up to this much CPU after each burst, CPU
// time that no other thread wanted: the poll yields the CPU to any.
const DefaultBusyPoll = 100 * time.Microsecond

// Proxy is one sidecar proxy. Create it with New.
type Proxy struct {
	opts    Options
	log     *slog.Logger
	cfg     atomic.Pointer[route.Config]
	metrics *metrics
	http    *httpproxy.Handler
	h1      *h1.Server
	h2c     *h2c.Server
	loop    *ioloop.Loop

	mu      sync.Mutex // guards lastErr
	lastErr error
}

// New returns a proxy with no configuration: it is not ready, and passes
// every connection through until its first Apply.
func New(o Options) *Proxy {
	if o.OriginalDst == nil {
		o.OriginalDst = origdst.Get
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	p := &Proxy{opts: o, log: o.Logger, metrics: newMetrics()}
	p.loop = ioloop.New(o.BusyPoll)
	p.metrics.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "gamma_proxy_busy_poll_hits_total",
		Help: "Busy polls that ended with a readable socket: thread wakeups the proxy did without.",
	}, func() float64 { return float64(p.loop.Polled()) }))
	p.http = httpproxy.New(o.Namespace, p.cfg.Load, p.metrics.request, o.Logger, func(c net.Conn) net.Conn { return p.loop.Wrap(c) })
	p.h1 = &h1.Server{Handler: p.http}
	p.h2c = &h2c.Server{Handler: p.http}
	return p
}

// Apply validates s whole and makes it the current configuration. On error
// the current configuration stays. A snapshot with the current version is
// accepted without a swap.
func (p *Proxy) Apply(s *meshconfig.Snapshot) error {
	if cur := p.cfg.Load(); cur != nil && cur.Snapshot().Version == s.Version {
		return nil
	}
	c, err := route.Compile(s)
	p.mu.Lock()
	p.lastErr = err
	p.mu.Unlock()
	if err != nil {
		p.metrics.configRejected.Inc()
		return errors.Join(errors.New("config rejected, keeping the previous one"), err)
	}
	p.cfg.Store(c)
	p.metrics.configVersion.Set(float64(s.Version))
	return nil
}

// Ready reports whether the proxy has had a valid configuration.
func (p *Proxy) Ready() bool { return p.cfg.Load() != nil }
