package semantics

import (
	"context"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/rest"

	"gamma-conformance/profiles"
	"gamma-conformance/reportgen/results"
	"gamma-conformance/suites/internal/kube"
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

// The pods of a run are shared: the whole suite needs few (issue #17), and
// every name a spec gives its objects (<spec id>-<name>) is a valid
// Service name and unique to the spec.
func TestSpecsSharePodsAndNameTheirOwnObjects(t *testing.T) {
	if n := SharedPods(Specs()); n > 40 {
		t.Errorf("the suite starts %d pods, want at most 40", n)
	}
	ids := map[string]string{}
	for _, sp := range Specs() {
		if other, ok := ids[sp.id]; ok {
			t.Errorf("%q and %q share the id %s", sp.FullText(), other, sp.id)
		}
		ids[sp.id] = sp.FullText()
		s := &S{spec: sp}
		for _, a := range sp.fixture.Apps {
			if errs := validation.IsDNS1035Label(s.Svc(a.Name)); len(errs) > 0 {
				t.Errorf("%q: Service %q: %v", sp.FullText(), s.Svc(a.Name), errs)
			}
		}
	}
	one := sharedFixture(Specs()[:1])
	if one.Pods() != Specs()[0].Pods() || slices.ContainsFunc(one.Apps, func(a kube.App) bool { return !a.NoService }) {
		t.Errorf("the shared fixture of one spec is %+v, want its apps' pods without Services", one)
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
		got, err := claims(context.Background(), cfg, nil, "")
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
	err := Config{LabelFilter: "a &&", Focus: []string{"("}, SupportedFeatures: []string{"SemanticsProducerRoutes"}, Parallel: -2}.Defaults().Validate()
	if err == nil {
		t.Fatal("bad config accepted")
	}
	for _, want := range []string{"RESTConfig is nil", `label filter "a &&"`, `"(" is not a regular expression`, "did you mean SemanticsProducerRoute", "parallel -2: must be 1 or more"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if err := (Config{RESTConfig: &rest.Config{}}).Defaults().Validate(); err != nil {
		t.Errorf("good config refused: %v", err)
	}
}
