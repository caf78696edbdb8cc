package semantics

import (
	"context"
	"fmt"
	"github.com/onsi/gomega"
	"sync"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"gamma-conformance/profiles"
)

// Several routes on one Service: merging, then precedence by specificity,
// age and name (HTTPRouteRule.Matches; GEP-1294 "Multiple routes for a
// Service").
var _ = describe("Route merging and precedence", func() {

	meshIt("several producer routes on one Service merge", []string{profiles.RouteMerging, profiles.ProducerRoute},
		fixture("p", app("p", "echo-v1"), app("p", "echo-v2"), app("p", "echo-v3"), clientApp("p")),
		func(s *S) {
			parent := s.parent("p", "echo-v1")
			a := s.httpRoute("p", "route-a", []gatewayv1.ParentReference{parent}, prefixTo("/a", s.backend("p", "echo-v2", 8080, 1)))
			b := s.httpRoute("p", "route-b", []gatewayv1.ParentReference{parent}, prefixTo("/b", s.backend("p", "echo-v3", 8080, 1)))
			s.Create(a, b)
			s.Accepted(a, parent)
			s.Accepted(b, parent)
			base := "http://" + s.host("p", "echo-v1", 80)
			s.Traffic(flow{s.Pod("p", "client"), get(base + "/a"), servedBy("echo-v2")},
				flow{s.Pod("p", "client"), get(base + "/b"), servedBy("echo-v3")},
				flow{s.Pod("p", "client"), get(base + "/c"), status(404)})
		})

	meshIt("several consumer routes in one namespace merge", []string{profiles.RouteMerging, profiles.ConsumerRoute},
		fixture("p c", app("p", "echo-v1"), app("p", "echo-v2"), app("p", "echo-v3"), clientApp("c")),
		func(s *S) {
			parent := s.parent("p", "echo-v1")
			a := s.httpRoute("c", "route-a", []gatewayv1.ParentReference{parent}, prefixTo("/a", s.backend("p", "echo-v2", 8080, 1)))
			b := s.httpRoute("c", "route-b", []gatewayv1.ParentReference{parent}, prefixTo("/b", s.backend("p", "echo-v3", 8080, 1)))
			s.Create(a, b)
			s.Accepted(a, parent)
			s.Accepted(b, parent)
			base := "http://" + s.host("p", "echo-v1", 80)
			s.Traffic(flow{s.Pod("c", "client"), get(base + "/a"), servedBy("echo-v2")},
				flow{s.Pod("c", "client"), get(base + "/b"), servedBy("echo-v3")},
				flow{s.Pod("c", "client"), get(base + "/c"), status(404)})
		})

	meshIt("across routes an exact path beats a prefix and the longest prefix wins", []string{profiles.RoutePrecedence},
		fixture("p", app("p", "echo-v1"), app("p", "echo-v2"), app("p", "echo-v3"), clientApp("p")),
		func(s *S) {
			parent := s.parent("p", "echo-v1")
			// The older route has the catch-all: age must not beat specificity.
			broad := s.httpRoute("p", "broad", []gatewayv1.ParentReference{parent}, prefixTo("/", s.backend("p", "echo-v2", 8080, 1)))
			s.Create(broad)
			narrow := s.httpRoute("p", "narrow", []gatewayv1.ParentReference{parent},
				pathTo(gatewayv1.PathMatchExact, "/exact", s.backend("p", "echo-v3", 8080, 1)),
				prefixTo("/pre/fix", s.backend("p", "echo-v3", 8080, 1)))
			s.Create(narrow)
			s.Accepted(broad, parent)
			s.Accepted(narrow, parent)
			base := "http://" + s.host("p", "echo-v1", 80)
			s.Traffic(flow{s.Pod("p", "client"), get(base + "/exact"), servedBy("echo-v3")},
				flow{s.Pod("p", "client"), get(base + "/pre/fix/deeper"), servedBy("echo-v3")},
				flow{s.Pod("p", "client"), get(base + "/exact/not"), servedBy("echo-v2")},
				flow{s.Pod("p", "client"), get(base + "/pre"), servedBy("echo-v2")})
		})

	meshIt("between equally specific routes the older one wins", []string{profiles.RoutePrecedence},
		fixture("p", app("p", "echo-v1"), app("p", "echo-v2"), app("p", "echo-v3"), clientApp("p")),
		func(s *S) {
			parent := s.parent("p", "echo-v1")
			// Names chosen so that alphabetical order would pick the newer one.
			older := s.httpRoute("p", "z-older", []gatewayv1.ParentReference{parent}, prefixTo("/same", s.backend("p", "echo-v2", 8080, 1)))
			newer := s.httpRoute("p", "a-newer", []gatewayv1.ParentReference{parent}, prefixTo("/same", s.backend("p", "echo-v3", 8080, 1)))
			s.Create(older)
			s.createApart(older, newer)
			s.Accepted(older, parent)
			s.Accepted(newer, parent)
			s.Traffic(flow{s.Pod("p", "client"), get("http://" + s.host("p", "echo-v1", 80) + "/same"), servedBy("echo-v2")})
		})

	meshIt("between equally specific routes of the same age the first name in alphabetical order wins", []string{profiles.RoutePrecedence},
		fixture("p", app("p", "echo-v1"), app("p", "echo-v2"), app("p", "echo-v3"), clientApp("p")),
		func(s *S) {
			parent := s.parent("p", "echo-v1")
			mk := func() (*gatewayv1.HTTPRoute, *gatewayv1.HTTPRoute) {
				return s.httpRoute("p", "route-a", []gatewayv1.ParentReference{parent}, prefixTo("/same", s.backend("p", "echo-v3", 8080, 1))),
					s.httpRoute("p", "route-b", []gatewayv1.ParentReference{parent}, prefixTo("/same", s.backend("p", "echo-v2", 8080, 1)))
			}
			a, b := s.createSameSecond(mk)
			s.Accepted(a, parent)
			s.Accepted(b, parent)
			s.Traffic(flow{s.Pod("p", "client"), get("http://" + s.host("p", "echo-v1", 80) + "/same"), servedBy("echo-v3")})
		})
})

// createApart creates newer at least one second (the resolution of
// creationTimestamp) after older was created.
func (s *S) createApart(older, newer client.Object) {
	s.Expect(s.c.Client.Get(s.ctx, client.ObjectKeyFromObject(older), older)).To(gomega.Succeed())
	wait := time.Until(older.GetCreationTimestamp().Add(1100 * time.Millisecond))
	if wait > 0 {
		time.Sleep(wait)
	}
	s.Create(newer)
	s.Expect(s.c.Client.Get(s.ctx, client.ObjectKeyFromObject(newer), newer)).To(gomega.Succeed())
	s.Expect(newer.GetCreationTimestamp().After(older.GetCreationTimestamp().Time)).To(gomega.BeTrue(), "creation timestamps %v and %v are not 1s apart", older.GetCreationTimestamp(), newer.GetCreationTimestamp())
}

// createSameSecond creates two routes concurrently until both carry the
// same creationTimestamp (deleting and retrying when they straddle a second).
func (s *S) createSameSecond(mk func() (*gatewayv1.HTTPRoute, *gatewayv1.HTTPRoute)) (*gatewayv1.HTTPRoute, *gatewayv1.HTTPRoute) {
	for try := 1; ; try++ {
		a, b := mk()
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, r := range []*gatewayv1.HTTPRoute{b, a} {
			wg.Go(func() { errs[i] = s.create(r) })
		}
		wg.Wait()
		s.Expect(errs).To(gomega.HaveEach(gomega.BeNil()))
		if a.CreationTimestamp.Equal(&b.CreationTimestamp) {
			return a, b
		}
		s.Expect(try).To(gomega.BeNumerically("<", 5), "could not create two routes within one second")
		for _, r := range []*gatewayv1.HTTPRoute{a, b} {
			s.Expect(s.c.Client.Delete(context.Background(), r)).To(gomega.Succeed())
		}
		s.eventually("deleting the routes to retry", func() error {
			for _, r := range []*gatewayv1.HTTPRoute{a, b} {
				if err := s.c.Client.Get(s.ctx, client.ObjectKeyFromObject(r), &gatewayv1.HTTPRoute{}); err == nil {
					return fmt.Errorf("route %s still exists", r.Name)
				}
			}
			return nil
		})
	}
}
