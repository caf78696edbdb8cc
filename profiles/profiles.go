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

// Feature names of the semantics suite. Core features are behaviour the GAMMA
// specification says a mesh MUST (or, for status, SHOULD) have; extended ones
// are optional in the API (timeouts, TCPRoute, the "core" group alias).
const (
	ProducerRoute       = "SemanticsProducerRoute"
	ConsumerRoute       = "SemanticsConsumerRoute"
	RouteMerging        = "SemanticsRouteMerging"
	RoutePrecedence     = "SemanticsRoutePrecedence"
	RouteTypeConflict   = "SemanticsRouteTypeConflict"
	UnmatchedNotFound   = "SemanticsUnmatchedNotFound"
	PassThrough         = "SemanticsPassThrough"
	ParentRefPort       = "SemanticsParentRefPort"
	ParentStatus        = "SemanticsParentStatus"
	BackendFailures     = "SemanticsBackendFailures"
	CrossNamespaceRefs  = "SemanticsCrossNamespaceBackendRef"
	GRPCRoute           = "SemanticsGRPCRoute"
	CoreGroupAlias      = "SemanticsParentRefCoreGroup"
	TCPRouteConflict    = "SemanticsTCPRouteConflict"
	RequestTimeout      = "SemanticsRequestTimeout"
	ConsumerTimeout     = "SemanticsConsumerRouteTimeout"
	PrecedenceByTimeout = "SemanticsRoutePrecedenceTimeout"
	// Traffic policy: HTTPRoute retry (experimental), backendRequest
	// timeouts, and XBackendTrafficPolicy (experimental, GEP-3388).
	ConsumerRetry         = "SemanticsConsumerRouteRetry"
	BackendRequestTimeout = "SemanticsBackendRequestTimeout"
	RetryBudget           = "SemanticsRetryBudget"
	SessionPersistence    = "SemanticsSessionPersistence"
	PolicyConflict        = "SemanticsPolicyConflict"
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
		ProducerRoute, ConsumerRoute, RouteMerging, RoutePrecedence, RouteTypeConflict,
		UnmatchedNotFound, PassThrough, ParentRefPort, ParentStatus, BackendFailures,
		CrossNamespaceRefs, GRPCRoute,
	},
	Extended: []string{CoreGroupAlias, TCPRouteConflict, RequestTimeout, ConsumerTimeout, PrecedenceByTimeout,
		ConsumerRetry, BackendRequestTimeout, RetryBudget, SessionPersistence, PolicyConflict},
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
