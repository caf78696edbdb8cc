package routing

import (
	"regexp"
	"strings"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"gamma-conformance/referenceimpl/meshconfig"
)

func compileGRPCRoute(w *world, rt *gatewayv1.GRPCRoute) *compiledRoute {
	cr := newCompiledRoute(w, KindGRPCRoute, rt.ObjectMeta, rt.Spec.ParentRefs, len(rt.Spec.Rules))
	compileRules(w, cr, rt.Spec.Rules, compileGRPCRule)
	return cr
}

func compileGRPCRule(w *world, cr *compiledRoute, index int, rule *gatewayv1.GRPCRouteRule) (httpRule, *errRule) {
	out := meshconfig.HTTPRule{Route: cr.key, Index: index}
	if rule.Name != nil {
		out.Name = string(*rule.Name)
	}
	filters := make([]gatewayv1.HTTPRouteFilter, len(rule.Filters))
	for i, f := range rule.Filters {
		filters[i] = asHTTPFilter(f)
	}
	if err := applyHTTPFilters(&out, filters); err != nil {
		return httpRule{}, err
	}
	matches := rule.Matches
	if len(matches) == 0 {
		// "If no matches are specified, the implementation MUST match
		// every gRPC request."
		matches = []gatewayv1.GRPCRouteMatch{{}}
	}
	var keyed []keyedMatch
	for mi := range matches {
		km, err := compileGRPCMatch(&matches[mi])
		if err != nil {
			return httpRule{}, err
		}
		keyed = append(keyed, km)
	}
	for _, ref := range rule.BackendRefs {
		b, keep, problem := w.backend(cr, ref.BackendObjectReference, ref.Weight)
		cr.refProblem(problem)
		for _, f := range ref.Filters {
			if err := applyBackendFilter(&b, asHTTPFilter(f)); err != nil {
				return httpRule{}, err
			}
		}
		if keep {
			out.Backends = append(out.Backends, b)
		}
	}
	out.NoEndpointsStatus = w.choices.NoEndpointsStatus
	if len(out.Backends) == 0 {
		// Answered as UNAVAILABLE by the proxy for gRPC requests: "If
		// *all* entries in BackendRefs are invalid ... *all* traffic which
		// matches this rule MUST receive an `UNAVAILABLE` status."
		out.DirectStatus = 500
	}
	return httpRule{rule: out, matches: keyed}, nil
}

// compileGRPCMatch turns a service/method match into a path match on
// "/<service>/<method>", and ranks it by GRPCRouteRule.Matches: the largest
// number of characters in a matching service, then in a matching method,
// then header matches (hostnames play no part in a mesh).
func compileGRPCMatch(m *gatewayv1.GRPCRouteMatch) (keyedMatch, *errRule) {
	out := meshconfig.HTTPMatch{Path: meshconfig.StringMatch{Type: meshconfig.MatchPathPrefix, Value: "/"}}
	var svc, method string
	if mm := m.Method; mm != nil {
		if mm.Service != nil {
			svc = *mm.Service
		}
		if mm.Method != nil {
			method = *mm.Method
		}
		regex := mm.Type != nil && *mm.Type == gatewayv1.GRPCMethodMatchRegularExpression
		if mm.Type != nil && !regex && *mm.Type != gatewayv1.GRPCMethodMatchExact {
			return keyedMatch{}, unsupported("method match type %q is not supported", *mm.Type)
		}
		if !regex && (strings.Contains(svc, "/") || strings.Contains(method, "/")) {
			return keyedMatch{}, unsupported("exact service and method names cannot contain /")
		}
		switch {
		case regex:
			for _, re := range []string{svc, method} {
				if _, err := regexp.Compile(re); err != nil {
					return keyedMatch{}, unsupported("method match: %v", err)
				}
			}
			out.Path = meshconfig.StringMatch{Type: meshconfig.MatchRegex, Value: "/" + orAny(svc) + "/" + orAny(method)}
		case svc != "" && method != "":
			out.Path = meshconfig.StringMatch{Type: meshconfig.MatchExact, Value: "/" + svc + "/" + method}
		case svc != "":
			out.Path = meshconfig.StringMatch{Type: meshconfig.MatchPathPrefix, Value: "/" + svc}
		case method != "":
			out.Path = meshconfig.StringMatch{Type: meshconfig.MatchRegex, Value: "/[^/]+/" + regexp.QuoteMeta(method)}
		}
	}
	seen := map[string]bool{}
	for _, h := range m.Headers {
		name := strings.ToLower(string(h.Name))
		if seen[name] {
			continue
		}
		seen[name] = true
		nm, err := nameMatch(string(h.Name), h.Value, (*string)(h.Type))
		if err != nil {
			return keyedMatch{}, unsupported("header %q: %v", h.Name, err)
		}
		out.Headers = append(out.Headers, nm)
	}
	return keyedMatch{match: out, key: []int{len(svc), len(method), len(out.Headers)}}, nil
}

func orAny(re string) string {
	if re == "" {
		return "[^/]+"
	}
	return "(?:" + re + ")"
}

// asHTTPFilter reads a GRPCRoute filter as the HTTPRoute filter of the same
// type: the header modifiers are the same; every other type is refused by
// the HTTP filter code as unsupported.
func asHTTPFilter(f gatewayv1.GRPCRouteFilter) gatewayv1.HTTPRouteFilter {
	return gatewayv1.HTTPRouteFilter{
		Type:                   gatewayv1.HTTPRouteFilterType(f.Type),
		RequestHeaderModifier:  f.RequestHeaderModifier,
		ResponseHeaderModifier: f.ResponseHeaderModifier,
	}
}
