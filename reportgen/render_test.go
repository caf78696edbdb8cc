package reportgen

import (
	"bytes"
	"encoding/xml"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	confv1 "sigs.k8s.io/gateway-api/conformance/apis/v1"
	"sigs.k8s.io/yaml"

	"gamma-conformance/profiles"
)

// renderFixture renders the fixture run into a fresh folder and returns it.
func renderFixture(t *testing.T) (run *Run, out string) {
	t.Helper()
	run, err := Load(filepath.Dir(fixtureRun(t)))
	if err != nil {
		t.Fatal(err)
	}
	files, err := Render(run)
	if err != nil {
		t.Fatal(err)
	}
	out = filepath.Join(t.TempDir(), "reports")
	if err := Write(out, files); err != nil {
		t.Fatal(err)
	}
	return run, out
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestRenderWritesEveryFile(t *testing.T) {
	_, out := renderFixture(t)
	var got []string
	filepath.WalkDir(out, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(out, p)
			got = append(got, rel)
		}
		return err
	})
	want := []string{
		"badges/mesh-grpc.svg", "badges/mesh-http.svg", "badges/mesh-semantics.svg", "badges/mesh-upstream-unprofiled.svg",
		fixtureReportPrefix + "-report.yaml", fixtureReportPrefix + "-semantics-report.yaml", "junit.xml", "report.html",
	}
	if !slices.Equal(got, want) {
		t.Errorf("output folder holds\n%q\nwant\n%q", got, want)
	}
}

func TestHTMLShowsTheRequirementEachSpecChecks(t *testing.T) {
	_, out := renderFixture(t)
	page, err := os.ReadFile(filepath.Join(out, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	want := "<b>MUST</b> (HTTPRouteTimeouts.Request): &ldquo;" + fixtureRequirement + "&rdquo;"
	if !strings.Contains(string(page), want) {
		t.Errorf("report.html does not show %q", want)
	}
}

func TestUpstreamReportCopiedByteForByte(t *testing.T) {
	run, out := renderFixture(t)
	orig := readFile(t, filepath.Join(filepath.Dir(run.ResultsPath), "upstream-report.yaml"))
	if got := readFile(t, filepath.Join(out, fixtureReportPrefix+"-report.yaml")); !bytes.Equal(got, orig) {
		t.Fatalf("upstream report changed in the copy:\n%s\nwant\n%s", got, orig)
	}
}

// profileByName finds a profile report; the test fails when it is missing.
func profileByName(t *testing.T, rep *confv1.ConformanceReport, name string) confv1.ProfileReport {
	t.Helper()
	for _, p := range rep.ProfileReports {
		if p.Name == name {
			return p
		}
	}
	t.Fatalf("report has no profile %s", name)
	return confv1.ProfileReport{}
}

func TestSemanticsReportRoundTripsThroughUpstreamTypes(t *testing.T) {
	_, out := renderFixture(t)
	data := readFile(t, filepath.Join(out, fixtureReportPrefix+"-semantics-report.yaml"))
	var rep confv1.ConformanceReport
	if err := yaml.UnmarshalStrict(data, &rep); err != nil {
		t.Fatalf("semantics report does not parse strictly as confv1.ConformanceReport: %v", err)
	}
	again, err := yaml.Marshal(&rep)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, data) {
		t.Errorf("round trip through confv1 changed the report:\n%s\nwant\n%s", again, data)
	}
	if rep.Kind != "ConformanceReport" || rep.APIVersion != "gateway.networking.k8s.io/v1" || rep.GatewayAPIVersion != fixtureGatewayAPI ||
		rep.GatewayAPIChannel != "experimental" || rep.Mode != "default" || rep.Implementation.Version != fixtureMeshVersion {
		t.Errorf("report header %+v %+v", rep.TypeMeta, rep.Implementation)
	}
	var names []string
	for _, p := range rep.ProfileReports {
		names = append(names, p.Name)
	}
	if !slices.Equal(names, []string{profiles.MeshSemanticsName, UnprofiledName}) {
		t.Errorf("profiles %v, want %s and %s only (never the upstream ones)", names, profiles.MeshSemanticsName, UnprofiledName)
	}

	sem := profileByName(t, &rep, profiles.MeshSemanticsName)
	if sem.Core.Result != confv1.Failure || sem.Core.Passed != 3 || sem.Core.Failed != 1 || !slices.Equal(sem.Core.FailedTests, []string{failedSpec}) {
		t.Errorf("MESH-SEMANTICS core %+v, want failure 3 passed 1 failed", sem.Core)
	}
	if sem.Extended == nil || sem.Extended.Result != confv1.Partial || sem.Extended.Passed != 1 || sem.Extended.Skipped != 1 {
		t.Fatalf("MESH-SEMANTICS extended %+v, want partial 1 passed 1 skipped", sem.Extended)
	}
	if want := "Core tests failed with 1 test failures. Extended tests partially succeeded with 1 test skips."; sem.Summary != want {
		t.Errorf("summary %q, want upstream's wording %q", sem.Summary, want)
	}

	un := profileByName(t, &rep, UnprofiledName)
	var counted []string
	counted = append(counted, un.Core.FailedTests...)
	counted = append(counted, un.Extended.FailedTests...)
	if un.Core.Passed+un.Core.Failed+un.Core.Skipped != 0 {
		t.Errorf("%s core counts %+v, want none (every unprofiled test needs a feature beyond Mesh and HTTPRoute)", UnprofiledName, un.Core.Statistics)
	}
	if int(un.Extended.Passed+un.Extended.Failed) != len(unprofiledTests) || un.Extended.Failed != 1 || !slices.Equal(counted, []string{failedUnprofiled}) {
		t.Errorf("%s extended %+v, want the %d unprofiled tests with %s failed", UnprofiledName, un.Extended.Status, len(unprofiledTests), failedUnprofiled)
	}
	if want := "Core tests succeeded. Extended tests failed with 1 test failures."; un.Summary != want {
		t.Errorf("summary %q, want %q", un.Summary, want)
	}
	for _, f := range []string{"MeshConsumerRoute", "HTTPRouteResponseHeaderModification", "HTTPRoute307RedirectStatusCode", "HTTPRouteParentRefPort"} {
		if !slices.Contains(un.Extended.SupportedFeatures, f) {
			t.Errorf("%s extended supportedFeatures %v lacks %s", UnprofiledName, un.Extended.SupportedFeatures, f)
		}
	}
}

// TestUnprofiledAreExactlyTheUpstreamGap checks, on the real upstream test
// list and profiles, which tests our report adds.
func TestUnprofiledAreExactlyTheUpstreamGap(t *testing.T) {
	r := fixtureResults()
	var got []string
	for _, tt := range sortedTests(r.Tests) {
		if len(tt.Profiles) == 0 {
			got = append(got, tt.ID)
		}
	}
	if !slices.Equal(got, unprofiledTests) {
		t.Errorf("upstream tests in no profile: %v, want %v", got, unprofiledTests)
	}
}

func TestSemanticsReportMatchesUpstreamAlgorithm(t *testing.T) {
	// The fixture's upstream report is built with the same code; check it
	// against the numbers the spec note gives for real reports.
	r := fixtureResults()
	up := upstreamReportFor(r)
	http := profileByName(t, up, "MESH-HTTP")
	if http.Core.Passed+http.Core.Failed != 7 || http.Extended.Passed+http.Extended.Skipped != 6 {
		t.Errorf("MESH-HTTP counts core %+v extended %+v; want 7 core and 6 counted extended (7 minus one exempt)", http.Core.Statistics, http.Extended.Statistics)
	}
	grpc := profileByName(t, up, "MESH-GRPC")
	if grpc.Core.Passed != 2 || grpc.Extended != nil || grpc.Summary != "Core tests succeeded." {
		t.Errorf("MESH-GRPC %+v, want 2 core passed, no extended, %q", grpc, "Core tests succeeded.")
	}
}

type junitDoc struct {
	XMLName  xml.Name `xml:"testsuites"`
	Tests    int      `xml:"tests,attr"`
	Failures int      `xml:"failures,attr"`
	Skipped  int      `xml:"skipped,attr"`
	Suites   []struct {
		Name     string `xml:"name,attr"`
		Tests    int    `xml:"tests,attr"`
		Failures int    `xml:"failures,attr"`
		Skipped  int    `xml:"skipped,attr"`
		Cases    []struct {
			Name    string `xml:"name,attr"`
			Failure *struct {
				Message string `xml:"message,attr"`
				Text    string `xml:",chardata"`
			} `xml:"failure"`
			Skipped *struct {
				Message string `xml:"message,attr"`
			} `xml:"skipped"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

func TestJUnitParsesWithTheRightCounts(t *testing.T) {
	_, out := renderFixture(t)
	var doc junitDoc
	if err := xml.Unmarshal(readFile(t, filepath.Join(out, JUnitFile)), &doc); err != nil {
		t.Fatalf("junit.xml does not parse: %v", err)
	}
	type counts struct{ tests, failures, skipped, cases int }
	want := map[string]counts{"upstream": {22, 2, 2, 22}, "semantics": {6, 1, 1, 6}}
	if len(doc.Suites) != 2 {
		t.Fatalf("%d testsuites, want upstream and semantics", len(doc.Suites))
	}
	for _, s := range doc.Suites {
		got := counts{s.Tests, s.Failures, s.Skipped, len(s.Cases)}
		if got != want[s.Name] {
			t.Errorf("testsuite %s: %+v, want %+v", s.Name, got, want[s.Name])
		}
		for _, c := range s.Cases {
			if c.Failure != nil && (c.Failure.Message == "" || !strings.Contains(c.Failure.Text, "rerun: out/bin/suites.test")) {
				t.Errorf("%s: failure without message or rerun command: %+v", c.Name, c.Failure)
			}
			if c.Name == notSupportedUpstream && (c.Skipped == nil || !strings.Contains(c.Skipped.Message, exemptFeature)) {
				t.Errorf("%s: not-supported test not skipped with its features: %+v", c.Name, c.Skipped)
			}
		}
	}
	if doc.Tests != 28 || doc.Failures != 3 || doc.Skipped != 3 {
		t.Errorf("testsuites totals %d/%d/%d, want 28 tests 3 failures 3 skipped", doc.Tests, doc.Failures, doc.Skipped)
	}
}

func TestBadges(t *testing.T) {
	_, out := renderFixture(t)
	cases := map[string]struct{ message, color string }{
		"mesh-http":                {"MESH-HTTP: 11/13", colorFailure},
		"mesh-grpc":                {"MESH-GRPC: 2/2", colorSuccess},
		"mesh-semantics":           {"MESH-SEMANTICS: 4/6", colorFailure},
		"mesh-upstream-unprofiled": {"MESH-UPSTREAM-UNPROFILED: 6/7", colorFailure},
	}
	for name, want := range cases {
		data := readFile(t, filepath.Join(out, BadgesDir, name+".svg"))
		var svg struct {
			Width string `xml:"width,attr"`
			Title string `xml:"title"`
			Rects []struct {
				Fill string `xml:"fill,attr"`
			} `xml:"g>rect"`
		}
		if err := xml.Unmarshal(data, &svg); err != nil {
			t.Errorf("%s: not XML: %v", name, err)
			continue
		}
		if wantTitle := "Gateway API Mesh Conformance v1.6.3: " + want.message; svg.Title != wantTitle {
			t.Errorf("%s: title %q, want %q", name, svg.Title, wantTitle)
		}
		if len(svg.Rects) < 2 || svg.Rects[1].Fill != want.color {
			t.Errorf("%s: message colour %+v, want %s", name, svg.Rects, want.color)
		}
		if bytes.Contains(data, []byte("http://")) && !bytes.Contains(data, []byte(`xmlns="http://www.w3.org/2000/svg"`)) {
			t.Errorf("%s: badge refers to something external", name)
		}
	}
	partial := Badges(&confv1.ConformanceReport{GatewayAPIVersion: "v1.6.3", ProfileReports: []confv1.ProfileReport{{
		Name: "MESH-HTTP", Core: confv1.Status{Result: confv1.Success, Statistics: confv1.Statistics{Passed: 7}},
		Extended: &confv1.ExtendedStatus{Status: confv1.Status{Result: confv1.Partial, Statistics: confv1.Statistics{Passed: 6, Skipped: 1}}},
	}}})
	if len(partial) != 1 || partial[0].Result != confv1.Partial || partial[0].Message != "MESH-HTTP: 13/14" || !bytes.Contains(partial[0].SVG, []byte(colorPartial)) {
		t.Errorf("partial badge %+v", partial)
	}
}

func TestTextWidthFollowsFontMetrics(t *testing.T) {
	// Widths match Verdana 11 px within a pixel for the texts of the
	// shields.io "build | passing" badge (label box 37 px, message box 51 px,
	// both with 10 px of padding).
	if w := textWidth("build"); w < 26 || w > 28 {
		t.Errorf("width of build = %d, want 27±1", w)
	}
	if w := textWidth("passing"); w < 40 || w > 42 {
		t.Errorf("width of passing = %d, want 41±1", w)
	}
	if textWidth("WWWW") <= textWidth("iiii") {
		t.Error("W is not wider than i")
	}
}
