package proxy

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"gamma-conformance/referenceimpl/meshconfig"
)

const vip = "10.96.0.10"

func TestHTTPMatching(t *testing.T) {
	v1, v2, v3 := echoServer(t, "v1"), echoServer(t, "v2"), echoServer(t, "v3")
	h := newHarness(t, "client-ns")
	exact := func(rule int, p string) meshconfig.HTTPMatch {
		return meshconfig.HTTPMatch{Rule: rule, Path: meshconfig.StringMatch{Type: meshconfig.MatchExact, Value: p}}
	}
	withHeader := prefix(1, "/")
	withHeader.Headers = []meshconfig.NameMatch{{Name: "version", Type: meshconfig.MatchExact, Value: "two"}}
	withQuery := prefix(2, "/")
	withQuery.Query = []meshconfig.NameMatch{{Name: "animal", Type: meshconfig.MatchRegex, Value: "wh.le"}}
	post := prefix(2, "/post")
	post.Method = http.MethodPost
	regex := meshconfig.HTTPMatch{Rule: 2, Path: meshconfig.StringMatch{Type: meshconfig.MatchRegex, Value: "/re/[0-9]+"}}
	h.apply(&meshconfig.Snapshot{Version: 1, Tables: []meshconfig.Table{table(vip, 80, &meshconfig.HTTPTable{
		Rules: []meshconfig.HTTPRule{
			rule("r1", backend("v1", 1, endpoint(v1))),
			rule("r2", backend("v2", 1, endpoint(v2))),
			rule("r3", backend("v3", 1, endpoint(v3))),
		},
		// Already in precedence order, as the routing model sends them.
		Matches: []meshconfig.HTTPMatch{exact(0, "/exact"), regex, post, withHeader, withQuery, prefix(1, "/v2/"), prefix(0, "/app")},
	})}})

	for _, proto := range []string{"HTTP/1.1", "HTTP/2.0"} {
		c := h.client(proto == "HTTP/2.0")
		for _, tc := range []struct {
			path    string
			hdr     []string
			method  string
			code    int
			backend string
		}{
			{path: "/exact", backend: "v1"},
			{path: "/exact/", code: 404},
			{path: "/v2", backend: "v2"},
			{path: "/v2/", backend: "v2"},
			{path: "/v2/x", backend: "v2"},
			{path: "/v2x", code: 404},
			{path: "/app", backend: "v1"},
			{path: "/appx", code: 404},
			{path: "/x", hdr: []string{"VERSION", "two"}, backend: "v2"},
			{path: "/x", hdr: []string{"version", "three"}, code: 404},
			{path: "/x?animal=whale&x=1", backend: "v3"},
			{path: "/x?Animal=whale", code: 404},
			{path: "/x?animal=whaler", code: 404},
			{path: "/re/123", backend: "v3"},
			{path: "/re/123x", code: 404},
			{path: "/post", method: http.MethodPost, backend: "v3"},
			{path: "/post", code: 404},
			{path: "/", code: 404},
		} {
			method := tc.method
			if method == "" {
				method = http.MethodGet
			}
			req, _ := http.NewRequest(method, "http://"+vip+tc.path, nil)
			for i := 0; i+1 < len(tc.hdr); i += 2 {
				req.Header.Set(tc.hdr[i], tc.hdr[i+1])
			}
			r := do(t, c, req)
			want := tc.code
			if want == 0 {
				want = 200
			}
			if r.code != want || r.body.Backend != tc.backend {
				t.Errorf("%s %s %s %v: got %d from %q, want %d from %q", proto, method, tc.path, tc.hdr, r.code, r.body.Backend, want, tc.backend)
			}
			if r.code == 200 && r.body.Proto != proto {
				t.Errorf("%s %s: backend saw %s, want the downstream protocol", proto, tc.path, r.body.Proto)
			}
		}
	}
}

func TestHTTPHeaderModifiers(t *testing.T) {
	v1 := echoServer(t, "v1")
	h := newHarness(t, "")
	b := backend("v1", 1, endpoint(v1))
	b.RequestHeaders = &meshconfig.HeaderModifier{Set: []meshconfig.Header{{Name: "X-Backend-Set", Value: "b"}}}
	b.ResponseHeaders = &meshconfig.HeaderModifier{Add: []meshconfig.Header{{Name: "X-Resp-Backend", Value: "rb"}}}
	r := rule("mods", b)
	r.RequestHeaders = &meshconfig.HeaderModifier{
		Set:    []meshconfig.Header{{Name: "x-set", Value: "set"}},
		Add:    []meshconfig.Header{{Name: "X-Add", Value: "added"}},
		Remove: []string{"x-remove"},
	}
	r.ResponseHeaders = &meshconfig.HeaderModifier{
		Set:    []meshconfig.Header{{Name: "X-Resp-Set", Value: "rs"}},
		Remove: []string{"x-backend-header"},
	}
	h.apply(&meshconfig.Snapshot{Version: 1, Tables: []meshconfig.Table{table(vip, 80, &meshconfig.HTTPTable{
		Rules: []meshconfig.HTTPRule{r}, Matches: []meshconfig.HTTPMatch{prefix(0, "/")},
	})}})
	for _, h2c := range []bool{false, true} {
		res := get(t, h.client(h2c), "http://"+vip+"/", "X-Set", "orig", "x-add", "orig", "X-Remove", "gone", "X-Keep", "kept", "X-Forwarded-For", "1.2.3.4")
		got := res.body.Headers
		for k, want := range map[string]string{"X-Set": "set", "X-Add": "orig,added", "X-Remove": "", "X-Keep": "kept", "X-Backend-Set": "b", "X-Forwarded-For": "1.2.3.4"} {
			if v := strings.Join(got.Values(k), ","); v != want {
				t.Errorf("h2c=%v: backend saw %s=%q, want %q", h2c, k, v, want)
			}
		}
		for k, want := range map[string]string{"X-Resp-Set": "rs", "X-Resp-Backend": "rb", "X-Backend-Header": "", "X-Backend": "v1"} {
			if v := res.header.Get(k); v != want {
				t.Errorf("h2c=%v: response %s=%q, want %q", h2c, k, v, want)
			}
		}
	}
}

func TestHTTPRedirectAndRewrite(t *testing.T) {
	v1 := echoServer(t, "v1")
	h := newHarness(t, "")
	redirect := func(name string, rd meshconfig.Redirect) meshconfig.HTTPRule {
		r := rule(name)
		r.Redirect = &rd
		return r
	}
	rewrite := rule("rewrite", backend("v1", 1, endpoint(v1)))
	rewrite.Rewrite = &meshconfig.Rewrite{Hostname: "rewritten.example", Path: &meshconfig.PathModifier{Type: meshconfig.ReplacePrefixMatch, Value: "/new"}}
	full := rule("full", backend("v1", 1, endpoint(v1)))
	full.Rewrite = &meshconfig.Rewrite{Path: &meshconfig.PathModifier{Type: meshconfig.ReplaceFullPath, Value: "/full"}}
	h.apply(&meshconfig.Snapshot{Version: 1, Tables: []meshconfig.Table{table(vip, 8080, &meshconfig.HTTPTable{
		Rules: []meshconfig.HTTPRule{
			redirect("host", meshconfig.Redirect{Hostname: "example.org", StatusCode: 302}),
			redirect("prefix", meshconfig.Redirect{Path: &meshconfig.PathModifier{Type: meshconfig.ReplacePrefixMatch, Value: "/to"}, StatusCode: 301}),
			redirect("fullpath", meshconfig.Redirect{Path: &meshconfig.PathModifier{Type: meshconfig.ReplaceFullPath, Value: "/whole"}, StatusCode: 303}),
			redirect("port", meshconfig.Redirect{Port: 8083, StatusCode: 307}),
			redirect("scheme", meshconfig.Redirect{Scheme: "https", StatusCode: 308}),
			redirect("scheme-port", meshconfig.Redirect{Scheme: "https", Port: 8443, Hostname: "x.example", StatusCode: 302}),
			redirect("http80", meshconfig.Redirect{Port: 80, StatusCode: 302}),
			rewrite, full,
		},
		Matches: []meshconfig.HTTPMatch{prefix(0, "/host"), prefix(1, "/from/"), prefix(2, "/fullpath"), prefix(3, "/port"),
			prefix(4, "/scheme"), prefix(5, "/sp"), prefix(6, "/http80"), prefix(7, "/old"), prefix(8, "/f")},
	})}})
	c := h.client(false)
	for _, tc := range []struct {
		path, location string
		code           int
	}{
		{"/host/a?q=1", "http://example.org:8080/host/a?q=1", 302},
		{"/from/x/y", "http://echo:8080/to/x/y", 301},
		{"/from", "http://echo:8080/to", 301},
		{"/fullpath/z", "http://echo:8080/whole", 303},
		{"/port", "http://echo:8083/port", 307},
		{"/scheme", "https://echo/scheme", 308},
		{"/sp", "https://x.example:8443/sp", 302},
		{"/http80", "http://echo/http80", 302},
	} {
		r := get(t, c, "http://"+vip+":8080"+tc.path, "Host", "echo:8080")
		if r.code != tc.code || r.header.Get("Location") != tc.location {
			t.Errorf("%s: got %d Location %q, want %d %q", tc.path, r.code, r.header.Get("Location"), tc.code, tc.location)
		}
	}
	r := get(t, c, "http://"+vip+":8080/old/sub?x=1")
	if r.code != 200 || r.body.Path != "/new/sub" || r.body.Host != "rewritten.example" || r.body.Query != "x=1" {
		t.Errorf("prefix rewrite: got %d %+v", r.code, r.body)
	}
	r = get(t, c, "http://"+vip+":8080/f/g")
	if r.code != 200 || r.body.Path != "/full" || r.body.Host != vip+":8080" {
		t.Errorf("full rewrite: got %d %+v", r.code, r.body)
	}
}

func TestHTTPLocalAnswers(t *testing.T) {
	v1 := echoServer(t, "v1")
	h := newHarness(t, "")
	invalid := rule("invalid", meshconfig.Backend{Name: "missing", Weight: 1, Invalid: true})
	none := rule("none", backend("empty", 1))
	none500 := rule("none500", backend("empty", 1))
	none500.NoEndpointsStatus = 500
	direct := rule("direct")
	direct.DirectStatus = 500
	slow := rule("slow", backend("v1", 1, endpoint(v1)))
	slow.Timeouts.Request = 100 * time.Millisecond
	slowAttempt := rule("slow-attempt", backend("v1", 1, endpoint(v1)))
	slowAttempt.Timeouts = meshconfig.Timeouts{Request: time.Minute, BackendRequest: 100 * time.Millisecond}
	down := rule("down", backend("down", 1, closedAddr(t)))
	h.apply(&meshconfig.Snapshot{Version: 1, Tables: []meshconfig.Table{table(vip, 80, &meshconfig.HTTPTable{
		Rules: []meshconfig.HTTPRule{invalid, none, direct, slow, slowAttempt, down, none500},
		Matches: []meshconfig.HTTPMatch{prefix(0, "/invalid"), prefix(1, "/none"), prefix(2, "/direct"), prefix(3, "/slow"), prefix(4, "/attempt"),
			prefix(5, "/down"), prefix(6, "/empty500")},
	})}})
	c := h.client(false)
	for path, want := range map[string]int{"/invalid": 500, "/none": 503, "/direct": 500, "/slow?sleep=5s": 504,
		"/slow?sleep=1ms": 200, "/attempt?sleep=5s": 504, "/down": 503, "/unmatched": 404, "/empty500": 500} {
		if r := get(t, c, "http://"+vip+path); r.code != want {
			t.Errorf("%s: got %d, want %d", path, r.code, want)
		}
	}
	rec := httptest.NewRecorder()
	h.p.AdminHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	for _, want := range []string{
		`gamma_proxy_requests_total{backend="",code="404",route=""} 1`,
		`gamma_proxy_requests_total{backend="missing",code="500",route="HTTPRoute/ns/invalid"} 1`,
		`gamma_proxy_requests_total{backend="v1",code="504",route="HTTPRoute/ns/slow"} 1`,
		`gamma_proxy_requests_total{backend="down",code="503",route="HTTPRoute/ns/down"} 1`,
	} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("metrics lack %s:\n%s", want, rec.Body)
		}
	}
}

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestHTTPWeightedSplit(t *testing.T) {
	v1, v2 := echoServer(t, "v1"), echoServer(t, "v2")
	h := newHarness(t, "")
	h.apply(&meshconfig.Snapshot{Version: 1, Tables: []meshconfig.Table{table(vip, 80, &meshconfig.HTTPTable{
		Rules:   []meshconfig.HTTPRule{rule("split", backend("v1", 70, endpoint(v1)), backend("v2", 30, endpoint(v2)))},
		Matches: []meshconfig.HTTPMatch{prefix(0, "/")},
	})}})
	c := h.client(false)
	n, v1s := 1000, 0
	for range n {
		if get(t, c, "http://"+vip+"/").body.Backend == "v1" {
			v1s++
		}
	}
	if share := float64(v1s) / float64(n); share < 0.65 || share > 0.75 {
		t.Errorf("v1 got %.3f of requests, want 0.70±0.05", share)
	}
}

// TestConsumerOverlay: a client in the overlay's namespace gets the overlay,
// a client elsewhere the producer table.
func TestConsumerOverlay(t *testing.T) {
	v1, v2 := echoServer(t, "v1"), echoServer(t, "v2")
	producer := table(vip, 80, &meshconfig.HTTPTable{Rules: []meshconfig.HTTPRule{rule("p", backend("v1", 1, endpoint(v1)))}, Matches: []meshconfig.HTTPMatch{prefix(0, "/")}})
	consumer := table(vip, 80, &meshconfig.HTTPTable{Rules: []meshconfig.HTTPRule{rule("c", backend("v2", 1, endpoint(v2)))}, Matches: []meshconfig.HTTPMatch{prefix(0, "/")}})
	consumer.ClientNamespace = "consumer"
	s := &meshconfig.Snapshot{Version: 1, Tables: []meshconfig.Table{producer, consumer}}
	for ns, want := range map[string]string{"consumer": "v2", "other": "v1"} {
		h := newHarness(t, ns)
		h.apply(s)
		if got := get(t, h.client(false), "http://"+vip+"/").body.Backend; got != want {
			t.Errorf("client in %s reached %q, want %q", ns, got, want)
		}
	}
}

// TestPassthrough: an unrouted destination (here, a pod IP) gets the raw
// bytes, in both directions, half-close included.
func TestPassthrough(t *testing.T) {
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
		b, _ := io.ReadAll(c) // until the client's half-close
		c.Write(append([]byte("echo:"), b...))
		c.Close()
	}()
	h := newHarness(t, "")
	h.apply(&meshconfig.Snapshot{Version: 1, Tables: []meshconfig.Table{table(vip, 80, &meshconfig.HTTPTable{
		Rules: []meshconfig.HTTPRule{rule("r", backend("v1", 1, "127.0.0.1:1"))}, Matches: []meshconfig.HTTPMatch{prefix(0, "/")},
	})}})
	c, err := h.dial(t.Context(), "tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	payload := "GET / HTTP/1.1\r\n\x00\xffnot http at all"
	c.Write([]byte(payload))
	c.(*net.TCPConn).CloseWrite()
	got, err := io.ReadAll(bufio.NewReader(c))
	if err != nil || string(got) != "echo:"+payload {
		t.Errorf("got %q, %v; want %q", got, err, "echo:"+payload)
	}
}

// A protocol upgrade (WebSocket, say) is relayed: the backend's 101, then
// bytes both ways on the same connection.
func TestHTTPUpgrade(t *testing.T) {
	backendSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "echo" {
			http.Error(w, "upgrade required", http.StatusUpgradeRequired)
			return
		}
		c, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
		brw.Flush()
		for {
			line, err := brw.ReadString('\n')
			if err != nil {
				return
			}
			brw.WriteString("echo: " + line)
			brw.Flush()
		}
	}))
	defer backendSrv.Close()
	h := newHarness(t, "client-ns")
	h.apply(&meshconfig.Snapshot{Version: 1, Tables: []meshconfig.Table{table(vip, 80, &meshconfig.HTTPTable{
		Rules: []meshconfig.HTTPRule{rule("r", backend("v1", 1, endpoint(backendSrv)))}, Matches: []meshconfig.HTTPMatch{prefix(0, "/")},
	})}})
	c, err := h.dial(t.Context(), "tcp", vip+":80")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "GET /ws HTTP/1.1\r\nHost: svc\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Upgrade") != "echo" {
		t.Fatalf("upgrade answered %v, %v", resp, err)
	}
	for _, msg := range []string{"one\n", "two\n"} {
		io.WriteString(c, msg)
		line, err := br.ReadString('\n')
		if err != nil || line != "echo: "+msg {
			t.Fatalf("after the upgrade: %q, %v", line, err)
		}
	}
}

// An informational response (103 Early Hints) from the backend reaches the
// client before the final one, with its header, whichever way the request
// goes: HTTP/1.1 without a body (the proxy's own client), HTTP/1.1 with a
// body (net/http's Transport), h2c.
func TestInformationalResponsesRelayed(t *testing.T) {
	hints := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Del("Link")
		w.Header().Set("X-Final", "yes")
		w.WriteHeader(http.StatusOK)
	}))
	hints.Config.Protocols = serverProtocols()
	hints.Start()
	t.Cleanup(hints.Close)
	h := newHarness(t, "client-ns")
	h.apply(&meshconfig.Snapshot{Version: 1, Tables: []meshconfig.Table{table(vip, 80, &meshconfig.HTTPTable{
		Rules: []meshconfig.HTTPRule{rule("r", backend("hints", 1, endpoint(hints)))}, Matches: []meshconfig.HTTPMatch{prefix(0, "/")},
	})}})
	for _, tc := range []struct {
		name   string
		h2c    bool
		method string
		body   string
	}{{"HTTP/1.1 GET", false, http.MethodGet, ""}, {"HTTP/1.1 POST", false, http.MethodPost, "data"}, {"h2c GET", true, http.MethodGet, ""}} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, hdr textproto.MIMEHeader) error {
				got = append(got, fmt.Sprintf("%d %s", code, hdr.Get("Link")))
				return nil
			}}
			req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), tc.method, "http://"+vip+"/", strings.NewReader(tc.body))
			if tc.body == "" {
				req.Body = nil
			}
			r := do(t, h.client(tc.h2c), req)
			if r.code != http.StatusOK || r.header.Get("X-Final") != "yes" {
				t.Fatalf("final response %d %v", r.code, r.header)
			}
			if want := "103 </style.css>; rel=preload"; len(got) != 1 || got[0] != want {
				t.Fatalf("informational responses %q, want [%q]", got, want)
			}
		})
	}
}
