package routing

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"gamma-conformance/referenceimpl/meshconfig"
)

func allV1(ns, name string, created int, parents ...gatewayv1.ParentReference) gatewayv1.HTTPRoute {
	return httpRoute(ns, name, t0.Add(secs(created)), parents, rule(nil, backendRef(meshNS, "echo-v1", 8080, 1)))
}

// tablePorts lists "clientNS:service:port" for every table.
func tablePorts(out Output) []string {
	var s []string
	for _, t := range out.Tables {
		s = append(s, t.ClientNamespace+":"+t.Service.Name+":"+itoa(t.Port))
	}
	return s
}

func wantTables(t *testing.T, out Output, want ...string) {
	t.Helper()
	if got := tablePorts(out); !slices.Equal(got, want) {
		t.Fatalf("tables = %v, want %v", got, want)
	}
}

func TestParentBinding(t *testing.T) {
	runCases(t, []ruleCase{{
		name:  "group empty string is the core group",
		quote: `ParentReference: "To set the core API group (such as for a "Service" kind referent), Group must be explicitly set to "" (empty string)."`,
		input: with(allV1(meshNS, "r", 0, onPort(svcParent(meshNS, "echo"), 80))),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			wantTables(t, out, ":echo:80")
			wantCondition(t, parentStatus(t, out, KindHTTPRoute, meshNS, "r", 0), "Accepted", metav1.ConditionTrue, "Accepted")
		},
	}, {
		name:  "group core is accepted as an alias",
		quote: `The mesh docs' examples write "group: core" (and Linkerd accepts it); the reference mesh treats it as "".`,
		input: func() Input {
			p := onPort(svcParent(meshNS, "echo"), 80)
			p.Group = ptr.To(gatewayv1.Group("core"))
			return with(allV1(meshNS, "r", 0, p))()
		},
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			wantTables(t, out, ":echo:80")
			wantCondition(t, parentStatus(t, out, KindHTTPRoute, meshNS, "r", 0), "Accepted", metav1.ConditionTrue, "Accepted")
		},
	}, {
		name:  "a parentRef with the default group and kind is a Gateway, not ours",
		quote: `ParentReference.Group defaults to gateway.networking.k8s.io and Kind to "Gateway"; a mesh writes status only for the parents it owns.`,
		input: with(allV1(meshNS, "r", 0, gatewayv1.ParentReference{Name: "echo"})),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			wantTables(t, out)
			if len(out.Statuses) != 0 {
				t.Fatalf("statuses = %v, want none", out.Statuses)
			}
		},
	}, {
		name:  "port selects only that port",
		quote: `GEP-1294: "If port is set, the implementation MUST associate the route only with that port."`,
		input: with(allV1(meshNS, "r", 0, onPort(svcParent(meshNS, "echo"), 8080))),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			wantTables(t, out, ":echo:8080")
			if r := send(t, ix, "any", echoIP+":80", request{path: "/"}); r.routed {
				t.Fatal("port 80 must stay unrouted")
			}
		},
	}, {
		name:  "sectionName selects the named port",
		quote: `sectionName names the Service port ("SectionName is the name of a section within the target resource").`,
		input: with(allV1(meshNS, "r", 0, onSection(svcParent(meshNS, "echo"), "http-alt"))),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) { wantTables(t, out, ":echo:8080") },
	}, {
		name:  "port and sectionName must both match",
		quote: `When both port and sectionName are set, "the name and port of the selected listener must match both specified values."`,
		input: with(allV1(meshNS, "r", 0, onPort(onSection(svcParent(meshNS, "echo"), "http-alt"), 8080))),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) { wantTables(t, out, ":echo:8080") },
	}, {
		name:  "port and sectionName that name different ports match nothing",
		quote: `When both port and sectionName are set, "the name and port of the selected listener must match both specified values."`,
		input: with(allV1(meshNS, "r", 0, onPort(onSection(svcParent(meshNS, "echo"), "http-alt"), 80))),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			wantTables(t, out)
			wantCondition(t, parentStatus(t, out, KindHTTPRoute, meshNS, "r", 0), "Accepted", metav1.ConditionFalse, "NoMatchingParent")
		},
	}, {
		name:  "no port binds every port of the route's protocol",
		quote: `GEP-1294: "If port is not set, the implementation MUST associate the route with all ports defined in the Service" — of the HTTP kind for an HTTPRoute: echo's http 80, http-alt 8080 and grpc 7070 (h2c), not https 443 nor tcp 9090.`,
		input: with(allV1(meshNS, "r", 0, svcParent(meshNS, "echo"))),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			wantTables(t, out, ":echo:80", ":echo:7070", ":echo:8080")
		},
	}, {
		name:  "a port the Service lacks is a status, not a silent drop",
		quote: `GEP-1294: "If port is set, the implementation MUST associate the route only with that port" — there is none, so NoMatchingParent.`,
		input: with(allV1(meshNS, "r", 0, onPort(svcParent(meshNS, "echo"), 81))),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			wantTables(t, out)
			wantCondition(t, parentStatus(t, out, KindHTTPRoute, meshNS, "r", 0), "Accepted", metav1.ConditionFalse, "NoMatchingParent")
		},
	}, {
		name:  "a missing Service gets Accepted=False NoMatchingParent",
		quote: `For a missing parent the condition "may not be set"; like Istio and Kuma the reference mesh writes Accepted=False/NoMatchingParent.`,
		input: with(allV1(meshNS, "r", 0, svcParent(meshNS, "nope"))),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			wantTables(t, out)
			wantCondition(t, parentStatus(t, out, KindHTTPRoute, meshNS, "r", 0), "Accepted", metav1.ConditionFalse, "NoMatchingParent")
		},
	}, {
		name:  "a headless Service is not a parent",
		quote: `GEP-1294: headless Services "SHOULD NOT be supported" as parents.`,
		input: func() Input {
			in := with(allV1(meshNS, "r", 0, svcParent(meshNS, "headless")))()
			s := service(meshNS, "headless", corev1.ClusterIPNone, svcPort("http", 80, 8080, ""))
			s.Spec.ClusterIPs = []string{corev1.ClusterIPNone}
			in.Services = append(in.Services, s)
			return in
		},
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			wantTables(t, out)
			wantCondition(t, parentStatus(t, out, KindHTTPRoute, meshNS, "r", 0), "Accepted", metav1.ConditionFalse, "NoMatchingParent")
		},
	}, {
		name:  "an ExternalName Service is not a parent",
		quote: `GEP-1294: ExternalName Services "SHOULD NOT" be parents or backends.`,
		input: func() Input {
			in := with(allV1(meshNS, "r", 0, svcParent(meshNS, "ext")))()
			s := service(meshNS, "ext", "", svcPort("http", 80, 80, ""))
			s.Spec.Type, s.Spec.ClusterIPs, s.Spec.ExternalName = corev1.ServiceTypeExternalName, nil, "example.invalid"
			in.Services = append(in.Services, s)
			return in
		},
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			wantTables(t, out)
			wantCondition(t, parentStatus(t, out, KindHTTPRoute, meshNS, "r", 0), "Accepted", metav1.ConditionFalse, "NoMatchingParent")
		},
	}, {
		name:  "an explicit port of another protocol does not take an HTTPRoute",
		quote: `Choice: an HTTPRoute or GRPCRoute attaches only to ports of an HTTP kind; echo's tcp 9090 is TCP by its name.`,
		input: with(allV1(meshNS, "r", 0, onPort(svcParent(meshNS, "echo"), 9090))),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			wantTables(t, out)
			wantCondition(t, parentStatus(t, out, KindHTTPRoute, meshNS, "r", 0), "Accepted", metav1.ConditionFalse, "NoMatchingParent")
		},
	}, {
		name:  "an explicit port with no protocol hint takes the route's protocol",
		quote: `Choice: a port with no appProtocol and no known name prefix is TCP until a parentRef names it; then the route declares its protocol.`,
		input: func() Input {
			in := with(allV1(meshNS, "r", 0, onPort(svcParent(meshNS, "plain"), 80)))()
			in.Services = append(in.Services, service(meshNS, "plain", "10.96.0.20", svcPort("", 80, 8080, "")))
			return in
		},
		check: func(t *testing.T, out Output, ix *meshconfig.Index) { wantTables(t, out, ":plain:80") },
	}, {
		name:  "without a port, an unhinted port stays TCP",
		quote: `"The protocol of a Service port: appProtocol first, then the port name's prefix, else TCP"; an HTTPRoute attaches only to HTTP ports.`,
		input: func() Input {
			in := with(allV1(meshNS, "r", 0, svcParent(meshNS, "plain")))()
			in.Services = append(in.Services, service(meshNS, "plain", "10.96.0.20", svcPort("web", 80, 8080, "")))
			return in
		},
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			wantTables(t, out)
			wantCondition(t, parentStatus(t, out, KindHTTPRoute, meshNS, "r", 0), "Accepted", metav1.ConditionFalse, "NoMatchingParent")
		},
	}, {
		name:  "a TCPRoute with no port binds the TCP ports",
		quote: `GEP-1294 allows TCPRoutes in a mesh; with no port they take every TCP port (echo's tcp 9090).`,
		input: with(tcpRoute(meshNS, "t", t0, []gatewayv1.ParentReference{svcParent(meshNS, "echo")}, l4Ref(meshNS, "echo-v1", 9090, 1))),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			wantTables(t, out, ":echo:9090")
			if out.Tables[0].Protocol != meshconfig.ProtocolTCP {
				t.Fatalf("protocol %s", out.Tables[0].Protocol)
			}
		},
	}, {
		name:  "a TLSRoute with no port binds the TLS ports",
		quote: `GEP-1294 allows TLSRoutes in a mesh; with no port they take every TLS port (echo's https 443).`,
		input: with(tlsRoute(meshNS, "s", t0, []gatewayv1.ParentReference{svcParent(meshNS, "echo")}, []string{"echo.example"}, l4Ref(meshNS, "echo-v1", 443, 1))),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			wantTables(t, out, ":echo:443")
			if got := out.Tables[0].TLS[0].Hostnames; !slices.Equal(got, []string{"echo.example"}) {
				t.Fatalf("hostnames %v", got)
			}
		},
	}, {
		name:  "a duplicated parentRef gets one status entry",
		quote: `Status entries are keyed by (parentRef, controllerName): one RouteParentStatus per parentRef.`,
		input: with(allV1(meshNS, "r", 0, onPort(svcParent(meshNS, "echo"), 80), onPort(svcParent(meshNS, "echo"), 80))),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			if n := len(out.Statuses[0].Parents); n != 1 {
				t.Fatalf("%d parent statuses, want 1", n)
			}
		},
	}, {
		name:  "a route with a Gateway and a Service parent gets status for the Service only",
		quote: `Status entries are keyed by (parentRef, controllerName); a mesh must not write entries for a Gateway parent it does not own.`,
		input: with(allV1(meshNS, "r", 0, gatewayv1.ParentReference{Name: "gw"}, onPort(svcParent(meshNS, "echo"), 80))),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			ps := out.Statuses[0].Parents
			if len(ps) != 1 || ps[0].ParentRef.Name != "echo" || ps[0].ControllerName != controller {
				t.Fatalf("parents = %+v", ps)
			}
		},
	}, {
		name:  "the parentRef namespace defaults to the route's",
		quote: `ParentReference.Namespace: "When unspecified, this refers to the local namespace of the Route."`,
		input: func() Input {
			p := onPort(svcParent(meshNS, "echo"), 80)
			p.Namespace = nil
			return with(allV1(meshNS, "r", 0, p))()
		},
		check: func(t *testing.T, out Output, ix *meshconfig.Index) { wantTables(t, out, ":echo:80") },
	}, {
		name:  "UDP ports are never bound",
		quote: `HTTP, gRPC, TLS and TCP routes describe TCP traffic; a UDP port of the same number is another port.`,
		input: func() Input {
			in := with(allV1(meshNS, "r", 0, onPort(svcParent(meshNS, "dns"), 53)))()
			p := svcPort("http", 53, 53, "")
			p.Protocol = corev1.ProtocolUDP
			in.Services = append(in.Services, service(meshNS, "dns", "10.96.0.30", p))
			return in
		},
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			wantTables(t, out)
			wantCondition(t, parentStatus(t, out, KindHTTPRoute, meshNS, "r", 0), "Accepted", metav1.ConditionFalse, "NoMatchingParent")
		},
	}, {
		name:  "hostnames play no part in mesh routing",
		quote: `GEP-1294: "GAMMA implementations SHOULD NOT infer any functionality from the hostnames field"; matching is by ClusterIP.`,
		input: func() Input {
			r := allV1(meshNS, "r", 0, onPort(svcParent(meshNS, "echo-v2"), 80))
			r.Spec.Hostnames = []gatewayv1.Hostname{"echo-v1"}
			return with(r)()
		},
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			if r := send(t, ix, meshNS, echoV2IP+":80", request{path: "/", headers: map[string]string{"Host": "echo-v1"}}); routeOf(r) != meshNS+"/r" {
				t.Fatalf("request to echo-v2's ClusterIP not routed by r: %+v", r)
			}
			if r := send(t, ix, meshNS, echoV1IP+":80", request{path: "/", headers: map[string]string{"Host": "echo-v2"}}); r.routed {
				t.Fatal("echo-v1's ClusterIP must not be routed by a route on echo-v2")
			}
		},
	}})
}

func TestProtocolOf(t *testing.T) {
	// "The protocol of a Service port: appProtocol first, then the port
	// name's prefix, else TCP."
	for _, c := range []struct {
		name, appProtocol string
		want              portKind
		hinted            bool
	}{
		{"http", "", kindHTTP, true},
		{"http-alt", "", kindHTTP, true},
		{"http2", "", kindHTTP, true},
		{"h2c-x", "", kindHTTP, true},
		{"grpc", "", kindHTTP, true},
		{"grpc-web", "", kindHTTP, true},
		{"https", "", kindTLS, true},
		{"tls-db", "", kindTLS, true},
		{"tcp", "", kindTCP, true},
		{"web", "", kindTCP, false},
		{"", "", kindTCP, false},
		{"httpx", "", kindTCP, false},
		{"tcp", "http", kindHTTP, true},
		{"http", "kubernetes.io/h2c", kindHTTP, true},
		{"grpc", "grpc", kindHTTP, true},
		{"web", "HTTPS", kindTLS, true},
		{"http", "tcp", kindTCP, true},
		{"http", "example.com/custom", kindHTTP, true},
	} {
		p := svcPort(c.name, 1, 1, c.appProtocol)
		if got, hinted := protocolOf(p); got != c.want || hinted != c.hinted {
			t.Errorf("name %q appProtocol %q: got %s (hinted %v), want %s (hinted %v)", c.name, c.appProtocol, got, hinted, c.want, c.hinted)
		}
	}
}
