package submission

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	confv1 "sigs.k8s.io/gateway-api/conformance/apis/v1"
	"sigs.k8s.io/yaml"
)

// committed is the reference mesh's committed v1.6 upstream report.
const committed = "../../reports/v1.6/gamma-conformance-reference/experimental-v0.1.0-default-report.yaml"

func rulesOf(r *Result) []Rule {
	var out []Rule
	for _, b := range r.Broken {
		out = append(out, b.Rule)
	}
	return out
}

// TestRealReports checks the committed reference reports (every upstream
// report under reports/, so the v1.7 one too once it is committed), the
// upstream report of a real v1.7.0 run against the reference mesh
// (testdata/v1.7: 23 of 23 passed, 2026-12-06) and reports upstream
// accepted.
func TestRealReports(t *testing.T) {
	ours, _ := filepath.Glob("../../reports/v*/*/*-report.yaml")
	ours = slices.DeleteFunc(ours, func(p string) bool { return strings.HasSuffix(p, "-semantics-report.yaml") })
	if !slices.Contains(ours, committed) {
		t.Fatalf("the committed report %s is missing (found %v)", committed, ours)
	}
	for _, p := range append(ours, "testdata/v1.7/gamma-conformance-reference/experimental-v0.1.0-default-report.yaml",
		"testdata/upstream/v1.6/linkerd-linkerd/standard-2.20-default-report.yaml",
		"testdata/upstream/v1.6/cilium/standard-v1.20.0-default-report.yaml", "testdata/upstream/v1.6/cilium/experimental-v1.20.0-default-report.yaml") {
		res, err := Check(p)
		if err != nil {
			t.Fatal(err)
		}
		if !res.OK() || res.Verdict == nil || res.Verdict.Mesh == confv1.Failure {
			t.Errorf("%s: broken %v, verdict %+v, want none and a mesh verdict", p, res.Broken, res.Verdict)
		}
		if len(res.Notes) > 0 && !strings.Contains(p, "linkerd") {
			t.Errorf("%s: notes %v", p, res.Notes)
		}
	}
}

// TestRealReportsLinkerdPartial: Linkerd skipped a MESH-GRPC core test; the
// report is accepted and partial.
func TestRealReportsLinkerdPartial(t *testing.T) {
	res, err := Check("testdata/upstream/v1.6/linkerd-linkerd/standard-2.20-default-report.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Notes) != 1 || !strings.Contains(res.Notes[0], "MESH-GRPC is partial") || res.Verdict.Mesh != confv1.Success || res.Verdict.GatewayProfiles != 0 {
		t.Fatalf("notes %v verdict %+v", res.Notes, res.Verdict)
	}
}

// TestRealReportIstioName: Istio's accepted v1.6 report breaks the reports
// README's naming and table rules (hack/verify-reports.sh enforces
// neither): the checker says so.
func TestRealReportIstioName(t *testing.T) {
	res, err := Check("testdata/upstream/v1.6/istio-istio/1.31.0-default-report.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := rulesOf(res); !slices.Equal(got, []Rule{RuleLayout, RuleLayout}) {
		t.Fatalf("rules %v (%v), want two layout rules", got, res.Broken)
	}
}

// copyReport writes the committed report, changed by edit, as
// <dir>/<version>/<project>/<name> with the committed README beside it, and
// returns its path.
func copyReport(t *testing.T, version, name string, edit func(*confv1.ConformanceReport)) string {
	t.Helper()
	raw, err := os.ReadFile(committed)
	if err != nil {
		t.Fatal(err)
	}
	var rep confv1.ConformanceReport
	if err := yaml.UnmarshalStrict(raw, &rep); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(&rep)
	}
	if raw, err = yaml.Marshal(&rep); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), version, "gamma-conformance-reference")
	readme, err := os.ReadFile(filepath.Join(filepath.Dir(committed), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if name == "" {
		name = filepath.Base(committed)
	}
	readme = []byte(strings.ReplaceAll(string(readme), filepath.Base(committed), name))
	if err := os.WriteFile(filepath.Join(dir, "README.md"), readme, 0o644); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// v17 makes the copy a v1.7 report with the new MESH-GRPC core test passed.
func v17(r *confv1.ConformanceReport) {
	r.GatewayAPIVersion = "v1.7.0"
	for i := range r.ProfileReports {
		if r.ProfileReports[i].Name == "MESH-GRPC" {
			r.ProfileReports[i].Core.Passed = 3
		}
	}
}

func meshHTTP(r *confv1.ConformanceReport) *confv1.ProfileReport {
	for i := range r.ProfileReports {
		if r.ProfileReports[i].Name == "MESH-HTTP" {
			return &r.ProfileReports[i]
		}
	}
	panic("no MESH-HTTP profile")
}

// skip makes MESH-HTTP's extended level skip n tests, as the suite writes it.
func skip(n int) func(*confv1.ConformanceReport) {
	return func(r *confv1.ConformanceReport) {
		v17(r)
		p := meshHTTP(r)
		p.Extended.Passed -= uint32(n)
		p.Extended.Skipped = uint32(n)
		for i := range n {
			p.Extended.SkippedTests = append(p.Extended.SkippedTests, "Skipped"+string(rune('A'+i)))
		}
		p.Extended.Result = confv1.Partial
		p.Summary = summaryOf(*p)
	}
}

func TestBrokenCopies(t *testing.T) {
	cases := []struct {
		name, version, file string
		edit                func(*confv1.ConformanceReport)
		want                []Rule
	}{
		{"v1.6 copy unchanged", "v1.6", "", nil, nil},
		{"v1.7 copy", "v1.7", "", v17, nil},
		{"v1.7 url without scheme", "v1.7", "", func(r *confv1.ConformanceReport) { v17(r); r.URL = "github.com/gamma-conformance" }, []Rule{RuleURL}},
		{"v1.7 url ftp", "v1.7", "", func(r *confv1.ConformanceReport) { v17(r); r.URL = "ftp://example.com/x" }, []Rule{RuleURL}},
		{"v1.6 has no url rule", "v1.6", "", func(r *confv1.ConformanceReport) { r.URL = "github.com/gamma-conformance" }, nil},
		{"no contact", "v1.7", "", func(r *confv1.ConformanceReport) { v17(r); r.Contact = nil }, []Rule{RuleRequired}},
		{"no mode", "v1.6", "experimental-v0.1.0--report.yaml", func(r *confv1.ConformanceReport) { r.Mode = "" }, []Rule{RuleRequired, RuleLayout}},
		{"channel beta", "v1.6", "beta-v0.1.0-default-report.yaml", func(r *confv1.ConformanceReport) { r.GatewayAPIChannel = "beta" }, []Rule{RuleChannel, RuleLayout}},
		{"unknown version", "v1.5", "", func(r *confv1.ConformanceReport) { r.GatewayAPIVersion = "v1.5.1" }, []Rule{RuleVersion}},
		{"UNDEFINED version", "v1.6", "", func(r *confv1.ConformanceReport) { r.GatewayAPIVersion = "UNDEFINED" }, []Rule{RuleVersion, RuleLayout}},
		{"not an upstream profile", "v1.6", "", func(r *confv1.ConformanceReport) { meshHTTP(r).Name = "MESH-FOO" }, []Rule{RuleProfile}},
		{"core failure", "v1.7", "", func(r *confv1.ConformanceReport) {
			v17(r)
			p := meshHTTP(r)
			p.Core.Passed, p.Core.Failed, p.Core.FailedTests, p.Core.Result = 6, 1, []string{"MeshBasic"}, confv1.Failure
			p.Summary = summaryOf(*p)
		}, []Rule{RuleResult}},
		{"v1.7 five skips", "v1.7", "", skip(5), nil},
		{"v1.7 six skips", "v1.7", "", skip(6), []Rule{RuleSkips}},
		{"v1.6 six skips: no limit", "v1.6", "", func(r *confv1.ConformanceReport) { skip(6)(r); r.GatewayAPIVersion = "v1.6.3" }, nil},
		{"edited statistics", "v1.7", "", func(r *confv1.ConformanceReport) { v17(r); meshHTTP(r).Core.Failed = 1 }, []Rule{RuleConsistency, RuleConsistency}},
		{"edited summary", "v1.6", "", func(r *confv1.ConformanceReport) { meshHTTP(r).Summary = "All good." }, []Rule{RuleConsistency}},
		{"v1.6 report in the v1.7 folder", "v1.7", "", nil, []Rule{RuleLayout}},
		{"renamed file", "v1.6", "report.yaml", nil, []Rule{RuleLayout}},
		{"not in a reports folder", "somewhere", "", nil, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := Check(copyReport(t, c.version, c.file, c.edit))
			if err != nil {
				t.Fatal(err)
			}
			if got := rulesOf(res); !slices.Equal(got, c.want) {
				t.Fatalf("broken rules %v, want %v:\n%v", got, c.want, res.Broken)
			}
			for _, b := range res.Broken {
				if b.Source == "" || !strings.HasPrefix(b.String(), string(b.Rule)+": ") || !strings.Contains(b.Message, "fix") {
					t.Errorf("line %q: want '<rule>: <message with a fix> [<source>]'", b)
				}
			}
		})
	}
}

func TestFolderRules(t *testing.T) {
	p := copyReport(t, "v1.6", "", nil)
	readme := filepath.Join(filepath.Dir(p), "README.md")
	raw, _ := os.ReadFile(readme)
	for _, c := range []struct {
		name, readme string
		want         string
	}{
		{"no Reproduce", strings.Replace(string(raw), "## Reproduce", "## How", 1), "no Reproduce section"},
		{"no row", strings.Replace(string(raw), "v0.1.0 report](./", "report file](./x", 1), "no table row"},
		{"row of another channel", strings.Replace(string(raw), "| experimental | v0.1.0 |", "| standard | v0.1.0 |", 1), `channel "standard"`},
	} {
		if err := os.WriteFile(readme, []byte(c.readme), 0o644); err != nil {
			t.Fatal(err)
		}
		res, _ := Check(p)
		if got := rulesOf(res); !slices.Equal(got, []Rule{RuleLayout}) || !strings.Contains(res.Broken[0].Message, c.want) {
			t.Errorf("%s: %v, want one layout rule saying %q", c.name, res.Broken, c.want)
		}
	}
	os.Remove(readme)
	res, _ := Check(p)
	if got := rulesOf(res); !slices.Equal(got, []Rule{RuleLayout}) || !strings.Contains(res.Broken[0].Message, "missing README.md") {
		t.Errorf("no README: %v", res.Broken)
	}
}

func TestParse(t *testing.T) {
	raw, _ := os.ReadFile(committed)
	for name, text := range map[string]string{
		"not yaml":      "{{",
		"unknown field": string(raw) + "extra: 1\n",
		"another kind":  strings.Replace(string(raw), "kind: ConformanceReport", "kind: Report", 1),
	} {
		if got := rulesOf(CheckBytes([]byte(text))); len(got) == 0 || got[0] != RuleParse {
			t.Errorf("%s: rules %v, want parse first", name, got)
		}
	}
	if _, err := Check(filepath.Join(t.TempDir(), "missing.yaml")); err == nil || !strings.Contains(err.Error(), "fix:") {
		t.Errorf("missing file: %v", err)
	}
}

// TestValidateURL17 ports the URL cases of v1.7.0's
// TestImplementation_Validate (conformance/apis/v1/conformancereport_test.go).
func TestValidateURL17(t *testing.T) {
	for url, wantErr := range map[string]bool{
		"https://github.com/kubernetes-sigs/gateway-api":     false,
		"http://example.com":                                 false,
		"github.com/kubernetes-sigs/gateway-api":             true,
		"ftp://github.com/kubernetes-sigs/gateway-api":       true,
		"https:///path-only":                                 true,
		"https://exa mple.com":                               true,
		"https://github.com/gamma-conformance/gamma-conform": false,
	} {
		if err := validateURL17(url); (err != nil) != wantErr {
			t.Errorf("validateURL17(%q) = %v, want error %v", url, err, wantErr)
		}
	}
}

// TestUpdateResult ports v1.7.0's Test_updateResult.
func TestUpdateResult(t *testing.T) {
	s, p, f := confv1.Success, confv1.Partial, confv1.Failure
	for _, c := range [][3]confv1.Result{
		{f, s, s}, {s, f, s}, {p, s, s}, {s, p, s}, {f, p, p}, {p, f, p}, {f, f, f}, {p, p, p}, {s, s, s},
	} {
		if got := updateResult(c[0], c[1]); got != c[2] {
			t.Errorf("updateResult(%s, %s) = %s, want %s", c[0], c[1], got, c[2])
		}
	}
}

// TestVerdict: the Mesh verdict is the best of the MESH profiles, the
// Gateway verdict of the others; an invalid implementation fails both.
func TestVerdict(t *testing.T) {
	raw, _ := os.ReadFile(committed)
	var rep confv1.ConformanceReport
	if err := yaml.Unmarshal(raw, &rep); err != nil {
		t.Fatal(err)
	}
	rep.ProfileReports[1].Core.Result = confv1.Failure // MESH-GRPC
	v, broken, _ := isConformant(&rep, "v1.7.0", true)
	if v.Mesh != confv1.Success || v.MeshProfiles != 2 || v.GatewayProfiles != 0 || len(broken) != 1 {
		t.Fatalf("verdict %+v broken %v", v, broken)
	}
	if v, _, _ := isConformant(&rep, "v1.7.0", false); v.Mesh != confv1.Failure {
		t.Fatalf("invalid implementation: verdict %+v", v)
	}
}
