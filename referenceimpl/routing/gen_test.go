package routing

import (
	"fmt"
	"math/rand/v2"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// This file generates snapshots: large regular ones for the benchmark, and
// small chaotic ones (valid and invalid values alike) for the fuzz target.

type genParams struct {
	namespaces, services, routes int
	// chaos mixes in invalid and unusual values.
	chaos bool
	// policies adds XBackendTrafficPolicies for a third of the Services.
	policies bool
}

type generator struct {
	r *rand.Rand
	p genParams
}

func generate(r *rand.Rand, p genParams) Input {
	g := &generator{r: r, p: p}
	in := Input{ControllerName: controller}
	for i := 0; i < p.services; i++ {
		svc, es := g.service(i)
		in.Services = append(in.Services, svc)
		in.EndpointSlices = append(in.EndpointSlices, es)
	}
	for i := 0; i < p.routes; i++ {
		switch k := g.r.IntN(10); {
		case k < 7:
			in.HTTPRoutes = append(in.HTTPRoutes, g.httpRoute(i))
		case k < 9:
			in.GRPCRoutes = append(in.GRPCRoutes, g.grpcRoute(i))
		case g.r.IntN(2) == 0:
			in.TCPRoutes = append(in.TCPRoutes, g.tcpRoute(i))
		default:
			in.TLSRoutes = append(in.TLSRoutes, g.tlsRoute(i))
		}
	}
	// A few policies, some of them on the same Service (Conflicted) or
	// naming a Service that does not exist (TargetNotFound).
	for i := 0; p.policies && i < p.services/3; i++ {
		svc := g.r.IntN(p.services + 1)
		pol := withBudget(policy(g.ns(svc), fmt.Sprintf("pol-%d", i), t0.Add(time.Duration(g.r.IntN(3))*time.Second), fmt.Sprintf("svc-%d", svc)), g.r.IntN(101), "1s")
		if g.r.IntN(2) == 0 {
			pol = withSession(pol, gatewayv1.CookieBasedSessionPersistence, "s")
		}
		in.BackendTrafficPolicies = append(in.BackendTrafficPolicies, pol)
	}
	return in
}

func (g *generator) ns(i int) string { return fmt.Sprintf("ns-%d", i%g.p.namespaces) }

func (g *generator) chaos(oneIn int) bool { return g.p.chaos && g.r.IntN(oneIn) == 0 }

func (g *generator) service(i int) (corev1.Service, discoveryv1.EndpointSlice) {
	ip := fmt.Sprintf("10.%d.%d.%d", 96+i/65536, (i/256)%256, i%256)
	svc := service(g.ns(i), fmt.Sprintf("svc-%d", i), ip,
		svcPort("http", 80, 8080, "http"), svcPort("grpc", 7070, 7070, ""), svcPort("tcp", 9090, 9090, ""), svcPort("https", 443, 8443, ""))
	if g.chaos(6) {
		svc.Spec.ClusterIP, svc.Spec.ClusterIPs = corev1.ClusterIPNone, []string{corev1.ClusterIPNone}
	}
	if g.chaos(8) {
		svc.Spec.Type = corev1.ServiceTypeExternalName
	}
	if g.chaos(6) {
		svc.Spec.Ports[0].Name = ""
	}
	if g.chaos(8) {
		svc.Spec.Ports = append(svc.Spec.Ports, svcPort("http-dup", 80, 81, "bogus"))
	}
	var ips []string
	for j := 0; j < 3; j++ {
		ips = append(ips, fmt.Sprintf("10.%d.%d.%d", 128+i/65536, (i/256)%256, (i*3+j)%256))
	}
	es := endpointSlice(g.ns(i), svc.Name, "a", map[string]int32{"http": 8080, "grpc": 7070, "tcp": 9090, "https": 8443}, ips...)
	if g.chaos(5) {
		es.Endpoints[0].Addresses[0] = "not-an-ip"
	}
	if g.chaos(5) {
		es.Ports[0].Port = ptr.To(int32(-1))
	}
	return svc, es
}

// target picks a Service for route i: most often one in the route's own
// namespace (producer), otherwise anywhere (consumer).
func (g *generator) target(i int) (ns, name string) {
	s := g.r.IntN(g.p.services)
	if g.chaos(10) {
		return g.ns(s), "missing"
	}
	return g.ns(s), fmt.Sprintf("svc-%d", s)
}

func (g *generator) routeNS(i int, svcNS string) string {
	if g.r.IntN(4) == 0 {
		return g.ns(g.r.IntN(g.p.namespaces))
	}
	return svcNS
}

func (g *generator) parents(svcNS, svc string) []gatewayv1.ParentReference {
	p := svcParent(svcNS, svc)
	switch g.r.IntN(4) {
	case 0:
		p = onPort(p, []int32{80, 7070, 9090, 443, 81}[g.r.IntN(5)])
	case 1:
		p = onSection(p, []string{"http", "grpc", "tcp", "https", "nope"}[g.r.IntN(5)])
	}
	if g.chaos(8) {
		p.Group = ptr.To(gatewayv1.Group("core"))
	}
	if g.chaos(10) {
		p.Kind = nil
	}
	out := []gatewayv1.ParentReference{p}
	if g.chaos(6) {
		out = append(out, p)
	}
	return out
}

func (g *generator) created() time.Time { return t0.Add(time.Duration(g.r.IntN(4)) * time.Second) }

func (g *generator) backend(svcNS, svc string, port int32) gatewayv1.HTTPBackendRef {
	ref := backendRef(svcNS, svc, port, int32(g.r.IntN(3)*50))
	if g.chaos(6) {
		ref.Port = ptr.To(int32(g.r.IntN(3) * 81))
	}
	if g.chaos(10) {
		ref.Kind = ptr.To(gatewayv1.Kind("Widget"))
	}
	if g.chaos(10) {
		ref.Weight = nil
	}
	return ref
}

func (g *generator) httpRoute(i int) gatewayv1.HTTPRoute {
	svcNS, svc := g.target(i)
	var rules []gatewayv1.HTTPRouteRule
	for j := 0; j < 1+g.r.IntN(2); j++ {
		m := []gatewayv1.HTTPRouteMatch{prefix(fmt.Sprintf("/p%d", g.r.IntN(5)))}
		if g.r.IntN(2) == 0 {
			m[0] = withHeader(m[0], "x-h", fmt.Sprint(g.r.IntN(3)))
		}
		if g.r.IntN(3) == 0 {
			m = append(m, exact(fmt.Sprintf("/e%d", g.r.IntN(5))))
		}
		if g.chaos(6) {
			m[0].Path.Type = ptr.To(gatewayv1.PathMatchType([]string{"Glob", "RegularExpression", "Exact"}[g.r.IntN(3)]))
			m[0].Path.Value = ptr.To([]string{"(", "", "no-slash", "/ok"}[g.r.IntN(4)])
		}
		r := rule(m, g.backend(svcNS, svc, 80), g.backend(svcNS, svc, 80))
		if g.chaos(5) {
			r.Filters = []gatewayv1.HTTPRouteFilter{{Type: []gatewayv1.HTTPRouteFilterType{"RequestHeaderModifier", "RequestRedirect", "URLRewrite", "RequestMirror", "Bogus"}[g.r.IntN(5)]}}
		}
		if g.chaos(5) {
			r.Timeouts = &gatewayv1.HTTPRouteTimeouts{Request: ptr.To(gatewayv1.Duration([]string{"1s", "x", "0s", "100ms"}[g.r.IntN(4)]))}
		}
		rules = append(rules, r)
	}
	return httpRoute(g.routeNS(i, svcNS), fmt.Sprintf("http-%d", i), g.created(), g.parents(svcNS, svc), rules...)
}

func (g *generator) grpcRoute(i int) gatewayv1.GRPCRoute {
	svcNS, svc := g.target(i)
	m := gatewayv1.GRPCRouteMatch{Method: &gatewayv1.GRPCMethodMatch{Service: ptr.To(fmt.Sprintf("pkg.S%d", g.r.IntN(3)))}}
	if g.chaos(5) {
		m.Method.Type = ptr.To(gatewayv1.GRPCMethodMatchType([]string{"RegularExpression", "Bogus"}[g.r.IntN(2)]))
		m.Method.Method = ptr.To([]string{"(", "M", ""}[g.r.IntN(3)])
	}
	ref := g.backend(svcNS, svc, 7070)
	return grpcRoute(g.routeNS(i, svcNS), fmt.Sprintf("grpc-%d", i), g.created(), g.parents(svcNS, svc),
		gatewayv1.GRPCRouteRule{Matches: []gatewayv1.GRPCRouteMatch{m}, BackendRefs: []gatewayv1.GRPCBackendRef{{BackendRef: ref.BackendRef}}})
}

func (g *generator) tcpRoute(i int) gatewayv1.TCPRoute {
	svcNS, svc := g.target(i)
	return tcpRoute(g.routeNS(i, svcNS), fmt.Sprintf("tcp-%d", i), g.created(), g.parents(svcNS, svc), g.backend(svcNS, svc, 9090).BackendRef)
}

func (g *generator) tlsRoute(i int) gatewayv1.TLSRoute {
	svcNS, svc := g.target(i)
	hosts := []string{fmt.Sprintf("h%d.example", g.r.IntN(3))}
	if g.r.IntN(2) == 0 {
		hosts = append(hosts, "*.example")
	}
	return tlsRoute(g.routeNS(i, svcNS), fmt.Sprintf("tls-%d", i), g.created(), g.parents(svcNS, svc), hosts, g.backend(svcNS, svc, 443).BackendRef)
}

// shuffled returns in with every list in a random order.
func shuffled(r *rand.Rand, in Input) Input {
	out := in
	out.Services = shuffle(r, in.Services)
	out.EndpointSlices = shuffle(r, in.EndpointSlices)
	out.HTTPRoutes = shuffle(r, in.HTTPRoutes)
	out.GRPCRoutes = shuffle(r, in.GRPCRoutes)
	out.TCPRoutes = shuffle(r, in.TCPRoutes)
	out.TLSRoutes = shuffle(r, in.TLSRoutes)
	out.BackendTrafficPolicies = shuffle(r, in.BackendTrafficPolicies)
	out.ReferenceGrants = shuffle(r, in.ReferenceGrants)
	return out
}

func shuffle[T any](r *rand.Rand, s []T) []T {
	out := append([]T(nil), s...)
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}
