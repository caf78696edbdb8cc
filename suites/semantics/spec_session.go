package semantics

import (
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	xv1alpha1 "sigs.k8s.io/gateway-api/apisx/v1alpha1"
	"sigs.k8s.io/gateway-api/conformance/utils/echo"

	"gamma-conformance/profiles"
	"gamma-conformance/suites/internal/kube"
)

// Session persistence (GEP-1619) and the status of XBackendTrafficPolicies
// (GEP-713). The session token's name is implementation-specific
// (SessionPersistence.SessionName: "Support: Implementation-specific"), so
// the specs replay whatever cookies the mesh sets.
var _ = describe("Traffic policy", func() {

	meshIt("session persistence keeps a session on one pod for 50 requests", []string{profiles.SessionPersistence},
		fixture("p", app("p", "echo-v1"), app("p", "echo-v2"), clientApp("p")),
		func(s *S) {
			url := s.stickySplit("gamma-spec-session") + "/"
			// GEP-1619 conformance: "First request MUST receive a Set-Cookie
			// header in response. Subsequent requests with the cookie MUST
			// route to the same backend pod. Verify by checking pod identity
			// across N requests (N>=50)."
			s.eventually("a session that holds for 50 requests", func() error {
				cookie, pod, _, err := s.session(url)
				if err != nil {
					return err
				}
				return s.sessionHolds(url, cookie, 50, func(hostname string) bool { return hostname == pod }, "the session's pod "+pod)
			})
		})

	meshIt("two route rules never share a session", []string{profiles.SessionPersistence},
		fixture("p", app("p", "echo-v1"), app("p", "echo-v2"), app("p", "echo-v3"), clientApp("p")),
		func(s *S) {
			parent := s.parent("p", "echo-v1")
			a := prefixTo("/a", s.backend("p", "echo-v2", 8080, 1), s.backend("p", "echo-v3", 8080, 0))
			b := prefixTo("/b", s.backend("p", "echo-v2", 8080, 0), s.backend("p", "echo-v3", 8080, 1))
			a.SessionPersistence, b.SessionPersistence = sticky("gamma-spec-a"), sticky("gamma-spec-b")
			r := s.httpRoute("p", "two-rules", []gatewayv1.ParentReference{parent}, a, b)
			s.Create(r)
			s.Accepted(r, parent)
			base := "http://" + s.host("p", "echo-v1", 80)
			// GEP-1619: "Route rules referencing the same service MUST NOT
			// share persistent sessions (i.e. the same cookie)", and "the
			// persistence to a single backend MUST be maintained across
			// services, even if the weight is set to 0": /a's session on
			// echo-v2, if /b shared it, would take /b to echo-v2.
			s.eventually("/a's session is not /b's", func() error {
				cookie, pod, _, err := s.session(base + "/a")
				if err != nil {
					return err
				}
				if !strings.HasPrefix(pod, "echo-v2-") {
					return fmt.Errorf("/a answered by %q, want echo-v2", pod)
				}
				if err := s.sessionHolds(base+"/a", cookie, 10, func(h string) bool { return h == pod }, "/a's pod "+pod); err != nil {
					return err
				}
				return s.sessionHolds(base+"/b", cookie, 10, func(h string) bool { return strings.HasPrefix(h, "echo-v3-") }, "echo-v3 (rule /b's only weighted backend)")
			})
		})

	meshIt("a route rule's own session persistence overrides its backend's policy", []string{profiles.SessionPersistence},
		fixture("p", app("p", "echo-v1"), app("p", "echo-v2"), clientApp("p")),
		func(s *S) {
			parent := s.parent("p", "echo-v1")
			// The policy asks for a permanent cookie (Max-Age or Expires),
			// the rule for a session cookie (neither).
			pol := s.trafficPolicy("p", "permanent", "echo-v2")
			pol.Spec.SessionPersistence = sticky("gamma-spec-policy")
			pol.Spec.SessionPersistence.AbsoluteTimeout = ptr.To(gatewayv1.Duration("1h"))
			pol.Spec.SessionPersistence.CookieConfig = &gatewayv1.CookieConfig{LifetimeType: ptr.To(gatewayv1.PermanentCookieLifetimeType)}
			rule := to(s.backend("p", "echo-v2", 8080, 1))
			rule.SessionPersistence = sticky("gamma-spec-rule")
			r := s.httpRoute("p", "own-session", []gatewayv1.ParentReference{parent}, rule)
			s.Create(pol, r)
			s.Accepted(r, parent)
			url := "http://" + s.host("p", "echo-v1", 80) + "/"
			// GEP-1619: "Session persistence configuration specified in a
			// route rule SHALL override equivalent configuration in
			// BackendLBPolicy"; for a session cookie, "Cookie MUST NOT
			// contain Expires or Max-Age".
			s.eventually("the rule's session cookie, not the policy's permanent one", func() error {
				cookie, pod, set, err := s.session(url)
				if err != nil {
					return err
				}
				if !strings.HasPrefix(pod, "echo-v2-") {
					return fmt.Errorf("answered by %q, want echo-v2", pod)
				}
				for _, h := range set {
					if attrs := strings.ToLower(h); strings.Contains(attrs, "max-age") || strings.Contains(attrs, "expires") {
						return fmt.Errorf("Set-Cookie %q is permanent: the backend's policy applied, not the rule's session cookie", h)
					}
				}
				return s.sessionHolds(url, cookie, 10, func(h string) bool { return h == pod }, "the session's pod "+pod)
			})
		})

	meshItSince(v17, "a session cookie's path is / when the policy names none", []string{profiles.SessionPersistence},
		fixture("p", app("p", "echo-v1"), app("p", "echo-v2"), clientApp("p")),
		func(s *S) {
			base := s.stickySplit("gamma-spec-path")
			// CookieConfig.Path (v1.7.0): "When not specified,
			// implementations MUST default the cookie path to "/"." The
			// request's path is deeper than /, so a cookie set without a
			// Path attribute would have the path /shop (RFC 6265 §5.1.4).
			const dir = "/shop"
			url := base + dir + "/cart"
			s.eventually("a cookie whose path is / holding the session", func() error {
				_, pod, set, err := s.session(url)
				if err != nil {
					return err
				}
				for _, h := range set {
					pair, _, _ := strings.Cut(h, ";")
					if cookiePath(h, dir) == "/" && s.sessionHolds(url, pair, 10, func(h string) bool { return h == pod }, "the session's pod "+pod) == nil {
						return nil
					}
				}
				return fmt.Errorf("no cookie whose path is / holds the session on %s (Set-Cookie %q)", pod, set)
			})
		})

})

// Conflicting and dangling XBackendTrafficPolicies (GEP-713).
var _ = describe("Traffic policy", func() {
	meshIt("of two XBackendTrafficPolicies on one Service the older one applies", []string{profiles.PolicyConflict, profiles.RetryBudget, profiles.RouteRetry},
		fixture("p", app("p", "echo-v1"), app("p", "echo-v2"), clientApp("p")),
		func(s *S) {
			parent := s.parent("p", "echo-v1")
			r := s.httpRoute("p", "retries", []gatewayv1.ParentReference{parent}, withRetry(to(s.backend("p", "echo-v2", 8080, 1)), 3, 500))
			older := s.budgetPolicy("p", "policy-z", 0, "1s", "echo-v2")
			newer := s.budgetPolicy("p", "policy-a", 100, "1s", "echo-v2") // alphabetically first: age must decide
			s.Create(r, older)
			s.createApart(older, newer)
			s.Accepted(r, parent)
			s.PolicyAccepted(older)
			// GEP-713, merge strategy None: "the spec (policy resource) with
			// the oldest creation timestamp MUST be considered the established
			// spec". The older allows no retries (one an hour), the newer all:
			// 4 attempts per request.
			const n = 10
			url := "http://" + s.host("p", "echo-v1", 80) + "/?codes=500"
			s.Received(s.Pod("p", "client"), url, n, mostly(503, 500, 1), "p", "echo-v2", func(got int) error {
				if got < n || got > n+3 {
					return fmt.Errorf("echo-v2 received %d requests for %d client requests: want %d to %d (the older policy's budget), not up to %d (the newer's)", got, n, n, n+3, 4*n)
				}
				return nil
			})
		})

	meshIt("of two XBackendTrafficPolicies on one Service the newer is Conflicted", []string{profiles.PolicyConflictStatus},
		fixture("p", app("p", "echo-v1")),
		func(s *S) {
			older := s.trafficPolicy("p", "policy-z", "echo-v1")
			older.Spec.RetryConstraint = &xv1alpha1.RetryConstraint{}
			newer := s.trafficPolicy("p", "policy-a", "echo-v1") // alphabetically first: age must decide
			newer.Spec.RetryConstraint = &xv1alpha1.RetryConstraint{}
			s.Create(older)
			s.createApart(older, newer)
			// GEP-713, merge strategy None: "All challenger specs (policy
			// resources) MUST be rejected." and "the Accepted status
			// condition of the policy SHOULD be set to false";
			// PolicyReasonConflicted.
			s.PolicyAccepted(older)
			s.PolicyCondition(newer, metav1.ConditionFalse, string(gatewayv1.PolicyReasonConflicted))
		})

	meshIt("an XBackendTrafficPolicy whose target Service is missing is TargetNotFound", []string{profiles.PolicyTargetNotFound},
		fixture("p", app("p", "echo-v1")),
		func(s *S) {
			pol := s.trafficPolicy("p", "to-nothing", "does-not-exist")
			pol.Spec.RetryConstraint = &xv1alpha1.RetryConstraint{}
			s.Create(pol)
			s.PolicyCondition(pol, metav1.ConditionFalse, string(gatewayv1.PolicyReasonTargetNotFound))
		})
})

// stickySplit routes echo-v1's Service to echo-v1 and echo-v2 alike, with
// an XBackendTrafficPolicy on both giving cookie sessions named name, and
// returns the Service's base URL once the route and the policy are
// accepted.
func (s *S) stickySplit(name string) string {
	parent := s.parent("p", "echo-v1")
	r := s.httpRoute("p", "split", []gatewayv1.ParentReference{parent},
		to(s.backend("p", "echo-v1", 8080, 1), s.backend("p", "echo-v2", 8080, 1)))
	pol := s.trafficPolicy("p", "sticky", "echo-v1", "echo-v2")
	pol.Spec.SessionPersistence = sticky(name)
	s.Create(pol, r)
	s.Accepted(r, parent)
	s.PolicyAccepted(pol)
	return "http://" + s.host("p", "echo-v1", 80)
}

// sticky is cookie session persistence with a session name. Each
// configuration gets a name of its own: GEP-1619 lets a mesh reject two
// sessions with one name.
func sticky(name string) *gatewayv1.SessionPersistence {
	return &gatewayv1.SessionPersistence{SessionName: ptr.To(name), Type: ptr.To(gatewayv1.CookieBasedSessionPersistence)}
}

// session sends one request to url and returns the cookies its response
// sets (as a Cookie header value), the pod that answered, and the response's
// Set-Cookie headers.
func (s *S) session(url string) (cookie, pod string, set []string, err error) {
	first := s.c.Send(s.ctx, s.Pod("p", "client"), kube.Request{URL: url})
	if first.Err != nil || len(first.Responses) != 1 {
		return "", "", nil, fmt.Errorf("first request failed: %v %q", first.Err, first.Stderr)
	}
	resp := first.Responses[0]
	set = setCookieHeaders(resp)
	cookie = setCookies(set)
	if cookie == "" {
		return "", "", nil, fmt.Errorf("first response (status %s from %q) sets no cookie", resp.Code, resp.Hostname)
	}
	if strings.ContainsAny(cookie, ",:") {
		return "", "", nil, fmt.Errorf("cookie %q holds ',' or ':', which the echo client cannot send back", cookie)
	}
	return cookie, resp.Hostname, set, nil
}

// sessionHolds sends n requests with the cookie and wants each answered
// with 200 by a pod that ok accepts (want names it).
func (s *S) sessionHolds(url, cookie string, n int, ok func(hostname string) bool, want string) error {
	rest := s.c.Send(s.ctx, s.Pod("p", "client"), kube.Request{URL: url, Count: n, Headers: map[string]string{"Cookie": cookie}})
	if len(rest.Responses) != n {
		return fmt.Errorf("%d of %d responses: %v %q", len(rest.Responses), n, rest.Err, rest.Stderr)
	}
	for i, resp := range rest.Responses {
		if resp.Code != "200" || !ok(resp.Hostname) {
			return fmt.Errorf("%s request %d with the cookie: status %s from %q, want %s", url, i+1, resp.Code, resp.Hostname, want)
		}
	}
	return nil
}

// setCookies is the Cookie header value that replays every cookie of the
// Set-Cookie headers.
func setCookies(set []string) string {
	var pairs []string
	for _, h := range set {
		if pair, _, _ := strings.Cut(h, ";"); pair != "" {
			pairs = append(pairs, pair)
		}
	}
	return strings.Join(pairs, "; ")
}

// setCookieHeaders are the response's Set-Cookie header values (the parsed
// headers keep only the last one).
func setCookieHeaders(resp echo.Response) []string {
	var out []string
	for line := range strings.SplitSeq(resp.RawContent, "\n") {
		_, h, found := strings.Cut(line, "ResponseHeader=")
		if !found {
			continue
		}
		name, value, _ := strings.Cut(h, ":")
		if strings.EqualFold(strings.TrimSpace(name), "Set-Cookie") && strings.TrimSpace(value) != "" {
			out = append(out, strings.TrimSpace(value))
		}
	}
	return out
}

// cookiePath is the path of the cookie a Set-Cookie header sets (RFC 6265
// §5.2.4 and §5.3): its last Path attribute, unless that is empty or does
// not start with "/", and otherwise dir, the default path of the request
// that got the header.
func cookiePath(setCookie, dir string) string {
	path := dir
	_, attrs, _ := strings.Cut(setCookie, ";")
	for attr := range strings.SplitSeq(attrs, ";") {
		name, value, _ := strings.Cut(attr, "=")
		if !strings.EqualFold(strings.TrimSpace(name), "Path") {
			continue
		}
		if value = strings.TrimSpace(value); strings.HasPrefix(value, "/") {
			path = value
		} else {
			path = dir
		}
	}
	return path
}
