package proxy

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"gamma-conformance/referenceimpl/meshconfig"
)

// controlPlane is a fake control plane speaking the real wire protocol over
// HTTP/2 and TLS: every connection gets the current snapshot at once and
// again whenever it changes.
type controlPlane struct {
	current     atomic.Pointer[meshconfig.Snapshot]
	connections atomic.Int32
}

func (cp *controlPlane) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != meshconfig.StreamPath || r.Header.Get("Authorization") != "Bearer the-token" || r.ProtoMajor != 2 {
		http.Error(w, "bad request", http.StatusForbidden)
		return
	}
	cp.connections.Add(1)
	w.Header().Set("Content-Type", meshconfig.ContentType)
	var sent *meshconfig.Snapshot
	for {
		if s := cp.current.Load(); s != sent {
			if err := meshconfig.WriteFrame(w, s); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			sent = s
		}
		select {
		case <-r.Context().Done():
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func startControlPlane(t *testing.T, cp *controlPlane, l net.Listener) *httptest.Server {
	s := httptest.NewUnstartedServer(cp)
	if l != nil {
		s.Listener.Close()
		s.Listener = l
	}
	s.EnableHTTP2 = true
	s.StartTLS()
	return s
}

// stopControlPlane ends its streams first: Close waits for them.
func stopControlPlane(s *httptest.Server) {
	s.CloseClientConnections()
	s.Close()
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestConfigStream(t *testing.T) {
	v1 := echoServer(t, "v1")
	snap := func(version uint64, name string) *meshconfig.Snapshot {
		return &meshconfig.Snapshot{Version: version, Tables: []meshconfig.Table{table(vip, 80, &meshconfig.HTTPTable{
			Rules: []meshconfig.HTTPRule{rule(name, backend("v1", 1, endpoint(v1)))}, Matches: []meshconfig.HTTPMatch{prefix(0, "/")},
		})}}
	}
	cp := &controlPlane{}
	cp.current.Store(snap(1, "first"))
	srv := startControlPlane(t, cp, nil)
	defer func() { stopControlPlane(srv) }()

	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	token := filepath.Join(dir, "token")
	os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600)
	os.WriteFile(token, []byte("the-token\n"), 0o600)

	h := newHarness(t, "")
	admin := httptest.NewServer(h.p.AdminHandler())
	defer admin.Close()
	readyCode := func() int {
		resp, err := http.Get(admin.URL + "/ready")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if readyCode() != http.StatusServiceUnavailable {
		t.Fatal("ready before any configuration")
	}
	version := func() uint64 {
		if c := h.p.cfg.Load(); c != nil {
			return c.Snapshot().Version
		}
		return 0
	}
	done := make(chan struct{})
	go func() {
		h.p.StreamConfig(t.Context(), StreamOptions{URL: srv.URL, CAFile: ca, TokenFile: token, MaxBackoff: 50 * time.Millisecond})
		close(done)
	}()
	t.Cleanup(func() { <-done })
	eventually(t, "the first config", func() bool { return version() == 1 })
	if readyCode() != http.StatusOK {
		t.Error("not ready after the first config")
	}

	// A bad frame is rejected whole; the old config keeps serving.
	bad := snap(2, "bad")
	bad.Tables = append(bad.Tables, bad.Tables[0]) // the same VIP claimed twice
	cp.current.Store(bad)
	eventually(t, "a reconnect after the bad frame", func() bool { return cp.connections.Load() >= 3 })
	if version() != 1 {
		t.Fatalf("version %d in use after a bad frame, want 1", version())
	}
	c := h.client(false)
	if r := get(t, c, "http://"+vip+"/"); r.code != 200 || r.body.Backend != "v1" {
		t.Errorf("serving after a bad frame: %d %+v", r.code, r.body)
	}
	resp, err := http.Get(admin.URL + "/config_dump")
	if err != nil {
		t.Fatal(err)
	}
	var dump ConfigDump
	decodeJSON(t, resp, &dump)
	if dump.Version != 1 || dump.LastError == "" || !dump.Ready {
		t.Errorf("config dump after a bad frame: %+v", dump)
	}

	cp.current.Store(snap(3, "third"))
	eventually(t, "version 3", func() bool { return version() == 3 })

	// Control plane gone: keep serving with the last good config.
	addr := srv.Listener.Addr().String()
	stopControlPlane(srv)
	time.Sleep(100 * time.Millisecond)
	if r := get(t, c, "http://"+vip+"/"); r.code != 200 || version() != 3 {
		t.Errorf("serving with the control plane away: %d, version %d", r.code, version())
	}

	// It comes back on the same address: the proxy reconnects.
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	cp.current.Store(snap(4, "fourth"))
	srv = startControlPlane(t, cp, l)
	eventually(t, "version 4 after the control plane came back", func() bool { return version() == 4 })

	checkMetrics(t, admin.URL, `gamma_proxy_config_version 4`, `gamma_proxy_config_rejected_total`, `gamma_proxy_busy_poll_hits_total`,
		`go_goroutines `, `go_memstats_heap_alloc_bytes `, `process_resident_memory_bytes `,
		`gamma_proxy_requests_total{backend="v1",code="200",route="HTTPRoute/ns/first"} 1`,
		`gamma_proxy_requests_total{backend="v1",code="200",route="HTTPRoute/ns/third"} 1`)
}

// checkMetrics checks that the admin server at url's /metrics has every
// line of wants.
func checkMetrics(t *testing.T, url string, wants ...string) {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body := readAll(t, resp)
	for _, want := range wants {
		if !contains(body, want) {
			t.Errorf("metrics lack %q:\n%s", want, body)
		}
	}
}

// TestConfigStreamIdle: a stream that goes quiet for longer than the idle
// timeout is taken as lost and reopened; the config stays.
func TestConfigStreamIdle(t *testing.T) {
	cp := &controlPlane{}
	cp.current.Store(&meshconfig.Snapshot{Version: 1})
	srv := startControlPlane(t, cp, nil)
	defer stopControlPlane(srv)
	dir := t.TempDir()
	ca, token := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "token")
	os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600)
	os.WriteFile(token, []byte("the-token"), 0o600)
	p := New(Options{Logger: discardLogger()})
	done := make(chan struct{})
	go func() {
		p.StreamConfig(t.Context(), StreamOptions{URL: srv.URL, CAFile: ca, TokenFile: token, IdleTimeout: 100 * time.Millisecond, MaxBackoff: 20 * time.Millisecond})
		close(done)
	}()
	t.Cleanup(func() { <-done })
	eventually(t, "three sessions", func() bool { return cp.connections.Load() >= 3 })
	if !p.Ready() || p.cfg.Load().Snapshot().Version != 1 {
		t.Error("lost the config across idle reconnects")
	}
}

// TestConfigStreamInlineCA: the injector passes the CA itself (GAMMA_CA_PEM)
// rather than a file; a wrong CA never gets a config.
func TestConfigStreamInlineCA(t *testing.T) {
	cp := &controlPlane{}
	cp.current.Store(&meshconfig.Snapshot{Version: 7})
	srv := startControlPlane(t, cp, nil)
	defer stopControlPlane(srv)
	token := filepath.Join(t.TempDir(), "token")
	os.WriteFile(token, []byte("the-token"), 0o600)
	good := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	wrong := selfSignedPEM(t)
	for _, c := range []struct {
		name      string
		ca        []byte
		wantReady bool
	}{{"right CA", good, true}, {"wrong CA", wrong, false}} {
		t.Run(c.name, func(t *testing.T) {
			p := New(Options{Logger: discardLogger()})
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
			defer cancel()
			go p.StreamConfig(ctx, StreamOptions{URL: srv.URL, CAPEM: c.ca, TokenFile: token, MaxBackoff: 20 * time.Millisecond})
			if c.wantReady {
				eventually(t, "ready", p.Ready)
				return
			}
			<-ctx.Done()
			if p.Ready() {
				t.Fatal("accepted a control plane whose certificate the CA did not sign")
			}
		})
	}
}

// selfSignedPEM is a CA that signed nothing we serve (httptest servers all
// share one certificate, so another httptest server would not do).
func selfSignedPEM(t *testing.T) []byte {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "other"}, IsCA: true,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
