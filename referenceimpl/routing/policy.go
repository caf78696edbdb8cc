package routing

import (
	"cmp"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayxv1a1 "sigs.k8s.io/gateway-api/apisx/v1alpha1"

	"gamma-conformance/referenceimpl/meshconfig"
)

// PolicyStatus is the status the mesh must write for one
// XBackendTrafficPolicy: one PolicyAncestorStatus per targetRef, whose
// ancestorRef is the targeted Service (see the package doc). Entries of
// other controllers are not included; the writer must keep them.
type PolicyStatus struct {
	Namespace  string
	Name       string
	Generation int64
	Ancestors  []gatewayv1.PolicyAncestorStatus
}

// The XBackendTrafficPolicy defaults (the CRD's +kubebuilder:default
// values, applied here too when a client skipped them).
const (
	defaultBudgetPercent    = 20
	defaultBudgetInterval   = 10 * time.Second
	defaultMinRetries       = 10
	defaultMinRetryInterval = time.Second
)

// servicePolicy is the policy in force on one Service, as the proxy sees it.
type servicePolicy struct {
	budget  *meshconfig.RetryBudget
	session *meshconfig.SessionPersistence
}

// policyTarget is the outcome of one targetRef of one policy.
type policyTarget struct {
	ref    gatewayv1.ParentReference
	reason gatewayv1.PolicyConditionReason
	msg    string
}

// resolvePolicies decides which XBackendTrafficPolicy acts on which Service
// and the status of every policy. A policy only targets Services in its
// own namespace (LocalPolicyTargetReference). Two policies on one Service
// cannot be merged: BackendTrafficPolicy declares no merge strategy and
// targets a single kind, so GEP-713's None strategy applies: the oldest
// (then first by {namespace}/{name}) is established and the others are
// Conflicted.
func resolvePolicies(w *world, in *Input) []PolicyStatus {
	ps := make([]*gatewayxv1a1.XBackendTrafficPolicy, len(in.BackendTrafficPolicies))
	for i := range in.BackendTrafficPolicies {
		ps[i] = &in.BackendTrafficPolicies[i]
	}
	slices.SortFunc(ps, func(a, b *gatewayxv1a1.XBackendTrafficPolicy) int {
		return cmp.Or(cmp.Compare(a.CreationTimestamp.Unix(), b.CreationTimestamp.Unix()),
			strings.Compare(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name))
	})
	owner := map[nsName]string{}
	var out []PolicyStatus
	for _, p := range ps {
		sp, invalid := compilePolicy(p, w.cookiePaths)
		var targets []policyTarget
		seen := map[gatewayv1.ObjectName]bool{}
		for _, tr := range p.Spec.TargetRefs {
			if seen[tr.Name] {
				continue
			}
			seen[tr.Name] = true
			t := policyTarget{ref: gatewayv1.ParentReference{Group: &tr.Group, Kind: &tr.Kind,
				Namespace: ptrTo(gatewayv1.Namespace(p.Namespace)), Name: tr.Name}}
			k := nsName{p.Namespace, string(tr.Name)}
			svc := w.services[k]
			switch {
			case !w.choices.coreGroup(string(tr.Group)) || tr.Kind != "Service":
				t.reason, t.msg = gatewayv1.PolicyReasonTargetNotFound,
					fmt.Sprintf("target %s/%s %s is not a core Service; this mesh supports only Services", tr.Group, tr.Kind, tr.Name)
			case svc == nil || svc.Spec.Type == corev1.ServiceTypeExternalName:
				t.reason, t.msg = gatewayv1.PolicyReasonTargetNotFound, fmt.Sprintf("Service %s/%s not found", p.Namespace, tr.Name)
			case invalid != "":
				t.reason, t.msg = gatewayv1.PolicyReasonInvalid, invalid
			case owner[k] != "" && w.choices.AcceptPolicyChallengers:
				t.reason, t.msg = gatewayv1.PolicyReasonAccepted,
					fmt.Sprintf("not in effect: the older XBackendTrafficPolicy %s is established on Service %s (GEP-713 merge strategy None)", owner[k], tr.Name)
			case owner[k] != "":
				t.reason, t.msg = gatewayv1.PolicyReasonConflicted,
					fmt.Sprintf("the older XBackendTrafficPolicy %s already targets Service %s", owner[k], tr.Name)
			default:
				owner[k] = p.Name
				pol := sp
				if pol.budget != nil {
					b := *pol.budget
					b.Service = meshconfig.ServiceKey{Namespace: p.Namespace, Name: string(tr.Name)}
					pol.budget = &b
				}
				if pol.session != nil {
					s := *pol.session
					s.Name = w.choices.sessionName(s.Name, "service/"+k.namespace+"/"+k.name)
					pol.session = &s
				}
				w.policies[k] = pol
				t.reason, t.msg = gatewayv1.PolicyReasonAccepted, "Policy applies to every client of Service "+string(tr.Name)
			}
			targets = append(targets, t)
		}
		out = append(out, policyStatus(p, targets, in.ControllerName))
	}
	slices.SortFunc(out, func(a, b PolicyStatus) int {
		return cmp.Or(strings.Compare(a.Namespace, b.Namespace), strings.Compare(a.Name, b.Name))
	})
	return out
}

func policyStatus(p *gatewayxv1a1.XBackendTrafficPolicy, targets []policyTarget, controller gatewayv1.GatewayController) PolicyStatus {
	st := PolicyStatus{Namespace: p.Namespace, Name: p.Name, Generation: p.Generation}
	for _, t := range targets {
		s := metav1.ConditionFalse
		if t.reason == gatewayv1.PolicyReasonAccepted {
			s = metav1.ConditionTrue
		}
		st.Ancestors = append(st.Ancestors, gatewayv1.PolicyAncestorStatus{
			AncestorRef:    t.ref,
			ControllerName: controller,
			Conditions: []metav1.Condition{{Type: string(gatewayv1.PolicyConditionAccepted), Status: s,
				Reason: string(t.reason), Message: t.msg, ObservedGeneration: p.Generation}},
		})
	}
	return st
}

// compilePolicy translates a policy's spec; a non-empty second result says
// why it is invalid.
func compilePolicy(p *gatewayxv1a1.XBackendTrafficPolicy, cookiePaths map[SessionRef]string) (servicePolicy, string) {
	var sp servicePolicy
	if rc := p.Spec.RetryConstraint; rc != nil {
		b := &meshconfig.RetryBudget{Percent: defaultBudgetPercent, Interval: defaultBudgetInterval,
			MinRetries: defaultMinRetries, MinInterval: defaultMinRetryInterval}
		if bd := rc.Budget; bd != nil {
			if bd.Percent != nil {
				b.Percent = *bd.Percent
			}
			if bd.Interval != nil {
				d, err := parseDuration(string(*bd.Interval))
				if err != nil {
					return sp, fmt.Sprintf("retryConstraint.budget.interval %q: %v", *bd.Interval, err)
				}
				b.Interval = d
			}
		}
		if b.Percent < 0 || b.Percent > 100 {
			return sp, fmt.Sprintf("retryConstraint.budget.percent %d is not in 0-100", b.Percent)
		}
		if b.Interval < time.Second || b.Interval > time.Hour {
			return sp, fmt.Sprintf("retryConstraint.budget.interval %s is not between 1s and 1h", b.Interval)
		}
		if mr := rc.MinRetryRate; mr != nil {
			if mr.Count != nil {
				b.MinRetries = *mr.Count
			}
			if mr.Interval != nil {
				d, err := parseDuration(string(*mr.Interval))
				if err != nil {
					return sp, fmt.Sprintf("retryConstraint.minRetryRate.interval %q: %v", *mr.Interval, err)
				}
				b.MinInterval = d
			}
		}
		if b.MinRetries < 1 || b.MinRetries > 1000000 || b.MinInterval <= 0 || b.MinInterval > time.Hour {
			return sp, fmt.Sprintf("retryConstraint.minRetryRate %d per %s: count must be 1-1000000 and interval in (0s, 1h]", b.MinRetries, b.MinInterval)
		}
		sp.budget = b
	}
	if p.Spec.SessionPersistence != nil {
		s, err := compileSession("sessionPersistence", p.Spec.SessionPersistence, cookiePaths[PolicySessionRef(p.Namespace, p.Name)])
		if err != "" {
			return sp, err
		}
		sp.session = s
	}
	return sp, ""
}

// compileSession translates a SessionPersistence and the cookie path the
// installed release may give (Input.CookiePaths); a non-empty second result
// says why it is invalid. An empty Name is filled in by the caller.
func compileSession(field string, in *gatewayv1.SessionPersistence, path string) (*meshconfig.SessionPersistence, string) {
	s := &meshconfig.SessionPersistence{Type: meshconfig.SessionCookie, Path: path}
	if in.Type != nil {
		s.Type = meshconfig.SessionType(*in.Type)
	}
	if s.Type != meshconfig.SessionCookie && s.Type != meshconfig.SessionHeader {
		return nil, fmt.Sprintf("%s.type %q is not Cookie or Header", field, s.Type)
	}
	if in.SessionName != nil {
		s.Name = *in.SessionName
	}
	if in.AbsoluteTimeout != nil {
		d, err := parseDuration(string(*in.AbsoluteTimeout))
		if err != nil {
			return nil, fmt.Sprintf("%s.absoluteTimeout %q: %v", field, *in.AbsoluteTimeout, err)
		}
		s.AbsoluteTimeout = d
	}
	if cc := in.CookieConfig; cc != nil {
		if s.Type != meshconfig.SessionCookie {
			return nil, field + ".cookieConfig can only be set with type Cookie"
		}
		if cc.LifetimeType != nil && *cc.LifetimeType == gatewayv1.PermanentCookieLifetimeType {
			if s.AbsoluteTimeout == 0 {
				return nil, field + ": AbsoluteTimeout must be specified when cookie lifetimeType is Permanent"
			}
			s.Permanent = true
		}
	}
	if path != "" && (s.Type != meshconfig.SessionCookie || !meshconfig.ValidCookiePath(path)) {
		return nil, fmt.Sprintf("%s.cookie.path %q must start with / and be set only with type Cookie", field, path)
	}
	if s.Name != "" && !isToken(s.Name) {
		return nil, fmt.Sprintf("%s.sessionName %q is not a valid cookie or header name", field, s.Name)
	}
	return s, ""
}

func isToken(s string) bool {
	for _, c := range []byte(s) {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return s != "" && len(s) <= 128
}

// sessionName is the cookie or header name of a session configured at
// where with sessionName given (maybe empty): Choices.FixedSessionName,
// else given, else a generated one.
func (c *Choices) sessionName(given, where string) string {
	switch {
	case c.FixedSessionName != "":
		return c.FixedSessionName
	case given != "":
		return given
	}
	return defaultSessionName(where)
}

// defaultSessionName is the cookie or header name of a session with no
// sessionName ("implementation-specific"): "gamma-session-" and a hash of
// where it was configured, so distinct configurations do not share a name.
func defaultSessionName(where string) string {
	h := fnv.New32a()
	h.Write([]byte(where))
	return fmt.Sprintf("gamma-session-%08x", h.Sum32())
}

func ptrTo[T any](v T) *T { return &v }

// compileRetry translates a rule's retry stanza. HTTPRouteRetry leaves the
// defaults to the implementation: one attempt, no status codes (connection
// errors only) and a 25 ms backoff, unless c says otherwise.
func compileRetry(r *gatewayv1.HTTPRouteRetry, c *Choices) (*meshconfig.Retry, *errRule) {
	attempts, backoff := c.retryDefaults()
	out := &meshconfig.Retry{Attempts: attempts, Backoff: backoff, NoRetryOnTimeout: c.NoRetryOnBackendTimeout}
	if r.Attempts != nil {
		switch {
		case *r.Attempts == 0:
			// HTTPRouteRetry.Attempts (v1.7.0): "An explicit zero value
			// MUST disable retries." (v1.6.3's CRD refuses zero.)
			return nil, nil
		case *r.Attempts < 0:
			return nil, unsupported("retry.attempts %d must not be negative", *r.Attempts)
		}
		out.Attempts = *r.Attempts
	}
	if r.Backoff != nil {
		d, err := parseDuration(string(*r.Backoff))
		if err != nil {
			return nil, unsupported("retry.backoff %q: %v", *r.Backoff, err)
		}
		out.Backoff = d
	}
	for _, c := range r.Codes {
		if c < 400 || c > 599 {
			return nil, unsupported("retry code %d is not in 400-599", c)
		}
		out.Codes = append(out.Codes, int(c))
	}
	return out, nil
}

// ruleSession compiles a route rule's own sessionPersistence, which GEP-1619
// puts above the backend's: "The sessionPersistence configuration inline to
// RouteX route rule MUST take precedence over BackendLBPolicy."
func ruleSession(w *world, cr *compiledRoute, index int, in *gatewayv1.SessionPersistence) (*meshconfig.SessionPersistence, *errRule) {
	if in == nil {
		return nil, nil
	}
	path := w.cookiePaths[RuleSessionRef(cr.key.Namespace, cr.key.Name, index)]
	s, msg := compileSession("sessionPersistence", in, path)
	if msg != "" {
		return nil, unsupported("%s", msg)
	}
	s.Name = cr.choices.sessionName(s.Name, fmt.Sprintf("rule/%s/%d", cr.key, index))
	return s, nil
}
