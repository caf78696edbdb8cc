// Package httpproxy is the proxy's HTTP data plane: an http.Handler that
// applies a routed Service port's HTTP table to every request (HTTP/1.1 or
// h2c) and forwards it to the chosen endpoint in the same protocol, or
// answers it locally (redirects, 404, 500, 503, 504 and their gRPC forms).
package httpproxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/http/httputil"
	"net/netip"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/http/httpguts"

	"gamma-conformance/referenceimpl/meshconfig"
	"gamma-conformance/referenceimpl/proxy/internal/budget"
	"gamma-conformance/referenceimpl/proxy/internal/h2c"
	"gamma-conformance/referenceimpl/proxy/internal/route"
)

// Handler serves the requests of intercepted connections whose original
// destination is in the request context (WithDst).
type Handler struct {
	namespace string
	config    func() *route.Config
	record    func(route meshconfig.RouteKey, backend string, code int)
	log       *slog.Logger
	h1        *http.Transport
	h2c       *h2c.Transport
	fast      *h1Client
	rp        *httputil.ReverseProxy
	budgets   *budget.Set
}

// New returns a handler for clients in namespace ns. config returns the
// current configuration (loaded once per request, so a request finishes on
// the configuration it started with); record counts every answered request
// (route is zero for a request that no route matched or that passed through);
// wrap wraps every backend connection it dials.
func New(ns string, config func() *route.Config, record func(route meshconfig.RouteKey, backend string, code int), logger *slog.Logger, wrap func(net.Conn) net.Conn) *Handler {
	h := &Handler{namespace: ns, config: config, record: record, log: logger, budgets: budget.NewSet(nil)}
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dialer.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return wrap(c), nil
	}
	h.h1 = &http.Transport{
		DialContext:         dial,
		MaxIdleConns:        1024,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		Protocols:           protocols(),
	}
	h.fast = &h1Client{dial: dial, maxIdle: 256, idleTimeout: 90 * time.Second}
	h.h2c = &h2c.Transport{Dial: dial, IdleTimeout: 90 * time.Second}
	h.rp = &httputil.ReverseProxy{
		Rewrite:        rewrite,
		Transport:      h,
		ModifyResponse: h.modifyResponse,
		ErrorHandler:   h.errorHandler,
		ErrorLog:       log.New(io.Discard, "", 0),
		BufferPool:     bufferPool{},
	}
	return h
}

// bufferPool recycles the reverse proxy's copy buffers, which it would
// otherwise allocate (32 KiB) for every response.
type bufferPool struct{}

var buffers = sync.Pool{New: func() any { return new([32 << 10]byte) }}

func (bufferPool) Get() []byte  { return buffers.Get().(*[32 << 10]byte)[:] }
func (bufferPool) Put(b []byte) { buffers.Put((*[32 << 10]byte)(b)) }

func protocols() *http.Protocols {
	var p http.Protocols
	p.SetHTTP1(true)
	return &p
}

// CloseIdleConnections closes idle backend connections.
func (h *Handler) CloseIdleConnections() {
	h.h1.CloseIdleConnections()
	h.fast.CloseIdleConnections()
	h.h2c.CloseIdleConnections()
}

type dstKey struct{}

// WithDst records a connection's original destination in ctx.
func WithDst(ctx context.Context, dst netip.AddrPort) context.Context {
	return context.WithValue(ctx, dstKey{}, dst)
}

type planKey struct{}

// plan is what one request does once routed; the reverse proxy's hooks read
// it from the request context.
type plan struct {
	routed  bool                 // false: no table, forward unchanged
	rule    *meshconfig.HTTPRule // nil when routed: no match
	match   *meshconfig.HTTPMatch
	backend *meshconfig.Backend
	target  netip.AddrPort
	grpc    bool
	h2c     bool
	// timeout bounds the whole request, retries included.
	timeout time.Duration
	// sticky: the request carried a valid session token for target.
	sticky bool
	// got1xx passes an informational response (103 Early Hints, say) on
	// to the client; nil: they are dropped.
	got1xx func(code int, header textproto.MIMEHeader) error
}

// names are the route and backend labels of the request's metrics.
func (p *plan) names() (meshconfig.RouteKey, string) {
	switch {
	case !p.routed:
		return meshconfig.RouteKey{}, "passthrough"
	case p.rule == nil:
		return meshconfig.RouteKey{}, ""
	}
	b := ""
	if p.backend != nil {
		b = p.backend.Name
	}
	return p.rule.Route, b
}

func isGRPC(r *http.Request) bool {
	return strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc")
}

// ServeHTTP routes one request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	dst, _ := r.Context().Value(dstKey{}).(netip.AddrPort)
	p := &plan{target: dst, grpc: isGRPC(r), h2c: r.ProtoMajor == 2}
	cfg := h.config()
	var t *meshconfig.Table
	if cfg != nil {
		t = cfg.Lookup(h.namespace, dst)
	}
	if t == nil || t.HTTP == nil {
		h.forward(w, r, p)
		return
	}
	p.routed = true
	p.match = cfg.Select(t.HTTP, r)
	if p.match == nil {
		h.local(w, p, http.StatusNotFound, "no route matches the request")
		return
	}
	p.rule = &t.HTTP.Rules[p.match.Rule]
	if rd := p.rule.Redirect; rd != nil {
		w.Header().Set("Location", route.RedirectLocation(rd, p.match, r, t.Port))
		h.local(w, p, rd.StatusCode, "")
		return
	}
	if b, ep, ok := stickyTarget(p.rule, r, time.Now()); ok {
		p.backend, p.target, p.sticky = b, ep, true
		p.timeout = p.rule.Timeouts.Request
		h.forward(w, r, p)
		return
	}
	p.backend = route.PickBackend(p.rule.Backends)
	switch {
	case p.backend == nil:
		h.local(w, p, p.rule.DirectStatus, "the route has no backend")
		return
	case p.backend.Invalid:
		h.local(w, p, http.StatusInternalServerError, "invalid backend "+p.backend.Name)
		return
	}
	ep, ok := route.PickEndpoint(p.backend)
	if !ok {
		code := p.rule.NoEndpointsStatus
		if code == 0 {
			code = http.StatusServiceUnavailable
		}
		h.local(w, p, code, "no endpoints for "+p.backend.Name)
		return
	}
	p.target = ep
	p.timeout = p.rule.Timeouts.Request
	h.forward(w, r, p)
}

func (h *Handler) forward(w http.ResponseWriter, r *http.Request, p *plan) {
	ctx := context.WithValue(r.Context(), planKey{}, p)
	if p.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.timeout)
		defer cancel()
	}
	if upgrading(r.Header) {
		h.rp.ServeHTTP(w, r.WithContext(ctx))
		return
	}
	h.relay(w, r, ctx, p)
}

// upgrading reports whether a request asks for a protocol upgrade
// (WebSocket, say), which ReverseProxy relays by hijacking the connection.
func upgrading(h http.Header) bool {
	return httpguts.HeaderValuesContainsToken(h["Connection"], "Upgrade") && h.Get("Upgrade") != ""
}

// forwardedHeaders are kept as the client sent them: a sidecar is
// transparent, whereas ReverseProxy's Rewrite mode drops them.
var forwardedHeaders = []string{"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto"}

func rewrite(pr *httputil.ProxyRequest) {
	rewriteOut(pr.Out, pr.In, pr.In.Context().Value(planKey{}).(*plan))
}

// rewriteOut makes out, the copy of in sent to the backend, what the plan
// says: the endpoint, and the rule's filters.
func rewriteOut(out, in *http.Request, p *plan) {
	for _, k := range forwardedHeaders {
		if v, ok := in.Header[k]; ok {
			out.Header[k] = v
		}
	}
	out.URL.Scheme = "http"
	out.URL.Host = p.target.String()
	if p.rule == nil {
		return
	}
	route.ModifyHeaders(p.rule.RequestHeaders, out.Header, &out.Host)
	if rw := p.rule.Rewrite; rw != nil {
		if rw.Hostname != "" {
			out.Host = rw.Hostname
		}
		if rw.Path != nil {
			out.URL.Path = route.ModifyPath(rw.Path, p.match, in.URL.Path)
			out.URL.RawPath = ""
		}
	}
	route.ModifyHeaders(p.backend.RequestHeaders, out.Header, &out.Host)
}

// send sends the request in the protocol it arrived in.
func (h *Handler) send(r *http.Request, p *plan) (*http.Response, error) {
	if !p.h2c && h.fast.fastPath(r) {
		return h.fast.RoundTrip(r, p.got1xx)
	}
	if p.got1xx != nil {
		// The transports take it from a client trace.
		trace := &httptrace.ClientTrace{Got1xxResponse: p.got1xx}
		r = r.WithContext(httptrace.WithClientTrace(r.Context(), trace))
	}
	if p.h2c {
		return h.h2c.RoundTrip(r)
	}
	return h.h1.RoundTrip(r)
}

func (h *Handler) modifyResponse(resp *http.Response) error {
	p := resp.Request.Context().Value(planKey{}).(*plan)
	if p.rule != nil {
		route.ModifyHeaders(p.rule.ResponseHeaders, resp.Header, nil)
		route.ModifyHeaders(p.backend.ResponseHeaders, resp.Header, nil)
		if s := p.backend.Session; s != nil && !p.sticky {
			startSession(resp.Header, p.rule, s, p.target, time.Now())
		}
	}
	rt, b := p.names()
	h.record(rt, b, resp.StatusCode)
	return nil
}

func (h *Handler) errorHandler(w http.ResponseWriter, r *http.Request, err error) {
	p := r.Context().Value(planKey{}).(*plan)
	switch {
	case errors.Is(r.Context().Err(), context.DeadlineExceeded):
		h.local(w, p, http.StatusGatewayTimeout, "request timeout exceeded")
	case errors.Is(err, errBackendTimeout):
		h.local(w, p, http.StatusGatewayTimeout, "backend request timeout exceeded")
	case errors.Is(err, errBudgetExhausted):
		h.local(w, p, http.StatusServiceUnavailable, "retry budget of "+p.backend.Name+" exhausted")
	case r.Context().Err() != nil:
		// The client went away; there is nobody to answer.
		rt, b := p.names()
		h.record(rt, b, 499)
	default:
		h.log.Debug("backend request failed", "target", p.target, "error", err)
		h.local(w, p, http.StatusServiceUnavailable, "backend unavailable: "+err.Error())
	}
}

// local answers without a backend. gRPC requests get a trailers-only
// response carrying the matching grpc-status.
func (h *Handler) local(w http.ResponseWriter, p *plan, code int, msg string) {
	if p.rule != nil {
		route.ModifyHeaders(p.rule.ResponseHeaders, w.Header(), nil)
	}
	rt, b := p.names()
	h.record(rt, b, code)
	if p.grpc {
		w.Header().Set("Content-Type", "application/grpc")
		w.Header().Set("Grpc-Status", strconv.Itoa(grpcCode(code)))
		if msg != "" {
			w.Header().Set("Grpc-Message", grpcMessage(msg))
		}
		w.WriteHeader(http.StatusOK)
		return
	}
	if msg == "" {
		w.WriteHeader(code)
		return
	}
	http.Error(w, msg, code)
}

// grpcMessage percent-encodes msg as the gRPC wire protocol requires.
func grpcMessage(msg string) string {
	var b strings.Builder
	for i := 0; i < len(msg); i++ {
		if c := msg[i]; c < 0x20 || c > 0x7e || c == '%' {
			fmt.Fprintf(&b, "%%%02X", c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// grpcCode maps a local HTTP answer to a gRPC status code.
func grpcCode(httpCode int) int {
	switch httpCode {
	case http.StatusNotFound:
		return 12 // UNIMPLEMENTED
	case http.StatusGatewayTimeout:
		return 4 // DEADLINE_EXCEEDED
	case http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusTooManyRequests:
		return 14 // UNAVAILABLE
	case http.StatusUnauthorized:
		return 16 // UNAUTHENTICATED
	case http.StatusForbidden:
		return 7 // PERMISSION_DENIED
	}
	return 2 // UNKNOWN
}
