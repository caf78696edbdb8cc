package routing

import (
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"gamma-conformance/referenceimpl/meshconfig"
)

// This file builds test snapshots. The fixture mirrors the upstream mesh
// manifests (gateway-api v1.6.3 conformance/mesh/manifests.yaml).

const (
	meshNS     = "gateway-conformance-mesh"
	consumerNS = "gateway-conformance-mesh-consumer"
	controller = "example.com/gamma-reference"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func meta(ns, name string, created time.Time) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: ns, Name: name, Generation: 1, CreationTimestamp: metav1.NewTime(created)}
}

func svcPort(name string, port, target int32, appProtocol string) corev1.ServicePort {
	p := corev1.ServicePort{Name: name, Port: port, Protocol: corev1.ProtocolTCP}
	p.TargetPort.IntVal = target
	if appProtocol != "" {
		p.AppProtocol = ptr.To(appProtocol)
	}
	return p
}

func service(ns, name, ip string, ports ...corev1.ServicePort) corev1.Service {
	return corev1.Service{
		ObjectMeta: meta(ns, name, t0),
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, ClusterIP: ip, ClusterIPs: []string{ip}, Ports: ports},
	}
}

// endpointSlice gives a Service named ports, each on the same target port
// number as in the echo pods, with the given ready addresses.
func endpointSlice(ns, svc, suffix string, ports map[string]int32, ips ...string) discoveryv1.EndpointSlice {
	es := discoveryv1.EndpointSlice{
		ObjectMeta:  meta(ns, svc+"-"+suffix, t0),
		AddressType: discoveryv1.AddressTypeIPv4,
	}
	es.Labels = map[string]string{discoveryv1.LabelServiceName: svc}
	for name, p := range ports {
		es.Ports = append(es.Ports, discoveryv1.EndpointPort{Name: ptr.To(name), Port: ptr.To(p), Protocol: ptr.To(corev1.ProtocolTCP)})
	}
	for _, ip := range ips {
		es.Endpoints = append(es.Endpoints, discoveryv1.Endpoint{Addresses: []string{ip}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}})
	}
	return es
}

func echoPorts(grpcAppProtocol string) []corev1.ServicePort {
	return []corev1.ServicePort{
		svcPort("http", 80, 8080, "http"),
		svcPort("http-alt", 8080, 8080, "http"),
		svcPort("https", 443, 8443, ""),
		svcPort("tcp", 9090, 9090, ""),
		svcPort("grpc", 7070, 7070, grpcAppProtocol),
	}
}

var echoTargets = map[string]int32{"http": 8080, "http-alt": 8080, "https": 8443, "tcp": 9090, "grpc": 7070}

const (
	echoIP   = "10.96.0.10"
	echoV1IP = "10.96.0.11"
	echoV2IP = "10.96.0.12"
	v1Pod    = "10.244.0.11"
	v2Pod    = "10.244.0.12"
)

// fixture is the upstream mesh fixture: Services echo (both versions),
// echo-v1 and echo-v2 in gateway-conformance-mesh.
func fixture() Input {
	return Input{
		ControllerName: controller,
		Services: []corev1.Service{
			service(meshNS, "echo", echoIP, echoPorts("kubernetes.io/h2c")...),
			service(meshNS, "echo-v1", echoV1IP, echoPorts("")...),
			service(meshNS, "echo-v2", echoV2IP, echoPorts("")...),
		},
		EndpointSlices: []discoveryv1.EndpointSlice{
			endpointSlice(meshNS, "echo", "a", echoTargets, v1Pod, v2Pod),
			endpointSlice(meshNS, "echo-v1", "a", echoTargets, v1Pod),
			endpointSlice(meshNS, "echo-v2", "a", echoTargets, v2Pod),
		},
	}
}

func svcParent(ns, name string) gatewayv1.ParentReference {
	return gatewayv1.ParentReference{Group: ptr.To(gatewayv1.Group("")), Kind: ptr.To(gatewayv1.Kind("Service")),
		Namespace: ptr.To(gatewayv1.Namespace(ns)), Name: gatewayv1.ObjectName(name)}
}

func onPort(p gatewayv1.ParentReference, port int32) gatewayv1.ParentReference {
	p.Port = ptr.To(port)
	return p
}

func onSection(p gatewayv1.ParentReference, section string) gatewayv1.ParentReference {
	p.SectionName = ptr.To(gatewayv1.SectionName(section))
	return p
}

func backendRef(ns, name string, port, weight int32) gatewayv1.HTTPBackendRef {
	return gatewayv1.HTTPBackendRef{BackendRef: gatewayv1.BackendRef{
		BackendObjectReference: gatewayv1.BackendObjectReference{
			Name: gatewayv1.ObjectName(name), Namespace: ptr.To(gatewayv1.Namespace(ns)), Port: ptr.To(port)},
		Weight: ptr.To(weight),
	}}
}

func l4Ref(ns, name string, port, weight int32) gatewayv1.BackendRef {
	return backendRef(ns, name, port, weight).BackendRef
}

func grpcRef(ns, name string, port, weight int32) gatewayv1.GRPCBackendRef {
	return gatewayv1.GRPCBackendRef{BackendRef: l4Ref(ns, name, port, weight)}
}

func pathMatch(t gatewayv1.PathMatchType, v string) gatewayv1.HTTPRouteMatch {
	return gatewayv1.HTTPRouteMatch{Path: &gatewayv1.HTTPPathMatch{Type: ptr.To(t), Value: ptr.To(v)}}
}

func prefix(v string) gatewayv1.HTTPRouteMatch { return pathMatch(gatewayv1.PathMatchPathPrefix, v) }
func exact(v string) gatewayv1.HTTPRouteMatch  { return pathMatch(gatewayv1.PathMatchExact, v) }

func withHeader(m gatewayv1.HTTPRouteMatch, name, value string) gatewayv1.HTTPRouteMatch {
	m.Headers = append(m.Headers, gatewayv1.HTTPHeaderMatch{Name: gatewayv1.HTTPHeaderName(name), Value: value})
	return m
}

func withQuery(m gatewayv1.HTTPRouteMatch, name, value string) gatewayv1.HTTPRouteMatch {
	m.QueryParams = append(m.QueryParams, gatewayv1.HTTPQueryParamMatch{Name: gatewayv1.HTTPHeaderName(name), Value: value})
	return m
}

func withMethod(m gatewayv1.HTTPRouteMatch, method string) gatewayv1.HTTPRouteMatch {
	m.Method = ptr.To(gatewayv1.HTTPMethod(method))
	return m
}

func rule(matches []gatewayv1.HTTPRouteMatch, refs ...gatewayv1.HTTPBackendRef) gatewayv1.HTTPRouteRule {
	return gatewayv1.HTTPRouteRule{Matches: matches, BackendRefs: refs}
}

func httpRoute(ns, name string, created time.Time, parents []gatewayv1.ParentReference, rules ...gatewayv1.HTTPRouteRule) gatewayv1.HTTPRoute {
	return gatewayv1.HTTPRoute{ObjectMeta: meta(ns, name, created),
		Spec: gatewayv1.HTTPRouteSpec{CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: parents}, Rules: rules}}
}

func grpcRoute(ns, name string, created time.Time, parents []gatewayv1.ParentReference, rules ...gatewayv1.GRPCRouteRule) gatewayv1.GRPCRoute {
	return gatewayv1.GRPCRoute{ObjectMeta: meta(ns, name, created),
		Spec: gatewayv1.GRPCRouteSpec{CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: parents}, Rules: rules}}
}

func tcpRoute(ns, name string, created time.Time, parents []gatewayv1.ParentReference, refs ...gatewayv1.BackendRef) gatewayv1.TCPRoute {
	return gatewayv1.TCPRoute{ObjectMeta: meta(ns, name, created),
		Spec: gatewayv1.TCPRouteSpec{CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: parents},
			Rules: []gatewayv1.TCPRouteRule{{BackendRefs: refs}}}}
}

func tlsRoute(ns, name string, created time.Time, parents []gatewayv1.ParentReference, hosts []string, refs ...gatewayv1.BackendRef) gatewayv1.TLSRoute {
	var hs []gatewayv1.Hostname
	for _, h := range hosts {
		hs = append(hs, gatewayv1.Hostname(h))
	}
	return gatewayv1.TLSRoute{ObjectMeta: meta(ns, name, created),
		Spec: gatewayv1.TLSRouteSpec{CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: parents}, Hostnames: hs,
			Rules: []gatewayv1.TLSRouteRule{{BackendRefs: refs}}}}
}

// compile runs the model and checks what every output must satisfy: the
// tables validate and index (the proxy would accept them).
func compile(t *testing.T, in Input) (Output, *meshconfig.Index) {
	t.Helper()
	out := Compile(in)
	ix, err := meshconfig.NewIndex(&meshconfig.Snapshot{Tables: out.Tables})
	if err != nil {
		t.Fatalf("compiled tables do not validate: %v", err)
	}
	return out, ix
}

// request is what a client sends; result is what the table says happens.
type request struct {
	method, path string
	headers      map[string]string
	query        map[string]string
}

type result struct {
	routed bool // false: not routed, the connection passes through
	status int  // 404 when no match; the DirectStatus of the rule; 0 when forwarded
	rule   *meshconfig.HTTPRule
}

// send evaluates a request against the index the way the proxy must: the
// first entry of the sorted matches that matches. It is the test's own
// reading of the match semantics, independent of the proxy.
func send(t *testing.T, ix *meshconfig.Index, clientNS, dst string, r request) result {
	t.Helper()
	tbl := ix.Lookup(clientNS, netip.MustParseAddrPort(dst))
	if tbl == nil {
		return result{}
	}
	if tbl.HTTP == nil {
		t.Fatalf("%s is a %s table, not HTTP", dst, tbl.Protocol)
	}
	if r.method == "" {
		r.method = "GET"
	}
	for _, m := range tbl.HTTP.Matches {
		if !matchString(m.Path, r.path, true) || (m.Method != "" && m.Method != r.method) {
			continue
		}
		ok := true
		for _, h := range m.Headers {
			v, found := "", false
			for k, hv := range r.headers {
				if strings.EqualFold(k, h.Name) {
					v, found = hv, true
				}
			}
			ok = ok && found && matchString(meshconfig.StringMatch{Type: h.Type, Value: h.Value}, v, false)
		}
		for _, q := range m.Query {
			v, found := r.query[q.Name]
			ok = ok && found && matchString(meshconfig.StringMatch{Type: q.Type, Value: q.Value}, v, false)
		}
		if ok {
			rule := &tbl.HTTP.Rules[m.Rule]
			return result{routed: true, status: rule.DirectStatus, rule: rule}
		}
	}
	return result{routed: true, status: 404}
}

func matchString(m meshconfig.StringMatch, v string, path bool) bool {
	switch m.Type {
	case meshconfig.MatchExact:
		return v == m.Value
	case meshconfig.MatchRegex:
		return regexp.MustCompile("^(?:" + m.Value + ")$").MatchString(v)
	default:
		p := strings.TrimSuffix(m.Value, "/")
		return path && (v == p || strings.HasPrefix(v, p+"/") || p == "")
	}
}

func routeOf(r result) string {
	if r.rule == nil {
		return ""
	}
	return r.rule.Route.Namespace + "/" + r.rule.Route.Name
}

// parentStatus returns the conditions for one route and parent index.
func parentStatus(t *testing.T, out Output, kind, ns, name string, parent int) map[string]metav1.Condition {
	t.Helper()
	for _, s := range out.Statuses {
		if s.Kind == kind && s.Namespace == ns && s.Name == name {
			if parent >= len(s.Parents) {
				t.Fatalf("%s %s/%s has %d parent statuses, want index %d", kind, ns, name, len(s.Parents), parent)
			}
			m := map[string]metav1.Condition{}
			for _, c := range s.Parents[parent].Conditions {
				m[c.Type] = c
			}
			return m
		}
	}
	t.Fatalf("no status for %s %s/%s", kind, ns, name)
	return nil
}

func wantCondition(t *testing.T, conds map[string]metav1.Condition, typ string, status metav1.ConditionStatus, reason string) {
	t.Helper()
	c, ok := conds[typ]
	if !ok {
		t.Fatalf("condition %s missing; have %v", typ, conds)
	}
	if c.Status != status || c.Reason != reason {
		t.Fatalf("condition %s = %s/%s (%s), want %s/%s", typ, c.Status, c.Reason, c.Message, status, reason)
	}
}

func secs(n int) time.Duration { return time.Duration(n) * time.Second }

func itoa(n int32) string { return strconv.Itoa(int(n)) }
