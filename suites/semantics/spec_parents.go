package semantics

import (
	"github.com/onsi/gomega"
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
		return fixture("p", app("p", "echo-v1"), app("p", "echo-v2"), clientApp("p"))
	}
	url := func(s *S, port int32) string { return "http://" + s.host("p", "echo-v1", port) + "/" }
	section := func(ref gatewayv1.ParentReference, name string) gatewayv1.ParentReference {
		ref.SectionName = ptr.To(gatewayv1.SectionName(name))
		return ref
	}

	meshIt("a parentRef with a port binds only that port", []string{profiles.ParentRefPort}, fx(),
		func(s *S) {
			parent := onPort(s.parent("p", "echo-v1"), kube.PortHTTP)
			r := s.httpRoute("p", "port-80", []gatewayv1.ParentReference{parent}, to(s.backend("p", "echo-v2", 8080, 1)))
			s.Create(r)
			s.Accepted(r, parent)
			s.Traffic(flow{s.Pod("p", "client"), get(url(s, 80)), servedBy("echo-v2")})
			s.Traffic(flow{s.Pod("p", "client"), get(url(s, 8080)), notServedBy("echo-v2")})
		})

	meshIt("a parentRef with a sectionName binds only the named port", []string{profiles.ParentRefSectionName}, fx(),
		func(s *S) {
			parent := section(s.parent("p", "echo-v1"), "http-alt")
			r := s.httpRoute("p", "section-http-alt", []gatewayv1.ParentReference{parent}, to(s.backend("p", "echo-v2", 8080, 1)))
			s.Create(r)
			s.Accepted(r, parent)
			s.Traffic(flow{s.Pod("p", "client"), get(url(s, 8080)), servedBy("echo-v2")})
			s.Traffic(flow{s.Pod("p", "client"), get(url(s, 80)), notServedBy("echo-v2")})
		})

	meshIt("a parentRef with neither port nor sectionName binds every port of the Service", []string{profiles.ParentRefAllPorts}, fx(),
		func(s *S) {
			parent := s.parent("p", "echo-v1")
			r := s.httpRoute("p", "all-ports", []gatewayv1.ParentReference{parent}, to(s.backend("p", "echo-v2", 8080, 1)))
			s.Create(r)
			s.Accepted(r, parent)
			s.Traffic(flow{s.Pod("p", "client"), get(url(s, 80)), servedBy("echo-v2")},
				flow{s.Pod("p", "client"), get(url(s, 8080)), servedBy("echo-v2")})
		})

	meshIt("a parentRef with group core binds the Service like group \"\"", []string{profiles.CoreGroupAlias}, fx(),
		func(s *S) {
			parent := s.parent("p", "echo-v1")
			parent.Group = ptr.To(gatewayv1.Group("core"))
			r := s.httpRoute("p", "group-core", []gatewayv1.ParentReference{parent}, to(s.backend("p", "echo-v2", 8080, 1)))
			s.Create(r)
			s.Accepted(r, parent)
			s.Traffic(flow{s.Pod("p", "client"), get(url(s, 80)), servedBy("echo-v2")})
		})

	meshIt("a route's hostnames do not change which requests it matches", []string{profiles.HostnamesIgnored}, fx(),
		func(s *S) {
			parent := s.parent("p", "echo-v1")
			r := s.httpRoute("p", "with-hostnames", []gatewayv1.ParentReference{parent}, to(s.backend("p", "echo-v2", 8080, 1)))
			r.Spec.Hostnames = []gatewayv1.Hostname{"not-this-service.example"}
			s.Create(r)
			s.Accepted(r, parent)
			s.Traffic(flow{s.Pod("p", "client"), get(url(s, 80)), servedBy("echo-v2")})
		})

	meshIt("a parentRef to a missing Service is not accepted while the route's other parent is", []string{profiles.ParentStatus},
		fx(), func(s *S) { s.unboundParent(s.parent("p", "echo-v1"), s.parent("p", "does-not-exist")) })

	// Two parentRefs to one Service must name a port or a section each (the
	// HTTPRoute CRD's validation).
	meshIt("a parentRef to a port the Service lacks is not accepted while the route's other parent is", []string{profiles.ParentStatus, profiles.ParentRefPort},
		fx(), func(s *S) {
			s.unboundParent(onPort(s.parent("p", "echo-v1"), kube.PortHTTP), onPort(s.parent("p", "echo-v1"), 81))
		})

	meshIt("a parentRef to a sectionName the Service lacks is not accepted while the route's other parent is", []string{profiles.ParentStatus, profiles.ParentRefSectionName},
		fx(), func(s *S) {
			s.unboundParent(section(s.parent("p", "echo-v1"), "http"), section(s.parent("p", "echo-v1"), "no-such-port"))
		})

	meshIt("a parentRef to a headless Service is not accepted while the route's other parent is", []string{profiles.HeadlessParent},
		fixture("p", app("p", "echo-v1"), app("p", "echo-v2"), kube.App{Namespace: "p", Name: "headless", Headless: true, ServiceOnly: true}, clientApp("p")),
		func(s *S) { s.unboundParent(s.parent("p", "echo-v1"), s.parent("p", "headless")) })
})

// unboundParent checks a route with a good parent (echo-v1, binding its
// port 80) and a parent that cannot bind: the good one is Accepted and
// routes; the bad one has no status entry ("parent references that cannot be resolved
// ... will not be added to this list") or Accepted=False with any reason
// ("Controllers may raise this condition with other reasons").
func (s *S) unboundParent(good, bad gatewayv1.ParentReference) {
	r := s.httpRoute("p", "two-parents", []gatewayv1.ParentReference{good, bad}, to(s.backend("p", "echo-v2", 8080, 1)))
	s.Create(r)
	s.Accepted(r, good)
	s.Traffic(flow{s.Pod("p", "client"), get("http://" + s.host("p", "echo-v1", 80) + "/"), servedBy("echo-v2")})
	s.settle() // the status with the good parent is written: read the bad one's
	entries, err := s.c.ParentStatuses(s.ctx, r, bad)
	s.Expect(err).NotTo(gomega.HaveOccurred())
	for _, e := range entries {
		cond := meta.FindStatusCondition(e.Conditions, string(gatewayv1.RouteConditionAccepted))
		s.Expect(cond).NotTo(gomega.BeNil(), "status entry for parent %s has no Accepted condition", bad.Name)
		s.Expect(cond.Status).To(gomega.Equal(metav1.ConditionFalse), "parent %s (port %v, sectionName %v) accepted: %+v", bad.Name, ptr.Deref(bad.Port, 0), ptr.Deref(bad.SectionName, ""), cond)
	}
}
