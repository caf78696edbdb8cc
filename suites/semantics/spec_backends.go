package semantics

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"gamma-conformance/profiles"
	"gamma-conformance/suites/internal/kube"
)

// Backends that cannot take traffic (HTTPRouteRule.BackendRefs) and
// backends in other namespaces (GEP-1294: no ReferenceGrant needed).
var _ = describe("Backends", func() {
	notFound := kube.Want{Type: string(gatewayv1.RouteConditionResolvedRefs), Status: metav1.ConditionFalse, Reasons: []string{string(gatewayv1.RouteReasonBackendNotFound)}}

	meshIt("a backendRef to a missing Service gets 500 and ResolvedRefs=False BackendNotFound", []string{profiles.BackendFailures},
		fixture("p c", app("p", "echo-v1"), clientApp("c")),
		func(s *S) {
			parent := svcParent(s.NS("p"), "echo-v1")
			r := httpRoute(s.NS("p"), "to-nothing", []gatewayv1.ParentReference{parent}, to(backend(s.NS("p"), "does-not-exist", 8080, 1)))
			s.Create(r)
			s.Status(r, parent, notFound)
			s.Traffic(flow{s.Pod("c", "client"), get("http://" + host(s.NS("p"), "echo-v1", 80) + "/"), status(500)})
		})

	meshIt("a gRPC backendRef to a missing Service gets UNAVAILABLE", []string{profiles.BackendFailures, profiles.GRPCRoute},
		fixture("p c", app("p", "echo-v1"), clientApp("c")),
		func(s *S) {
			parent := onPort(svcParent(s.NS("p"), "echo-v1"), kube.PortGRPC)
			r := grpcRoute(s.NS("p"), "to-nothing", parent, backendRef(s.NS("p"), "does-not-exist", kube.PortGRPC, 1))
			s.Create(r)
			s.Status(r, parent, notFound)
			s.Traffic(flow{s.Pod("c", "client"), kube.Request{URL: "grpc://" + host(s.NS("p"), "echo-v1", kube.PortGRPC)}, grpcFails("Unavailable")})
		})

	meshIt("a backend Service with no ready endpoints gets 503", []string{profiles.BackendFailures},
		fixture("p c", app("p", "echo-v1"), kube.App{Namespace: "p", Name: "empty", ServiceOnly: true}, clientApp("c")),
		func(s *S) {
			parent := svcParent(s.NS("p"), "echo-v1")
			r := httpRoute(s.NS("p"), "to-empty", []gatewayv1.ParentReference{parent}, to(backend(s.NS("p"), "empty", 8080, 1)))
			s.Create(r)
			s.Accepted(r, parent)
			s.Traffic(flow{s.Pod("c", "client"), get("http://" + host(s.NS("p"), "echo-v1", 80) + "/"), status(503)})
		})

	meshIt("a backend with weight 0 gets no traffic", []string{profiles.BackendFailures},
		fixture("p c", app("p", "echo-v1"), app("p", "echo-v2"), app("p", "echo-v3"), clientApp("c")),
		func(s *S) {
			parent := svcParent(s.NS("p"), "echo-v1")
			r := httpRoute(s.NS("p"), "weights", []gatewayv1.ParentReference{parent},
				to(backend(s.NS("p"), "echo-v2", 8080, 1), backend(s.NS("p"), "echo-v3", 8080, 0)))
			s.Create(r)
			s.Accepted(r, parent)
			req := get("http://" + host(s.NS("p"), "echo-v1", 80) + "/")
			req.Count = 40
			s.Traffic(flow{s.Pod("c", "client"), req, servedBy("echo-v2")})
		})

	meshIt("a backendRef to another namespace works without a ReferenceGrant", []string{profiles.CrossNamespaceRefs},
		fixture("p b c", app("p", "echo-v1"), app("b", "remote"), clientApp("c")),
		func(s *S) {
			parent := svcParent(s.NS("p"), "echo-v1")
			r := httpRoute(s.NS("p"), "to-remote", []gatewayv1.ParentReference{parent}, to(backend(s.NS("b"), "remote", 8080, 1)))
			s.Create(r)
			s.Status(r, parent,
				kube.Want{Type: string(gatewayv1.RouteConditionAccepted), Status: metav1.ConditionTrue},
				kube.Want{Type: string(gatewayv1.RouteConditionResolvedRefs), Status: metav1.ConditionTrue})
			s.Traffic(flow{s.Pod("c", "client"), get("http://" + host(s.NS("p"), "echo-v1", 80) + "/"), servedBy("remote")})
		})
})
