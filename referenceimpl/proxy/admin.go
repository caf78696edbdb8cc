package proxy

import (
	"encoding/json"
	"net/http"
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"gamma-conformance/referenceimpl/meshconfig"
)

type metrics struct {
	reg         *prometheus.Registry
	requests    *prometheus.CounterVec
	connections *prometheus.CounterVec
	// requestCounters caches the counters of requests by requestLabels:
	// CounterVec.WithLabelValues validates and hashes its label values and
	// locks on every call, and the route label is built from a RouteKey.
	requestCounters sync.Map
	// connCounters are the connection counters by kind, made up front.
	connCounters   map[string]prometheus.Counter
	configVersion  prometheus.Gauge
	configRejected prometheus.Counter
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gamma_proxy_requests_total",
			Help: "HTTP and gRPC requests answered, by route, backend and HTTP status code.",
		}, []string{"route", "backend", "code"}),
		connections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gamma_proxy_connections_total",
			Help: "Intercepted connections by how they were handled: http, tcp, tls, passthrough or error.",
		}, []string{"kind"}),
		configVersion: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "gamma_proxy_config_version",
			Help: "Version of the configuration in use.",
		}),
		configRejected: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gamma_proxy_config_rejected_total",
			Help: "Configuration snapshots rejected as invalid.",
		}),
	}
	m.reg.MustRegister(m.requests, m.connections, m.configVersion, m.configRejected,
		// The Go runtime's own: go_goroutines, heap, GC; and the process's
		// resident memory and CPU.
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.connCounters = make(map[string]prometheus.Counter)
	for _, kind := range []string{"http", "tcp", "tls", "passthrough", "error"} {
		m.connCounters[kind] = m.connections.WithLabelValues(kind)
	}
	return m
}

type requestLabels struct {
	route   meshconfig.RouteKey
	backend string
	code    int
}

// request counts one answered request; route is zero when no route applied.
func (m *metrics) request(route meshconfig.RouteKey, backend string, code int) {
	l := requestLabels{route, backend, code}
	if c, ok := m.requestCounters.Load(l); ok {
		c.(prometheus.Counter).Inc()
		return
	}
	name := ""
	if route != (meshconfig.RouteKey{}) {
		name = route.String()
	}
	c, _ := m.requestCounters.LoadOrStore(l, m.requests.WithLabelValues(name, backend, strconv.Itoa(code)))
	c.(prometheus.Counter).Inc()
}

// conn counts one intercepted connection of a kind made in newMetrics.
func (m *metrics) conn(kind string) { m.connCounters[kind].Inc() }

// ConfigDump is the body of the admin endpoint /config_dump.
type ConfigDump struct {
	Ready bool `json:"ready"`
	// Version of the snapshot in use; 0 before the first one.
	Version uint64 `json:"version"`
	// LastError is why the last snapshot offered was rejected, if it was.
	LastError string               `json:"lastError,omitempty"`
	Snapshot  *meshconfig.Snapshot `json:"snapshot,omitempty"`
}

// AdminHandler serves /ready (200 once configured, else 503),
// /config_dump (ConfigDump as JSON) and /metrics (Prometheus). Serve it on
// localhost only.
func (p *Proxy) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ready", p.serveReady)
	mux.HandleFunc("GET /config_dump", func(w http.ResponseWriter, _ *http.Request) {
		d := ConfigDump{}
		if c := p.cfg.Load(); c != nil {
			d.Ready, d.Snapshot, d.Version = true, c.Snapshot(), c.Snapshot().Version
		}
		p.mu.Lock()
		if p.lastErr != nil {
			d.LastError = p.lastErr.Error()
		}
		p.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(d)
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(p.metrics.reg, promhttp.HandlerOpts{}))
	return mux
}

// ReadyHandler serves only /ready, for a kubelet probe on the pod address.
func (p *Proxy) ReadyHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ready", p.serveReady)
	return mux
}

func (p *Proxy) serveReady(w http.ResponseWriter, _ *http.Request) {
	if !p.Ready() {
		http.Error(w, "no valid configuration yet", http.StatusServiceUnavailable)
		return
	}
	w.Write([]byte("ready\n"))
}
