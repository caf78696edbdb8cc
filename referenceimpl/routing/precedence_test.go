package routing

import (
	"testing"
	"time"

	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"gamma-conformance/referenceimpl/meshconfig"
)

func on80(ns string) []gatewayv1.ParentReference {
	return []gatewayv1.ParentReference{onPort(svcParent(ns, "echo"), 80)}
}

// to builds a route with one rule per match, each to echo-v1.
func to(name string, created int, matches ...gatewayv1.HTTPRouteMatch) gatewayv1.HTTPRoute {
	var rules []gatewayv1.HTTPRouteRule
	for _, m := range matches {
		rules = append(rules, rule([]gatewayv1.HTTPRouteMatch{m}, backendRef(meshNS, "echo-v1", 8080, 1)))
	}
	return httpRoute(meshNS, name, t0.Add(secs(created)), on80(meshNS), rules...)
}

// winner is "namespace/route#rule" for a request from the mesh namespace.
func winner(t *testing.T, ix *meshconfig.Index, r request) string {
	t.Helper()
	res := send(t, ix, meshNS, echoIP+":80", r)
	if res.rule == nil {
		return "404"
	}
	return routeOf(res) + "#" + itoa(int32(res.rule.Index))
}

func wantWinner(t *testing.T, ix *meshconfig.Index, r request, want string) {
	t.Helper()
	if got := winner(t, ix, r); got != want {
		t.Fatalf("%s %s: rule %s, want %s", r.method, r.path, got, want)
	}
}

func smiley(delay50, delay100 time.Duration) Input {
	in := fixture()
	in.Services = append(in.Services, service("faces", "smiley", "10.96.1.1", svcPort("http", 80, 8000, "")))
	mk := func(name string, created time.Time, timeout string) gatewayv1.HTTPRoute {
		return httpRoute("fast-clients", name, created, []gatewayv1.ParentReference{onPort(svcParent("faces", "smiley"), 80)},
			gatewayv1.HTTPRouteRule{
				BackendRefs: []gatewayv1.HTTPBackendRef{backendRef("faces", "smiley", 80, 1)},
				Timeouts:    &gatewayv1.HTTPRouteTimeouts{Request: ptr.To(gatewayv1.Duration(timeout))},
			})
	}
	in.HTTPRoutes = append(in.HTTPRoutes, mk("smiley-route-50", t0.Add(delay50), "50ms"), mk("smiley-route-100", t0.Add(delay100), "100ms"))
	return in
}

func smileyTimeout(t *testing.T, ix *meshconfig.Index) time.Duration {
	t.Helper()
	r := send(t, ix, "fast-clients", "10.96.1.1:80", request{path: "/"})
	if r.rule == nil {
		t.Fatalf("smiley not routed for fast-clients: %+v", r)
	}
	return r.rule.Timeouts.Request
}

func TestMergingAndPrecedence(t *testing.T) {
	runCases(t, []ruleCase{{
		name:  "several producer routes on one Service merge",
		quote: `mesh-overview: multiple routes for one Service in one namespace are combined by the Route merging rules.`,
		input: with(to("a", 0, prefix("/a")), to("b", 0, prefix("/b"))),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			wantWinner(t, ix, request{path: "/a"}, meshNS+"/a#0")
			wantWinner(t, ix, request{path: "/b"}, meshNS+"/b#0")
			wantWinner(t, ix, request{path: "/c"}, "404")
		},
	}, {
		name:  "several consumer routes in one namespace merge",
		quote: `GEP-1294: consumers use "the (possibly merged) set of routes in the consumer namespace".`,
		input: with(
			httpRoute(consumerNS, "c1", t0, on80(meshNS), rule([]gatewayv1.HTTPRouteMatch{prefix("/one")}, backendRef(meshNS, "echo-v1", 8080, 1))),
			httpRoute(consumerNS, "c2", t0, on80(meshNS), rule([]gatewayv1.HTTPRouteMatch{prefix("/two")}, backendRef(meshNS, "echo-v2", 8080, 1)))),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			for path, want := range map[string]string{"/one": consumerNS + "/c1", "/two": consumerNS + "/c2"} {
				if r := send(t, ix, consumerNS, echoIP+":80", request{path: path}); routeOf(r) != want {
					t.Fatalf("%s: %+v", path, r)
				}
			}
		},
	}, {
		name:  "an exact path beats a prefix",
		quote: `HTTPRouteRule.Matches: precedence "must be given to the match having: "Exact" path match."`,
		input: with(to("prefix", 0, prefix("/v2")), to("exact", 5, exact("/v2"))),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			wantWinner(t, ix, request{path: "/v2"}, meshNS+"/exact#0")
			wantWinner(t, ix, request{path: "/v2/x"}, meshNS+"/prefix#0")
		},
	}, {
		name:  "the longest prefix wins",
		quote: `HTTPRouteRule.Matches: then ""Prefix" path match with largest number of characters."`,
		input: with(to("short", 0, prefix("/")), to("long", 5, prefix("/v2/api"))),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			wantWinner(t, ix, request{path: "/v2/api/x"}, meshNS+"/long#0")
			wantWinner(t, ix, request{path: "/v2/apix"}, meshNS+"/short#0")
		},
	}, {
		name:  "a method match beats header matches",
		quote: `HTTPRouteRule.Matches: then "Method match", before "Largest number of header matches".`,
		input: with(to("headers", 0, withHeader(withHeader(prefix("/"), "a", "1"), "b", "2")), to("method", 5, withMethod(prefix("/"), "POST"))),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			wantWinner(t, ix, request{method: "POST", path: "/", headers: map[string]string{"a": "1", "b": "2"}}, meshNS+"/method#0")
			wantWinner(t, ix, request{method: "GET", path: "/", headers: map[string]string{"a": "1", "b": "2"}}, meshNS+"/headers#0")
		},
	}, {
		name:  "more header matches win",
		quote: `HTTPRouteRule.Matches: then "Largest number of header matches."`,
		input: with(to("one", 0, withHeader(prefix("/"), "a", "1")), to("two", 5, withHeader(withHeader(prefix("/"), "a", "1"), "b", "2"))),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			wantWinner(t, ix, request{path: "/", headers: map[string]string{"a": "1", "b": "2"}}, meshNS+"/two#0")
			wantWinner(t, ix, request{path: "/", headers: map[string]string{"a": "1"}}, meshNS+"/one#0")
		},
	}, {
		name:  "more query matches win",
		quote: `HTTPRouteRule.Matches: then "Largest number of query param matches."`,
		input: with(to("one", 0, withQuery(prefix("/"), "a", "1")), to("two", 5, withQuery(withQuery(prefix("/"), "a", "1"), "b", "2"))),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			wantWinner(t, ix, request{path: "/", query: map[string]string{"a": "1", "b": "2"}}, meshNS+"/two#0")
		},
	}, {
		name:  "headers outrank query parameters",
		quote: `HTTPRouteRule.Matches: header matches come before query param matches (upstream MeshHTTPRouteQueryParamMatching: "more headers wins").`,
		input: with(to("query", 0, withQuery(withQuery(prefix("/"), "a", "1"), "b", "2")), to("header", 5, withHeader(prefix("/"), "h", "1"))),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			wantWinner(t, ix, request{path: "/", headers: map[string]string{"h": "1"}, query: map[string]string{"a": "1", "b": "2"}}, meshNS+"/header#0")
		},
	}, {
		name:  "a path outranks headers",
		quote: `HTTPRouteRule.Matches: path criteria come first (upstream: "path beats query").`,
		input: with(to("header", 0, withHeader(prefix("/"), "h", "1")), to("path", 5, prefix("/p"))),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			wantWinner(t, ix, request{path: "/p", headers: map[string]string{"h": "1"}}, meshNS+"/path#0")
		},
	}, {
		name:  "on a tie across routes the oldest route wins",
		quote: `HTTPRouteRule.Matches: "If ties still exist across multiple Routes, ... The oldest Route based on creation timestamp."`,
		input: with(to("zzz-old", 0, prefix("/")), to("aaa-new", 1, prefix("/"))),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			wantWinner(t, ix, request{path: "/"}, meshNS+"/zzz-old#0")
		},
	}, {
		name:  "on a tie in the same second the name decides",
		quote: `HTTPRouteRule.Matches: then "The Route appearing first in alphabetical order by "{namespace}/{name}"."`,
		input: with(to("b", 0, prefix("/")), to("a", 0, prefix("/"))),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			wantWinner(t, ix, request{path: "/"}, meshNS+"/a#0")
		},
	}, {
		name:  "creation time counts in whole seconds",
		quote: `creationTimestamp has one-second resolution in the API; routes created within one second tie and the name decides.`,
		input: func() Input {
			in := with(to("b", 0, prefix("/")), to("a", 0, prefix("/")))()
			in.HTTPRoutes[1].CreationTimestamp.Time = in.HTTPRoutes[1].CreationTimestamp.Add(900 * time.Millisecond)
			return in
		},
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			wantWinner(t, ix, request{path: "/"}, meshNS+"/a#0")
		},
	}, {
		name:  "within one route the first matching rule wins",
		quote: `HTTPRouteRule.Matches: "If ties still exist within an HTTPRoute, matching precedence MUST be granted to the FIRST matching rule (in list order)."`,
		input: with(to("r", 0, prefix("/x"), prefix("/x"))),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			wantWinner(t, ix, request{path: "/x"}, meshNS+"/r#0")
		},
	}, {
		name:  "specificity applies across the rules of one route too",
		quote: `HTTPRouteRule.Matches: "Across all rules specified on applicable Routes" (upstream MeshHTTPRouteMatching: /v2 goes to the second rule).`,
		input: with(to("r", 0, prefix("/"), prefix("/v2"))),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			wantWinner(t, ix, request{path: "/v2"}, meshNS+"/r#1")
			wantWinner(t, ix, request{path: "/v2example"}, meshNS+"/r#0")
			wantWinner(t, ix, request{path: "/foo/v2/example"}, meshNS+"/r#0")
		},
	}, {
		name:  "a rule with no matches matches every request",
		quote: `HTTPRouteRule.Matches: "If no matches are specified, the default is a prefix path match on "/", which has the effect of matching every HTTP request."`,
		input: with(httpRoute(meshNS, "r", t0, on80(meshNS), rule(nil, backendRef(meshNS, "echo-v1", 8080, 1)))),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			wantWinner(t, ix, request{method: "DELETE", path: "/any/thing"}, meshNS+"/r#0")
		},
	}, {
		name:  "a regular expression ranks between exact paths and prefixes",
		quote: `"The precedence of RegularExpression path matches are implementation-specific"; the reference mesh ranks them after Exact and before PathPrefix.`,
		input: with(to("prefix", 0, prefix("/api")), to("regex", 5, pathMatch(gatewayv1.PathMatchRegularExpression, "/api/v[0-9]+")), to("exact", 9, exact("/api/v1"))),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			wantWinner(t, ix, request{path: "/api/v1"}, meshNS+"/exact#0")
			wantWinner(t, ix, request{path: "/api/v2"}, meshNS+"/regex#0")
			wantWinner(t, ix, request{path: "/api/x"}, meshNS+"/prefix#0")
		},
	}, {
		name:  "only the first of two equivalent header names counts",
		quote: `HTTPHeaderMatch: "If multiple entries specify equivalent header names, only the first entry with an equivalent name MUST be considered."`,
		input: with(to("r", 0, withHeader(withHeader(prefix("/"), "Version", "one"), "version", "two"))),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			wantWinner(t, ix, request{path: "/", headers: map[string]string{"version": "one"}}, meshNS+"/r#0")
			wantWinner(t, ix, request{path: "/", headers: map[string]string{"version": "two"}}, "404")
		},
	}, {
		name:  "smiley: the older of two consumer routes sets the timeout",
		quote: `Timeouts doc example: smiley-route-50 (50ms) and smiley-route-100 (100ms) in fast-clients, equal specificity; "The oldest Route based on creation timestamp" wins.`,
		input: func() Input { return smiley(0, time.Second) },
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			if d := smileyTimeout(t, ix); d != 50*time.Millisecond {
				t.Fatalf("timeout %v, want 50ms", d)
			}
		},
	}, {
		name:  "smiley: created in the same second, the name decides",
		quote: `"first in alphabetical order by "{namespace}/{name}"": "fast-clients/smiley-route-100" sorts before "fast-clients/smiley-route-50".`,
		input: func() Input { return smiley(0, 500*time.Millisecond) },
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			if d := smileyTimeout(t, ix); d != 100*time.Millisecond {
				t.Fatalf("timeout %v, want 100ms", d)
			}
		},
	}, {
		name:  "smiley: other namespaces are not affected by the consumer timeouts",
		quote: `GEP-1294: consumer routes "are scoped only the same namespace."`,
		input: func() Input { return smiley(0, time.Second) },
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			if r := send(t, ix, "slow-clients", "10.96.1.1:80", request{path: "/"}); r.routed {
				t.Fatalf("slow-clients routed: %+v", r)
			}
		},
	}, {
		name:  "gRPC: a longer service name wins",
		quote: `GRPCRouteRule.Matches: precedence "MUST be given to the rule with the largest number of: ... Characters in a matching service. Characters in a matching method. Header matches."`,
		input: with(
			grpcRoute(meshNS, "any-svc", t0, []gatewayv1.ParentReference{onPort(svcParent(meshNS, "echo"), 7070)},
				gatewayv1.GRPCRouteRule{Matches: []gatewayv1.GRPCRouteMatch{{Method: &gatewayv1.GRPCMethodMatch{Method: ptr.To("Echo")}}},
					BackendRefs: []gatewayv1.GRPCBackendRef{grpcRef(meshNS, "echo-v2", 7070, 1)}}),
			grpcRoute(meshNS, "svc", t0.Add(secs(5)), []gatewayv1.ParentReference{onPort(svcParent(meshNS, "echo"), 7070)},
				gatewayv1.GRPCRouteRule{Matches: []gatewayv1.GRPCRouteMatch{{Method: &gatewayv1.GRPCMethodMatch{Service: ptr.To("proto.EchoTestService")}}},
					BackendRefs: []gatewayv1.GRPCBackendRef{grpcRef(meshNS, "echo-v1", 7070, 1)}})),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			if r := send(t, ix, meshNS, echoIP+":7070", request{method: "POST", path: "/proto.EchoTestService/Echo"}); routeOf(r) != meshNS+"/svc" {
				t.Fatalf("got %+v", r)
			}
			if r := send(t, ix, meshNS, echoIP+":7070", request{method: "POST", path: "/other.Service/Echo"}); routeOf(r) != meshNS+"/any-svc" {
				t.Fatalf("got %+v", r)
			}
			if r := send(t, ix, meshNS, echoIP+":7070", request{method: "POST", path: "/other.Service/Ping"}); r.status != 404 {
				t.Fatalf("got %+v", r)
			}
		},
	}, {
		name:  "gRPC: an exact service and method becomes an exact path",
		quote: `GRPCMethodMatch: "Matches the method or service exactly and with case sensitivity."`,
		input: with(grpcRoute(meshNS, "g", t0, []gatewayv1.ParentReference{onPort(svcParent(meshNS, "echo"), 7070)},
			gatewayv1.GRPCRouteRule{Matches: []gatewayv1.GRPCRouteMatch{{Method: &gatewayv1.GRPCMethodMatch{Service: ptr.To("a.B"), Method: ptr.To("C")}}},
				BackendRefs: []gatewayv1.GRPCBackendRef{grpcRef(meshNS, "echo-v1", 7070, 1)}})),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			m := out.Tables[0].HTTP.Matches[0]
			if m.Path != (meshconfig.StringMatch{Type: meshconfig.MatchExact, Value: "/a.B/C"}) || out.Tables[0].Protocol != meshconfig.ProtocolGRPC {
				t.Fatalf("match %+v protocol %s", m, out.Tables[0].Protocol)
			}
			if r := send(t, ix, meshNS, echoIP+":7070", request{method: "POST", path: "/a.B/c"}); r.status != 404 {
				t.Fatalf("case-insensitive match: %+v", r)
			}
		},
	}})
}
