package routing

import (
	"slices"
	"testing"

	"sigs.k8s.io/gateway-api/pkg/features"

	"gamma-conformance/profiles"
)

func TestClaims(t *testing.T) {
	if got := Reference.UpstreamFeatures(); !slices.Equal(got, upstreamFeatures) {
		t.Errorf("the reference claims %v, want every upstream feature %v", got, upstreamFeatures)
	}
	alt := Alternate.UpstreamFeatures()
	if slices.Contains(alt, features.SupportHTTPRouteRetryBackendTimeout) || slices.Contains(alt, retryConnectionErrorV17) || len(alt) != len(upstreamFeatures)-2 {
		t.Errorf("the alternate claims %v, want all but HTTPRouteRetryBackendTimeout (v1.6.3) and HTTPRouteRetryConnectionError (v1.7.0)", alt)
	}
	if got := Reference.SemanticsFeatures(); !slices.Equal(got, profiles.Features()) {
		t.Errorf("the reference claims the semantics features %v, want every one", got)
	}
}
