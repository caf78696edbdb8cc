package profiles

import (
	"strings"
	"testing"

	"sigs.k8s.io/gateway-api/pkg/features"
)

func TestFeatureNamesNeverCollideWithUpstream(t *testing.T) {
	upstream := features.SetsToNamesSet(features.AllFeatures)
	seen := map[string]bool{}
	for _, f := range Features() {
		if upstream.Has(features.FeatureName(f)) {
			t.Errorf("feature %s is also an upstream feature", f)
		}
		if !strings.HasPrefix(f, "Semantics") {
			t.Errorf("feature %s lacks the Semantics prefix", f)
		}
		if strings.ContainsAny(f, "&|!,()/: \t") {
			t.Errorf("feature %s cannot be a Ginkgo label", f)
		}
		if seen[f] {
			t.Errorf("feature %s listed twice", f)
		}
		seen[f] = true
	}
	if !IsFeature(ProducerRoute) || IsFeature("Mesh") {
		t.Error("IsFeature disagrees with Features")
	}
}

func TestCheckFeatureNames(t *testing.T) {
	if err := CheckFeatureNames("--supported-features", []string{"Mesh", "MeshClusterIPMatching", "HTTPRouteQueryParamMatching", ProducerRoute}); err != nil {
		t.Errorf("known names rejected: %v", err)
	}
	for _, c := range []struct{ name, want string }{
		{"MeshClusterIpMatching", `unknown feature name "MeshClusterIpMatching" in --supported-features: did you mean MeshClusterIPMatching?`},
		{"SemanticsProducerRoutes", `did you mean SemanticsProducerRoute?`},
		{"Frobnicate", `unknown feature name "Frobnicate" in --supported-features: the names are those of sigs.k8s.io/gateway-api/pkg/features`},
	} {
		err := CheckFeatureNames("--supported-features", []string{"Mesh", c.name})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error containing %q", c.name, err, c.want)
		}
	}
}

func TestCoreAndExtendedApart(t *testing.T) {
	for _, f := range MeshSemantics.Core {
		if !IsCore(f) {
			t.Errorf("core feature %s: IsCore false", f)
		}
	}
	for _, f := range MeshSemantics.Extended {
		if IsCore(f) {
			t.Errorf("extended feature %s: IsCore true", f)
		}
	}
	// SHOULDs of GEP-1294 and Extended fields are never core.
	for _, f := range []string{ConsumerRoute, RouteTypeConflict, HeadlessParent, NoEndpoints503, RetryTimedOutAttempt,
		PolicyConflictStatus, ParentRefPort, CoreGroupAlias, ProducerRouteOtherNamespaces, GRPCRoute} {
		if IsCore(f) {
			t.Errorf("%s is core", f)
		}
	}
	for _, f := range []string{ParentRefSectionName, ParentStatus, BackendFailures} {
		if !IsCore(f) {
			t.Errorf("%s (a MUST of a Support: Core field) is not core", f)
		}
	}
}
