package proxy

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"gamma-conformance/referenceimpl/meshconfig"
)

// harness runs a Proxy on a loopback listener. Its clients dial the proxy
// and tell it which address they "meant" (what SO_ORIGINAL_DST would say
// after interception), keyed by the client's local address.
type harness struct {
	t    testing.TB
	p    *Proxy
	addr string

	mu   sync.Mutex
	dsts map[string]chan netip.AddrPort
}

func newHarness(t testing.TB, ns string) *harness {
	t.Helper()
	h := &harness{t: t, dsts: make(map[string]chan netip.AddrPort)}
	h.p = New(Options{
		Namespace:   ns,
		OriginalDst: h.originalDst,
		Logger:      discardLogger(),
		BusyPoll:    DefaultBusyPoll,
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.addr = l.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.p.Serve(ctx, l); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return h
}

func (h *harness) slot(key string) chan netip.AddrPort {
	h.mu.Lock()
	defer h.mu.Unlock()
	ch, ok := h.dsts[key]
	if !ok {
		ch = make(chan netip.AddrPort, 1)
		h.dsts[key] = ch
	}
	return ch
}

func (h *harness) originalDst(c net.Conn) (netip.AddrPort, error) {
	key := c.RemoteAddr().String()
	select {
	case dst := <-h.slot(key):
		h.mu.Lock()
		delete(h.dsts, key)
		h.mu.Unlock()
		return dst, nil
	case <-time.After(5 * time.Second):
		return netip.AddrPort{}, fmt.Errorf("no original destination for %s", key)
	}
}

// dial connects to the proxy as if addr had been dialed and intercepted.
func (h *harness) dial(ctx context.Context, _, addr string) (net.Conn, error) {
	dst, err := netip.ParseAddrPort(addr)
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", h.addr)
	if err != nil {
		return nil, err
	}
	h.slot(c.LocalAddr().String()) <- dst
	return c, nil
}

func (h *harness) apply(s *meshconfig.Snapshot) {
	h.t.Helper()
	if err := h.p.Apply(s); err != nil {
		h.t.Fatal(err)
	}
}

// client returns an HTTP/1.1 client (h2c when h2c is set) whose every
// connection goes through the proxy.
func (h *harness) client(h2c bool) *http.Client {
	var ps http.Protocols
	if h2c {
		ps.SetUnencryptedHTTP2(true)
	} else {
		ps.SetHTTP1(true)
	}
	tr := &http.Transport{DialContext: h.dial, Protocols: &ps, DisableCompression: true}
	h.t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{
		Transport:     tr,
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// echoed is what an echo backend saw.
type echoed struct {
	Backend string
	Proto   string
	Method  string
	Host    string
	Path    string
	Query   string
	Headers http.Header
}

// echoServer answers every request with an echoed body naming it, and
// speaks HTTP/1.1 and h2c.
func echoServer(t *testing.T, name string) *httptest.Server {
	t.Helper()
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d, err := time.ParseDuration(r.URL.Query().Get("sleep")); err == nil {
			select {
			case <-time.After(d):
			case <-r.Context().Done():
				return
			}
		}
		w.Header().Set("X-Backend", name)
		w.Header().Set("X-Backend-Header", "backend-value")
		json.NewEncoder(w).Encode(echoed{name, r.Proto, r.Method, r.Host, r.URL.Path, r.URL.RawQuery, r.Header})
	}))
	s.Config.Protocols = serverProtocols()
	s.Start()
	t.Cleanup(s.Close)
	return s
}

func endpoint(s *httptest.Server) string { return s.Listener.Addr().String() }

type response struct {
	code    int
	header  http.Header
	body    echoed
	rawBody string
}

func get(t *testing.T, c *http.Client, url string, hdr ...string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if strings.EqualFold(hdr[i], "host") {
			req.Host = hdr[i+1]
			continue
		}
		req.Header.Add(hdr[i], hdr[i+1])
	}
	return do(t, c, req)
}

func do(t *testing.T, c *http.Client, req *http.Request) response {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := response{code: resp.StatusCode, header: resp.Header, rawBody: string(b)}
	if resp.Header.Get("X-Backend") != "" {
		if err := json.Unmarshal(b, &r.body); err != nil {
			t.Fatalf("decoding echo body %q: %v", b, err)
		}
	}
	return r
}

// table returns a producer HTTP table for svc on vip:port.
func table(vip string, port int32, h *meshconfig.HTTPTable) meshconfig.Table {
	return meshconfig.Table{
		Service:  meshconfig.ServiceKey{Namespace: "ns", Name: "svc"},
		Port:     port,
		VIPs:     []string{vip},
		Protocol: meshconfig.ProtocolHTTP,
		HTTP:     h,
	}
}

func backend(name string, weight int32, eps ...string) meshconfig.Backend {
	return meshconfig.Backend{Name: name, Weight: weight, Endpoints: eps}
}

func prefix(rule int, p string) meshconfig.HTTPMatch {
	return meshconfig.HTTPMatch{Rule: rule, Path: meshconfig.StringMatch{Type: meshconfig.MatchPathPrefix, Value: p}}
}

func rule(name string, bs ...meshconfig.Backend) meshconfig.HTTPRule {
	return meshconfig.HTTPRule{Route: meshconfig.RouteKey{Kind: "HTTPRoute", Namespace: "ns", Name: name}, Backends: bs}
}
