package semantics

import (
	"fmt"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"gamma-conformance/profiles"
	"gamma-conformance/reportgen/results"
	"gamma-conformance/suites/internal/kube"
)

// Controls: what a mesh must leave alone. They pass on a cluster with no
// mesh too, which shows that the other specs fail there because the mesh is
// missing, not because the cluster is broken.
var _ = describe("Pass-through", func() {
	control := results.ControlLabel

	meshIt("with no routes HTTP to a Service reaches the Service's own pods", []string{profiles.NoRoutePassThrough, control},
		fixture("p", app("p", "echo-v1"), clientApp("p")),
		func(s *S) {
			s.Traffic(flow{s.Pod("p", "client"), get("http://" + s.host("p", "echo-v1", 80) + "/"), servedBy("echo-v1")},
				flow{s.Pod("p", "client"), get("http://" + s.host("p", "echo-v1", 8080) + "/"), servedBy("echo-v1")})
		})

	meshIt("with no routes a TCP port passes through", []string{profiles.NoRoutePassThrough, control},
		fixture("p", app("p", "echo-v1"), clientApp("p")),
		func(s *S) {
			s.Traffic(flow{s.Pod("p", "client"), get("tcp://" + s.host("p", "echo-v1", kube.PortTCP)), tcpServedBy("echo-v1")})
		})

	meshIt("a route on the HTTP port leaves the Service's TCP port untouched", []string{profiles.PassThrough, profiles.ParentRefPort, control},
		fixture("p", app("p", "echo-v1"), app("p", "echo-v2"), clientApp("p")),
		func(s *S) {
			parent := onPort(s.parent("p", "echo-v1"), kube.PortHTTP)
			r := s.httpRoute("p", "http-only", []gatewayv1.ParentReference{parent}, to(s.backend("p", "echo-v2", 8080, 1)))
			s.Create(r)
			s.softAccepted(r, parent)
			s.Traffic(flow{s.Pod("p", "client"), get("tcp://" + s.host("p", "echo-v1", kube.PortTCP)), tcpServedBy("echo-v1")})
		})

	meshIt("traffic to a pod IP is never routed", []string{profiles.PassThrough, control},
		fixture("p", app("p", "echo-v1"), app("p", "echo-v2"), clientApp("p")),
		func(s *S) {
			parent := s.parent("p", "echo-v1")
			r := s.httpRoute("p", "to-v2", []gatewayv1.ParentReference{parent},
				withResponseHeader(to(s.backend("p", "echo-v2", 8080, 1)), "X-Routed", "yes"))
			s.Create(r)
			s.softAccepted(r, parent)
			v1 := s.Pod("p", "echo-v1")
			s.Traffic(flow{s.Pod("p", "client"), get(fmt.Sprintf("http://%s:8080/", v1.IP)), both(servedBy("echo-v1"), header("X-Routed", ""))})
		})
})

// tcpServedBy: the TCP echo answered from a pod of app. The echo server's
// TCP port echoes the request and adds its fields, Hostname included.
func tcpServedBy(app string) check {
	return func(r kube.Result) error {
		if r.Err != nil {
			return fmt.Errorf("client failed: %v", r.Err)
		}
		if len(r.Responses) == 0 {
			return fmt.Errorf("no response parsed from: %q", r.Stdout)
		}
		for i, resp := range r.Responses {
			if len(resp.Hostname) <= len(app) || resp.Hostname[:len(app)+1] != app+"-" {
				return fmt.Errorf("response %d answered by %q, want a pod of %s", i+1, resp.Hostname, app)
			}
		}
		return nil
	}
}
