package routing

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayxv1a1 "sigs.k8s.io/gateway-api/apisx/v1alpha1"

	"gamma-conformance/referenceimpl/meshconfig"
)

func policy(ns, name string, created time.Time, targets ...string) gatewayxv1a1.XBackendTrafficPolicy {
	p := gatewayxv1a1.XBackendTrafficPolicy{ObjectMeta: meta(ns, name, created)}
	for _, t := range targets {
		p.Spec.TargetRefs = append(p.Spec.TargetRefs, gatewayv1.LocalPolicyTargetReference{Kind: "Service", Name: gatewayv1.ObjectName(t)})
	}
	return p
}

func withBudget(p gatewayxv1a1.XBackendTrafficPolicy, percent int, interval string) gatewayxv1a1.XBackendTrafficPolicy {
	p.Spec.RetryConstraint = &gatewayxv1a1.RetryConstraint{Budget: &gatewayxv1a1.BudgetDetails{Percent: ptr.To(percent), Interval: ptr.To(gatewayv1.Duration(interval))}}
	return p
}

func withSession(p gatewayxv1a1.XBackendTrafficPolicy, typ gatewayv1.SessionPersistenceType, name string) gatewayxv1a1.XBackendTrafficPolicy {
	p.Spec.SessionPersistence = &gatewayv1.SessionPersistence{Type: ptr.To(typ), SessionName: ptr.To(name)}
	return p
}

func withRetry(r gatewayv1.HTTPRouteRule, attempts int, backoff string, codes ...int) gatewayv1.HTTPRouteRule {
	r.Retry = &gatewayv1.HTTPRouteRetry{Attempts: ptr.To(attempts), Backoff: ptr.To(gatewayv1.Duration(backoff))}
	for _, c := range codes {
		r.Retry.Codes = append(r.Retry.Codes, gatewayv1.HTTPRouteRetryStatusCode(c))
	}
	return r
}

// policyCondition returns the Accepted condition of a policy for the
// ancestor Service name.
func policyCondition(t *testing.T, out Output, ns, name, service string) metav1.Condition {
	t.Helper()
	for _, s := range out.PolicyStatuses {
		if s.Namespace != ns || s.Name != name {
			continue
		}
		for _, a := range s.Ancestors {
			if string(a.AncestorRef.Name) == service {
				if a.AncestorRef.Kind == nil || *a.AncestorRef.Kind != "Service" || a.AncestorRef.Namespace == nil || string(*a.AncestorRef.Namespace) != ns {
					t.Fatalf("ancestorRef %+v is not the Service %s/%s", a.AncestorRef, ns, service)
				}
				if a.ControllerName != controller || len(a.Conditions) != 1 {
					t.Fatalf("ancestor status %+v", a)
				}
				return a.Conditions[0]
			}
		}
		t.Fatalf("policy %s/%s has no ancestor %s: %+v", ns, name, service, s.Ancestors)
	}
	t.Fatalf("no status for policy %s/%s", ns, name)
	return metav1.Condition{}
}

func wantPolicy(t *testing.T, c metav1.Condition, status metav1.ConditionStatus, reason gatewayv1.PolicyConditionReason) {
	t.Helper()
	if c.Type != "Accepted" || c.Status != status || c.Reason != string(reason) || c.ObservedGeneration != 1 {
		t.Fatalf("condition %+v, want Accepted=%s reason %s", c, status, reason)
	}
}

// backendNamed returns the backend of the first rule called name.
func backendNamed(t *testing.T, r *meshconfig.HTTPRule, name string) meshconfig.Backend {
	t.Helper()
	for _, b := range r.Backends {
		if strings.HasPrefix(b.Name, meshNS+"/"+name+":") {
			return b
		}
	}
	t.Fatalf("rule has no backend %s: %+v", name, r.Backends)
	return meshconfig.Backend{}
}

var v1v2Rule = rule(nil, backendRef(meshNS, "echo-v1", 8080, 1), backendRef(meshNS, "echo-v2", 8080, 1))

func TestRetryAndTimeouts(t *testing.T) {
	runCases(t, []ruleCase{{
		name:  "a rule's retry stanza is carried to the table",
		quote: `HTTPRouteRetry: "Codes defines the HTTP response status codes for which a backend request should be retried." "Attempts specifies the maximum number of times an individual request from the gateway to a backend should be retried." "Backoff specifies the minimum duration a Gateway should wait between retry attempts".`,
		input: with(oneRule(withRetry(v1Rule, 3, "100ms", 500, 503))),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			r := firstRule(t, ix).Retry
			if r == nil || r.Attempts != 3 || r.Backoff != 100*time.Millisecond || !slices.Equal(r.Codes, []int{500, 503}) {
				t.Fatalf("retry %+v", r)
			}
		},
	}, {
		name:  "unspecified attempts and backoff get this mesh's defaults",
		quote: `HTTPRouteRetry.Attempts: "When this field is unspecified, the number of times to attempt to retry a backend request is implementation-specific." Choice: 1 attempt, 25ms backoff, connection errors only.`,
		input: func() Input {
			r := v1Rule
			r.Retry = &gatewayv1.HTTPRouteRetry{}
			return with(oneRule(r))()
		},
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			r := firstRule(t, ix).Retry
			if r == nil || r.Attempts != 1 || r.Backoff != 25*time.Millisecond || len(r.Codes) != 0 {
				t.Fatalf("retry %+v", r)
			}
		},
	}, {
		name:  "an explicit zero attempts disables retries",
		quote: `HTTPRouteRetry.Attempts (v1.7.0): "An explicit zero value MUST disable retries."`,
		input: with(oneRule(withRetry(v1Rule, 0, "100ms", 500, 503))),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			if r := firstRule(t, ix).Retry; r != nil {
				t.Fatalf("retry %+v, want none", r)
			}
			wantCondition(t, parentStatus(t, out, KindHTTPRoute, meshNS, "r", 0), "Accepted", metav1.ConditionTrue, string(gatewayv1.RouteReasonAccepted))
		},
	}, {
		name:  "a retry code outside 400-599 drops the rule",
		quote: `HTTPRouteRetryStatusCode: "+kubebuilder:validation:Minimum:=400 ... Maximum:=599"; a rule the mesh cannot apply is left out and the route is PartiallyInvalid.`,
		input: with(oneRule(withRetry(v1Rule, 1, "1s", 200), rule([]gatewayv1.HTTPRouteMatch{prefix("/ok")}, backendRef(meshNS, "echo-v1", 8080, 1)))),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			wantCondition(t, parentStatus(t, out, KindHTTPRoute, meshNS, "r", 0), "PartiallyInvalid", metav1.ConditionTrue, string(gatewayv1.RouteReasonUnsupportedValue))
		},
	}, {
		name: "a consumer route's retry and timeout apply to its namespace only",
		quote: `GEP-1294: "Unlike producer routes, consumer routes are scoped only the same namespace." GEP-2649: "Policy can be applied to any resource in any namespace ` +
			`but it can only apply to requests from the same namespace if the target is in a different namespace."`,
		input: func() Input {
			producer := v1Rule
			producer.Timeouts = &gatewayv1.HTTPRouteTimeouts{Request: ptr.To(gatewayv1.Duration("10s"))}
			consumer := withRetry(v1Rule, 2, "10ms", 503)
			consumer.Timeouts = &gatewayv1.HTTPRouteTimeouts{Request: ptr.To(gatewayv1.Duration("1s"))}
			return with(oneRule(producer), httpRoute(consumerNS, "c", t0, on80(meshNS), consumer))()
		},
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			c := send(t, ix, consumerNS, echoIP+":80", request{path: "/"}).rule
			if c.Timeouts.Request != time.Second || c.Retry == nil || c.Retry.Attempts != 2 {
				t.Fatalf("consumer rule %+v", c)
			}
			for _, ns := range []string{meshNS, "elsewhere"} {
				p := send(t, ix, ns, echoIP+":80", request{path: "/"}).rule
				if p.Timeouts.Request != 10*time.Second || p.Retry != nil {
					t.Fatalf("client in %s got rule %+v", ns, p)
				}
			}
		},
	}})
}

func TestBackendTrafficPolicy(t *testing.T) {
	runCases(t, []ruleCase{{
		name: "a retry budget acts on every backendRef to its Service, in every table",
		quote: `XBackendTrafficPolicy.TargetRefs are LocalPolicyTargetReferences; RetryConstraint: "Configuring a RetryConstraint in BackendTrafficPolicy is compatible ` +
			`with HTTPRoute Retry settings for each HTTPRouteRule that targets the same backend."`,
		input: with(oneRule(v1v2Rule), httpRoute(consumerNS, "c", t0, on80(meshNS), withRetry(v1v2Rule, 3, "10ms", 500)),
			withBudget(policy(meshNS, "p", t0, "echo-v1"), 30, "5s")),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			for _, ns := range []string{meshNS, consumerNS} {
				r := send(t, ix, ns, echoIP+":80", request{path: "/"}).rule
				b := backendNamed(t, r, "echo-v1").RetryBudget
				want := meshconfig.RetryBudget{Service: meshconfig.ServiceKey{Namespace: meshNS, Name: "echo-v1"}, Percent: 30, Interval: 5 * time.Second,
					MinRetries: 10, MinInterval: time.Second}
				if b == nil || *b != want {
					t.Fatalf("client in %s: budget %+v, want %+v", ns, b, want)
				}
				if o := backendNamed(t, r, "echo-v2"); o.RetryBudget != nil {
					t.Fatalf("echo-v2 has no policy but got %+v", o.RetryBudget)
				}
			}
			wantPolicy(t, policyCondition(t, out, meshNS, "p", "echo-v1"), metav1.ConditionTrue, gatewayv1.PolicyReasonAccepted)
		},
	}, {
		name:  "an empty retryConstraint gets the API defaults",
		quote: `RetryConstraint.Budget: "+kubebuilder:default={percent: 20, interval: "10s"}"; MinRetryRate: "+kubebuilder:default={count: 10, interval: "1s"}".`,
		input: func() Input {
			p := policy(meshNS, "p", t0, "echo-v1")
			p.Spec.RetryConstraint = &gatewayxv1a1.RetryConstraint{}
			return with(oneRule(v1Rule), p)()
		},
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			b := firstRule(t, ix).Backends[0].RetryBudget
			if b == nil || b.Percent != 20 || b.Interval != 10*time.Second || b.MinRetries != 10 || b.MinInterval != time.Second {
				t.Fatalf("budget %+v", b)
			}
		},
	}, {
		name:  "session persistence on a Service pins sessions to its endpoints",
		quote: `BackendTrafficPolicySpec.SessionPersistence: "SessionPersistence defines and configures session persistence for the backend."`,
		input: with(oneRule(v1Rule), withSession(policy(meshNS, "p", t0, "echo-v1"), gatewayv1.HeaderBasedSessionPersistence, "x-session")),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			s := firstRule(t, ix).Backends[0].Session
			if s == nil || *s != (meshconfig.SessionPersistence{Type: meshconfig.SessionHeader, Name: "x-session"}) {
				t.Fatalf("session %+v", s)
			}
		},
	}, {
		name:  "a rule's own session persistence overrides the Service's",
		quote: `GEP-1619: "The sessionPersistence configuration inline to RouteX route rule MUST take precedence over BackendLBPolicy."`,
		input: func() Input {
			r := v1Rule
			r.SessionPersistence = &gatewayv1.SessionPersistence{SessionName: ptr.To("rule-cookie"), AbsoluteTimeout: ptr.To(gatewayv1.Duration("1h")),
				CookieConfig: &gatewayv1.CookieConfig{LifetimeType: ptr.To(gatewayv1.PermanentCookieLifetimeType)}}
			return with(oneRule(r), withSession(policy(meshNS, "p", t0, "echo-v1"), gatewayv1.HeaderBasedSessionPersistence, "x-session"))()
		},
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			s := firstRule(t, ix).Backends[0].Session
			if s == nil || *s != (meshconfig.SessionPersistence{Type: meshconfig.SessionCookie, Name: "rule-cookie", AbsoluteTimeout: time.Hour, Permanent: true}) {
				t.Fatalf("session %+v", s)
			}
		},
	}, {
		name:  "a v1.7.0 cookie path reaches the table",
		quote: `CookieConfig.Path (v1.7.0): "Path defines the cookie Path attribute." The v1.6.3 types have no such field: the controller passes it in Input.CookiePaths.`,
		input: func() Input {
			r := v1Rule
			r.SessionPersistence = &gatewayv1.SessionPersistence{SessionName: ptr.To("rule-cookie")}
			in := with(oneRule(r))()
			in.AddCookiePath(RuleSessionRef(meshNS, "r", 0), "/app")
			in.AddCookiePath(RuleSessionRef(meshNS, "r", 1), "/elsewhere")
			return in
		},
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			s := firstRule(t, ix).Backends[0].Session
			if s == nil || s.Path != "/app" || s.Name != "rule-cookie" {
				t.Fatalf("session %+v", s)
			}
		},
	}, {
		name:  "a session with no name gets a name of its own",
		quote: `SessionPersistence.SessionName: "Support: Implementation-specific". Choice: gamma-session-<hash of the Service or rule>.`,
		input: func() Input {
			p := policy(meshNS, "p", t0, "echo-v1")
			p.Spec.SessionPersistence = &gatewayv1.SessionPersistence{}
			return with(oneRule(v1Rule), p)()
		},
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			s := firstRule(t, ix).Backends[0].Session
			if s == nil || s.Type != meshconfig.SessionCookie || !strings.HasPrefix(s.Name, "gamma-session-") {
				t.Fatalf("session %+v", s)
			}
		},
	}, {
		name: "of two policies on one Service the oldest wins and the newer is Conflicted",
		quote: `GEP-713, merge strategy None: "the spec (policy resource) with the oldest creation timestamp MUST be considered the established spec" ... ` +
			`"All challenger specs (policy resources) MUST be rejected."; PolicyReasonConflicted: "another policy that targets the same resource and a merge is not possible".`,
		input: with(oneRule(v1Rule), withBudget(policy(meshNS, "newer", t0.Add(time.Minute), "echo-v1"), 50, "1s"),
			withBudget(policy(meshNS, "older", t0, "echo-v1"), 10, "1s")),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			if b := firstRule(t, ix).Backends[0].RetryBudget; b == nil || b.Percent != 10 {
				t.Fatalf("budget %+v, want the older policy's 10%%", b)
			}
			wantPolicy(t, policyCondition(t, out, meshNS, "older", "echo-v1"), metav1.ConditionTrue, gatewayv1.PolicyReasonAccepted)
			wantPolicy(t, policyCondition(t, out, meshNS, "newer", "echo-v1"), metav1.ConditionFalse, gatewayv1.PolicyReasonConflicted)
		},
	}, {
		name:  "with equal creation times the first by namespace/name wins",
		quote: `GEP-713: "In case the conflicting policy resources have identical creation timestamps, the one appearing first in alphabetical order by {namespace}/{name} MUST be considered as the established one".`,
		input: with(oneRule(v1Rule), withBudget(policy(meshNS, "b", t0, "echo-v1"), 50, "1s"), withBudget(policy(meshNS, "a", t0, "echo-v1"), 10, "1s")),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			wantPolicy(t, policyCondition(t, out, meshNS, "a", "echo-v1"), metav1.ConditionTrue, gatewayv1.PolicyReasonAccepted)
			wantPolicy(t, policyCondition(t, out, meshNS, "b", "echo-v1"), metav1.ConditionFalse, gatewayv1.PolicyReasonConflicted)
		},
	}, {
		name: "a target that is not a Service in the policy's namespace is TargetNotFound",
		quote: `LocalPolicyTargetReference: the target is in the policy's own namespace; PolicyReasonTargetNotFound: "the policy is attached to an invalid target resource". ` +
			`Each targetRef gets its own ancestor entry, keyed by the Service.`,
		input: func() Input {
			p := withBudget(policy(consumerNS, "p", t0, "echo-v1"), 10, "1s") // echo-v1 lives in meshNS, not consumerNS
			q := withBudget(policy(meshNS, "q", t0, "echo-v2"), 10, "1s")
			q.Spec.TargetRefs = append(q.Spec.TargetRefs, gatewayv1.LocalPolicyTargetReference{Group: "apps", Kind: "Deployment", Name: "echo-v1"})
			return with(oneRule(v1v2Rule), p, q)()
		},
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			wantPolicy(t, policyCondition(t, out, consumerNS, "p", "echo-v1"), metav1.ConditionFalse, gatewayv1.PolicyReasonTargetNotFound)
			wantPolicy(t, policyCondition(t, out, meshNS, "q", "echo-v2"), metav1.ConditionTrue, gatewayv1.PolicyReasonAccepted)
			if b := backendNamed(t, firstRule(t, ix), "echo-v1").RetryBudget; b != nil {
				t.Fatalf("echo-v1 got a budget from a policy that cannot target it: %+v", b)
			}
			for _, s := range out.PolicyStatuses {
				if s.Name == "q" && len(s.Ancestors) != 2 {
					t.Fatalf("policy q has %d ancestors, want one per targetRef", len(s.Ancestors))
				}
			}
		},
	}, {
		name:  "an invalid policy is not applied and says why",
		quote: `PolicyReasonInvalid: "the policy is syntactically or semantically invalid"; SessionPersistence: "cookieConfig can only be set with type Cookie".`,
		input: func() Input {
			p := withSession(policy(meshNS, "p", t0, "echo-v1"), gatewayv1.HeaderBasedSessionPersistence, "x-session")
			p.Spec.SessionPersistence.CookieConfig = &gatewayv1.CookieConfig{}
			return with(oneRule(v1Rule), p)()
		},
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			c := policyCondition(t, out, meshNS, "p", "echo-v1")
			wantPolicy(t, c, metav1.ConditionFalse, gatewayv1.PolicyReasonInvalid)
			if !strings.Contains(c.Message, "cookieConfig") {
				t.Fatalf("message %q does not say what is wrong", c.Message)
			}
			if s := firstRule(t, ix).Backends[0].Session; s != nil {
				t.Fatalf("invalid policy applied: %+v", s)
			}
		},
	}, {
		name:  "an invalid policy does not block a valid newer one",
		quote: `GEP-713 ranks established and challenger specs among policies that apply; an Invalid policy applies to nothing. Choice: it conflicts with nothing.`,
		input: func() Input {
			bad := withBudget(policy(meshNS, "bad", t0, "echo-v1"), 10, "0s")
			good := withBudget(policy(meshNS, "good", t0.Add(time.Minute), "echo-v1"), 25, "2s")
			return with(oneRule(v1Rule), bad, good)()
		},
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			wantPolicy(t, policyCondition(t, out, meshNS, "bad", "echo-v1"), metav1.ConditionFalse, gatewayv1.PolicyReasonInvalid)
			wantPolicy(t, policyCondition(t, out, meshNS, "good", "echo-v1"), metav1.ConditionTrue, gatewayv1.PolicyReasonAccepted)
			if b := firstRule(t, ix).Backends[0].RetryBudget; b == nil || b.Percent != 25 {
				t.Fatalf("budget %+v", b)
			}
		},
	}, {
		name:  "TCP and TLS backends carry no HTTP policy",
		quote: `Choice: retry budgets and session persistence act on HTTP requests; a TCPRoute to a Service with a policy forwards bytes as before.`,
		input: with(tcpRoute(meshNS, "t", t0, []gatewayv1.ParentReference{onPort(svcParent(meshNS, "echo"), 9090)}, l4Ref(meshNS, "echo-v1", 9090, 1)),
			withSession(withBudget(policy(meshNS, "p", t0, "echo-v1"), 10, "1s"), gatewayv1.CookieBasedSessionPersistence, "c")),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			tbl := ix.Lookup(meshNS, netip.MustParseAddrPort(echoIP+":9090"))
			if tbl == nil || tbl.TCP == nil || (*tbl.TCP)[0].RetryBudget != nil || (*tbl.TCP)[0].Session != nil {
				t.Fatalf("table %+v", tbl)
			}
		},
	}})
}
