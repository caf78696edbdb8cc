package routing

import (
	"cmp"
	"slices"
	"strings"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"gamma-conformance/referenceimpl/meshconfig"
)

func compileTCPRoute(w *world, rt *gatewayv1.TCPRoute) *compiledRoute {
	cr := newCompiledRoute(w, KindTCPRoute, rt.ObjectMeta, rt.Spec.ParentRefs, len(rt.Spec.Rules))
	for _, rule := range rt.Spec.Rules {
		cr.tcp = append(cr.tcp, l4Backends(w, cr, rule.BackendRefs)...)
	}
	cr.tcp = orReject(cr.tcp)
	return cr
}

func compileTLSRoute(w *world, rt *gatewayv1.TLSRoute) *compiledRoute {
	cr := newCompiledRoute(w, KindTLSRoute, rt.ObjectMeta, rt.Spec.ParentRefs, len(rt.Spec.Rules))
	var hosts []string
	for _, h := range rt.Spec.Hostnames {
		hosts = append(hosts, strings.ToLower(string(h)))
	}
	for _, rule := range rt.Spec.Rules {
		cr.tls = append(cr.tls, meshconfig.TLSRule{
			Route:     cr.key,
			Hostnames: hosts,
			Backends:  orReject(l4Backends(w, cr, rule.BackendRefs)),
		})
	}
	return cr
}

func l4Backends(w *world, cr *compiledRoute, refs []gatewayv1.BackendRef) meshconfig.Backends {
	var out meshconfig.Backends
	for _, ref := range refs {
		b, keep, problem := w.backend(cr, ref.BackendObjectReference, ref.Weight)
		cr.refProblem(problem)
		// Retry budgets and sessions act on HTTP requests only.
		b.RetryBudget, b.Session = nil, nil
		if keep {
			out = append(out, b)
		}
	}
	return out
}

// orReject gives a rule with no usable backend one invalid backend, so the
// proxy "actively rejects" its connections (TCPRouteRule.BackendRefs).
func orReject(bs meshconfig.Backends) meshconfig.Backends {
	if len(bs) > 0 {
		return bs
	}
	return meshconfig.Backends{{Name: "(no backends)", Weight: 1, Invalid: true}}
}

// sortTLSRules orders merged TLS rules so the most specific hostname wins:
// exact names before wildcards, longer before shorter, then the older
// route. A rule with no hostnames matches any name and goes last.
func sortTLSRules(rules []meshconfig.TLSRule, age map[meshconfig.RouteKey]int) []meshconfig.TLSRule {
	type flat struct {
		rule  meshconfig.TLSRule
		host  string
		order int
	}
	var fs []flat
	for _, r := range rules {
		if len(r.Hostnames) == 0 {
			fs = append(fs, flat{r, "", age[r.Route]})
			continue
		}
		for _, h := range r.Hostnames {
			one := r
			one.Hostnames = []string{h}
			fs = append(fs, flat{one, h, age[r.Route]})
		}
	}
	specificity := func(h string) (int, int) {
		if h == "" {
			return 0, 0
		}
		if strings.HasPrefix(h, "*.") {
			return 1, len(h)
		}
		return 2, len(h)
	}
	slices.SortStableFunc(fs, func(a, b flat) int {
		ak, al := specificity(a.host)
		bk, bl := specificity(b.host)
		if c := cmp.Compare(bk, ak); c != 0 {
			return c
		}
		if c := cmp.Compare(bl, al); c != 0 {
			return c
		}
		if c := cmp.Compare(a.order, b.order); c != 0 {
			return c
		}
		return strings.Compare(a.host, b.host)
	})
	out := make([]meshconfig.TLSRule, len(fs))
	for i, f := range fs {
		out[i] = f.rule
	}
	return out
}
