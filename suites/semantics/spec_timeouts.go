package semantics

import (
	"fmt"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"gamma-conformance/profiles"
	"gamma-conformance/suites/internal/kube"
)

// Request timeouts (GEP-1742) set by producer and consumer routes. The echo
// server's ?delay= slows the backend; timeouts and delays stay at least
// 500 ms apart so a loaded machine cannot flip the outcome.
var _ = describe("Request timeouts", func() {
	slow := func(s *S) string { return "http://" + s.host("p", "echo-v1", 80) + "/?delay=1s" }
	fast := func(s *S) string { return "http://" + s.host("p", "echo-v1", 80) + "/" }
	fx := func(namespaces string, clients ...string) kube.Fixture {
		f := fixture(namespaces, app("p", "echo-v1"), app("p", "echo-v2"))
		for _, c := range clients {
			f.Apps = append(f.Apps, clientApp(c))
		}
		return f
	}
	// Few requests per batch: each slow one takes a second.
	few := func(url string) kube.Request { return kube.Request{URL: url, Count: 2} }

	// timed applies a producer route to echo-v2 with this request timeout.
	timed := func(s *S, d string) {
		parent := s.parent("p", "echo-v1")
		r := s.httpRoute("p", "timeout", []gatewayv1.ParentReference{parent}, withTimeout(to(s.backend("p", "echo-v2", 8080, 1)), d))
		s.Create(r)
		s.Accepted(r, parent)
	}

	meshIt("a producer route's request timeout answers 504 when the backend is slower", []string{profiles.RequestTimeout}, fx("p", "p"),
		func(s *S) {
			timed(s, "500ms")
			s.Traffic(flow{s.Pod("p", "client"), get(fast(s)), servedBy("echo-v2")},
				flow{s.Pod("p", "client"), few(slow(s)), status(504)})
		})

	meshIt("a request timeout of 0s does not time out a slow request", []string{profiles.RequestTimeout}, fx("p", "p"),
		func(s *S) {
			timed(s, "0s")
			// "0s" SHOULD disable the timeout, else MUST be the longest
			// possible value: either way a 2 s request completes.
			s.Traffic(flow{s.Pod("p", "client"), kube.Request{URL: "http://" + s.host("p", "echo-v1", 80) + "/?delay=2s"}, servedBy("echo-v2")})
		})

	meshIt("a request timeout bounds the first attempt and its retries together", []string{profiles.RequestTimeout, profiles.RouteRetry}, fx("p", "p"),
		func(s *S) {
			parent := s.parent("p", "echo-v1")
			// Each attempt takes 600 ms and fails with 503; four of them
			// would take 2.4 s, the request timeout is 1 s.
			r := s.httpRoute("p", "bounded-retries", []gatewayv1.ParentReference{parent}, withTimeout(withRetry(to(s.backend("p", "echo-v2", 8080, 1)), 3, 503), "1s"))
			s.Create(r)
			s.Accepted(r, parent)
			url := "http://" + s.host("p", "echo-v1", 80) + "/?delay=600ms&codes=503"
			s.Received(s.Pod("p", "client"), url, 2, status(504), "p", "echo-v2", func(got int) error {
				if got < 2 || got > 2*2 {
					return fmt.Errorf("echo-v2 received %d attempts for 2 requests; want 1 or 2 each within the 1 s request timeout (4 each without it)", got)
				}
				return nil
			})
		})

	meshIt("a shorter consumer-route timeout overrides the producer timeout in its namespace only", []string{profiles.ConsumerTimeout, profiles.ConsumerRoute, profiles.ProducerRouteOtherNamespaces}, fx("p z o", "z", "o"),
		func(s *S) {
			parent := s.parent("p", "echo-v1")
			// The consumer route is newer and in a namespace named after the
			// producer's: a mesh that merged the two would pick the producer.
			prod := s.httpRoute("p", "producer", []gatewayv1.ParentReference{parent}, withTimeout(to(s.backend("p", "echo-v2", 8080, 1)), "3s"))
			cons := s.httpRoute("z", "consumer", []gatewayv1.ParentReference{parent}, withTimeout(to(s.backend("p", "echo-v2", 8080, 1)), "500ms"))
			s.Create(prod)
			s.createApart(prod, cons)
			s.Accepted(prod, parent)
			s.Accepted(cons, parent)
			s.Traffic(flow{s.Pod("z", "client"), few(slow(s)), status(504)},
				flow{s.Pod("o", "client"), few(slow(s)), servedBy("echo-v2")})
		})

	meshIt("smiley: of two equally specific consumer routes the older one sets the timeout", []string{profiles.PrecedenceByTimeout, profiles.ConsumerRoute, profiles.ParentRefPort}, fx("p c o", "c", "o"),
		func(s *S) {
			parent := onPort(s.parent("p", "echo-v1"), kube.PortHTTP)
			// Alphabetically "smiley-route-a" would win; age must decide.
			older := s.httpRoute("c", "smiley-route-z", []gatewayv1.ParentReference{parent}, withTimeout(to(s.backend("p", "echo-v2", 8080, 1)), "500ms"))
			newer := s.httpRoute("c", "smiley-route-a", []gatewayv1.ParentReference{parent}, withTimeout(to(s.backend("p", "echo-v2", 8080, 1)), "3s"))
			s.Create(older)
			s.createApart(older, newer)
			s.Accepted(older, parent)
			s.Accepted(newer, parent)
			s.Traffic(flow{s.Pod("c", "client"), few(slow(s)), status(504)})
			s.Traffic(flow{s.Pod("o", "client"), few(slow(s)), servedBy("echo-v1")})
		})
})
