package semantics

import (
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"gamma-conformance/profiles"
	"gamma-conformance/suites/internal/kube"
)

// How a parentRef binds a Service (GEP-1294 "Ports", ParentReference) and
// the status of parentRefs that cannot bind.
var _ = describe("Parent references", func() {
	fx := func() kube.Fixture {
		return fixture("p c", app("p", "echo-v1"), app("p", "echo-v2"), clientApp("c"))
	}
	url := func(s *S, port int32) string { return "http://" + host(s.NS("p"), "echo-v1", port) + "/" }

	meshIt("a parentRef with a port binds only that port", []string{profiles.ParentRefPort}, fx(),
		func(s *S) {
			parent := onPort(svcParent(s.NS("p"), "echo-v1"), kube.PortHTTP)
			r := httpRoute(s.NS("p"), "port-80", []gatewayv1.ParentReference{parent}, to(backend(s.NS("p"), "echo-v2", 8080, 1)))
			s.Create(r)
			s.Accepted(r, parent)
			s.Traffic(flow{s.Pod("c", "client"), get(url(s, 80)), servedBy("echo-v2")})
			s.Traffic(flow{s.Pod("c", "client"), get(url(s, 8080)), servedBy("echo-v1")})
		})

	meshIt("a parentRef with a sectionName binds only the named port", []string{profiles.ParentRefPort}, fx(),
		func(s *S) {
			parent := svcParent(s.NS("p"), "echo-v1")
			parent.SectionName = ptr.To(gatewayv1.SectionName("http-alt"))
			r := httpRoute(s.NS("p"), "section-http-alt", []gatewayv1.ParentReference{parent}, to(backend(s.NS("p"), "echo-v2", 8080, 1)))
			s.Create(r)
			s.Accepted(r, parent)
			s.Traffic(flow{s.Pod("c", "client"), get(url(s, 8080)), servedBy("echo-v2")})
			s.Traffic(flow{s.Pod("c", "client"), get(url(s, 80)), servedBy("echo-v1")})
		})

	meshIt("a parentRef with neither port nor sectionName binds every port of the Service", []string{profiles.ParentRefPort}, fx(),
		func(s *S) {
			parent := svcParent(s.NS("p"), "echo-v1")
			r := httpRoute(s.NS("p"), "all-ports", []gatewayv1.ParentReference{parent}, to(backend(s.NS("p"), "echo-v2", 8080, 1)))
			s.Create(r)
			s.Accepted(r, parent)
			s.Traffic(flow{s.Pod("c", "client"), get(url(s, 80)), servedBy("echo-v2")},
				flow{s.Pod("c", "client"), get(url(s, 8080)), servedBy("echo-v2")})
		})

	meshIt("a parentRef with group core binds the Service like group \"\"", []string{profiles.CoreGroupAlias}, fx(),
		func(s *S) {
			parent := svcParent(s.NS("p"), "echo-v1")
			parent.Group = ptr.To(gatewayv1.Group("core"))
			r := httpRoute(s.NS("p"), "group-core", []gatewayv1.ParentReference{parent}, to(backend(s.NS("p"), "echo-v2", 8080, 1)))
			s.Create(r)
			s.Accepted(r, parent)
			s.Traffic(flow{s.Pod("c", "client"), get(url(s, 80)), servedBy("echo-v2")})
		})

	meshIt("a parentRef to a missing Service is not accepted while the route's other parent is", []string{profiles.ParentStatus},
		fx(), func(s *S) { s.unboundParent("does-not-exist") })

	meshIt("a parentRef to a headless Service is not accepted while the route's other parent is", []string{profiles.ParentStatus},
		fixture("p c", app("p", "echo-v1"), app("p", "echo-v2"), kube.App{Namespace: "p", Name: "headless", Headless: true, ServiceOnly: true}, clientApp("c")),
		func(s *S) { s.unboundParent("headless") })
})

// unboundParent checks a route with a good parent (echo-v1) and a parent
// that cannot bind: the good one is Accepted and routes; the bad one has no
// status entry or Accepted=False/NoMatchingParent (the API allows both).
func (s *S) unboundParent(name string) {
	good, bad := svcParent(s.NS("p"), "echo-v1"), svcParent(s.NS("p"), name)
	r := httpRoute(s.NS("p"), "two-parents", []gatewayv1.ParentReference{good, bad}, to(backend(s.NS("p"), "echo-v2", 8080, 1)))
	s.Create(r)
	s.Accepted(r, good)
	s.Traffic(flow{s.Pod("c", "client"), get("http://" + host(s.NS("p"), "echo-v1", 80) + "/"), servedBy("echo-v2")})
	s.settle() // the status with the good parent is written: read the bad one's
	entries, err := s.c.ParentStatuses(s.ctx, r, bad)
	s.Expect(err).NotTo(HaveOccurred())
	for _, e := range entries {
		cond := meta.FindStatusCondition(e.Conditions, string(gatewayv1.RouteConditionAccepted))
		s.Expect(cond).NotTo(BeNil(), "status entry for parent %s has no Accepted condition", name)
		s.Expect(cond.Status).To(Equal(metav1.ConditionFalse), "parent %s accepted: %+v", name, cond)
		s.Expect(cond.Reason).To(Equal(string(gatewayv1.RouteReasonNoMatchingParent)), "parent %s: reason", name)
	}
}
