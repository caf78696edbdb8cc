package proxy

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gamma-conformance/referenceimpl/meshconfig"
)

// counting is a backend that counts the requests it receives and answers
// request n (from 1) with answer(n, r): a status code, or 0 to drop the
// connection without an answer, after an optional delay.
type counting struct {
	n   atomic.Int64
	srv *httptest.Server
}

func countingServer(t testing.TB, name string, answer func(n int64, r *http.Request) (code int, delay time.Duration)) *counting {
	t.Helper()
	c := &counting{}
	c.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := c.n.Add(1)
		code, delay := answer(n, r)
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		if code == 0 {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Counted-By", name)
		w.WriteHeader(code)
		w.Write(append([]byte(name+" "), body...))
	}))
	c.srv.Start()
	t.Cleanup(c.srv.Close)
	return c
}

func (c *counting) endpoint() string { return c.srv.Listener.Addr().String() }

func policyHarness(t *testing.T, r meshconfig.HTTPRule) *http.Client {
	t.Helper()
	h := newHarness(t, "client-ns")
	h.apply(&meshconfig.Snapshot{Version: 1, Tables: []meshconfig.Table{table(vip, 80, &meshconfig.HTTPTable{
		Rules: []meshconfig.HTTPRule{r}, Matches: []meshconfig.HTTPMatch{prefix(0, "/")}})}})
	return h.client(false)
}

func retrying(b meshconfig.Backend, attempts int, codes ...int) meshconfig.HTTPRule {
	r := rule("r", b)
	r.Retry = &meshconfig.Retry{Attempts: attempts, Codes: codes, Backoff: time.Millisecond}
	return r
}

func TestRetryOnCodes(t *testing.T) {
	for _, tc := range []struct {
		name      string
		attempts  int
		codes     []int
		fail      int64 // the first fail requests get failCode
		failCode  int
		wantCode  int
		wantSeen  int64
		clientRqs int
	}{
		{"retried until it succeeds", 3, []int{500, 503}, 2, 503, 200, 3, 1},
		{"attempts exhausted returns the last answer", 1, []int{503}, 5, 503, 503, 2, 1},
		{"a code not listed is not retried", 3, []int{503}, 5, 500, 500, 1, 1},
		{"no retry stanza, no retry", 0, nil, 1, 503, 503, 1, 1},
		{"a dropped connection is retried", 2, nil, 1, 0, 200, 2, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			be := countingServer(t, "be", func(n int64, _ *http.Request) (int, time.Duration) {
				if n <= tc.fail {
					return tc.failCode, 0
				}
				return 200, 0
			})
			r := rule("r", backend("be", 1, be.endpoint()))
			if tc.attempts > 0 {
				r = retrying(backend("be", 1, be.endpoint()), tc.attempts, tc.codes...)
			}
			c := policyHarness(t, r)
			if got := get(t, c, "http://"+vip+"/"); got.code != tc.wantCode {
				t.Fatalf("status %d, want %d (%s)", got.code, tc.wantCode, got.rawBody)
			}
			if seen := be.n.Load(); seen != tc.wantSeen {
				t.Fatalf("backend received %d requests, want %d", seen, tc.wantSeen)
			}
		})
	}
}

func TestRetryReplaysBody(t *testing.T) {
	be := countingServer(t, "be", func(n int64, _ *http.Request) (int, time.Duration) {
		if n == 1 {
			return 503, 0
		}
		return 200, 0
	})
	c := policyHarness(t, retrying(backend("be", 1, be.endpoint()), 1, 503))
	req, _ := http.NewRequest(http.MethodPost, "http://"+vip+"/", strings.NewReader("payload"))
	got := do(t, c, req)
	if got.code != 200 || got.rawBody != "be payload" || be.n.Load() != 2 {
		t.Fatalf("status %d body %q after %d backend requests", got.code, got.rawBody, be.n.Load())
	}
}

// slowFirst is a backend whose first request takes 5 s and whose others
// are answered at once.
func slowFirst(t *testing.T) *counting {
	return countingServer(t, "be", func(n int64, _ *http.Request) (int, time.Duration) {
		if n == 1 {
			return 200, 5 * time.Second
		}
		return 200, 0
	})
}

func TestTimeoutsWithRetries(t *testing.T) {
	t.Run("an attempt that runs out of its backend timeout is retried", func(t *testing.T) {
		be := slowFirst(t)
		r := retrying(backend("be", 1, be.endpoint()), 1)
		r.Timeouts = meshconfig.Timeouts{Request: 4 * time.Second, BackendRequest: 100 * time.Millisecond}
		if got := get(t, policyHarness(t, r), "http://"+vip+"/"); got.code != 200 || be.n.Load() != 2 {
			t.Fatalf("status %d after %d backend requests, want 200 after 2", got.code, be.n.Load())
		}
	})
	t.Run("the request timeout bounds every attempt together", func(t *testing.T) {
		be := countingServer(t, "be", func(int64, *http.Request) (int, time.Duration) { return 200, 5 * time.Second })
		r := retrying(backend("be", 1, be.endpoint()), 50)
		r.Timeouts = meshconfig.Timeouts{Request: 300 * time.Millisecond, BackendRequest: 100 * time.Millisecond}
		got := get(t, policyHarness(t, r), "http://"+vip+"/")
		if got.code != 504 || be.n.Load() >= 50 {
			t.Fatalf("status %d after %d backend requests, want 504 well before 50 attempts", got.code, be.n.Load())
		}
	})
	t.Run("with NoRetryOnTimeout a timed-out attempt is not retried", func(t *testing.T) {
		be := slowFirst(t)
		r := retrying(backend("be", 1, be.endpoint()), 1)
		r.Retry.NoRetryOnTimeout = true
		r.Timeouts = meshconfig.Timeouts{Request: 4 * time.Second, BackendRequest: 100 * time.Millisecond}
		if got := get(t, policyHarness(t, r), "http://"+vip+"/"); got.code != 504 || be.n.Load() != 1 {
			t.Fatalf("status %d after %d backend requests, want 504 after 1", got.code, be.n.Load())
		}
	})
	t.Run("without retries a backend timeout is a 504", func(t *testing.T) {
		be := countingServer(t, "be", func(int64, *http.Request) (int, time.Duration) { return 200, 5 * time.Second })
		r := rule("r", backend("be", 1, be.endpoint()))
		r.Timeouts = meshconfig.Timeouts{Request: 4 * time.Second, BackendRequest: 100 * time.Millisecond}
		if got := get(t, policyHarness(t, r), "http://"+vip+"/"); got.code != 504 || be.n.Load() != 1 {
			t.Fatalf("status %d after %d backend requests", got.code, be.n.Load())
		}
	})
}

// TestRetryBudget: a backend that always fails, 3 retries per request and a
// 20% budget without minimum: retries r of n requests satisfy
// r <= 0.2 * (n + r), so the backend sees at most 1.25 n.
func TestRetryBudget(t *testing.T) {
	be := countingServer(t, "be", func(int64, *http.Request) (int, time.Duration) { return 503, 0 })
	b := backend("be", 1, be.endpoint())
	b.RetryBudget = &meshconfig.RetryBudget{Service: meshconfig.ServiceKey{Namespace: "ns", Name: "be"}, Percent: 20, Interval: time.Minute}
	c := policyHarness(t, retrying(b, 3, 503))
	const n = 200
	exhausted := 0
	for i := 0; i < n; i++ {
		got := get(t, c, "http://"+vip+"/")
		if got.code != 503 {
			t.Fatalf("status %d", got.code)
		}
		if strings.Contains(got.rawBody, "retry budget") {
			exhausted++
		}
	}
	if seen := be.n.Load(); seen > n*125/100 || seen <= n {
		t.Fatalf("backend received %d requests for %d client requests; the budget allows at most %d", seen, n, n*125/100)
	}
	if exhausted == 0 {
		t.Fatal("no request was answered for an exhausted budget")
	}
}

func TestSessionPersistence(t *testing.T) {
	for _, typ := range []meshconfig.SessionType{meshconfig.SessionCookie, meshconfig.SessionHeader} {
		t.Run(string(typ), func(t *testing.T) {
			a, b := echoServer(t, "a"), echoServer(t, "b")
			be := backend("be", 1, endpoint(a), endpoint(b))
			be.Session = &meshconfig.SessionPersistence{Type: typ, Name: "gamma-sid"}
			other := rule("other", be)
			other.Index = 1
			h := newHarness(t, "client-ns")
			h.apply(&meshconfig.Snapshot{Version: 1, Tables: []meshconfig.Table{table(vip, 80, &meshconfig.HTTPTable{
				Rules:   []meshconfig.HTTPRule{rule("r", be), other},
				Matches: []meshconfig.HTTPMatch{prefix(1, "/other"), prefix(0, "/")}})}})
			c := h.client(false)

			first := get(t, c, "http://"+vip+"/")
			hdr, value := "gamma-sid", first.header.Get("gamma-sid")
			if typ == meshconfig.SessionCookie {
				hdr, value = "Cookie", strings.SplitN(first.header.Get("Set-Cookie"), ";", 2)[0]
			}
			if value == "" || strings.ContainsAny(strings.TrimPrefix(value, "gamma-sid="), ",:") {
				t.Fatalf("first response carries no usable session token: %v", first.header)
			}
			for i := 0; i < 50; i++ {
				got := get(t, c, "http://"+vip+"/", hdr, value)
				if got.body.Backend != first.body.Backend {
					t.Fatalf("request %d with the session went to %s, the session is on %s", i, got.body.Backend, first.body.Backend)
				}
				if got.header.Get("Set-Cookie") != "" || (typ == meshconfig.SessionHeader && got.header.Get("gamma-sid") != "") {
					t.Fatalf("request %d with a valid session started a new one", i)
				}
			}
			// The token of one rule does not pin another rule's requests:
			// over 50 requests both endpoints answer.
			seen := map[string]bool{}
			for i := 0; i < 50; i++ {
				seen[get(t, c, "http://"+vip+"/other", hdr, value).body.Backend] = true
			}
			if len(seen) != 2 {
				t.Fatalf("rule 'other' honoured rule 'r's session: only %v answered", seen)
			}
		})
	}
}

func TestPermanentSessionCookie(t *testing.T) {
	a := echoServer(t, "a")
	be := backend("be", 1, endpoint(a))
	be.Session = &meshconfig.SessionPersistence{Type: meshconfig.SessionCookie, Name: "sid", Permanent: true, AbsoluteTimeout: time.Hour}
	c := policyHarness(t, rule("r", be))
	sc := get(t, c, "http://"+vip+"/").header.Get("Set-Cookie")
	if !strings.Contains(sc, "Max-Age=3600") {
		t.Fatalf("Set-Cookie %q has no Max-Age=3600", sc)
	}
}

func TestSessionCookiePath(t *testing.T) {
	// CookieConfig.Path (v1.7.0): "When not specified, implementations MUST
	// default the cookie path to "/"."
	a := echoServer(t, "a")
	for path, want := range map[string]string{"": "Path=/;", "/app": "Path=/app;"} {
		be := backend("be", 1, endpoint(a))
		be.Session = &meshconfig.SessionPersistence{Type: meshconfig.SessionCookie, Name: "sid", Path: path}
		c := policyHarness(t, rule("r", be))
		if sc := get(t, c, "http://"+vip+"/x/y").header.Get("Set-Cookie"); !strings.Contains(sc, want) {
			t.Fatalf("path %q: Set-Cookie %q, want %s", path, sc, want)
		}
	}
}
