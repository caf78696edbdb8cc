package routing

import (
	"net/http"
	"slices"

	"sigs.k8s.io/gateway-api/pkg/features"

	"gamma-conformance/profiles"
)

// The features a mesh with given choices claims on its XMesh object. They
// live with the choices, so that the controller, which publishes them, and
// the installer (harness/mesh), which waits for them, share one list
// without the installer importing the controller.

// upstreamFeatures are the upstream features both meshes claim on their
// XMesh object, for the upstream suite's feature inference (--mesh-name).
// Each is proven by the upstream test that needs it; the traffic policy
// ones by the semantics specs SemanticsRequestTimeout,
// SemanticsBackendRequestTimeout and SemanticsConsumerRouteRetry.
var upstreamFeatures = []features.FeatureName{
	features.SupportMesh,
	features.SupportHTTPRoute,
	features.SupportGRPCRoute,
	features.SupportMeshClusterIPMatching,
	features.SupportMeshConsumerRoute,
	features.SupportMeshHTTPRouteRewritePath,
	features.SupportMeshHTTPRouteSchemeRedirect,
	features.SupportMeshHTTPRouteRedirectPort,
	features.SupportMeshHTTPRouteRedirectPath,
	features.SupportMeshHTTPRouteBackendRequestHeaderModification,
	features.SupportMeshHTTPRouteQueryParamMatching,
	features.SupportMeshHTTPRouteNamedRouteRule,
	features.SupportHTTPRouteResponseHeaderModification,
	features.SupportHTTPRouteParentRefPort,
	features.SupportHTTPRoute303RedirectStatusCode,
	features.SupportHTTPRoute307RedirectStatusCode,
	features.SupportHTTPRoute308RedirectStatusCode,
	features.SupportHTTPRouteRequestTimeout,
	features.SupportHTTPRouteBackendTimeout,
	features.SupportHTTPRouteRetry,
	features.SupportHTTPRouteRetryBackendTimeout,
	// Gateway API v1.7.0's names (the v1.6.3 types here do not have them):
	// it split HTTPRouteRetry into these two, and adds a GRPCRoute filter
	// feature. Each release's suite ignores the other's names.
	retryCodesV17,
	retryConnectionErrorV17,
	"GRPCRouteRequestHeaderModifier",
}

// Upstream feature names of Gateway API v1.7.0.
const (
	retryCodesV17           features.FeatureName = "HTTPRouteRetryCodes"
	retryConnectionErrorV17 features.FeatureName = "HTTPRouteRetryConnectionError"
)

// UpstreamFeatures are the upstream features a mesh with choices c claims:
// every one of upstreamFeatures except the retry of a timed-out attempt
// (v1.6.3 HTTPRouteRetryBackendTimeout; v1.7.0 HTTPRouteRetryConnectionError,
// whose connection errors include "timeout") when it is not retried.
func (c Choices) UpstreamFeatures() []features.FeatureName {
	return slices.DeleteFunc(slices.Clone(upstreamFeatures), func(f features.FeatureName) bool {
		return (f == features.SupportHTTPRouteRetryBackendTimeout || f == retryConnectionErrorV17) && c.NoRetryOnBackendTimeout
	})
}

// SemanticsFeatures are the semantics features (profiles) a mesh with
// choices c claims: every one, less the extended features whose specs
// check an answer these choices do not give (core features are never
// dropped: their specs accept every allowed answer, so the alternate must
// pass them too):
//
//   - MergeHTTPAndGRPC: RouteTypeConflict (a GRPCRoute beats an HTTPRoute,
//     which is Conflicted);
//   - RejectCoreGroupAlias: CoreGroupAlias (group "core" binds like "");
//   - NoEndpointsStatus other than 503: NoEndpoints503;
//   - NoRetryOnBackendTimeout: RetryTimedOutAttempt;
//   - FixedSessionName: SessionPersistence (two rules' sessions share the
//     one cookie name);
//   - AcceptPolicyChallengers: PolicyConflictStatus (the newer is
//     Conflicted; the older still applies, PolicyConflict).
//
// CrossNamespaceBackendsNeedGrant drops nothing: the consumer-route specs
// grant their namespaces access to each other (legal on every mesh), and
// the spec of a cross-namespace backendRef without a grant accepts both
// answers.
func (c Choices) SemanticsFeatures() []string {
	drop := map[string]bool{
		profiles.RouteTypeConflict:    c.MergeHTTPAndGRPC,
		profiles.CoreGroupAlias:       c.RejectCoreGroupAlias,
		profiles.NoEndpoints503:       c.NoEndpointsStatus != 0 && c.NoEndpointsStatus != http.StatusServiceUnavailable,
		profiles.RetryTimedOutAttempt: c.NoRetryOnBackendTimeout,
		profiles.SessionPersistence:   c.FixedSessionName != "",
		profiles.PolicyConflictStatus: c.AcceptPolicyChallengers,
	}
	return slices.DeleteFunc(profiles.Features(), func(f string) bool { return drop[f] })
}
