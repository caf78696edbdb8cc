package routing

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"gamma-conformance/referenceimpl/meshconfig"
)

func toBackends(refs ...gatewayv1.HTTPBackendRef) gatewayv1.HTTPRoute {
	return httpRoute(meshNS, "r", t0, on80(meshNS), rule(nil, refs...))
}

func firstRule(t *testing.T, ix *meshconfig.Index) *meshconfig.HTTPRule {
	t.Helper()
	r := send(t, ix, meshNS, echoIP+":80", request{path: "/"})
	if r.rule == nil {
		t.Fatalf("request not matched: %+v", r)
	}
	return r.rule
}

func TestBackends(t *testing.T) {
	runCases(t, []ruleCase{{
		name:  "a backend resolves to the ready endpoints of its target port",
		quote: `BackendRefs to a Service port reach the endpoints behind it: echo-v1 port 80 targets the pods' 8080.`,
		input: with(toBackends(backendRef(meshNS, "echo-v1", 80, 1))),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			b := firstRule(t, ix).Backends[0]
			if b.Invalid || !slices.Equal(b.Endpoints, []string{v1Pod + ":8080"}) {
				t.Fatalf("backend %+v", b)
			}
		},
	}, {
		name:  "all backends invalid: every request gets 500",
		quote: `HTTPRouteRule.BackendRefs: "If *all* entries in BackendRefs are invalid, and there are also no filters specified in this route rule, *all* traffic which matches this rule MUST receive a 500 status code."`,
		input: with(toBackends(backendRef(meshNS, "missing", 80, 1))),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			r := firstRule(t, ix)
			if len(r.Backends) != 1 || !r.Backends[0].Invalid {
				t.Fatalf("backends %+v", r.Backends)
			}
			c := parentStatus(t, out, KindHTTPRoute, meshNS, "r", 0)
			wantCondition(t, c, "ResolvedRefs", metav1.ConditionFalse, "BackendNotFound")
			wantCondition(t, c, "Accepted", metav1.ConditionTrue, "Accepted")
		},
	}, {
		name:  "an invalid backend's share gets 500",
		quote: `HTTPRouteRule.BackendRefs: "if two backends are specified with equal weights, and one is invalid, 50 percent of traffic must receive a 500."`,
		input: with(toBackends(backendRef(meshNS, "missing", 80, 1), backendRef(meshNS, "echo-v1", 80, 1))),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			bs := firstRule(t, ix).Backends
			if len(bs) != 2 || !bs[0].Invalid || bs[0].Weight != 1 || bs[1].Invalid || bs.TotalWeight() != 2 {
				t.Fatalf("backends %+v", bs)
			}
		},
	}, {
		name:  "no ready endpoints: valid backend with no endpoints (503)",
		quote: `HTTPRouteRule.BackendRefs: "When a HTTPBackendRef refers to a Service that has no ready endpoints, implementations SHOULD return a 503".`,
		input: func() Input {
			in := with(toBackends(backendRef(meshNS, "empty", 80, 1)))()
			in.Services = append(in.Services, service(meshNS, "empty", "10.96.0.40", svcPort("http", 80, 8080, "")))
			return in
		},
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			b := firstRule(t, ix).Backends[0]
			if b.Invalid || len(b.Endpoints) != 0 {
				t.Fatalf("backend %+v", b)
			}
			wantCondition(t, parentStatus(t, out, KindHTTPRoute, meshNS, "r", 0), "ResolvedRefs", metav1.ConditionTrue, "ResolvedRefs")
		},
	}, {
		name:  "not-ready endpoints are left out",
		quote: `EndpointConditions.Ready: "ready indicates that this endpoint is ready to receive traffic"; only ready endpoints get traffic.`,
		input: func() Input {
			in := with(toBackends(backendRef(meshNS, "echo-v1", 80, 1)))()
			es := endpointSlice(meshNS, "echo-v1", "b", echoTargets, "10.244.0.99")
			es.Endpoints[0].Conditions.Ready = ptr.To(false)
			in.EndpointSlices = append(in.EndpointSlices, es)
			return in
		},
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			if eps := firstRule(t, ix).Backends[0].Endpoints; !slices.Equal(eps, []string{v1Pod + ":8080"}) {
				t.Fatalf("endpoints %v", eps)
			}
		},
	}, {
		name:  "endpoints of several slices merge",
		quote: `A Service's endpoints may span several EndpointSlices (label kubernetes.io/service-name).`,
		input: func() Input {
			in := with(toBackends(backendRef(meshNS, "echo-v1", 80, 1)))()
			in.EndpointSlices = append(in.EndpointSlices, endpointSlice(meshNS, "echo-v1", "b", echoTargets, "10.244.0.50", v1Pod))
			v6 := endpointSlice(meshNS, "echo-v1", "c", echoTargets, "fd00::5")
			v6.AddressType = discoveryv1.AddressTypeIPv6
			in.EndpointSlices = append(in.EndpointSlices, v6)
			return in
		},
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			want := []string{"10.244.0.11:8080", "10.244.0.50:8080", "[fd00::5]:8080"}
			if eps := firstRule(t, ix).Backends[0].Endpoints; !slices.Equal(eps, want) {
				t.Fatalf("endpoints %v, want %v", eps, want)
			}
		},
	}, {
		name:  "weight 0 gets no traffic, even when the backend does not exist",
		quote: `HTTPBackendRef.Weight: "If weight is set to 0, no traffic should be forwarded for this entry." (upstream MeshGRPCRouteWeight's echo-v3 has weight 0 and does not exist)`,
		input: with(toBackends(backendRef(meshNS, "echo-v1", 80, 70), backendRef(meshNS, "echo-v2", 80, 30), backendRef(meshNS, "echo-v3", 80, 0))),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			bs := firstRule(t, ix).Backends
			if len(bs) != 2 || bs[0].Weight != 70 || bs[1].Weight != 30 {
				t.Fatalf("backends %+v", bs)
			}
			c := parentStatus(t, out, KindHTTPRoute, meshNS, "r", 0)
			wantCondition(t, c, "Accepted", metav1.ConditionTrue, "Accepted")
			wantCondition(t, c, "ResolvedRefs", metav1.ConditionFalse, "BackendNotFound")
		},
	}, {
		name:  "no backendRefs: 500",
		quote: `GEP-1294: "Implementations MUST respect the standard backendRef rules" — no implicit backend; with nothing to send to, every request gets 500.`,
		input: with(toBackends()),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			if r := firstRule(t, ix); r.DirectStatus != 500 || len(r.Backends) != 0 {
				t.Fatalf("rule %+v", r)
			}
		},
	}, {
		name:  "only weight-0 backends: 500",
		quote: `HTTPBackendRef.Weight: "If weight is set to 0, no traffic should be forwarded for this entry"; with no entry left the rule answers 500.`,
		input: with(toBackends(backendRef(meshNS, "echo-v1", 80, 0))),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			if r := firstRule(t, ix); r.DirectStatus != 500 {
				t.Fatalf("rule %+v", r)
			}
		},
	}, {
		name:  "an unknown backend kind is InvalidKind",
		quote: `RouteReasonInvalidKind: "This reason is used with the "ResolvedRefs" condition when one of the Route's rules has a reference to an unknown or unsupported Group and/or Kind."`,
		input: func() Input {
			ref := backendRef(meshNS, "thing", 80, 1)
			ref.Group, ref.Kind = ptr.To(gatewayv1.Group("example.com")), ptr.To(gatewayv1.Kind("Widget"))
			return with(toBackends(ref))()
		},
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			wantCondition(t, parentStatus(t, out, KindHTTPRoute, meshNS, "r", 0), "ResolvedRefs", metav1.ConditionFalse, "InvalidKind")
			if b := firstRule(t, ix).Backends[0]; !b.Invalid {
				t.Fatalf("backend %+v", b)
			}
		},
	}, {
		name:  "a backend port the Service lacks is BackendNotFound",
		quote: `Bad input "a port the Service lacks" yields a status condition, never a silent drop.`,
		input: with(toBackends(backendRef(meshNS, "echo-v1", 81, 1))),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			wantCondition(t, parentStatus(t, out, KindHTTPRoute, meshNS, "r", 0), "ResolvedRefs", metav1.ConditionFalse, "BackendNotFound")
		},
	}, {
		name:  "a Service backendRef without a port is BackendNotFound",
		quote: `BackendObjectReference.Port: "Port is required when the referent is a Kubernetes Service."`,
		input: func() Input {
			ref := backendRef(meshNS, "echo-v1", 80, 1)
			ref.Port = nil
			return with(toBackends(ref))()
		},
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			wantCondition(t, parentStatus(t, out, KindHTTPRoute, meshNS, "r", 0), "ResolvedRefs", metav1.ConditionFalse, "BackendNotFound")
		},
	}, {
		name:  "an ExternalName backend is InvalidKind",
		quote: `GEP-1294: ExternalName Services "SHOULD NOT" be a parent or a backend.`,
		input: func() Input {
			in := with(toBackends(backendRef(meshNS, "ext", 80, 1)))()
			s := service(meshNS, "ext", "", svcPort("http", 80, 80, ""))
			s.Spec.Type, s.Spec.ClusterIPs = corev1.ServiceTypeExternalName, nil
			in.Services = append(in.Services, s)
			return in
		},
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			wantCondition(t, parentStatus(t, out, KindHTTPRoute, meshNS, "r", 0), "ResolvedRefs", metav1.ConditionFalse, "InvalidKind")
		},
	}, {
		name:  "a headless Service is a valid backend",
		quote: `GEP-1294 limits parents, not backends: a backendRef targets endpoints and does not re-enter routing.`,
		input: func() Input {
			in := with(toBackends(backendRef(meshNS, "hl", 80, 1)))()
			s := service(meshNS, "hl", corev1.ClusterIPNone, svcPort("http", 80, 8080, ""))
			in.Services = append(in.Services, s)
			in.EndpointSlices = append(in.EndpointSlices, endpointSlice(meshNS, "hl", "a", map[string]int32{"http": 8080}, v1Pod))
			return in
		},
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			if b := firstRule(t, ix).Backends[0]; b.Invalid || len(b.Endpoints) != 1 {
				t.Fatalf("backend %+v", b)
			}
		},
	}, {
		name:  "gRPC: all backends invalid gives the rule no usable backend",
		quote: `GRPCRouteRule.BackendRefs: "If *all* entries in BackendRefs are invalid ... *all* traffic which matches this rule MUST receive an UNAVAILABLE status."`,
		input: with(grpcRoute(meshNS, "g", t0, []gatewayv1.ParentReference{onPort(svcParent(meshNS, "echo"), 7070)},
			gatewayv1.GRPCRouteRule{BackendRefs: []gatewayv1.GRPCBackendRef{grpcRef(meshNS, "missing", 7070, 1)}})),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			r := send(t, ix, meshNS, echoIP+":7070", request{method: "POST", path: "/a.B/C"})
			if r.rule == nil || !r.rule.Backends[0].Invalid {
				t.Fatalf("got %+v", r)
			}
			wantCondition(t, parentStatus(t, out, KindGRPCRoute, meshNS, "g", 0), "ResolvedRefs", metav1.ConditionFalse, "BackendNotFound")
		},
	}, {
		name:  "TCP: a rule with no usable backend rejects connections",
		quote: `TCPRouteRule.BackendRefs: "If unspecified or invalid ... the underlying implementation MUST actively reject connection attempts to this backend."`,
		input: with(tcpRoute(meshNS, "t", t0, []gatewayv1.ParentReference{svcParent(meshNS, "echo")}, l4Ref(meshNS, "echo-v1", 9090, 0))),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			if bs := *out.Tables[0].TCP; len(bs) != 1 || !bs[0].Invalid {
				t.Fatalf("backends %+v", bs)
			}
		},
	}})
}
