package semantics

import (
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"gamma-conformance/profiles"
	"gamma-conformance/suites/internal/kube"
)

// backendNotFound is the status of a route with a backendRef to a missing
// Service (HTTPBackendRef).
var backendNotFound = kube.Want{Type: string(gatewayv1.RouteConditionResolvedRefs), Status: metav1.ConditionFalse, Reasons: []string{string(gatewayv1.RouteReasonBackendNotFound)}}

// Backends that cannot take traffic (HTTPRouteRule.BackendRefs) and
// backends in other namespaces (GEP-1294: no ReferenceGrant needed, unless
// the mesh widens reach).
var _ = describe("Backends", func() {
	notFound, url := backendNotFound, frontURL

	meshIt("a backendRef to a missing Service gets 500 and ResolvedRefs=False BackendNotFound", []string{profiles.BackendFailures},
		fixture("p", app("p", "echo-v1"), clientApp("p")),
		func(s *S) {
			parent := s.parent("p", "echo-v1")
			r := s.httpRoute("p", "to-nothing", []gatewayv1.ParentReference{parent}, to(s.backend("p", "does-not-exist", 8080, 1)))
			s.Create(r)
			s.Status(r, parent, notFound)
			s.Traffic(flow{s.Pod("p", "client"), get(url(s)), status(500)})
		})

	meshIt("of a backend list with one missing Service the missing share gets 500 and the route says BackendNotFound", []string{profiles.BackendFailures},
		fixture("p", app("p", "echo-v1"), app("p", "echo-v2"), clientApp("p")),
		func(s *S) {
			parent := s.parent("p", "echo-v1")
			r := s.httpRoute("p", "half-missing", []gatewayv1.ParentReference{parent},
				to(s.backend("p", "echo-v2", 8080, 1), s.backend("p", "does-not-exist", 8080, 1)))
			s.Create(r)
			s.Status(r, parent, notFound)
			// "Implementations may choose how that 50 percent is
			// determined": the spec wants both answers, and no other.
			req := get(url(s))
			req.Count = 20
			s.mixedAnswers(s.Pod("p", "client"), req, "echo-v2", "500", httpAnswers("echo-v2", "500"))
		})

	meshIt("of a gRPC backend list with one missing Service the missing share gets UNAVAILABLE", []string{profiles.BackendFailures, profiles.GRPCRoute},
		fixture("p", app("p", "echo-v1"), app("p", "echo-v2"), clientApp("p")),
		func(s *S) {
			parent := onPort(s.parent("p", "echo-v1"), kube.PortGRPC)
			r := s.grpcRoute("p", "half-missing", parent,
				s.backendRef("p", "echo-v2", kube.PortGRPC, 1), s.backendRef("p", "does-not-exist", kube.PortGRPC, 1))
			s.Create(r)
			s.Status(r, parent, notFound)
			// One call per exec: a failed call ends the client's batch.
			req := kube.Request{URL: "grpc://" + s.host("p", "echo-v1", kube.PortGRPC)}
			s.mixedAnswers(s.Pod("p", "client"), req, "echo-v2", "UNAVAILABLE", grpcAnswers("echo-v2", "Unavailable"))
		})

	meshIt("a gRPC backendRef to a missing Service gets UNAVAILABLE", []string{profiles.BackendFailures, profiles.GRPCRoute},
		fixture("p", app("p", "echo-v1"), clientApp("p")),
		func(s *S) {
			parent := onPort(s.parent("p", "echo-v1"), kube.PortGRPC)
			r := s.grpcRoute("p", "to-nothing", parent, s.backendRef("p", "does-not-exist", kube.PortGRPC, 1))
			s.Create(r)
			s.Status(r, parent, notFound)
			s.Traffic(flow{s.Pod("p", "client"), kube.Request{URL: "grpc://" + s.host("p", "echo-v1", kube.PortGRPC)}, grpcFails("Unavailable")})
		})

})

// Backends that answer (weights, no endpoints, other namespaces).
var _ = describe("Backends", func() {
	url := frontURL

	meshIt("a backend Service with no ready endpoints gets 503", []string{profiles.NoEndpoints503},
		fixture("p", app("p", "echo-v1"), kube.App{Namespace: "p", Name: "empty", ServiceOnly: true}, clientApp("p")),
		func(s *S) {
			parent := s.parent("p", "echo-v1")
			r := s.httpRoute("p", "to-empty", []gatewayv1.ParentReference{parent}, to(s.backend("p", "empty", 8080, 1)))
			s.Create(r)
			s.Accepted(r, parent)
			s.Traffic(flow{s.Pod("p", "client"), get(url(s)), status(503)})
		})

	meshIt("a backend with weight 0 gets no traffic", []string{profiles.BackendFailures},
		fixture("p", app("p", "echo-v1"), app("p", "echo-v2"), app("p", "echo-v3"), clientApp("p")),
		func(s *S) {
			parent := s.parent("p", "echo-v1")
			r := s.httpRoute("p", "weights", []gatewayv1.ParentReference{parent},
				to(s.backend("p", "echo-v2", 8080, 1), s.backend("p", "echo-v3", 8080, 0)))
			s.Create(r)
			s.Accepted(r, parent)
			req := get(url(s))
			req.Count = 40
			s.Traffic(flow{s.Pod("p", "client"), req, servedBy("echo-v2")})
		})

	meshIt("a backendRef to another namespace without a ReferenceGrant is served or refused with RefNotPermitted", []string{profiles.CrossNamespaceRefs},
		fixture("p b", app("p", "echo-v1"), app("b", "remote"), clientApp("p")),
		func(s *S) {
			parent := s.parent("p", "echo-v1")
			r := s.httpRoute("p", "to-remote", []gatewayv1.ParentReference{parent}, to(s.backend("b", "remote", 8080, 1)))
			s.Create(r)
			// GEP-1294: allowed without a ReferenceGrant, but a mesh that
			// widens reach "must" require one: then the reference is not
			// permitted and its traffic gets 500 (HTTPBackendRef).
			allowed := []kube.Want{
				{Type: string(gatewayv1.RouteConditionAccepted), Status: metav1.ConditionTrue},
				{Type: string(gatewayv1.RouteConditionResolvedRefs), Status: metav1.ConditionTrue},
			}
			refused := kube.Want{Type: string(gatewayv1.RouteConditionResolvedRefs), Status: metav1.ConditionFalse, Reasons: []string{string(gatewayv1.RouteReasonRefNotPermitted)}}
			from := s.Pod("p", "client")
			s.eventually("the remote backend serves, or the reference is refused (RefNotPermitted) and answers 500", func() error {
				entries, err := s.c.ParentStatuses(s.ctx, r, parent)
				if err != nil {
					return err
				}
				res := s.c.Send(s.ctx, from, get(url(s)))
				switch {
				case kube.Check(entries, allowed...) == nil:
					return servedBy("remote")(res)
				case kube.Check(entries, refused) == nil:
					return status(500)(res)
				}
				return fmt.Errorf("status: %v", kube.Check(entries, allowed...))
			})
		})
})

// frontURL is the URL of echo-v1's HTTP port, the parent of most routes.
func frontURL(s *S) string { return "http://" + s.host("p", "echo-v1", 80) + "/" }

// mixedAnswers sends batches from a pod until, over the batches where
// every answer is one of the two allowed, both have been seen: 200 from a
// pod of app, and the failure (what names it). answer classifies one
// batch's answers, with an error for any other answer.
func (s *S) mixedAnswers(from kube.Pod, req kube.Request, app, what string, answer func(kube.Result) (served, failed int, err error)) {
	served, failed := 0, 0
	s.eventually(fmt.Sprintf("answers from %s and %s, nothing else", app, what), func() error {
		ok, bad, err := answer(s.c.Send(s.ctx, from, req))
		if err != nil {
			return err
		}
		served, failed = served+ok, failed+bad
		if served == 0 || failed == 0 {
			return fmt.Errorf("so far %d answers from %s and %d with %s, want both", served, app, failed, what)
		}
		return nil
	})
}

// httpAnswers classifies HTTP answers: 200 from a pod of app, or code.
func httpAnswers(app, code string) func(kube.Result) (int, int, error) {
	return func(r kube.Result) (served, failed int, err error) {
		if r.Err != nil || len(r.Responses) == 0 {
			return 0, 0, fmt.Errorf("client failed: %v %q", r.Err, r.Stderr)
		}
		for _, resp := range r.Responses {
			switch {
			case resp.Code == code:
				failed++
			case resp.Code == "200" && strings.HasPrefix(resp.Hostname, app+"-"):
				served++
			default:
				return 0, 0, fmt.Errorf("status %s from %q, want 200 from %s or %s", resp.Code, resp.Hostname, app, code)
			}
		}
		return served, failed, nil
	}
}

// grpcAnswers classifies one gRPC call: answered by a pod of app, or failed
// with code.
func grpcAnswers(app, code string) func(kube.Result) (int, int, error) {
	return func(r kube.Result) (int, int, error) {
		if r.Err == nil && len(r.Responses) == 1 && strings.HasPrefix(r.Responses[0].Hostname, app+"-") {
			return 1, 0, nil
		}
		if r.Err != nil && grpcFails(code)(r) == nil {
			return 0, 1, nil
		}
		return 0, 0, fmt.Errorf("neither answered by %s nor failed with %s: %v %q %q", app, code, r.Err, r.Stdout, r.Stderr)
	}
}
