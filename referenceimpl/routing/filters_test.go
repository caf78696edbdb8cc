package routing

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"gamma-conformance/referenceimpl/meshconfig"
)

func withFilters(r gatewayv1.HTTPRouteRule, fs ...gatewayv1.HTTPRouteFilter) gatewayv1.HTTPRouteRule {
	r.Filters = append(r.Filters, fs...)
	return r
}

func redirectFilter(f gatewayv1.HTTPRequestRedirectFilter) gatewayv1.HTTPRouteFilter {
	return gatewayv1.HTTPRouteFilter{Type: gatewayv1.HTTPRouteFilterRequestRedirect, RequestRedirect: &f}
}

func rewriteFilter(f gatewayv1.HTTPURLRewriteFilter) gatewayv1.HTTPRouteFilter {
	return gatewayv1.HTTPRouteFilter{Type: gatewayv1.HTTPRouteFilterURLRewrite, URLRewrite: &f}
}

var v1Rule = rule(nil, backendRef(meshNS, "echo-v1", 8080, 1))

func oneRule(rules ...gatewayv1.HTTPRouteRule) gatewayv1.HTTPRoute {
	return httpRoute(meshNS, "r", t0, on80(meshNS), rules...)
}

func TestFilters(t *testing.T) {
	runCases(t, []ruleCase{{
		name:  "header modifiers are carried to the table",
		quote: `HTTPHeaderFilter: "Set overwrites the request with the given header", "Add adds the given header(s)", "Remove the given header(s)".`,
		input: with(oneRule(withFilters(v1Rule, gatewayv1.HTTPRouteFilter{Type: gatewayv1.HTTPRouteFilterRequestHeaderModifier,
			RequestHeaderModifier: &gatewayv1.HTTPHeaderFilter{
				Set: []gatewayv1.HTTPHeader{{Name: "X-Set", Value: "1"}}, Add: []gatewayv1.HTTPHeader{{Name: "X-Add", Value: "2"}}, Remove: []string{"X-Del"}}}))),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			m := firstRule(t, ix).RequestHeaders
			if m == nil || m.Set[0] != (meshconfig.Header{Name: "X-Set", Value: "1"}) || m.Add[0].Name != "X-Add" || m.Remove[0] != "X-Del" {
				t.Fatalf("modifier %+v", m)
			}
		},
	}, {
		name:  "backend-level header modifiers stay with their backend",
		quote: `HTTPBackendRef.Filters: "Filters defined at this level should be executed if and only if the request is being forwarded to the backend defined here."`,
		input: func() Input {
			ref := backendRef(meshNS, "echo-v1", 8080, 1)
			ref.Filters = []gatewayv1.HTTPRouteFilter{{Type: gatewayv1.HTTPRouteFilterRequestHeaderModifier,
				RequestHeaderModifier: &gatewayv1.HTTPHeaderFilter{Set: []gatewayv1.HTTPHeader{{Name: "X-B", Value: "b"}}}}}
			return with(oneRule(rule(nil, ref, backendRef(meshNS, "echo-v2", 8080, 1))))()
		},
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			bs := firstRule(t, ix).Backends
			if bs[0].RequestHeaders == nil || bs[0].RequestHeaders.Set[0].Value != "b" || bs[1].RequestHeaders != nil {
				t.Fatalf("backends %+v", bs)
			}
		},
	}, {
		name:  "a redirect defaults to 302 and sends no traffic to backends",
		quote: `HTTPRequestRedirectFilter.StatusCode: "+kubebuilder:default=302".`,
		input: with(oneRule(withFilters(v1Rule, redirectFilter(gatewayv1.HTTPRequestRedirectFilter{Hostname: ptr.To(gatewayv1.PreciseHostname("example.org"))})))),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			r := firstRule(t, ix)
			if r.Redirect == nil || r.Redirect.StatusCode != 302 || r.Redirect.Hostname != "example.org" || len(r.Backends) != 0 {
				t.Fatalf("rule %+v", r)
			}
		},
	}, {
		name:  "a redirect carries scheme, port, path and status",
		quote: `HTTPRequestRedirectFilter: scheme, hostname, path, port and statusCode (301, 302, 303, 307, 308).`,
		input: with(oneRule(withFilters(rule([]gatewayv1.HTTPRouteMatch{prefix("/old")}), redirectFilter(gatewayv1.HTTPRequestRedirectFilter{
			Scheme: ptr.To("https"), Port: ptr.To(gatewayv1.PortNumber(8443)), StatusCode: ptr.To(308),
			Path: &gatewayv1.HTTPPathModifier{Type: gatewayv1.PrefixMatchHTTPPathModifier, ReplacePrefixMatch: ptr.To("/new")}})))),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			r := send(t, ix, meshNS, echoIP+":80", request{path: "/old/x"}).rule
			want := meshconfig.Redirect{Scheme: "https", Port: 8443, StatusCode: 308, Path: &meshconfig.PathModifier{Type: meshconfig.ReplacePrefixMatch, Value: "/new"}}
			if r == nil || r.Redirect.Scheme != want.Scheme || r.Redirect.Port != want.Port || r.Redirect.StatusCode != 308 || *r.Redirect.Path != *want.Path {
				t.Fatalf("redirect %+v", r)
			}
		},
	}, {
		name:  "a rewrite carries hostname and full path",
		quote: `HTTPURLRewriteFilter: "Hostname is the value to be used to replace the Host header value during forwarding"; ReplaceFullPath replaces the whole path.`,
		input: with(oneRule(withFilters(v1Rule, rewriteFilter(gatewayv1.HTTPURLRewriteFilter{Hostname: ptr.To(gatewayv1.PreciseHostname("h.example")),
			Path: &gatewayv1.HTTPPathModifier{Type: gatewayv1.FullPathHTTPPathModifier, ReplaceFullPath: ptr.To("/full")}})))),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			rw := firstRule(t, ix).Rewrite
			if rw == nil || rw.Hostname != "h.example" || rw.Path.Type != meshconfig.ReplaceFullPath || rw.Path.Value != "/full" {
				t.Fatalf("rewrite %+v", rw)
			}
		},
	}, {
		name:  "redirect and rewrite together are incompatible",
		quote: `HTTPRouteRule.Filters: "All filters are expected to be compatible with each other except for the URLRewrite and RequestRedirect filters, which may not be combined" ... "implementations may use the IncompatibleFilters reason".`,
		input: with(oneRule(withFilters(v1Rule, redirectFilter(gatewayv1.HTTPRequestRedirectFilter{}), rewriteFilter(gatewayv1.HTTPURLRewriteFilter{})))),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			wantTables(t, out)
			wantCondition(t, parentStatus(t, out, KindHTTPRoute, meshNS, "r", 0), "Accepted", metav1.ConditionFalse, "IncompatibleFilters")
		},
	}, {
		name:  "an unsupported filter drops its rule; all rules dropped is not Accepted",
		quote: `HTTPRouteRule.Filters: "If all Route Rules in a Route are invalid, the entire Route would be considered invalid."`,
		input: with(oneRule(withFilters(v1Rule, gatewayv1.HTTPRouteFilter{Type: gatewayv1.HTTPRouteFilterRequestMirror,
			RequestMirror: &gatewayv1.HTTPRequestMirrorFilter{BackendRef: gatewayv1.BackendObjectReference{Name: "echo-v2"}}}))),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			wantTables(t, out)
			wantCondition(t, parentStatus(t, out, KindHTTPRoute, meshNS, "r", 0), "Accepted", metav1.ConditionFalse, "UnsupportedValue")
		},
	}, {
		name:  "some rules dropped: PartiallyInvalid, the rest still routes",
		quote: `HTTPRouteRule.Filters: "If only a portion of Route Rules are invalid, implementations MUST set the "PartiallyInvalid" condition for the Route."`,
		input: with(oneRule(
			withFilters(rule([]gatewayv1.HTTPRouteMatch{prefix("/bad")}, backendRef(meshNS, "echo-v1", 8080, 1)),
				gatewayv1.HTTPRouteFilter{Type: gatewayv1.HTTPRouteFilterCORS, CORS: &gatewayv1.HTTPCORSFilter{}}),
			rule([]gatewayv1.HTTPRouteMatch{prefix("/good")}, backendRef(meshNS, "echo-v1", 8080, 1)))),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			c := parentStatus(t, out, KindHTTPRoute, meshNS, "r", 0)
			wantCondition(t, c, "Accepted", metav1.ConditionTrue, "Accepted")
			wantCondition(t, c, "PartiallyInvalid", metav1.ConditionTrue, "UnsupportedValue")
			wantWinner(t, ix, request{path: "/good"}, meshNS+"/r#1")
			wantWinner(t, ix, request{path: "/bad"}, "404")
		},
	}, {
		name:  "ReplacePrefixMatch needs a PathPrefix match",
		quote: `HTTPPathModifier: "ReplacePrefixMatch is only compatible with a PathPrefix HTTPRouteMatch."`,
		input: with(oneRule(withFilters(rule([]gatewayv1.HTTPRouteMatch{exact("/x")}, backendRef(meshNS, "echo-v1", 8080, 1)),
			rewriteFilter(gatewayv1.HTTPURLRewriteFilter{Path: &gatewayv1.HTTPPathModifier{Type: gatewayv1.PrefixMatchHTTPPathModifier, ReplacePrefixMatch: ptr.To("/y")}})))),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			wantCondition(t, parentStatus(t, out, KindHTTPRoute, meshNS, "r", 0), "Accepted", metav1.ConditionFalse, "UnsupportedValue")
		},
	}, {
		name:  "request and backendRequest timeouts are parsed",
		quote: `HTTPRouteTimeouts: "The value of Request is a Gateway API Duration string as defined by GEP-2257."`,
		input: func() Input {
			r := v1Rule
			r.Timeouts = &gatewayv1.HTTPRouteTimeouts{Request: ptr.To(gatewayv1.Duration("1s")), BackendRequest: ptr.To(gatewayv1.Duration("250ms"))}
			return with(oneRule(r))()
		},
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			if to := firstRule(t, ix).Timeouts; to.Request != time.Second || to.BackendRequest != 250*time.Millisecond {
				t.Fatalf("timeouts %+v", to)
			}
		},
	}, {
		name:  "a zero timeout disables it",
		quote: `HTTPRouteTimeouts.Request: "Setting a timeout to the zero duration (e.g. "0s") SHOULD disable the timeout completely."`,
		input: func() Input {
			r := v1Rule
			r.Timeouts = &gatewayv1.HTTPRouteTimeouts{Request: ptr.To(gatewayv1.Duration("0s"))}
			return with(oneRule(r))()
		},
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			if to := firstRule(t, ix).Timeouts; to.Request != 0 {
				t.Fatalf("timeouts %+v", to)
			}
		},
	}, {
		name:  "a backendRequest longer than request is invalid",
		quote: `HTTPRouteTimeouts.BackendRequest: "the value of BackendRequest must be no more than the value of the Request timeout".`,
		input: func() Input {
			r := v1Rule
			r.Timeouts = &gatewayv1.HTTPRouteTimeouts{Request: ptr.To(gatewayv1.Duration("1s")), BackendRequest: ptr.To(gatewayv1.Duration("2s"))}
			return with(oneRule(r))()
		},
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			wantCondition(t, parentStatus(t, out, KindHTTPRoute, meshNS, "r", 0), "Accepted", metav1.ConditionFalse, "UnsupportedValue")
		},
	}, {
		name:  "a malformed duration is a status, not a panic",
		quote: `Bad input ("invalid value") yields a status condition, never a panic or a silent drop.`,
		input: func() Input {
			r := v1Rule
			r.Timeouts = &gatewayv1.HTTPRouteTimeouts{Request: ptr.To(gatewayv1.Duration("1.5s"))}
			return with(oneRule(r))()
		},
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			wantCondition(t, parentStatus(t, out, KindHTTPRoute, meshNS, "r", 0), "Accepted", metav1.ConditionFalse, "UnsupportedValue")
		},
	}, {
		name:  "an unknown path match type is UnsupportedValue",
		quote: `PathMatchType: "Unknown values here must result in the implementation setting the Accepted Condition for the Route to status: False, with a Reason of UnsupportedValue."`,
		input: with(oneRule(rule([]gatewayv1.HTTPRouteMatch{pathMatch("Glob", "/*")}, backendRef(meshNS, "echo-v1", 8080, 1)))),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			wantCondition(t, parentStatus(t, out, KindHTTPRoute, meshNS, "r", 0), "Accepted", metav1.ConditionFalse, "UnsupportedValue")
		},
	}, {
		name:  "an invalid regular expression is UnsupportedValue",
		quote: `Bad input ("invalid value") yields a status condition: the proxy could not compile it.`,
		input: with(oneRule(rule([]gatewayv1.HTTPRouteMatch{pathMatch(gatewayv1.PathMatchRegularExpression, "/(")}, backendRef(meshNS, "echo-v1", 8080, 1)))),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			wantCondition(t, parentStatus(t, out, KindHTTPRoute, meshNS, "r", 0), "Accepted", metav1.ConditionFalse, "UnsupportedValue")
		},
	}, {
		name:  "a filter without its configuration is UnsupportedValue",
		quote: `HTTPRouteFilter: "RequestHeaderModifier ... This field MUST be set when Type is RequestHeaderModifier" — a nil config is bad input, not a panic.`,
		input: with(oneRule(withFilters(v1Rule, gatewayv1.HTTPRouteFilter{Type: gatewayv1.HTTPRouteFilterRequestHeaderModifier}))),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			wantCondition(t, parentStatus(t, out, KindHTTPRoute, meshNS, "r", 0), "Accepted", metav1.ConditionFalse, "UnsupportedValue")
		},
	}})
}

func grpcWithFilter(f gatewayv1.GRPCRouteFilter) gatewayv1.GRPCRoute {
	return grpcRoute(meshNS, "g", t0, []gatewayv1.ParentReference{onPort(svcParent(meshNS, "echo"), 7070)},
		gatewayv1.GRPCRouteRule{Filters: []gatewayv1.GRPCRouteFilter{f}, BackendRefs: []gatewayv1.GRPCBackendRef{grpcRef(meshNS, "echo-v1", 7070, 1)}})
}

func TestGRPCFilters(t *testing.T) {
	runCases(t, []ruleCase{{
		name:  "gRPC header modifiers are carried to the table",
		quote: `GRPCRouteFilter: "RequestHeaderModifier" and "ResponseHeaderModifier" are Core filters of GRPCRoute.`,
		input: with(grpcWithFilter(gatewayv1.GRPCRouteFilter{Type: gatewayv1.GRPCRouteFilterResponseHeaderModifier,
			ResponseHeaderModifier: &gatewayv1.HTTPHeaderFilter{Set: []gatewayv1.HTTPHeader{{Name: "X-G", Value: "g"}}}})),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			r := send(t, ix, meshNS, echoIP+":7070", request{method: "POST", path: "/a.B/C"})
			if r.rule == nil || r.rule.ResponseHeaders == nil || r.rule.ResponseHeaders.Set[0].Value != "g" {
				t.Fatalf("rule %+v", r.rule)
			}
		},
	}, {
		name:  "an unsupported gRPC filter drops its rule",
		quote: `GRPCRouteRule.Filters: "In cases where incompatible or unsupported filters are specified and cause the Accepted condition to be set to status False".`,
		input: with(grpcWithFilter(gatewayv1.GRPCRouteFilter{Type: gatewayv1.GRPCRouteFilterRequestMirror,
			RequestMirror: &gatewayv1.HTTPRequestMirrorFilter{BackendRef: gatewayv1.BackendObjectReference{Name: "echo-v2"}}})),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			wantTables(t, out)
			wantCondition(t, parentStatus(t, out, KindGRPCRoute, meshNS, "g", 0), "Accepted", metav1.ConditionFalse, "UnsupportedValue")
		},
	}})
}

func TestStatus(t *testing.T) {
	runCases(t, []ruleCase{{
		name:  "status echoes the parentRef and names the controller",
		quote: `RouteParentStatus: "ParentRef corresponds with a ParentRef in the spec that this RouteParentStatus struct describes the status of"; "ControllerName is a domain/path string that indicates the name of the controller that wrote this status."`,
		input: with(allV1(meshNS, "r", 0, onPort(svcParent(meshNS, "echo"), 80))),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			p := out.Statuses[0].Parents[0]
			if p.ControllerName != controller || p.ParentRef.Name != "echo" || *p.ParentRef.Port != 80 {
				t.Fatalf("parent status %+v", p)
			}
		},
	}, {
		name:  "conditions carry the route's generation",
		quote: `metav1.Condition.ObservedGeneration: "if .metadata.generation is currently 12, but the .status.conditions[x].observedGeneration is 9, the condition is out of date".`,
		input: func() Input {
			r := allV1(meshNS, "r", 0, onPort(svcParent(meshNS, "echo"), 80))
			r.Generation = 12
			return with(r)()
		},
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			for _, c := range out.Statuses[0].Parents[0].Conditions {
				if c.ObservedGeneration != 12 {
					t.Fatalf("condition %s observedGeneration %d", c.Type, c.ObservedGeneration)
				}
			}
		},
	}, {
		name:  "one entry per Service parentRef, in spec order",
		quote: `GEP-1294: the mesh "MUST set a status field on xRoute to show if the routing configuration has been applied to the mesh."`,
		input: with(allV1(meshNS, "r", 0, onPort(svcParent(meshNS, "echo-v2"), 80), onPort(svcParent(meshNS, "echo"), 80), svcParent(meshNS, "nope"))),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			ps := out.Statuses[0].Parents
			if len(ps) != 3 || ps[0].ParentRef.Name != "echo-v2" || ps[1].ParentRef.Name != "echo" || ps[2].ParentRef.Name != "nope" {
				t.Fatalf("parents %+v", ps)
			}
			wantCondition(t, parentStatus(t, out, KindHTTPRoute, meshNS, "r", 0), "Accepted", metav1.ConditionTrue, "Accepted")
			wantCondition(t, parentStatus(t, out, KindHTTPRoute, meshNS, "r", 2), "Accepted", metav1.ConditionFalse, "NoMatchingParent")
		},
	}})
}
