package routing

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"gamma-conformance/referenceimpl/meshconfig"
)

func grpcOn(ns, name string, created int, parents ...gatewayv1.ParentReference) gatewayv1.GRPCRoute {
	return grpcRoute(ns, name, t0.Add(secs(created)), parents, gatewayv1.GRPCRouteRule{BackendRefs: []gatewayv1.GRPCBackendRef{grpcRef(meshNS, "echo-v1", 7070, 1)}})
}

func TestRouteTypeConflicts(t *testing.T) {
	echo7070 := onPort(svcParent(meshNS, "echo"), 7070)
	runCases(t, []ruleCase{{
		name:  "a GRPCRoute beats an HTTPRoute on the same port",
		quote: `GEP-1294: "If multiple routes with different types both bind to the same Service and Port pair, only a single route type should be applied. The rejected routes should ... have the RouteConditionAccepted status set to the (new) reason RouteReasonConflicted."`,
		input: with(allV1(meshNS, "http", 0, echo7070), grpcOn(meshNS, "grpc", 5, echo7070)),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			if p := out.Tables[0].Protocol; len(out.Tables) != 1 || p != meshconfig.ProtocolGRPC {
				t.Fatalf("tables %v protocol %s", tablePorts(out), p)
			}
			wantCondition(t, parentStatus(t, out, KindHTTPRoute, meshNS, "http", 0), "Accepted", metav1.ConditionFalse, string(ReasonConflicted))
			wantCondition(t, parentStatus(t, out, KindGRPCRoute, meshNS, "grpc", 0), "Accepted", metav1.ConditionTrue, "Accepted")
		},
	}, {
		name:  "an HTTPRoute beats a TCPRoute on the same port",
		quote: `GEP-1294 order of precedence: GRPCRoute > HTTPRoute > TLSRoute > TCPRoute.`,
		input: with(allV1(meshNS, "http", 5, onPort(svcParent(meshNS, "echo"), 80)),
			tcpRoute(meshNS, "tcp", t0, []gatewayv1.ParentReference{onPort(svcParent(meshNS, "echo"), 80)}, l4Ref(meshNS, "echo-v1", 80, 1))),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			if out.Tables[0].Protocol != meshconfig.ProtocolHTTP {
				t.Fatalf("protocol %s", out.Tables[0].Protocol)
			}
			wantCondition(t, parentStatus(t, out, KindTCPRoute, meshNS, "tcp", 0), "Accepted", metav1.ConditionFalse, string(ReasonConflicted))
		},
	}, {
		name:  "a GRPCRoute beats a TCPRoute too",
		quote: `GEP-1294 order of precedence: GRPCRoute > HTTPRoute > TLSRoute > TCPRoute.`,
		input: with(grpcOn(meshNS, "grpc", 5, echo7070),
			tcpRoute(meshNS, "tcp", t0, []gatewayv1.ParentReference{echo7070}, l4Ref(meshNS, "echo-v1", 7070, 1))),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			wantCondition(t, parentStatus(t, out, KindTCPRoute, meshNS, "tcp", 0), "Accepted", metav1.ConditionFalse, string(ReasonConflicted))
		},
	}, {
		name:  "a TLSRoute beats a TCPRoute",
		quote: `GEP-1294 order of precedence: GRPCRoute > HTTPRoute > TLSRoute > TCPRoute.`,
		input: with(tlsRoute(meshNS, "tls", t0.Add(secs(5)), []gatewayv1.ParentReference{onPort(svcParent(meshNS, "echo"), 443)}, []string{"a.example"}, l4Ref(meshNS, "echo-v1", 443, 1)),
			tcpRoute(meshNS, "tcp", t0, []gatewayv1.ParentReference{onPort(svcParent(meshNS, "echo"), 443)}, l4Ref(meshNS, "echo-v1", 443, 1))),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			if out.Tables[0].Protocol != meshconfig.ProtocolTLS {
				t.Fatalf("protocol %s", out.Tables[0].Protocol)
			}
			wantCondition(t, parentStatus(t, out, KindTCPRoute, meshNS, "tcp", 0), "Accepted", metav1.ConditionFalse, string(ReasonConflicted))
		},
	}, {
		name:  "a route that loses on some ports only stays Accepted and says so",
		quote: `Choice: "a route that loses on some ports only stays Accepted and says so in its message"; a route is Accepted if at least one of its rules is implemented.`,
		input: with(allV1(meshNS, "http", 0, svcParent(meshNS, "echo")), grpcOn(meshNS, "grpc", 5, echo7070)),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			c := parentStatus(t, out, KindHTTPRoute, meshNS, "http", 0)
			wantCondition(t, c, "Accepted", metav1.ConditionTrue, "Accepted")
			if !strings.Contains(c["Accepted"].Message, "conflicted") || !strings.Contains(c["Accepted"].Message, "7070") {
				t.Fatalf("message %q does not mention the conflict on 7070", c["Accepted"].Message)
			}
			if r := send(t, ix, meshNS, echoIP+":80", request{path: "/"}); routeOf(r) != meshNS+"/http" {
				t.Fatalf("port 80 must still use the HTTPRoute: %+v", r)
			}
		},
	}, {
		name:  "conflicts are decided per route table",
		quote: `GEP-1294: "The merging of routes occurs only within groups of the same type of routes"; a consumer GRPCRoute and a producer HTTPRoute never apply to the same request.`,
		input: with(allV1(meshNS, "http", 0, echo7070), grpcOn(consumerNS, "grpc", 5, echo7070)),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			wantCondition(t, parentStatus(t, out, KindHTTPRoute, meshNS, "http", 0), "Accepted", metav1.ConditionTrue, "Accepted")
			wantCondition(t, parentStatus(t, out, KindGRPCRoute, consumerNS, "grpc", 0), "Accepted", metav1.ConditionTrue, "Accepted")
			wantTables(t, out, ":echo:7070", consumerNS+":echo:7070")
		},
	}, {
		name:  "of two TCPRoutes on one port the oldest wins",
		quote: `Choice: nothing in a TCP connection tells TCPRoutes apart; like the API's tie-breaks, the oldest route wins and the other is Conflicted.`,
		input: with(tcpRoute(meshNS, "new", t0.Add(secs(1)), []gatewayv1.ParentReference{svcParent(meshNS, "echo")}, l4Ref(meshNS, "echo-v2", 9090, 1)),
			tcpRoute(meshNS, "old", t0, []gatewayv1.ParentReference{svcParent(meshNS, "echo")}, l4Ref(meshNS, "echo-v1", 9090, 1))),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			if b := (*out.Tables[0].TCP)[0].Name; b != meshNS+"/echo-v1:9090" {
				t.Fatalf("backend %s", b)
			}
			wantCondition(t, parentStatus(t, out, KindTCPRoute, meshNS, "new", 0), "Accepted", metav1.ConditionFalse, string(ReasonConflicted))
			wantCondition(t, parentStatus(t, out, KindTCPRoute, meshNS, "old", 0), "Accepted", metav1.ConditionTrue, "Accepted")
		},
	}, {
		name:  "TLSRoutes merge by hostname, the most specific first",
		quote: `TLSRoute hostnames match the ClientHello SNI; an exact name is more specific than a wildcard.`,
		input: with(tlsRoute(meshNS, "wild", t0, []gatewayv1.ParentReference{svcParent(meshNS, "echo")}, []string{"*.example.com"}, l4Ref(meshNS, "echo-v2", 443, 1)),
			tlsRoute(meshNS, "exact", t0.Add(secs(5)), []gatewayv1.ParentReference{svcParent(meshNS, "echo")}, []string{"a.example.com"}, l4Ref(meshNS, "echo-v1", 443, 1))),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			rules := out.Tables[0].TLS
			if len(rules) != 2 || rules[0].Route.Name != "exact" || rules[1].Route.Name != "wild" {
				t.Fatalf("tls rules %+v", rules)
			}
		},
	}})
}
