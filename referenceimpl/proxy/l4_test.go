package proxy

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"gamma-conformance/referenceimpl/meshconfig"
)

// nameServer answers each TCP connection with its name and closes.
func nameServer(t *testing.T, name string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Write([]byte(name))
			c.Close()
		}
	}()
	return l.Addr().String()
}

func l4Table(vip string, port int32, proto meshconfig.Protocol) meshconfig.Table {
	return meshconfig.Table{Service: meshconfig.ServiceKey{Namespace: "ns", Name: "svc"}, Port: port, VIPs: []string{vip}, Protocol: proto}
}

func TestTCPRoute(t *testing.T) {
	a, b := nameServer(t, "a"), nameServer(t, "b")
	split := l4Table(vip, 9090, meshconfig.ProtocolTCP)
	split.TCP = &meshconfig.Backends{backend("a", 3, a), backend("b", 1, b)}
	invalid := l4Table(vip, 9091, meshconfig.ProtocolTCP)
	invalid.TCP = &meshconfig.Backends{{Name: "missing", Weight: 1, Invalid: true}}
	empty := l4Table(vip, 9092, meshconfig.ProtocolTCP)
	empty.TCP = &meshconfig.Backends{backend("empty", 1)}
	h := newHarness(t, "")
	h.apply(&meshconfig.Snapshot{Version: 1, Tables: []meshconfig.Table{split, invalid, empty}})

	read := func(port string) (string, error) {
		c, err := h.dial(t.Context(), "tcp", vip+":"+port)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		b, err := io.ReadAll(c)
		return string(b), err
	}
	counts := map[string]int{}
	for range 400 {
		got, err := read("9090")
		if err != nil {
			t.Fatal(err)
		}
		counts[got]++
	}
	if counts["a"]+counts["b"] != 400 || counts["a"] < 260 || counts["a"] > 340 {
		t.Errorf("3:1 split over 400 connections gave %v", counts)
	}
	for _, port := range []string{"9091", "9092"} {
		if got, err := read(port); got != "" || err == nil {
			t.Errorf("port %s: got %q, %v; want a reset", port, got, err)
		}
	}
}

func TestTLSRoute(t *testing.T) {
	tlsServer := func(name string) *httptest.Server {
		s := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(name + " " + r.TLS.ServerName))
		}))
		t.Cleanup(s.Close)
		return s
	}
	exact, wild, other := tlsServer("exact"), tlsServer("wild"), tlsServer("other")
	tbl := l4Table(vip, 443, meshconfig.ProtocolTLS)
	tbl.TLS = []meshconfig.TLSRule{
		{Hostnames: []string{"exact.example.com"}, Backends: meshconfig.Backends{backend("exact", 1, endpoint(exact))}},
		{Hostnames: []string{"*.wild.example.com"}, Backends: meshconfig.Backends{backend("wild", 1, endpoint(wild))}},
		{Hostnames: []string{"other.example.com"}, Backends: meshconfig.Backends{backend("other", 1, endpoint(other))}},
	}
	h := newHarness(t, "")
	h.apply(&meshconfig.Snapshot{Version: 1, Tables: []meshconfig.Table{tbl}})
	for sni, want := range map[string]string{
		"exact.example.com":    "exact exact.example.com",
		"a.wild.example.com":   "wild a.wild.example.com",
		"a.b.wild.example.com": "wild a.b.wild.example.com",
		"wild.example.com":     "",
		"nomatch.example.com":  "",
	} {
		c := &http.Client{Transport: &http.Transport{
			DialContext:     h.dial,
			TLSClientConfig: &tls.Config{ServerName: sni, InsecureSkipVerify: true},
		}}
		resp, err := c.Get("https://" + vip + "/")
		if want == "" {
			if err == nil {
				resp.Body.Close()
				t.Errorf("SNI %s: got an answer, want the connection reset", sni)
			}
			continue
		}
		if err != nil {
			t.Errorf("SNI %s: %v", sni, err)
			continue
		}
		if got := readAll(t, resp); got != want {
			t.Errorf("SNI %s: got %q, want %q", sni, got, want)
		}
		c.CloseIdleConnections()
	}
}

// Serve returns after its context ends even while a passed-through
// connection stays open: it waits for HTTP connections only, a byte stream
// lasts as long as its peers want.
func TestServeReturnsWithPassthroughOpen(t *testing.T) {
	bl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer bl.Close()
	got := make(chan net.Conn, 1)
	go func() {
		c, err := bl.Accept()
		if err == nil {
			got <- c // held open
		}
	}()
	dst := netip.MustParseAddrPort(bl.Addr().String())
	p := New(Options{OriginalDst: func(net.Conn) (netip.AddrPort, error) { return dst, nil }, Logger: discardLogger()})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Serve(ctx, l); close(done) }()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var bc net.Conn
	select {
	case bc = <-got:
		defer bc.Close()
	case <-time.After(5 * time.Second):
		t.Fatal("the connection was not passed through")
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return while a passed-through connection was open")
	}
}
