package semantics

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
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
	fx, failing, parentOf := policyFixture, failingURL, echoV1Parent

	meshIt("a consumer route's retry attempts apply to its namespace, the producer's to the others", []string{profiles.ConsumerRetry, profiles.ConsumerRoute, profiles.ProducerRouteOtherNamespaces},
		fixture("p z o", app("p", "echo-v1"), app("p", "echo-v2"), clientApp("z"), clientApp("o")),
		func(s *S) {
			parent := parentOf(s)
			prod := retrying(s, "producer", 1, 503)
			// Newer, and in a namespace named after the producer's: a mesh
			// that merged the two would pick the producer route.
			cons := s.httpRoute("z", "consumer", []gatewayv1.ParentReference{parent}, withRetry(to(s.backend("p", "echo-v2", 8080, 1)), 3, 503))
			s.Create(prod)
			s.createApart(prod, cons)
			s.Accepted(prod, parent)
			s.Accepted(cons, parent)
			// HTTPRouteRetry.Attempts: "the maximum number of times an
			// individual request ... should be retried. If the maximum number
			// of retries has been attempted without a successful response from
			// the backend, the Gateway MUST return an error."
			s.Received(s.Pod("z", "client"), failing(s, 503), 4, status(503), "p", "echo-v2", exactly(4*4))
			s.Received(s.Pod("o", "client"), failing(s, 503), 4, status(503), "p", "echo-v2", exactly(4*2))
		})

	meshIt("a route retries on 500, 502 and 504 as well as 503", []string{profiles.RouteRetry}, fx(),
		func(s *S) {
			r := retrying(s, "codes", 1, 500, 502, 503, 504)
			s.Create(r)
			s.Accepted(r, parentOf(s))
			// HTTPRouteRetryStatusCode: "Implementations MUST support the
			// following status codes as retriable: 500 502 503 504".
			for _, code := range []int{500, 502, 504} {
				s.Received(s.Pod("p", "client"), failing(s, code), 2, status(code), "p", "echo-v2", exactly(2*2))
			}
		})

	meshItSince(v17, "a route whose retry attempts are zero does not retry", []string{profiles.RouteRetry}, fx(),
		func(s *S) {
			r := retrying(s, "zero", 0, 500)
			s.Create(r)
			s.Accepted(r, parentOf(s))
			// HTTPRouteRetry.Attempts (v1.7.0): "An explicit zero value MUST
			// disable retries." Without a mesh nothing reaches echo-v2.
			s.Received(s.Pod("p", "client"), failing(s, 500), 4, status(500), "p", "echo-v2", exactly(4))
		})

	meshIt("a backendRequest timeout answers 504 when the backend is slower", []string{profiles.BackendRequestTimeout}, fx(),
		func(s *S) {
			rule := to(s.backend("p", "echo-v2", 8080, 1))
			rule.Timeouts = &gatewayv1.HTTPRouteTimeouts{Request: ptr.To(gatewayv1.Duration("10s")), BackendRequest: ptr.To(gatewayv1.Duration("500ms"))}
			r := s.httpRoute("p", "backend-timeout", []gatewayv1.ParentReference{parentOf(s)}, rule)
			s.Create(r)
			s.Accepted(r, parentOf(s))
			base := "http://" + s.host("p", "echo-v1", 80) + "/"
			s.Traffic(flow{s.Pod("p", "client"), get(base), servedBy("echo-v2")},
				flow{s.Pod("p", "client"), kube.Request{URL: base + "?delay=1500ms", Count: 2}, status(504)})
		})

	meshIt("a backendRequest timeout bounds each attempt and a timed-out attempt is retried", []string{profiles.RetryTimedOutAttempt, profiles.BackendRequestTimeout, profiles.RouteRetry}, fx(),
		func(s *S) {
			rule := withRetry(to(s.backend("p", "echo-v2", 8080, 1)), 1)
			rule.Timeouts = &gatewayv1.HTTPRouteTimeouts{Request: ptr.To(gatewayv1.Duration("10s")), BackendRequest: ptr.To(gatewayv1.Duration("500ms"))}
			r := s.httpRoute("p", "backend-timeout", []gatewayv1.ParentReference{parentOf(s)}, rule)
			s.Create(r)
			s.Accepted(r, parentOf(s))
			// HTTPRouteRetry: "Implementations SHOULD retry on connection
			// errors (disconnect, reset, timeout, TCP failure)"; Backoff: "any
			// retry attempts which reach the configured BackendRequest timeout
			// duration without a response SHOULD be canceled". Each attempt
			// waits 500ms of the backend's 1.5s; the 10s request timeout is
			// never reached, so the answer is the gateway timeout error.
			slow := "http://" + s.host("p", "echo-v1", 80) + "/?delay=1500ms"
			s.Received(s.Pod("p", "client"), slow, 2, status(504), "p", "echo-v2", exactly(2*2))
		})

})

// Retry budgets (XBackendTrafficPolicy RetryConstraint).
var _ = describe("Traffic policy", func() {
	fx, failing, parentOf := policyFixture, failingURL, echoV1Parent

	meshIt("a retry budget stops a retry storm", []string{profiles.RetryBudget, profiles.RouteRetry}, fx(),
		func(s *S) {
			r := retrying(s, "retries", 3, 503)
			pol := s.budgetPolicy("p", "budget", 20, "1m", "echo-v2")
			s.Create(pol, r)
			s.Accepted(r, parentOf(s))
			s.PolicyAccepted(pol)
			// RetryConstraint: "if ... there have been 1000 active requests in
			// the past 10 seconds, and the allowed percentage of requests that
			// can be retried is 20% ..., then 200 of those requests may be
			// composed of retries." Of everything echo-v2 receives at most
			// 20% are retries, plus the minimum rate of 1: at most 1.25 n + 1
			// for n requests where 3 retries each would make 4 n.
			const n = 40
			s.Received(s.Pod("p", "client"), failing(s, 503), n, status(503), "p", "echo-v2", func(got int) error {
				if got <= n || got > n*125/100+1 {
					return fmt.Errorf("echo-v2 received %d requests for %d client requests; want more than %d (some retries) and at most %d (1.25 n + 1)", got, n, n, n*125/100+1)
				}
				return nil
			})
		})

	meshIt("a spent retry budget answers 503 while the backend answers 500", []string{profiles.RetryBudget, profiles.RouteRetry}, fx(),
		func(s *S) {
			r := retrying(s, "retries", 3, 500)
			pol := s.budgetPolicy("p", "no-budget", 0, "1s", "echo-v2")
			s.Create(pol, r)
			s.Accepted(r, parentOf(s))
			s.PolicyAccepted(pol)
			// RetryConstraint: "After the retry budget has been exceeded,
			// additional retries to the backend MUST return a 503 response
			// to the client." With 0% and one retry an hour, at most the
			// spec's first request may have its retries.
			const n = 10
			s.Received(s.Pod("p", "client"), failing(s, 500), n, mostly(503, 500, n-1), "p", "echo-v2", func(got int) error {
				if got < n || got > n+3 {
					return fmt.Errorf("echo-v2 received %d requests for %d client requests; want %d to %d (the retries of one request at most)", got, n, n, n+3)
				}
				return nil
			})
		})
})

// policyFixture is echo-v1 (the parent), echo-v2 (the backend) and a
// client, in one namespace.
func policyFixture() kube.Fixture {
	return fixture("p", app("p", "echo-v1"), app("p", "echo-v2"), clientApp("p"))
}

// failingURL is echo-v1's HTTP port, asking the backend to answer code.
func failingURL(s *S, code int) string {
	return fmt.Sprintf("http://%s/?codes=%d", s.host("p", "echo-v1", 80), code)
}

func echoV1Parent(s *S) gatewayv1.ParentReference { return s.parent("p", "echo-v1") }

// retrying is a route from echo-v1 to echo-v2 that retries.
func retrying(s *S, name string, attempts int, codes ...int) *gatewayv1.HTTPRoute {
	return s.httpRoute("p", name, []gatewayv1.ParentReference{echoV1Parent(s)}, withRetry(to(s.backend("p", "echo-v2", 8080, 1)), attempts, codes...))
}

// budgetPolicy is an XBackendTrafficPolicy of the spec with a retry budget
// of percent over interval and a minimum of one retry an hour.
func (s *S) budgetPolicy(ns, name string, percent int, interval string, apps ...string) *xv1alpha1.XBackendTrafficPolicy {
	pol := s.trafficPolicy(ns, name, apps...)
	pol.Spec.RetryConstraint = &xv1alpha1.RetryConstraint{
		Budget:       &xv1alpha1.BudgetDetails{Percent: ptr.To(percent), Interval: ptr.To(gatewayv1.Duration(interval))},
		MinRetryRate: &xv1alpha1.RequestRate{Count: ptr.To(1), Interval: ptr.To(gatewayv1.Duration("1h"))},
	}
	return pol
}

// mostly: every response has status want or other, and at least min have
// want.
func mostly(want, other, min int) check {
	return func(r kube.Result) error {
		if r.Err != nil || len(r.Responses) == 0 {
			return fmt.Errorf("client failed: %v %q", r.Err, r.Stderr)
		}
		n := 0
		for i, resp := range r.Responses {
			switch resp.Code {
			case fmt.Sprint(want):
				n++
			case fmt.Sprint(other):
			default:
				return fmt.Errorf("response %d: status %s from %q, want %d (or %d)", i+1, resp.Code, resp.Hostname, want, other)
			}
		}
		if n < min {
			return fmt.Errorf("%d of %d responses have status %d, want at least %d", n, len(r.Responses), want, min)
		}
		return nil
	}
}

// withRetry sets the rule's retry stanza with a 10ms backoff.
func withRetry(r gatewayv1.HTTPRouteRule, attempts int, codes ...int) gatewayv1.HTTPRouteRule {
	r.Retry = &gatewayv1.HTTPRouteRetry{Attempts: ptr.To(attempts), Backoff: ptr.To(gatewayv1.Duration("10ms"))}
	for _, c := range codes {
		r.Retry.Codes = append(r.Retry.Codes, gatewayv1.HTTPRouteRetryStatusCode(c))
	}
	return r
}

// trafficPolicy is an XBackendTrafficPolicy of the spec targeting its
// Services of apps.
func (s *S) trafficPolicy(ns, name string, apps ...string) *xv1alpha1.XBackendTrafficPolicy {
	var svcs []string
	for _, app := range apps {
		svcs = append(svcs, s.Svc(app))
	}
	p := trafficPolicy(s.NS(ns), s.Svc(name), svcs...)
	s.own(p)
	return p
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
// try is counted apart, and no other request is: the backend's pods are
// shared with other specs), checks the client's answers with chk, then
// waits for the log of the pods of app in namespace key ns to settle and
// checks how many of the tagged requests they received.
func (s *S) Received(from kube.Pod, url string, n int, chk check, ns, app string, want func(int) error) {
	what := fmt.Sprintf("%d requests from %s/%s to %s, counted at %s/%s", n, from.Namespace, from.Name, url, s.NS(ns), app)
	s.By(what)
	s.eventually(what, func() error {
		b := make([]byte, 6)
		rand.Read(b)
		tag := "gamma-tag=" + hex.EncodeToString(b)
		sent := time.Now()
		res := s.c.Send(s.ctx, from, kube.Request{URL: url + "&" + tag, Count: n})
		if err := chk(res); err != nil {
			return err
		}
		// The log lags the response a little: wait until the count is
		// right and unchanged over one more read. Only the log since the
		// batch was sent is read (with a margin for the node's clock).
		var err error
		last := -1
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Second) {
			got, lerr := s.c.LogLines(s.ctx, s.NS(ns), app, tag, time.Since(sent)+10*time.Second)
			if lerr != nil {
				return lerr
			}
			err = want(got)
			if err == nil && got == last {
				s.Logf("%s: %s/%s received %d requests\n", tag, s.NS(ns), app, got)
				return nil
			}
			last = got
		}
		return err
	})
}
