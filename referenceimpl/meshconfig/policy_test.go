package meshconfig

import (
	"strings"
	"testing"
	"time"
)

func policySnapshot(mod func(r *HTTPRule)) *Snapshot {
	r := HTTPRule{
		Route:    RouteKey{Kind: "HTTPRoute", Namespace: "ns", Name: "r"},
		Backends: Backends{{Name: "ns/svc:80", Weight: 1, Endpoints: []string{"10.0.0.1:8080"}}},
	}
	mod(&r)
	return &Snapshot{Version: 1, Tables: []Table{{
		Service: ServiceKey{Namespace: "ns", Name: "svc"}, Port: 80, VIPs: []string{"10.96.0.1"}, Protocol: ProtocolHTTP,
		HTTP: &HTTPTable{Rules: []HTTPRule{r}, Matches: []HTTPMatch{{Path: StringMatch{Type: MatchPathPrefix, Value: "/"}}}},
	}}}
}

func TestValidatePolicy(t *testing.T) {
	budget := func() *RetryBudget {
		return &RetryBudget{Service: ServiceKey{Namespace: "ns", Name: "svc"}, Percent: 20, Interval: 10 * time.Second, MinRetries: 10, MinInterval: time.Second}
	}
	for _, c := range []struct {
		name string
		mod  func(r *HTTPRule)
		err  string // empty: valid
	}{
		{"retry", func(r *HTTPRule) {
			r.Retry = &Retry{Codes: []int{500, 503}, Attempts: 3, Backoff: 10 * time.Millisecond}
		}, ""},
		{"retry without attempts", func(r *HTTPRule) { r.Retry = &Retry{Codes: []int{500}} }, "attempts 0"},
		{"retry code out of range", func(r *HTTPRule) { r.Retry = &Retry{Codes: []int{200}, Attempts: 1} }, "retry code 200"},
		{"budget", func(r *HTTPRule) { r.Backends[0].RetryBudget = budget() }, ""},
		{"budget over 100 percent", func(r *HTTPRule) { b := budget(); b.Percent = 101; r.Backends[0].RetryBudget = b }, "percent 101"},
		{"budget without interval", func(r *HTTPRule) { b := budget(); b.Interval = 0; r.Backends[0].RetryBudget = b }, "interval"},
		{"budget without Service", func(r *HTTPRule) { b := budget(); b.Service = ServiceKey{}; r.Backends[0].RetryBudget = b }, "needs its Service"},
		{"cookie session", func(r *HTTPRule) { r.Backends[0].Session = &SessionPersistence{Type: SessionCookie, Name: "sid"} }, ""},
		{"header session with bad name", func(r *HTTPRule) { r.Backends[0].Session = &SessionPersistence{Type: SessionHeader, Name: "a:b"} }, "not an HTTP token"},
		{"permanent header session", func(r *HTTPRule) {
			r.Backends[0].Session = &SessionPersistence{Type: SessionHeader, Name: "sid", Permanent: true, AbsoluteTimeout: time.Hour}
		}, "permanent"},
		{"unknown session type", func(r *HTTPRule) { r.Backends[0].Session = &SessionPersistence{Type: "URL", Name: "sid"} }, "unknown session"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := policySnapshot(c.mod).Validate()
			switch {
			case c.err == "" && err != nil:
				t.Fatalf("want valid, got %v", err)
			case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
				t.Fatalf("want error containing %q, got %v", c.err, err)
			}
		})
	}
}

func TestRetriable(t *testing.T) {
	r := &Retry{Codes: []int{500, 503}, Attempts: 1}
	if !r.Retriable(503) || r.Retriable(502) {
		t.Fatalf("Retriable(503)=%v Retriable(502)=%v", r.Retriable(503), r.Retriable(502))
	}
}

func TestValidCookiePath(t *testing.T) {
	for path, want := range map[string]bool{"/": true, "/app/x": true, "": false, "app": false, "/a;Domain=x": false, "/a\r\nSet-Cookie: x": false} {
		if got := ValidCookiePath(path); got != want {
			t.Errorf("ValidCookiePath(%q) = %v, want %v", path, got, want)
		}
	}
}
