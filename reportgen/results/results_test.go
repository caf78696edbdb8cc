package results

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var meshHTTP = Profile{
	Name: "MESH-HTTP", Suite: Upstream,
	Core:     []string{"Mesh", "HTTPRoute"},
	Extended: []string{"MeshConsumerRoute", "MeshClusterIPMatching", "MeshHTTPRouteQueryParamMatching"},
}

func sample() *Results {
	start := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	return &Results{
		SchemaVersion: SchemaVersion,
		SuiteVersion:  "v0.1.0",
		GatewayAPI:    GatewayAPI{Version: "v1.6.3", Channel: "experimental"},
		Run:           Run{Start: start, End: start.Add(time.Minute), Mode: "default", Command: "suites.test"},
		Profiles:      []Profile{meshHTTP, {Name: "MESH-SEMANTICS", Suite: Semantics, Core: []string{"SemanticsProducerRoute"}}},
		Tests: []Test{
			{ID: "MeshBasic", Suite: Upstream, Outcome: Passed, Features: []string{"Mesh"}, Rerun: "x"},
			{ID: "producer route reaches other namespaces", Suite: Semantics, Outcome: Failed, Failure: "got 200 from v1", Labels: []string{"SemanticsProducerRoute"}, Rerun: "y"},
			{ID: "pod IP is never routed", Suite: Semantics, Outcome: Passed, Labels: []string{"SemanticsPodIP", ControlLabel}, Rerun: "z"},
		},
	}
}

func TestAttributeFollowsUpstreamRules(t *testing.T) {
	grpc := Profile{Name: "MESH-GRPC", Suite: Upstream, Core: []string{"Mesh", "GRPCRoute"}, Extended: meshHTTP.Extended}
	ps := []Profile{grpc, meshHTTP}
	cases := []struct {
		name     string
		features []string
		want     string
	}{
		{"MeshBasic", []string{"Mesh"}, "MESH-GRPC:core MESH-HTTP:core"},
		{"MeshHTTPRouteWeight", []string{"Mesh", "HTTPRoute"}, "MESH-HTTP:core"},
		{"MeshHTTPRouteQueryParamMatching", []string{"Mesh", "HTTPRoute", "MeshHTTPRouteQueryParamMatching"}, "MESH-HTTP:extended"},
		// MeshConsumerRoute also needs HTTPRouteResponseHeaderModification,
		// which no mesh profile lists: upstream counts it nowhere.
		{"MeshConsumerRoute", []string{"Mesh", "MeshConsumerRoute", "HTTPRoute", "HTTPRouteResponseHeaderModification"}, ""},
	}
	for _, c := range cases {
		var got []string
		for _, a := range Attribute(c.features, ps) {
			got = append(got, a.Profile+":"+string(a.Level))
		}
		if strings.Join(got, " ") != c.want {
			t.Errorf("%s: attributed %q, want %q", c.name, strings.Join(got, " "), c.want)
		}
	}
}

func TestWriteReadRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), File)
	in := sample()
	if err := Write(path, in); err != nil {
		t.Fatal(err)
	}
	out, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Tests) != 3 || out.Tests[1].Failure != "got 200 from v1" || !out.Run.End.Equal(in.Run.End) {
		t.Fatalf("round trip changed the results: %+v", out)
	}
	if c := out.Count(Semantics); c.Failed != 1 || c.Passed != 1 {
		t.Fatalf("semantics counts %+v, want 1 failed 1 passed", c)
	}
}

func TestReadRejectsBadFiles(t *testing.T) {
	dir := t.TempDir()
	cases := map[string]string{
		"not json":       "{",
		"other schema":   `{"schemaVersion":"gamma-conformance.results/v0"}`,
		"unknown field":  `{"schemaVersion":"` + SchemaVersion + `","surprise":1}`,
		"invalid fields": `{"schemaVersion":"` + SchemaVersion + `","tests":[{"id":"a","suite":"x","outcome":"meh"}]}`,
	}
	for name, content := range cases {
		p := filepath.Join(dir, strings.ReplaceAll(name, " ", "_"))
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := Read(p); err == nil {
			t.Errorf("%s: Read accepted %s", name, content)
		} else if !strings.Contains(err.Error(), p) {
			t.Errorf("%s: error %q does not name the file", name, err)
		}
	}
	if _, err := Read(filepath.Join(dir, "missing.json")); err == nil || !strings.Contains(err.Error(), "fix:") {
		t.Errorf("missing file: error %v does not say how to fix it", err)
	}
}

func TestValidateNamesEveryProblem(t *testing.T) {
	r := sample()
	r.Tests = append(r.Tests,
		Test{ID: "MeshBasic", Suite: Upstream, Outcome: Failed, Rerun: "x"},
		Test{ID: "b", Suite: Semantics, Outcome: Passed, Profiles: []Attribution{{Profile: "NOPE", Level: Core}}},
	)
	err := r.Validate()
	if err == nil {
		t.Fatal("Validate accepted broken results")
	}
	for _, want := range []string{"duplicate id", "failed with no failure text", "no rerun command", `profile "NOPE"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if err := Write(filepath.Join(t.TempDir(), File), r); err == nil {
		t.Error("Write wrote invalid results")
	}
}

func TestCheckNegativeControl(t *testing.T) {
	if err := CheckNegativeControl(sample()); err != nil {
		t.Fatalf("rule holds but got %v", err)
	}
	r := sample()
	// A spec the installed release cannot run is left out; any other
	// not-supported spec breaks the rule.
	r.Tests[1].Outcome, r.Tests[1].Failure = NotSupported, NotInReleasePrefix+"v1.7.0 or later (installed: v1.6.3)"
	if err := CheckNegativeControl(r); err != nil {
		t.Fatalf("a spec of a newer release: %v", err)
	}
	r.Tests[1].Failure = "not supported: SemanticsRouteRetry"
	if err := CheckNegativeControl(r); err == nil {
		t.Fatal("a not-supported mesh spec accepted")
	}
	r = sample()
	r.Tests[1].Outcome = Passed // a mesh spec passed with no mesh
	r.Tests[2].Outcome = Failed // a control failed
	r.Tests[2].Failure = "boom"
	err := CheckNegativeControl(r)
	if err == nil {
		t.Fatal("broken negative control accepted")
	}
	for _, want := range []string{"producer route reaches other namespaces", "control spec \"pod IP is never routed\"", "it failed with:\n    boom"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	r.Tests = r.Tests[:1]
	if err := CheckNegativeControl(r); err == nil || !strings.Contains(err.Error(), "no semantics spec") {
		t.Errorf("results with no semantics specs: got %v", err)
	}
}
