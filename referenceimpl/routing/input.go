package routing

import (
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayxv1a1 "sigs.k8s.io/gateway-api/apisx/v1alpha1"

	"gamma-conformance/referenceimpl/meshconfig"
)

// Input is everything the routing model reads. Order does not matter: the
// same objects in any order compile to the same Output.
type Input struct {
	// ControllerName is written into every RouteParentStatus.
	ControllerName gatewayv1.GatewayController
	// Choices are the answers to the questions the specification leaves
	// open; the zero value is Reference.
	Choices Choices

	Services       []corev1.Service
	EndpointSlices []discoveryv1.EndpointSlice

	HTTPRoutes []gatewayv1.HTTPRoute
	GRPCRoutes []gatewayv1.GRPCRoute
	TCPRoutes  []gatewayv1.TCPRoute
	TLSRoutes  []gatewayv1.TLSRoute

	// BackendTrafficPolicies are the XBackendTrafficPolicies (retry budget,
	// session persistence) of the Services.
	BackendTrafficPolicies []gatewayxv1a1.XBackendTrafficPolicy

	// ReferenceGrants are read only when Choices.CrossNamespaceBackendsNeedGrant.
	ReferenceGrants []gatewayv1.ReferenceGrant

	// CookiePaths are the session cookies' paths (CookieConfig.Path,
	// Gateway API v1.7.0), which the v1.6.3 types of HTTPRoute and
	// XBackendTrafficPolicy cannot carry: the controller reads them beside
	// the objects. A session with none gets Path=/ from the proxy (v1.7.0:
	// "When not specified, implementations MUST default the cookie path to
	// "/"").
	CookiePaths map[SessionRef]string
}

// AddCookiePath records the cookie path of a session ("" records nothing).
func (in *Input) AddCookiePath(ref SessionRef, path string) {
	if path == "" {
		return
	}
	if in.CookiePaths == nil {
		in.CookiePaths = map[SessionRef]string{}
	}
	in.CookiePaths[ref] = path
}

// SessionRef names where a SessionPersistence is configured: an HTTPRoute's
// rule (by index) or an XBackendTrafficPolicy (Rule -1).
type SessionRef struct {
	Kind, Namespace, Name string
	Rule                  int
}

// RuleSessionRef is the SessionRef of an HTTPRoute's rule.
func RuleSessionRef(namespace, name string, rule int) SessionRef {
	return SessionRef{Kind: KindHTTPRoute, Namespace: namespace, Name: name, Rule: rule}
}

// PolicySessionRef is the SessionRef of an XBackendTrafficPolicy.
func PolicySessionRef(namespace, name string) SessionRef {
	return SessionRef{Kind: "XBackendTrafficPolicy", Namespace: namespace, Name: name, Rule: -1}
}

// Output is what the mesh must do.
type Output struct {
	// Tables are the producer tables and consumer overlays, sorted by
	// Service, port and client namespace.
	Tables []meshconfig.Table
	// Statuses has one entry per input route that has at least one Service
	// parentRef, sorted by kind, namespace and name.
	Statuses []RouteStatus
	// PolicyStatuses has one entry per input XBackendTrafficPolicy, sorted
	// by namespace and name.
	PolicyStatuses []PolicyStatus
}

// Route kinds, as they appear in RouteStatus.Kind and meshconfig.RouteKey.
const (
	KindHTTPRoute = "HTTPRoute"
	KindGRPCRoute = "GRPCRoute"
	KindTCPRoute  = "TCPRoute"
	KindTLSRoute  = "TLSRoute"
)

// RouteStatus is the status the mesh must write for one route: one
// RouteParentStatus per Service parentRef, with ControllerName set. Entries
// of other controllers are not included; the writer must keep them.
type RouteStatus struct {
	Kind       string
	Namespace  string
	Name       string
	Generation int64
	Parents    []gatewayv1.RouteParentStatus
}

// ReasonConflicted is the Accepted=False reason of a route that lost a
// route-type conflict on every Service port it targets. GEP-1294 names it
// RouteReasonConflicted; Gateway API v1.6.3 has no constant for it.
const ReasonConflicted gatewayv1.RouteConditionReason = "Conflicted"
