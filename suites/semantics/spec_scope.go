package semantics

import (
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"gamma-conformance/profiles"
	"gamma-conformance/suites/internal/kube"
)

// Producer and consumer routes (GEP-1294 "Namespace boundaries"). Where a
// producer and a consumer route compete, the consumer route is created at
// least a second after the producer route, in a namespace ("z") whose name
// sorts after the producer's: a mesh that wrongly merged the two groups
// would pick the producer route by age and by name, so no spec passes by a
// tie-break.
var _ = describe("Route scope", func() {
	p, c := profiles.ProducerRoute, profiles.ConsumerRoute
	others := profiles.ProducerRouteOtherNamespaces

	meshIt("a producer route applies to clients in its own namespace", []string{p},
		fixture("p", app("p", "echo-v1"), app("p", "echo-v2")),
		func(s *S) {
			r := s.httpRoute("p", "to-v2", []gatewayv1.ParentReference{s.parent("p", "echo-v1")}, to(s.backend("p", "echo-v2", 8080, 1)))
			s.Create(r)
			s.Accepted(r, s.parent("p", "echo-v1"))
			s.Traffic(flow{s.Pod("p", "echo-v1"), get("http://" + s.host("p", "echo-v1", 80) + "/"), servedBy("echo-v2")})
		})

	meshIt("a producer route applies to clients in another namespace", []string{others},
		fixture("p c", app("p", "echo-v1"), app("p", "echo-v2"), clientApp("c")),
		func(s *S) {
			r := s.httpRoute("p", "to-v2", []gatewayv1.ParentReference{s.parent("p", "echo-v1")}, to(s.backend("p", "echo-v2", 8080, 1)))
			s.Create(r)
			s.Accepted(r, s.parent("p", "echo-v1"))
			s.Traffic(flow{s.Pod("c", "client"), get("http://" + s.host("p", "echo-v1", 80) + "/"), servedBy("echo-v2")})
		})

	meshIt("a producer route applies to clients in a third namespace while a second one has a consumer route", []string{others, c},
		fixture("p z o", app("p", "echo-v1"), app("p", "echo-v2"), app("p", "echo-v3"), clientApp("z"), clientApp("o")),
		func(s *S) {
			parent := s.parent("p", "echo-v1")
			prod := s.httpRoute("p", "producer", []gatewayv1.ParentReference{parent}, to(s.backend("p", "echo-v2", 8080, 1)))
			cons := s.httpRoute("z", "consumer", []gatewayv1.ParentReference{parent}, to(s.backend("p", "echo-v3", 8080, 1)))
			s.Create(prod)
			s.createApart(prod, cons)
			s.Accepted(prod, parent)
			s.Accepted(cons, parent)
			url := "http://" + s.host("p", "echo-v1", 80) + "/"
			s.Traffic(flow{s.Pod("o", "client"), get(url), servedBy("echo-v2")},
				flow{s.Pod("z", "client"), get(url), servedBy("echo-v3")})
		})

	meshIt("a consumer route applies to clients in its namespace", []string{c},
		fixture("p c", app("p", "echo-v1"), app("p", "echo-v2"), clientApp("c")),
		func(s *S) {
			parent := s.parent("p", "echo-v1")
			r := s.httpRoute("c", "consumer", []gatewayv1.ParentReference{parent}, to(s.backend("p", "echo-v2", 8080, 1)))
			s.Create(r)
			s.Accepted(r, parent)
			s.Traffic(flow{s.Pod("c", "client"), get("http://" + s.host("p", "echo-v1", 80) + "/"), servedBy("echo-v2")})
		})

	meshIt("a consumer route does not apply outside its namespace", []string{c},
		fixture("p c o", app("p", "echo-v1"), app("p", "echo-v2"), clientApp("c"), clientApp("o")),
		func(s *S) {
			parent := s.parent("p", "echo-v1")
			r := s.httpRoute("c", "consumer", []gatewayv1.ParentReference{parent},
				withResponseHeader(to(s.backend("p", "echo-v2", 8080, 1)), "X-Consumer", "c"))
			s.Create(r)
			s.Accepted(r, parent)
			url := "http://" + s.host("p", "echo-v1", 80) + "/"
			s.Traffic(flow{s.Pod("c", "client"), get(url), both(servedBy("echo-v2"), header("X-Consumer", "c"))})
			// Only once the route works in its namespace does its absence
			// elsewhere mean something.
			s.Traffic(flow{s.Pod("o", "client"), get(url), both(servedBy("echo-v1"), header("X-Consumer", ""))},
				flow{s.Pod("p", "echo-v1"), get(url), both(servedBy("echo-v1"), header("X-Consumer", ""))})
		})

	meshIt("a consumer route replaces the producer route in its namespace instead of merging with it", []string{others, c},
		fixture("p c o", app("p", "echo-v1"), app("p", "echo-v2"), app("p", "echo-v3"), clientApp("c"), clientApp("o")),
		func(s *S) {
			parent := s.parent("p", "echo-v1")
			prod := s.httpRoute("p", "producer", []gatewayv1.ParentReference{parent}, prefixTo("/", s.backend("p", "echo-v2", 8080, 1)))
			cons := s.httpRoute("c", "consumer", []gatewayv1.ParentReference{parent}, prefixTo("/only", s.backend("p", "echo-v3", 8080, 1)))
			s.Create(prod, cons)
			s.Accepted(prod, parent)
			s.Accepted(cons, parent)
			base := "http://" + s.host("p", "echo-v1", 80)
			// The producer's catch-all rule is not merged in: for clients in
			// c no consumer rule matches /other, so it is rejected with 404.
			s.Traffic(flow{s.Pod("c", "client"), get(base + "/only"), servedBy("echo-v3")},
				flow{s.Pod("c", "client"), get(base + "/other"), status(404)},
				flow{s.Pod("o", "client"), get(base + "/other"), servedBy("echo-v2")})
		})

	meshIt("a consumer route on one port replaces the producer route on that port only", []string{others, c, profiles.ParentRefPort},
		fixture("p z", app("p", "echo-v1"), app("p", "echo-v2"), app("p", "echo-v3"), clientApp("z")),
		func(s *S) {
			parent := s.parent("p", "echo-v1")
			prod := s.httpRoute("p", "producer", []gatewayv1.ParentReference{parent}, to(s.backend("p", "echo-v2", 8080, 1)))
			cons := s.httpRoute("z", "consumer", []gatewayv1.ParentReference{onPort(parent, kube.PortHTTP)}, to(s.backend("p", "echo-v3", 8080, 1)))
			s.Create(prod)
			s.createApart(prod, cons)
			s.Accepted(prod, parent)
			s.Accepted(cons, onPort(parent, kube.PortHTTP))
			// Whether the consumer group replaces the producer's per Service
			// port or per Service GEP-1294 does not say: on the other port
			// the producer route (echo-v2) or no route (echo-v1) answers.
			s.Traffic(flow{s.Pod("z", "client"), get("http://" + s.host("p", "echo-v1", 80) + "/"), servedBy("echo-v3")})
			s.Traffic(flow{s.Pod("z", "client"), get("http://" + s.host("p", "echo-v1", 8080) + "/"), servedByOneOf("echo-v2", "echo-v1")})
		})
})
