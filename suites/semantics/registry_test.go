package semantics

import (
	"context"
	"slices"
	"strings"
	"testing"

	"k8s.io/client-go/rest"

	"gamma-conformance/profiles"
	"gamma-conformance/reportgen/results"
)

func TestEverySpecTestsKnownFeatures(t *testing.T) {
	if len(Specs()) < 52 {
		t.Fatalf("%d specs registered, want at least 52", len(Specs()))
	}
	for _, sp := range Specs() {
		if len(sp.Features()) == 0 {
			t.Errorf("%q tests no feature", sp.FullText())
		}
		for _, f := range sp.Features() {
			if !profiles.IsFeature(f) {
				t.Errorf("%q: label %q is no semantics feature", sp.FullText(), f)
			}
		}
		if sp.Container == "" || sp.Pods() == 0 {
			t.Errorf("%q: no group or no fixture", sp.FullText())
		}
	}
}

func texts(specs []Spec) []string {
	var out []string
	for _, sp := range specs {
		out = append(out, sp.Text)
	}
	return out
}

func TestSelectionFollowsGinkgoMeanings(t *testing.T) {
	controls := selected(Config{LabelFilter: "control"})
	if len(controls) == 0 {
		t.Fatal("no control selected")
	}
	for _, sp := range controls {
		if !sp.Control() {
			t.Errorf("label filter control selected %q", sp.FullText())
		}
	}
	notControls := selected(Config{LabelFilter: "!control"})
	if len(controls)+len(notControls) != len(Specs()) {
		t.Errorf("control %d + !control %d != %d specs", len(controls), len(notControls), len(Specs()))
	}
	one := selected(Config{Focus: []string{`^Pass-through with no routes a TCP port passes through$`}})
	if got := texts(one); !slices.Equal(got, []string{"with no routes a TCP port passes through"}) {
		t.Errorf("focus selected %q", got)
	}
	rest := selected(Config{LabelFilter: "control", Skip: []string{"TCP"}})
	for _, sp := range rest {
		if strings.Contains(sp.FullText(), "TCP") {
			t.Errorf("skip TCP kept %q", sp.FullText())
		}
	}
	if len(rest) >= len(controls) {
		t.Errorf("skip removed nothing: %d of %d", len(rest), len(controls))
	}
}

func TestGatingAsUpstream(t *testing.T) {
	gate := func(cfg Config) map[string]bool {
		t.Helper()
		cfg.GatewayAPIVersion = "v1.6.3"
		got, err := claims(context.Background(), cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	none := gate(Config{})
	for _, p := range profiles.All() {
		for _, f := range p.Core {
			if !none[f] {
				t.Errorf("core %s does not run without claims", f)
			}
		}
		for _, f := range p.Extended {
			if none[f] {
				t.Errorf("extended %s runs though nothing claims it", f)
			}
		}
	}
	only := gate(Config{SupportedFeatures: []string{profiles.RetryBudget, "HTTPRouteRequestTimeout"}})
	if !only[profiles.RequestTimeout] || !only[profiles.RetryBudget] || only[profiles.SessionPersistence] || only[profiles.ConsumerTimeout] {
		t.Errorf("claims %v", only)
	}
	all := gate(Config{AllFeatures: true, ExemptFeatures: []string{profiles.RetryBudget}})
	if all[profiles.RetryBudget] || !all[profiles.SessionPersistence] {
		t.Errorf("all minus budget: %v", all)
	}
	if got := unsupported([]string{profiles.RetryBudget, "control"}, all); !slices.Equal(got, []string{profiles.RetryBudget}) {
		t.Errorf("unsupported %v", got)
	}
}

func TestOnlyProvenFeaturesCountAsSupported(t *testing.T) {
	tests := []results.Test{
		{Features: []string{profiles.RetryBudget}, Outcome: results.Passed},
		{Features: []string{profiles.SessionPersistence}, Outcome: results.Passed},
		{Features: []string{profiles.SessionPersistence}, Outcome: results.Failed},
	}
	proven := provenFeatures(tests)
	if !proven[profiles.RetryBudget] || proven[profiles.SessionPersistence] || proven[profiles.PolicyConflict] {
		t.Errorf("proven %v", proven)
	}
	claimed := supportedFeatures([]string{profiles.RetryBudget, profiles.SessionPersistence, profiles.PolicyConflict}, nil)
	p := resultProfiles(claimed, proven)[0]
	if !slices.Contains(p.SupportedExtended, profiles.RetryBudget) || slices.Contains(p.SupportedExtended, profiles.SessionPersistence) || slices.Contains(p.SupportedExtended, profiles.PolicyConflict) {
		t.Errorf("supported extended %v", p.SupportedExtended)
	}
}

func TestValidateNamesEachProblem(t *testing.T) {
	err := Config{LabelFilter: "a &&", Focus: []string{"("}, SupportedFeatures: []string{"SemanticsProducerRoutes"}}.Defaults().Validate()
	if err == nil {
		t.Fatal("bad config accepted")
	}
	for _, want := range []string{"RESTConfig is nil", `label filter "a &&"`, `"(" is not a regular expression`, "did you mean SemanticsProducerRoute"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if err := (Config{RESTConfig: &rest.Config{}}).Defaults().Validate(); err != nil {
		t.Errorf("good config refused: %v", err)
	}
}
