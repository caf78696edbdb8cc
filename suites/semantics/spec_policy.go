package semantics

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	xv1alpha1 "sigs.k8s.io/gateway-api/apisx/v1alpha1"

	"gamma-conformance/profiles"
	"gamma-conformance/suites/internal/kube"
)

// Traffic policy: retries (HTTPRoute rule retry, experimental), backend
// request timeouts, retry budgets and session persistence
// (XBackendTrafficPolicy, GEP-3388). The echo server's ?codes=503 makes a
// backend fail and ?delay= slows it; what the backend received is counted in
// its own log (one line per request), a signal every mesh leaves alone.
//
// Scope: XBackendTrafficPolicy.targetRefs are local references, so a policy
// acts on a Service in its own namespace, for every client; consumers scope
// their own retries and timeouts with consumer routes (GEP-1294: "consumer
// routes are scoped only the same namespace"), and the producer's budget
// still bounds them (RetryConstraint "helps prevent cascading failures such
// as retry storms", whatever the route's attempts).
var _ = describe("Traffic policy", func() {
	fx := func() kube.Fixture {
		return fixture("p c o", app("p", "echo-v1"), app("p", "echo-v2"), clientApp("c"), clientApp("o"))
	}
	failing := func(s *S) string { return "http://" + host(s.NS("p"), "echo-v1", 80) + "/?codes=503" }

	meshIt("a consumer route's retry attempts apply to its namespace, the producer's to the others", []string{profiles.ConsumerRetry, profiles.ConsumerRoute}, fx(),
		func(s *S) {
			parent := svcParent(s.NS("p"), "echo-v1")
			prod := httpRoute(s.NS("p"), "producer", []gatewayv1.ParentReference{parent}, withRetry(to(backend(s.NS("p"), "echo-v2", 8080, 1)), 1, 503))
			cons := httpRoute(s.NS("c"), "consumer", []gatewayv1.ParentReference{parent}, withRetry(to(backend(s.NS("p"), "echo-v2", 8080, 1)), 3, 503))
			s.Create(prod, cons)
			s.Accepted(prod, parent)
			s.Accepted(cons, parent)
			// HTTPRouteRetry.Attempts: "the maximum number of times an
			// individual request ... should be retried. If the maximum number
			// of retries has been attempted without a successful response from
			// the backend, the Gateway MUST return an error."
			s.Received(s.Pod("c", "client"), failing(s), 4, status(503), s.NS("p"), "echo-v2", exactly(4*4))
			s.Received(s.Pod("o", "client"), failing(s), 4, status(503), s.NS("p"), "echo-v2", exactly(4*2))
		})

	meshIt("a backendRequest timeout bounds each attempt and a timed-out attempt is retried", []string{profiles.BackendRequestTimeout}, fx(),
		func(s *S) {
			parent := svcParent(s.NS("p"), "echo-v1")
			rule := withRetry(to(backend(s.NS("p"), "echo-v2", 8080, 1)), 1)
			rule.Timeouts = &gatewayv1.HTTPRouteTimeouts{Request: ptr.To(gatewayv1.Duration("10s")), BackendRequest: ptr.To(gatewayv1.Duration("500ms"))}
			r := httpRoute(s.NS("p"), "backend-timeout", []gatewayv1.ParentReference{parent}, rule)
			s.Create(r)
			s.Accepted(r, parent)
			// HTTPRouteRetry: "Implementations SHOULD retry on connection
			// errors (disconnect, reset, timeout, TCP failure)"; Backoff: "any
			// retry attempts which reach the configured BackendRequest timeout
			// duration without a response SHOULD be canceled". Each attempt
			// waits 500ms of the backend's 1.5s; the 10s request timeout is
			// never reached, so the answer is the gateway timeout error.
			slow := "http://" + host(s.NS("p"), "echo-v1", 80) + "/?delay=1500ms"
			s.Received(s.Pod("c", "client"), slow, 2, status(504), s.NS("p"), "echo-v2", exactly(2*2))
		})

	meshIt("a retry budget stops a retry storm", []string{profiles.RetryBudget}, fx(),
		func(s *S) {
			parent := svcParent(s.NS("p"), "echo-v1")
			r := httpRoute(s.NS("p"), "retries", []gatewayv1.ParentReference{parent}, withRetry(to(backend(s.NS("p"), "echo-v2", 8080, 1)), 3, 503))
			pol := trafficPolicy(s.NS("p"), "budget", "echo-v2")
			pol.Spec.RetryConstraint = &xv1alpha1.RetryConstraint{
				Budget:       &xv1alpha1.BudgetDetails{Percent: ptr.To(20), Interval: ptr.To(gatewayv1.Duration("1m"))},
				MinRetryRate: &xv1alpha1.RequestRate{Count: ptr.To(1), Interval: ptr.To(gatewayv1.Duration("1h"))},
			}
			s.Create(pol, r)
			s.Accepted(r, parent)
			s.PolicyAccepted(pol)
			// RetryConstraint: "if ... there have been 1000 active requests in
			// the past 10 seconds, and the allowed percentage of requests that
			// can be retried is 20% ..., then 200 of those requests may be
			// composed of retries." Of everything echo-v2 receives at most
			// 20% are retries, plus the minimum rate of 1: at most 1.25 n + 1
			// for n requests where 3 retries each would make 4 n.
			const n = 40
			s.Received(s.Pod("c", "client"), failing(s), n, status(503), s.NS("p"), "echo-v2", func(got int) error {
				if got <= n || got > n*125/100+1 {
					return fmt.Errorf("echo-v2 received %d requests for %d client requests; want more than %d (some retries) and at most %d (1.25 n + 1)", got, n, n, n*125/100+1)
				}
				return nil
			})
		})

	meshIt("session persistence keeps a session on one pod for 50 requests", []string{profiles.SessionPersistence}, fx(),
		func(s *S) {
			parent := svcParent(s.NS("p"), "echo-v1")
			r := httpRoute(s.NS("p"), "split", []gatewayv1.ParentReference{parent},
				to(backend(s.NS("p"), "echo-v1", 8080, 1), backend(s.NS("p"), "echo-v2", 8080, 1)))
			pol := trafficPolicy(s.NS("p"), "sticky", "echo-v1", "echo-v2")
			pol.Spec.SessionPersistence = &gatewayv1.SessionPersistence{SessionName: ptr.To("gamma-spec-session"), Type: ptr.To(gatewayv1.CookieBasedSessionPersistence)}
			s.Create(pol, r)
			s.Accepted(r, parent)
			s.PolicyAccepted(pol)
			url := "http://" + host(s.NS("p"), "echo-v1", 80) + "/"
			from := s.Pod("c", "client")
			// GEP-1619 conformance: "First request MUST receive a Set-Cookie
			// header in response. Subsequent requests with the cookie MUST
			// route to the same backend pod. Verify by checking pod identity
			// across N requests (N>=50)."
			s.eventually("a session that holds for 50 requests", func() error {
				first := s.c.Send(s.ctx, from, kube.Request{URL: url})
				if first.Err != nil || len(first.Responses) != 1 {
					return fmt.Errorf("first request failed: %v %q", first.Err, first.Stderr)
				}
				cookie, _, _ := strings.Cut(first.Responses[0].ResponseHeaders.Get("Set-Cookie"), ";")
				if !strings.HasPrefix(cookie, "gamma-spec-session=") {
					return fmt.Errorf("first response sets no gamma-spec-session cookie (Set-Cookie %q)", first.Responses[0].ResponseHeaders.Get("Set-Cookie"))
				}
				if strings.ContainsAny(cookie, ",:") {
					return fmt.Errorf("cookie %q holds ',' or ':', which the echo client cannot send back", cookie)
				}
				pod := first.Responses[0].Hostname
				rest := s.c.Send(s.ctx, from, kube.Request{URL: url, Count: 50, Headers: map[string]string{"Cookie": cookie}})
				if len(rest.Responses) != 50 {
					return fmt.Errorf("%d of 50 responses: %v %q", len(rest.Responses), rest.Err, rest.Stderr)
				}
				for i, resp := range rest.Responses {
					if resp.Code != "200" || resp.Hostname != pod {
						return fmt.Errorf("request %d with the session cookie: status %s from %q, the session is on %q", i+1, resp.Code, resp.Hostname, pod)
					}
				}
				return nil
			})
		})

	meshIt("of two XBackendTrafficPolicies on one Service the newer is Conflicted", []string{profiles.PolicyConflict}, fx(),
		func(s *S) {
			older := trafficPolicy(s.NS("p"), "policy-z", "echo-v1")
			older.Spec.RetryConstraint = &xv1alpha1.RetryConstraint{}
			newer := trafficPolicy(s.NS("p"), "policy-a", "echo-v1") // alphabetically first: age must decide
			newer.Spec.RetryConstraint = &xv1alpha1.RetryConstraint{}
			s.Create(older)
			s.createApart(older, newer)
			// GEP-713, merge strategy None: "the spec (policy resource) with
			// the oldest creation timestamp MUST be considered the established
			// spec ... All challenger specs (policy resources) MUST be
			// rejected."; PolicyReasonConflicted.
			s.PolicyAccepted(older)
			s.PolicyCondition(newer, metav1.ConditionFalse, string(gatewayv1.PolicyReasonConflicted))
		})
})

// withRetry sets the rule's retry stanza with a 10ms backoff.
func withRetry(r gatewayv1.HTTPRouteRule, attempts int, codes ...int) gatewayv1.HTTPRouteRule {
	r.Retry = &gatewayv1.HTTPRouteRetry{Attempts: ptr.To(attempts), Backoff: ptr.To(gatewayv1.Duration("10ms"))}
	for _, c := range codes {
		r.Retry.Codes = append(r.Retry.Codes, gatewayv1.HTTPRouteRetryStatusCode(c))
	}
	return r
}

func trafficPolicy(ns, name string, services ...string) *xv1alpha1.XBackendTrafficPolicy {
	p := &xv1alpha1.XBackendTrafficPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	for _, svc := range services {
		p.Spec.TargetRefs = append(p.Spec.TargetRefs, gatewayv1.LocalPolicyTargetReference{Group: "", Kind: "Service", Name: gatewayv1.ObjectName(svc)})
	}
	return p
}

func exactly(want int) func(int) error {
	return func(got int) error {
		if got != want {
			return fmt.Errorf("backend received %d requests, want %d", got, want)
		}
		return nil
	}
}

// PolicyAccepted waits until the policy is Accepted=True for some ancestor
// (which ancestor a mesh reports, the Service or its XMesh, is its choice).
func (s *S) PolicyAccepted(p *xv1alpha1.XBackendTrafficPolicy) {
	s.PolicyCondition(p, metav1.ConditionTrue, string(gatewayv1.PolicyReasonAccepted))
}

// PolicyCondition waits until some ancestor entry of the policy has
// Accepted=status with reason.
func (s *S) PolicyCondition(p *xv1alpha1.XBackendTrafficPolicy, status metav1.ConditionStatus, reason string) {
	what := fmt.Sprintf("XBackendTrafficPolicy %s/%s Accepted=%s/%s", p.Namespace, p.Name, status, reason)
	s.By(what)
	s.eventually(what, func() error {
		return s.c.PolicyHas(s.ctx, p, kube.Want{Type: "Accepted", Status: status, Reasons: []string{reason}})
	})
}

// Received sends n requests from a pod to url plus a fresh tag (so each
// try is counted apart), checks the client's answers with chk, then waits
// for the backend's log to settle and checks how many of the tagged
// requests it received.
func (s *S) Received(from kube.Pod, url string, n int, chk check, backendNS, backendApp string, want func(int) error) {
	what := fmt.Sprintf("%d requests from %s/%s to %s, counted at %s/%s", n, from.Namespace, from.Name, url, backendNS, backendApp)
	s.By(what)
	s.eventually(what, func() error {
		b := make([]byte, 6)
		rand.Read(b)
		tag := "gamma-tag=" + hex.EncodeToString(b)
		res := s.c.Send(s.ctx, from, kube.Request{URL: url + "&" + tag, Count: n})
		if err := chk(res); err != nil {
			return err
		}
		// The log lags the response a little: wait until the count is
		// right and unchanged over one more read.
		var err error
		last := -1
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Second) {
			got, lerr := s.c.LogLines(s.ctx, backendNS, backendApp, tag)
			if lerr != nil {
				return lerr
			}
			err = want(got)
			if err == nil && got == last {
				s.Logf("%s: %s/%s received %d requests\n", tag, backendNS, backendApp, got)
				return nil
			}
			last = got
		}
		return err
	})
}
