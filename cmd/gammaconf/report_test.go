package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	confv1 "sigs.k8s.io/gateway-api/conformance/apis/v1"
	"sigs.k8s.io/yaml"

	"gamma-conformance/reportgen/results"
)

// writeRun writes a small saved run (results.json and the upstream report
// beside it) with the results package and returns its folder.
func writeRun(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	up := &confv1.ConformanceReport{
		TypeMeta:          metav1.TypeMeta{APIVersion: "gateway.networking.k8s.io/v1", Kind: "ConformanceReport"},
		Implementation:    confv1.Implementation{Organization: "acme", Project: "mesh", URL: "https://example.invalid", Version: "v2.0.0", Contact: []string{"@acme"}},
		GatewayAPIVersion: "v1.6.3", GatewayAPIChannel: "standard", Mode: "default",
		ProfileReports: []confv1.ProfileReport{{Name: "MESH-HTTP", Summary: "Core tests succeeded.",
			Core: confv1.Status{Result: confv1.Success, Statistics: confv1.Statistics{Passed: 1}}}},
	}
	raw, err := yaml.Marshal(up)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "upstream-report.yaml"), raw, 0o600); err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	http := results.Profile{Name: "MESH-HTTP", Suite: results.Upstream, Core: []string{"Mesh", "HTTPRoute"}}
	sem := results.Profile{Name: "MESH-SEMANTICS", Suite: results.Semantics, Core: []string{"SemanticsProducerRoute"}}
	r := &results.Results{
		SchemaVersion:  results.SchemaVersion,
		SuiteVersion:   "v0.1.0",
		GatewayAPI:     results.GatewayAPI{Version: "v1.6.3", Channel: "standard"},
		Implementation: results.Implementation{Organization: "acme", Project: "mesh", URL: "https://example.invalid", Version: "v2.0.0", Contact: []string{"@acme"}},
		Run:            results.Run{Start: start, End: start.Add(time.Minute), Mode: "default", Command: "suites.test"},
		Profiles:       []results.Profile{http, sem},
		UpstreamReport: "upstream-report.yaml",
		Tests: []results.Test{
			{ID: "MeshBasic", Suite: results.Upstream, Outcome: results.Passed, Features: []string{"Mesh"}, Rerun: "suites.test --run-test=MeshBasic",
				Profiles: []results.Attribution{{Profile: "MESH-HTTP", Level: results.Core}}},
			{ID: "producer route", Suite: results.Semantics, Outcome: results.Failed, Failure: "got 404", Features: []string{"SemanticsProducerRoute"},
				Rerun: "suites.test --ginkgo.focus=producer", Profiles: []results.Attribution{{Profile: "MESH-SEMANTICS", Level: results.Core}}},
		},
	}
	if err := results.Write(filepath.Join(dir, results.File), r); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestReportCommand(t *testing.T) {
	run := writeRun(t)
	out, errOut, code := gammaconf(t, "report", "--results", run)
	if code != 0 {
		t.Fatalf("report: exit %d\n%s", code, errOut)
	}
	for _, f := range []string{"standard-v2.0.0-default-report.yaml", "standard-v2.0.0-default-semantics-report.yaml", "junit.xml", "report.html", "badges/mesh-http.svg", "badges/mesh-semantics.svg"} {
		if !strings.Contains(out, filepath.Join(run, f)) {
			t.Errorf("output does not list %s:\n%s", f, out)
		}
		if _, err := os.Stat(filepath.Join(run, f)); err != nil {
			t.Error(err)
		}
	}

	dest := filepath.Join(t.TempDir(), "reports", "v1.6", "acme-mesh")
	if _, errOut, code := gammaconf(t, "report", "--results", filepath.Join(run, results.File), "--output", dest, "--readme"); code != 0 {
		t.Fatalf("report --readme: exit %d\n%s", code, errOut)
	}
	readme, err := os.ReadFile(filepath.Join(dest, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if row := "| standard | v2.0.0 | default | [v2.0.0 report](./standard-v2.0.0-default-report.yaml) | [standard-v2.0.0-default-semantics-report.yaml](./standard-v2.0.0-default-semantics-report.yaml) |"; !strings.Contains(string(readme), row) {
		t.Errorf("README lacks the report row %q:\n%s", row, readme)
	}
}

func TestReportCommandBadInput(t *testing.T) {
	run := writeRun(t)
	wrongSchema := filepath.Join(t.TempDir(), "results.json")
	os.WriteFile(wrongSchema, []byte(`{"schemaVersion":"gamma-conformance.results/v9"}`), 0o600)
	cases := map[string]struct {
		args []string
		want string
	}{
		"no --results":       {[]string{"report"}, "--results is required"},
		"missing file":       {[]string{"report", "--results", filepath.Join(run, "missing.json")}, "fix:"},
		"wrong schema":       {[]string{"report", "--results", wrongSchema}, "gamma-conformance.results/v9"},
		"stray argument":     {[]string{"report", "--results", run, "extra"}, `unexpected argument "extra"`},
		"unwritable output":  {[]string{"report", "--results", run, "--output", filepath.Join(run, results.File, "sub")}, "write reports"},
		"badge no input":     {[]string{"badge"}, "exactly one of --results"},
		"badge two inputs":   {[]string{"badge", "--results", run, "--report", filepath.Join(run, "upstream-report.yaml")}, "exactly one of --results"},
		"badge not a report": {[]string{"badge", "--report", filepath.Join(run, results.File)}, "not a ConformanceReport"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			before, _ := os.ReadDir(run)
			want := exitUsage
			if name == "unwritable output" {
				want = exitRuntime
			}
			oneError(t, want, c.want, c.args...)
			if after, _ := os.ReadDir(run); len(after) != len(before) {
				t.Errorf("a failed command wrote into %s: %d entries, had %d", run, len(after), len(before))
			}
		})
	}
}

func TestBadgeCommandFromUpstreamReport(t *testing.T) {
	run := writeRun(t)
	dest := t.TempDir()
	out, errOut, code := gammaconf(t, "badge", "--report", filepath.Join(run, "upstream-report.yaml"), "--output", dest)
	if code != 0 {
		t.Fatalf("badge: exit %d\n%s", code, errOut)
	}
	if !strings.Contains(out, "Gateway API Mesh Conformance v1.6.3: MESH-HTTP: 1/1 (success)") {
		t.Errorf("badge output %q", out)
	}
	svg, err := os.ReadFile(filepath.Join(dest, "badges", "mesh-http.svg"))
	if err != nil || !bytes.Contains(svg, []byte("MESH-HTTP: 1/1")) {
		t.Errorf("badge file: %v\n%s", err, svg)
	}
}
