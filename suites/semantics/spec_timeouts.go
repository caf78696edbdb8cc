package semantics

import (
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"gamma-conformance/profiles"
	"gamma-conformance/suites/internal/kube"
)

// Request timeouts (GEP-1742) set by producer and consumer routes. The echo
// server's ?delay= slows the backend; timeouts and delays stay at least
// 500 ms apart so a loaded machine cannot flip the outcome.
var _ = describe("Request timeouts", func() {
	slow := func(s *S) string { return "http://" + host(s.NS("p"), "echo-v1", 80) + "/?delay=1s" }
	fast := func(s *S) string { return "http://" + host(s.NS("p"), "echo-v1", 80) + "/" }
	fx := func() kube.Fixture {
		return fixture("p c o", app("p", "echo-v1"), app("p", "echo-v2"), clientApp("c"), clientApp("o"))
	}
	// Few requests per batch: each slow one takes a second.
	few := func(url string) kube.Request { return kube.Request{URL: url, Count: 2} }

	meshIt("a producer route's request timeout answers 504 when the backend is slower", []string{profiles.RequestTimeout}, fx(),
		func(s *S) {
			parent := svcParent(s.NS("p"), "echo-v1")
			r := httpRoute(s.NS("p"), "timeout", []gatewayv1.ParentReference{parent}, withTimeout(to(backend(s.NS("p"), "echo-v2", 8080, 1)), "500ms"))
			s.Create(r)
			s.Accepted(r, parent)
			s.Traffic(flow{s.Pod("c", "client"), get(fast(s)), servedBy("echo-v2")},
				flow{s.Pod("c", "client"), few(slow(s)), status(504)})
		})

	meshIt("a shorter consumer-route timeout overrides the producer timeout in its namespace only", []string{profiles.ConsumerTimeout, profiles.ConsumerRoute}, fx(),
		func(s *S) {
			parent := svcParent(s.NS("p"), "echo-v1")
			prod := httpRoute(s.NS("p"), "producer", []gatewayv1.ParentReference{parent}, withTimeout(to(backend(s.NS("p"), "echo-v2", 8080, 1)), "3s"))
			cons := httpRoute(s.NS("c"), "consumer", []gatewayv1.ParentReference{parent}, withTimeout(to(backend(s.NS("p"), "echo-v2", 8080, 1)), "500ms"))
			s.Create(prod, cons)
			s.Accepted(prod, parent)
			s.Accepted(cons, parent)
			s.Traffic(flow{s.Pod("c", "client"), few(slow(s)), status(504)},
				flow{s.Pod("o", "client"), few(slow(s)), servedBy("echo-v2")})
		})

	meshIt("smiley: of two equally specific consumer routes the older one sets the timeout", []string{profiles.PrecedenceByTimeout, profiles.ConsumerRoute}, fx(),
		func(s *S) {
			parent := onPort(svcParent(s.NS("p"), "echo-v1"), kube.PortHTTP)
			// Alphabetically "smiley-route-a" would win; age must decide.
			older := httpRoute(s.NS("c"), "smiley-route-z", []gatewayv1.ParentReference{parent}, withTimeout(to(backend(s.NS("p"), "echo-v2", 8080, 1)), "500ms"))
			newer := httpRoute(s.NS("c"), "smiley-route-a", []gatewayv1.ParentReference{parent}, withTimeout(to(backend(s.NS("p"), "echo-v2", 8080, 1)), "3s"))
			s.Create(older)
			s.createApart(older, newer)
			s.Accepted(older, parent)
			s.Accepted(newer, parent)
			s.Traffic(flow{s.Pod("c", "client"), few(slow(s)), status(504)})
			s.Traffic(flow{s.Pod("o", "client"), few(slow(s)), servedBy("echo-v1")})
		})
})
