package semantics

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"gamma-conformance/profiles"
	"gamma-conformance/suites/internal/kube"
)

// conflicted is the status of a route that lost a route-type conflict
// (GEP-1294: "RouteReasonConflicted"; no constant exists upstream, so both
// spellings are accepted).
var conflicted = kube.Want{Type: string(gatewayv1.RouteConditionAccepted), Status: metav1.ConditionFalse, Reasons: []string{"Conflicted", "RouteReasonConflicted"}}

// Route kinds competing for one Service port (GEP-1294: GRPCRoute >
// HTTPRoute > TLSRoute > TCPRoute) and requests no rule matches.
var _ = describe("Route type conflicts and unmatched requests", func() {
	meshIt("a GRPCRoute wins over an HTTPRoute on the same Service port and the HTTPRoute is Conflicted", []string{profiles.RouteTypeConflict, profiles.GRPCRoute},
		fixture("p", app("p", "echo-v1"), app("p", "echo-v2"), app("p", "echo-v3"), clientApp("p")),
		func(s *S) {
			parent := onPort(s.parent("p", "echo-v1"), kube.PortGRPC)
			// The loser is older and first by name: route kind must decide.
			hr := s.httpRoute("p", "a-http", []gatewayv1.ParentReference{parent}, to(s.backend("p", "echo-v2", kube.PortGRPC, 1)))
			gr := s.grpcRoute("p", "z-grpc", parent, s.backendRef("p", "echo-v3", kube.PortGRPC, 1))
			s.Create(hr)
			s.createApart(hr, gr)
			s.Accepted(gr, parent)
			s.Status(hr, parent, conflicted)
			s.Traffic(flow{s.Pod("p", "client"), get("grpc://" + s.host("p", "echo-v1", kube.PortGRPC)), servedBy("echo-v3")})
		})

	meshIt("a GRPCRoute and an HTTPRoute on different ports of one Service are both accepted", []string{profiles.RouteTypeConflict, profiles.GRPCRoute, profiles.ParentRefPort},
		fixture("p", app("p", "echo-v1"), app("p", "echo-v2"), app("p", "echo-v3"), clientApp("p")),
		func(s *S) {
			httpParent := onPort(s.parent("p", "echo-v1"), kube.PortHTTP)
			grpcParent := onPort(s.parent("p", "echo-v1"), kube.PortGRPC)
			hr := s.httpRoute("p", "http", []gatewayv1.ParentReference{httpParent}, to(s.backend("p", "echo-v2", 8080, 1)))
			gr := s.grpcRoute("p", "grpc", grpcParent, s.backendRef("p", "echo-v3", kube.PortGRPC, 1))
			s.Create(hr, gr)
			s.Accepted(hr, httpParent)
			s.Accepted(gr, grpcParent)
			s.Traffic(flow{s.Pod("p", "client"), get("http://" + s.host("p", "echo-v1", 80) + "/"), servedBy("echo-v2")},
				flow{s.Pod("p", "client"), get("grpc://" + s.host("p", "echo-v1", kube.PortGRPC)), servedBy("echo-v3")})
		})

	meshIt("a TCPRoute loses to an HTTPRoute on the same Service port and is Conflicted", []string{profiles.TCPRouteConflict},
		fixture("p", app("p", "echo-v1"), app("p", "echo-v2"), app("p", "echo-v3"), clientApp("p")),
		func(s *S) {
			parent := onPort(s.parent("p", "echo-v1"), kube.PortHTTP)
			// The loser is older and first by name: route kind must decide.
			hr := s.httpRoute("p", "z-http", []gatewayv1.ParentReference{parent}, to(s.backend("p", "echo-v2", 8080, 1)))
			tr := s.tcpRoute("p", "a-tcp", parent, s.backendRef("p", "echo-v3", 8080, 1))
			s.Create(tr)
			s.createApart(tr, hr)
			s.Accepted(hr, parent)
			s.Status(tr, parent, conflicted)
			s.Traffic(flow{s.Pod("p", "client"), get("http://" + s.host("p", "echo-v1", 80) + "/"), servedBy("echo-v2")})
		})

	meshIt("a TCPRoute loses to a GRPCRoute on the same Service port and is Conflicted", []string{profiles.TCPRouteConflict, profiles.GRPCRoute},
		fixture("p", app("p", "echo-v1"), app("p", "echo-v2"), app("p", "echo-v3"), clientApp("p")),
		func(s *S) {
			parent := onPort(s.parent("p", "echo-v1"), kube.PortGRPC)
			// The loser is older and first by name: route kind must decide.
			gr := s.grpcRoute("p", "z-grpc", parent, s.backendRef("p", "echo-v3", kube.PortGRPC, 1))
			tr := s.tcpRoute("p", "a-tcp", parent, s.backendRef("p", "echo-v2", kube.PortGRPC, 1))
			s.Create(tr)
			s.createApart(tr, gr)
			s.Accepted(gr, parent)
			s.Status(tr, parent, conflicted)
			s.Traffic(flow{s.Pod("p", "client"), get("grpc://" + s.host("p", "echo-v1", kube.PortGRPC)), servedBy("echo-v3")})
		})

	meshIt("when routes exist but no rule matches the request gets 404", []string{profiles.UnmatchedNotFound},
		fixture("p", app("p", "echo-v1"), app("p", "echo-v2"), clientApp("p")),
		func(s *S) {
			parent := s.parent("p", "echo-v1")
			r := s.httpRoute("p", "only-match", []gatewayv1.ParentReference{parent}, prefixTo("/match", s.backend("p", "echo-v2", 8080, 1)))
			s.Create(r)
			s.Accepted(r, parent)
			base := "http://" + s.host("p", "echo-v1", 80)
			s.Traffic(flow{s.Pod("p", "client"), get(base + "/match"), servedBy("echo-v2")},
				flow{s.Pod("p", "client"), get(base + "/nomatch"), status(404)})
		})

	meshIt("a GRPCRoute sends gRPC calls to its backend", []string{profiles.GRPCRoute},
		fixture("p", app("p", "echo-v1"), app("p", "echo-v2"), clientApp("p")),
		func(s *S) {
			parent := onPort(s.parent("p", "echo-v1"), kube.PortGRPC)
			gr := s.grpcRoute("p", "grpc", parent, s.backendRef("p", "echo-v2", kube.PortGRPC, 1))
			s.Create(gr)
			s.Accepted(gr, parent)
			s.Traffic(flow{s.Pod("p", "client"), get("grpc://" + s.host("p", "echo-v1", kube.PortGRPC)), servedBy("echo-v2")})
		})
})
