package routing

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// portKind is the protocol family of a Service port.
type portKind int

const (
	kindTCP portKind = iota
	kindHTTP
	kindTLS
)

func (k portKind) String() string {
	switch k {
	case kindHTTP:
		return "HTTP"
	case kindTLS:
		return "TLS"
	default:
		return "TCP"
	}
}

// appProtocols maps appProtocol values (lower case) to a port kind.
var appProtocols = map[string]portKind{
	"http":              kindHTTP,
	"http2":             kindHTTP,
	"h2c":               kindHTTP,
	"grpc":              kindHTTP,
	"grpc-web":          kindHTTP,
	"kubernetes.io/h2c": kindHTTP,
	"kubernetes.io/ws":  kindHTTP,
	"https":             kindTLS,
	"tls":               kindTLS,
	"kubernetes.io/wss": kindTLS,
	"tcp":               kindTCP,
}

// namePrefixes maps the first dash-separated token of a port name to a port
// kind, the naming convention meshes have long used ("http-alt", "grpc").
var namePrefixes = map[string]portKind{
	"http":  kindHTTP,
	"http2": kindHTTP,
	"h2c":   kindHTTP,
	"grpc":  kindHTTP,
	"https": kindTLS,
	"tls":   kindTLS,
	"tcp":   kindTCP,
}

// protocolOf returns the kind of a Service port: appProtocol first, then the
// port name's prefix, else TCP. hinted is false when neither said anything.
//
// For the upstream fixture's `echo` Service: http 80 and http-alt 8080
// (appProtocol http) and grpc 7070 (appProtocol kubernetes.io/h2c) are HTTP;
// https 443 is TLS; tcp 9090 is TCP. echo-v1/echo-v2's grpc 7070 has no
// appProtocol and is HTTP by its name.
func protocolOf(p corev1.ServicePort) (kind portKind, hinted bool) {
	if k, ok := appProtocolOf(p); ok {
		return k, true
	}
	token, _, _ := strings.Cut(strings.ToLower(p.Name), "-")
	if k, ok := namePrefixes[token]; ok {
		return k, true
	}
	return kindTCP, false
}

// appProtocolOf returns the kind a port's appProtocol names, if it names one.
func appProtocolOf(p corev1.ServicePort) (portKind, bool) {
	if p.AppProtocol == nil {
		return kindTCP, false
	}
	k, ok := appProtocols[strings.ToLower(*p.AppProtocol)]
	return k, ok
}

// portProtocol is protocolOf, or with Choices.IgnorePortNames the
// appProtocol alone.
func (c *Choices) portProtocol(p corev1.ServicePort) (kind portKind, hinted bool) {
	if c.IgnorePortNames {
		return appProtocolOf(p)
	}
	return protocolOf(p)
}

// routeKindOf is the port kind each route kind speaks.
func routeKindOf(routeKind string) portKind {
	switch routeKind {
	case KindHTTPRoute, KindGRPCRoute:
		return kindHTTP
	case KindTLSRoute:
		return kindTLS
	default:
		return kindTCP
	}
}

// attachable says whether a route of routeKind may attach to port p. A port
// chosen by the parentRef (explicit) may also be one with no protocol hint,
// and a TCPRoute may take any port it names.
func attachable(routeKind string, p corev1.ServicePort, explicit bool, c *Choices) bool {
	kind, hinted := c.portProtocol(p)
	want := routeKindOf(routeKind)
	if kind == want {
		return true
	}
	if !explicit {
		return false
	}
	return !hinted || want == kindTCP
}

// typeRank orders route kinds for conflicts on one port: GEP-1294's
// GRPCRoute > HTTPRoute > TLSRoute > TCPRoute; with mergeHTTP, HTTPRoute
// ranks with GRPCRoute.
func typeRank(routeKind string, mergeHTTP bool) int {
	switch routeKind {
	case KindGRPCRoute:
		return 4
	case KindHTTPRoute:
		if mergeHTTP {
			return 4
		}
		return 3
	case KindTLSRoute:
		return 2
	default:
		return 1
	}
}
