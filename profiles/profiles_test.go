package profiles

import (
	"slices"
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

func TestUpstreamNamesClaimSemanticsFeaturesPerVersion(t *testing.T) {
	got, err := Claimed("v1.6.3", []string{"MeshConsumerRoute", "HTTPRouteRequestTimeout", RetryBudget, "HTTPRouteRetryCodes"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{ConsumerRoute, ConsumerTimeout, RequestTimeout, PrecedenceByTimeout, RetryBudget}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("v1.6 claims %v, want %v", got, want)
	}
	// HTTPRouteRetry means consumer retries in v1.6; v1.7 calls it HTTPRouteRetryCodes.
	v16, _ := Claimed("v1.6", []string{"MeshConsumerRoute", "HTTPRouteRetry"})
	v17, _ := Claimed("v1.7.0", []string{"MeshConsumerRoute", "HTTPRouteRetry"})
	v17codes, _ := Claimed("v1.7.0", []string{"MeshConsumerRoute", "HTTPRouteRetryCodes"})
	if !slices.Contains(v16, ConsumerRetry) || slices.Contains(v17, ConsumerRetry) || !slices.Contains(v17codes, ConsumerRetry) {
		t.Errorf("retry mapping: v1.6 %v, v1.7 HTTPRouteRetry %v, v1.7 HTTPRouteRetryCodes %v", v16, v17, v17codes)
	}
	if _, err := Claimed("v1.5.1", []string{"MeshConsumerRoute"}); err == nil || !strings.Contains(err.Error(), "known: v1.6, v1.7") {
		t.Errorf("unknown version: %v", err)
	}
	// Semantics names need no mapping: no CRDs (version "") is fine.
	if got, err := Claimed("", []string{RetryBudget}); err != nil || !slices.Equal(got, []string{RetryBudget}) {
		t.Errorf("semantics names without a version: %v %v", got, err)
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
