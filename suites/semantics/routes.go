package semantics

import (
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"gamma-conformance/suites/internal/kube"
)

// Builders of the routes the specs apply. Every parentRef is a Service.

func svcParent(ns, name string) gatewayv1.ParentReference {
	return gatewayv1.ParentReference{
		Group: ptr.To(gatewayv1.Group("")), Kind: ptr.To(gatewayv1.Kind("Service")),
		Namespace: ptr.To(gatewayv1.Namespace(ns)), Name: gatewayv1.ObjectName(name),
	}
}

func onPort(ref gatewayv1.ParentReference, port int32) gatewayv1.ParentReference {
	ref.Port = ptr.To(gatewayv1.PortNumber(port))
	return ref
}

func backend(ns, name string, port int32, weight int32) gatewayv1.HTTPBackendRef {
	return gatewayv1.HTTPBackendRef{BackendRef: backendRef(ns, name, port, weight)}
}

func backendRef(ns, name string, port int32, weight int32) gatewayv1.BackendRef {
	return gatewayv1.BackendRef{
		BackendObjectReference: gatewayv1.BackendObjectReference{
			Group: ptr.To(gatewayv1.Group("")), Kind: ptr.To(gatewayv1.Kind("Service")),
			Namespace: ptr.To(gatewayv1.Namespace(ns)), Name: gatewayv1.ObjectName(name),
			Port: ptr.To(gatewayv1.PortNumber(port)),
		},
		Weight: ptr.To(weight),
	}
}

func httpRoute(ns, name string, parents []gatewayv1.ParentReference, rules ...gatewayv1.HTTPRouteRule) *gatewayv1.HTTPRoute {
	return &gatewayv1.HTTPRoute{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: gatewayv1.HTTPRouteSpec{
			CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: parents},
			Rules:           rules,
		},
	}
}

func grpcRoute(ns, name string, parent gatewayv1.ParentReference, backends ...gatewayv1.BackendRef) *gatewayv1.GRPCRoute {
	var refs []gatewayv1.GRPCBackendRef
	for _, b := range backends {
		refs = append(refs, gatewayv1.GRPCBackendRef{BackendRef: b})
	}
	return &gatewayv1.GRPCRoute{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: gatewayv1.GRPCRouteSpec{
			CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{parent}},
			Rules:           []gatewayv1.GRPCRouteRule{{BackendRefs: refs}},
		},
	}
}

func tcpRoute(ns, name string, parent gatewayv1.ParentReference, backends ...gatewayv1.BackendRef) *gatewayv1.TCPRoute {
	return &gatewayv1.TCPRoute{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: gatewayv1.TCPRouteSpec{
			CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{parent}},
			Rules:           []gatewayv1.TCPRouteRule{{BackendRefs: backends}},
		},
	}
}

// to is a rule sending every request to backends.
func to(backends ...gatewayv1.HTTPBackendRef) gatewayv1.HTTPRouteRule {
	return gatewayv1.HTTPRouteRule{BackendRefs: backends}
}

// prefixTo is a rule matching a path prefix.
func prefixTo(prefix string, backends ...gatewayv1.HTTPBackendRef) gatewayv1.HTTPRouteRule {
	return pathTo(gatewayv1.PathMatchPathPrefix, prefix, backends...)
}

func pathTo(kind gatewayv1.PathMatchType, path string, backends ...gatewayv1.HTTPBackendRef) gatewayv1.HTTPRouteRule {
	return gatewayv1.HTTPRouteRule{
		Matches:     []gatewayv1.HTTPRouteMatch{{Path: &gatewayv1.HTTPPathMatch{Type: ptr.To(kind), Value: ptr.To(path)}}},
		BackendRefs: backends,
	}
}

// withTimeout sets the rule's request timeout.
func withTimeout(r gatewayv1.HTTPRouteRule, d string) gatewayv1.HTTPRouteRule {
	r.Timeouts = &gatewayv1.HTTPRouteTimeouts{Request: ptr.To(gatewayv1.Duration(d))}
	return r
}

// withResponseHeader makes the rule set a response header.
func withResponseHeader(r gatewayv1.HTTPRouteRule, name, value string) gatewayv1.HTTPRouteRule {
	r.Filters = append(r.Filters, gatewayv1.HTTPRouteFilter{
		Type:                   gatewayv1.HTTPRouteFilterResponseHeaderModifier,
		ResponseHeaderModifier: &gatewayv1.HTTPHeaderFilter{Set: []gatewayv1.HTTPHeader{{Name: gatewayv1.HTTPHeaderName(name), Value: value}}},
	})
	return r
}

// The spec's own objects: ns is a namespace key of its fixture, app the
// app whose pods the spec's Service of that name selects (see Svc), name a
// route's name within the spec. Each route is deleted when the spec ends.

// parent is a parentRef to the spec's Service of app.
func (s *S) parent(ns, app string) gatewayv1.ParentReference { return svcParent(s.NS(ns), s.Svc(app)) }

// backend is an HTTP backendRef to the spec's Service of app.
func (s *S) backend(ns, app string, port int32, weight int32) gatewayv1.HTTPBackendRef {
	return backend(s.NS(ns), s.Svc(app), port, weight)
}

// backendRef is a backendRef to the spec's Service of app.
func (s *S) backendRef(ns, app string, port int32, weight int32) gatewayv1.BackendRef {
	return backendRef(s.NS(ns), s.Svc(app), port, weight)
}

// host is the in-cluster name of a port of the spec's Service of app.
func (s *S) host(ns, app string, port int32) string { return host(s.NS(ns), s.Svc(app), port) }

// httpRoute is an HTTPRoute of the spec.
func (s *S) httpRoute(ns, name string, parents []gatewayv1.ParentReference, rules ...gatewayv1.HTTPRouteRule) *gatewayv1.HTTPRoute {
	r := httpRoute(s.NS(ns), s.Svc(name), parents, rules...)
	s.own(r)
	return r
}

// grpcRoute is a GRPCRoute of the spec.
func (s *S) grpcRoute(ns, name string, parent gatewayv1.ParentReference, backends ...gatewayv1.BackendRef) *gatewayv1.GRPCRoute {
	r := grpcRoute(s.NS(ns), s.Svc(name), parent, backends...)
	s.own(r)
	return r
}

// tcpRoute is a TCPRoute of the spec.
func (s *S) tcpRoute(ns, name string, parent gatewayv1.ParentReference, backends ...gatewayv1.BackendRef) *gatewayv1.TCPRoute {
	r := tcpRoute(s.NS(ns), s.Svc(name), parent, backends...)
	s.own(r)
	return r
}

// Standard fixtures: what a spec needs, all of it shared with the other
// specs of a run but the Services (see fixtures.go). Namespace keys: "p"
// (producer: the Services), "c" and "z" (consumers: a client each), "o"
// (another client namespace), "b" (a backend in another namespace). Apps:
// echo-v1..3 with Services of the spec's own; "client" without.
func fixture(namespaces string, apps ...kube.App) kube.Fixture {
	return kube.Fixture{Namespaces: strings.Fields(namespaces), Apps: apps}
}

func app(ns, name string) kube.App { return kube.App{Namespace: ns, Name: name} }

func clientApp(ns string) kube.App { return kube.App{Namespace: ns, Name: "client", NoService: true} }

// host is the in-cluster name of a Service port.
func host(ns, svc string, port int32) string { return fmt.Sprintf("%s.%s:%d", svc, ns, port) }
