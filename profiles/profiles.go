// Package profiles declares the conformance profiles of the GAMMA semantics
// suite and their features. Every feature name starts with "Semantics", so it
// can never collide with an upstream gateway-api feature name; each feature
// is also the Ginkgo label of the specs that test it.
//
// The profiles are data only: the upstream suite never sees them, so the
// upstream ConformanceReport stays exactly as the upstream suite writes it.
package profiles

import "slices"

// MeshSemanticsName is the name of the GAMMA semantics profile.
const MeshSemanticsName = "MESH-SEMANTICS"

// Feature names of the semantics suite. A feature's level follows the
// specification: core features check sentences the specification states as
// MUST of a field or behaviour with "Support: Core" (a mesh cannot follow the
// specification without them); every SHOULD or MAY is an extended feature a
// mesh claims, and so is a MUST inside an Extended field (timeouts, retries,
// session persistence, parentRef port, XBackendTrafficPolicy). Each spec
// states its sentence and level (suites/semantics/requirements.go).
const (
	// Core.
	ProducerRoute        = "SemanticsProducerRoute"
	RouteMerging         = "SemanticsRouteMerging"
	RoutePrecedence      = "SemanticsRoutePrecedence"
	UnmatchedNotFound    = "SemanticsUnmatchedNotFound"
	PassThrough          = "SemanticsPassThrough"
	ParentRefSectionName = "SemanticsParentRefSectionName"
	ParentRefAllPorts    = "SemanticsParentRefAllPorts"
	ParentStatus         = "SemanticsParentStatus"
	BackendFailures      = "SemanticsBackendFailures"
	CrossNamespaceRefs   = "SemanticsCrossNamespaceBackendRef"

	// Extended: SHOULDs and MAYs of GEP-1294 and the API.
	ProducerRouteOtherNamespaces = "SemanticsProducerRouteOtherNamespaces"
	NoRoutePassThrough           = "SemanticsNoRoutePassThrough"
	ConsumerRoute                = "SemanticsConsumerRoute"
	RouteTypeConflict            = "SemanticsRouteTypeConflict"
	TCPRouteConflict             = "SemanticsTCPRouteConflict"
	HeadlessParent               = "SemanticsHeadlessParentRefRejected"
	HostnamesIgnored             = "SemanticsHostnamesIgnored"
	CoreGroupAlias               = "SemanticsParentRefCoreGroup"
	NoEndpoints503               = "SemanticsBackendNoEndpoints503"
	// Extended: Support: Extended fields; GRPCRoute (upstream requires it
	// only in its MESH-GRPC profile).
	GRPCRoute           = "SemanticsGRPCRoute"
	ParentRefPort       = "SemanticsParentRefPort"
	RewritePath         = "SemanticsRewritePath"
	RedirectPath        = "SemanticsRedirectPath"
	RequestTimeout      = "SemanticsRequestTimeout"
	ConsumerTimeout     = "SemanticsConsumerRouteTimeout"
	PrecedenceByTimeout = "SemanticsRoutePrecedenceTimeout"
	// Traffic policy: HTTPRoute retry (experimental), backendRequest
	// timeouts, and XBackendTrafficPolicy (experimental, GEP-3388).
	RouteRetry            = "SemanticsRouteRetry"
	ConsumerRetry         = "SemanticsConsumerRouteRetry"
	BackendRequestTimeout = "SemanticsBackendRequestTimeout"
	RetryTimedOutAttempt  = "SemanticsRetryTimedOutAttempt"
	RetryBudget           = "SemanticsRetryBudget"
	SessionPersistence    = "SemanticsSessionPersistence"
	PolicyConflict        = "SemanticsPolicyConflict"
	PolicyConflictStatus  = "SemanticsPolicyConflictedStatus"
	PolicyTargetNotFound  = "SemanticsPolicyTargetNotFound"
)

// Profile is a named set of features.
type Profile struct {
	Name     string
	Core     []string
	Extended []string
}

// MeshSemantics is the GAMMA semantics profile.
var MeshSemantics = Profile{
	Name: MeshSemanticsName,
	Core: []string{
		ProducerRoute, RouteMerging, RoutePrecedence, UnmatchedNotFound, PassThrough,
		ParentRefSectionName, ParentRefAllPorts, ParentStatus, BackendFailures, CrossNamespaceRefs,
	},
	Extended: []string{
		ProducerRouteOtherNamespaces, NoRoutePassThrough, ConsumerRoute, RouteTypeConflict, TCPRouteConflict,
		HeadlessParent, HostnamesIgnored, CoreGroupAlias, NoEndpoints503,
		GRPCRoute, ParentRefPort, RewritePath, RedirectPath, RequestTimeout, ConsumerTimeout, PrecedenceByTimeout,
		RouteRetry, ConsumerRetry, BackendRequestTimeout, RetryTimedOutAttempt, RetryBudget, SessionPersistence,
		PolicyConflict, PolicyConflictStatus, PolicyTargetNotFound,
	},
}

// IsCore reports whether name is a core feature of a semantics profile.
func IsCore(name string) bool {
	for _, p := range All() {
		if slices.Contains(p.Core, name) {
			return true
		}
	}
	return false
}

// All lists every profile of the semantics suite.
func All() []Profile { return []Profile{MeshSemantics} }

// Features lists every feature of every profile, core first.
func Features() []string {
	var out []string
	for _, p := range All() {
		out = append(out, p.Core...)
		out = append(out, p.Extended...)
	}
	return out
}

// IsFeature reports whether name is a semantics feature.
func IsFeature(name string) bool { return slices.Contains(Features(), name) }
