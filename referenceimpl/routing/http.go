package routing

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"gamma-conformance/referenceimpl/meshconfig"
)

// Path ranks inside an HTTP precedence key: an exact path first, then a
// regular expression (implementation-specific; ranked here like Contour),
// then path prefixes, longest first.
const (
	rankRegexLast = iota - 1 // Choices.RegexAfterPrefixes
	rankPrefix
	rankRegex
	rankExact
)

// errRule is a rule-level compile error with the status reason to report.
type errRule struct {
	reason gatewayv1.RouteConditionReason
	msg    string
}

func (e *errRule) Error() string { return e.msg }

func unsupported(format string, args ...any) *errRule {
	return &errRule{gatewayv1.RouteReasonUnsupportedValue, fmt.Sprintf(format, args...)}
}

func compileHTTPRoute(w *world, rt *gatewayv1.HTTPRoute) *compiledRoute {
	cr := newCompiledRoute(w, KindHTTPRoute, rt.ObjectMeta, rt.Spec.ParentRefs, len(rt.Spec.Rules))
	compileRules(w, cr, rt.Spec.Rules, compileHTTPRule)
	return cr
}

// compileRules compiles each rule of an HTTPRoute or GRPCRoute; a rule that
// does not compile is left out and reported with its reason.
func compileRules[R any](w *world, cr *compiledRoute, rules []R, compile func(*world, *compiledRoute, int, *R) (httpRule, *errRule)) {
	for i := range rules {
		hr, err := compile(w, cr, i, &rules[i])
		if err != nil {
			cr.invalid(i, err.reason, "%s", err.msg)
			continue
		}
		cr.http = append(cr.http, hr)
	}
}

func compileHTTPRule(w *world, cr *compiledRoute, index int, rule *gatewayv1.HTTPRouteRule) (httpRule, *errRule) {
	out := meshconfig.HTTPRule{Route: cr.key, Index: index}
	if rule.Name != nil {
		out.Name = string(*rule.Name)
	}
	if err := applyHTTPFilters(&out, rule.Filters); err != nil {
		return httpRule{}, err
	}
	matches := rule.Matches
	if len(matches) == 0 {
		matches = []gatewayv1.HTTPRouteMatch{{}}
	}
	var keyed []keyedMatch
	for mi := range matches {
		km, err := compileHTTPMatch(&matches[mi], w.choices)
		if err != nil {
			return httpRule{}, err
		}
		if usesPrefixReplace(&out) && km.match.Path.Type != meshconfig.MatchPathPrefix {
			return httpRule{}, unsupported("ReplacePrefixMatch needs a PathPrefix match, match %d is %s", mi, km.match.Path.Type)
		}
		keyed = append(keyed, km)
	}
	if rule.Timeouts != nil {
		t, err := compileTimeouts(rule.Timeouts)
		if err != nil {
			return httpRule{}, err
		}
		out.Timeouts = t
	}
	if rule.Retry != nil {
		r, err := compileRetry(rule.Retry, w.choices)
		if err != nil {
			return httpRule{}, err
		}
		out.Retry = r
	}
	session, err := ruleSession(w, cr, index, rule.SessionPersistence)
	if err != nil {
		return httpRule{}, err
	}
	for _, ref := range rule.BackendRefs {
		b, keep, problem := w.backend(cr, ref.BackendObjectReference, ref.Weight)
		cr.refProblem(problem)
		if session != nil && !b.Invalid {
			b.Session = session
		}
		for _, f := range ref.Filters {
			if err := applyBackendFilter(&b, f); err != nil {
				return httpRule{}, err
			}
		}
		if keep && out.Redirect == nil {
			out.Backends = append(out.Backends, b)
		}
	}
	out.NoEndpointsStatus = w.choices.NoEndpointsStatus
	if out.Redirect == nil && len(out.Backends) == 0 {
		// "If *all* entries in BackendRefs are invalid, and there are also
		// no filters specified in this route rule, *all* traffic which
		// matches this rule MUST receive a 500 status code." No
		// backendRefs, or only weight-0 ones, sends nothing anywhere: 500.
		out.DirectStatus = 500
	}
	return httpRule{rule: out, matches: keyed}, nil
}

func usesPrefixReplace(r *meshconfig.HTTPRule) bool {
	if r.Redirect != nil && r.Redirect.Path != nil && r.Redirect.Path.Type == meshconfig.ReplacePrefixMatch {
		return true
	}
	return r.Rewrite != nil && r.Rewrite.Path != nil && r.Rewrite.Path.Type == meshconfig.ReplacePrefixMatch
}

func applyHTTPFilters(out *meshconfig.HTTPRule, filters []gatewayv1.HTTPRouteFilter) *errRule {
	seen := map[gatewayv1.HTTPRouteFilterType]bool{}
	for _, f := range filters {
		if seen[f.Type] {
			return unsupported("filter %s is given twice", f.Type)
		}
		seen[f.Type] = true
		var err *errRule
		switch f.Type {
		case gatewayv1.HTTPRouteFilterRequestHeaderModifier:
			out.RequestHeaders, err = headerModifier(f.Type, f.RequestHeaderModifier)
		case gatewayv1.HTTPRouteFilterResponseHeaderModifier:
			out.ResponseHeaders, err = headerModifier(f.Type, f.ResponseHeaderModifier)
		case gatewayv1.HTTPRouteFilterRequestRedirect:
			out.Redirect, err = redirect(f.RequestRedirect)
		case gatewayv1.HTTPRouteFilterURLRewrite:
			out.Rewrite, err = rewrite(f.URLRewrite)
		default:
			err = unsupported("filter type %q is not supported by this mesh", f.Type)
		}
		if err != nil {
			return err
		}
	}
	if out.Redirect != nil && out.Rewrite != nil {
		return &errRule{gatewayv1.RouteReasonIncompatibleFilters, "RequestRedirect and URLRewrite cannot be combined"}
	}
	return nil
}

func applyBackendFilter(b *meshconfig.Backend, f gatewayv1.HTTPRouteFilter) *errRule {
	var err *errRule
	switch f.Type {
	case gatewayv1.HTTPRouteFilterRequestHeaderModifier:
		if b.RequestHeaders != nil {
			return unsupported("backend filter %s is given twice", f.Type)
		}
		b.RequestHeaders, err = headerModifier(f.Type, f.RequestHeaderModifier)
	case gatewayv1.HTTPRouteFilterResponseHeaderModifier:
		if b.ResponseHeaders != nil {
			return unsupported("backend filter %s is given twice", f.Type)
		}
		b.ResponseHeaders, err = headerModifier(f.Type, f.ResponseHeaderModifier)
	default:
		err = unsupported("backend filter type %q is not supported by this mesh", f.Type)
	}
	return err
}

func headerModifier(t gatewayv1.HTTPRouteFilterType, f *gatewayv1.HTTPHeaderFilter) (*meshconfig.HeaderModifier, *errRule) {
	if f == nil {
		return nil, unsupported("filter %s has no configuration", t)
	}
	m := &meshconfig.HeaderModifier{}
	for _, h := range f.Set {
		if h.Name == "" {
			return nil, unsupported("filter %s sets a header with an empty name", t)
		}
		m.Set = append(m.Set, meshconfig.Header{Name: string(h.Name), Value: h.Value})
	}
	for _, h := range f.Add {
		if h.Name == "" {
			return nil, unsupported("filter %s adds a header with an empty name", t)
		}
		m.Add = append(m.Add, meshconfig.Header{Name: string(h.Name), Value: h.Value})
	}
	for _, n := range f.Remove {
		if n == "" {
			return nil, unsupported("filter %s removes a header with an empty name", t)
		}
		m.Remove = append(m.Remove, n)
	}
	return m, nil
}

func pathModifier(p *gatewayv1.HTTPPathModifier) (*meshconfig.PathModifier, *errRule) {
	if p == nil {
		return nil, nil
	}
	switch p.Type {
	case gatewayv1.FullPathHTTPPathModifier:
		if p.ReplaceFullPath == nil || !strings.HasPrefix(*p.ReplaceFullPath, "/") {
			return nil, unsupported("ReplaceFullPath needs a path starting with /")
		}
		return &meshconfig.PathModifier{Type: meshconfig.ReplaceFullPath, Value: *p.ReplaceFullPath}, nil
	case gatewayv1.PrefixMatchHTTPPathModifier:
		if p.ReplacePrefixMatch == nil || !strings.HasPrefix(*p.ReplacePrefixMatch, "/") {
			return nil, unsupported("ReplacePrefixMatch needs a path starting with /")
		}
		return &meshconfig.PathModifier{Type: meshconfig.ReplacePrefixMatch, Value: *p.ReplacePrefixMatch}, nil
	default:
		return nil, unsupported("path modifier type %q is not supported", p.Type)
	}
}

func redirect(f *gatewayv1.HTTPRequestRedirectFilter) (*meshconfig.Redirect, *errRule) {
	if f == nil {
		return nil, unsupported("filter RequestRedirect has no configuration")
	}
	r := &meshconfig.Redirect{StatusCode: 302}
	if f.StatusCode != nil {
		r.StatusCode = *f.StatusCode
	}
	switch r.StatusCode {
	case 301, 302, 303, 307, 308:
	default:
		return nil, unsupported("redirect status code %d is not supported", r.StatusCode)
	}
	if f.Scheme != nil {
		r.Scheme = *f.Scheme
		if r.Scheme != "http" && r.Scheme != "https" {
			return nil, unsupported("redirect scheme %q is not http or https", r.Scheme)
		}
	}
	if f.Hostname != nil {
		r.Hostname = string(*f.Hostname)
	}
	if f.Port != nil {
		if *f.Port < 1 || *f.Port > 65535 {
			return nil, unsupported("redirect port %d is out of range", *f.Port)
		}
		r.Port = int32(*f.Port)
	}
	var err *errRule
	r.Path, err = pathModifier(f.Path)
	return r, err
}

func rewrite(f *gatewayv1.HTTPURLRewriteFilter) (*meshconfig.Rewrite, *errRule) {
	if f == nil {
		return nil, unsupported("filter URLRewrite has no configuration")
	}
	r := &meshconfig.Rewrite{}
	if f.Hostname != nil {
		r.Hostname = string(*f.Hostname)
	}
	var err *errRule
	r.Path, err = pathModifier(f.Path)
	return r, err
}

func compileHTTPMatch(m *gatewayv1.HTTPRouteMatch, c *Choices) (keyedMatch, *errRule) {
	out := meshconfig.HTTPMatch{Path: meshconfig.StringMatch{Type: meshconfig.MatchPathPrefix, Value: "/"}}
	rank := rankPrefix
	if m.Path != nil {
		if m.Path.Value != nil {
			out.Path.Value = *m.Path.Value
		}
		if m.Path.Type != nil {
			switch *m.Path.Type {
			case gatewayv1.PathMatchExact:
				out.Path.Type, rank = meshconfig.MatchExact, rankExact
			case gatewayv1.PathMatchPathPrefix:
			case gatewayv1.PathMatchRegularExpression:
				out.Path.Type, rank = meshconfig.MatchRegex, rankRegex
				if c.RegexAfterPrefixes {
					rank = rankRegexLast
				}
			default:
				return keyedMatch{}, unsupported("path match type %q is not supported", *m.Path.Type)
			}
		}
	}
	if err := checkValue(out.Path, true); err != nil {
		return keyedMatch{}, unsupported("path %q: %v", out.Path.Value, err)
	}
	if m.Method != nil {
		out.Method = string(*m.Method)
	}
	seen := map[string]bool{}
	for _, h := range m.Headers {
		// "If multiple entries specify equivalent header names, only the
		// first entry with an equivalent name MUST be considered."
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
	seenQ := map[string]bool{}
	for _, q := range m.QueryParams {
		if seenQ[string(q.Name)] {
			continue
		}
		seenQ[string(q.Name)] = true
		nm, err := nameMatch(string(q.Name), q.Value, (*string)(q.Type))
		if err != nil {
			return keyedMatch{}, unsupported("query parameter %q: %v", q.Name, err)
		}
		out.Query = append(out.Query, nm)
	}
	hasMethod := 0
	if out.Method != "" {
		hasMethod = 1
	}
	// HTTPRouteRule.Matches: precedence goes to an "Exact" path match, then
	// the "Prefix" path match with the largest number of characters, then a
	// method match, then the largest number of header matches, then the
	// largest number of query param matches.
	key := []int{rank, len(out.Path.Value), hasMethod, len(out.Headers), len(out.Query)}
	return keyedMatch{match: out, key: key}, nil
}

func nameMatch(name, value string, typ *string) (meshconfig.NameMatch, error) {
	if name == "" {
		return meshconfig.NameMatch{}, fmt.Errorf("empty name")
	}
	t := meshconfig.MatchExact
	if typ != nil {
		switch *typ {
		case "Exact":
		case "RegularExpression":
			t = meshconfig.MatchRegex
		default:
			return meshconfig.NameMatch{}, fmt.Errorf("match type %q is not supported", *typ)
		}
	}
	nm := meshconfig.NameMatch{Name: name, Type: t, Value: value}
	return nm, checkValue(meshconfig.StringMatch{Type: t, Value: value}, false)
}

// checkValue rejects values the proxy would refuse.
func checkValue(m meshconfig.StringMatch, path bool) error {
	switch {
	case m.Type == meshconfig.MatchRegex:
		_, err := regexp.Compile(m.Value)
		return err
	case path && !strings.HasPrefix(m.Value, "/"):
		return fmt.Errorf("must start with /")
	}
	return nil
}

func compileTimeouts(t *gatewayv1.HTTPRouteTimeouts) (meshconfig.Timeouts, *errRule) {
	var out meshconfig.Timeouts
	parse := func(what string, d *gatewayv1.Duration) (time.Duration, *errRule) {
		if d == nil {
			return 0, nil
		}
		v, err := parseDuration(string(*d))
		if err != nil {
			return 0, unsupported("timeouts.%s %q: %v", what, *d, err)
		}
		return v, nil
	}
	var err *errRule
	if out.Request, err = parse("request", t.Request); err != nil {
		return out, err
	}
	if out.BackendRequest, err = parse("backendRequest", t.BackendRequest); err != nil {
		return out, err
	}
	if out.Request > 0 && out.BackendRequest > out.Request {
		return out, unsupported("timeouts.backendRequest %s is longer than timeouts.request %s", out.BackendRequest, out.Request)
	}
	return out, nil
}

// gep2257 is the Duration format of GEP-2257: up to four groups of up to
// five digits with a unit of h, m, s or ms.
var gep2257 = regexp.MustCompile(`^([0-9]{1,5}(h|m|s|ms)){1,4}$`)

func parseDuration(s string) (time.Duration, error) {
	if !gep2257.MatchString(s) {
		return 0, fmt.Errorf("not a GEP-2257 duration such as 10s or 1m30s")
	}
	return time.ParseDuration(s)
}
