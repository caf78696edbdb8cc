package submission

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"golang.org/x/mod/semver"
	confv1 "sigs.k8s.io/gateway-api/conformance/apis/v1"
	"sigs.k8s.io/gateway-api/conformance/utils/suite"

	"gamma-conformance/reportgen"
)

const (
	srcValidate = "conformance/apis/v1 Implementation.Validate"
	srcReadme   = "conformance/reports/README.md Reports rules"
	srcSuite    = "conformance/utils/suite/reports.go compileResults and buildSummary (same in v1.6.3 and v1.7.0)"
)

// required lists every required field left empty: the implementation
// block (Implementation.Validate, both versions) and the report fields the
// reports README and hack/verify-reports.sh require.
func required(rep *confv1.ConformanceReport) []Broken {
	out := requiredImplementation(&rep.Implementation)
	missing := func(field, fix, source string) {
		out = append(out, Broken{RuleRequired, field + " is empty (fix: " + fix + ")", source})
	}
	if rep.Date == "" {
		missing("date", "submit the file exactly as the upstream suite wrote it", srcReadme)
	}
	if rep.GatewayAPIChannel == "" {
		missing("gatewayAPIChannel", "install the CRDs of one release channel; the suite reads it from them", srcReadme)
	}
	if rep.Mode == "" {
		missing("mode", "run the suite with --mode (default: default)", "hack/verify-reports.sh check_report_fields")
	}
	if len(rep.ProfileReports) == 0 {
		missing("profiles", "run the suite with --conformance-profiles", srcReadme)
	}
	return out
}

// requiredImplementation lists the empty implementation fields, in the
// order Implementation.Validate checks them (v1.6.3 and v1.7.0 alike).
func requiredImplementation(impl *confv1.Implementation) []Broken {
	var out []Broken
	for _, f := range []struct {
		name, flag string
		empty      bool
	}{
		{"organization", "--organization", impl.Organization == ""},
		{"project", "--project", impl.Project == ""},
		{"url", "--url", impl.URL == ""},
		{"version", "--version", impl.Version == ""},
		{"contact", "--contact", len(impl.Contact) == 0},
	} {
		if f.empty {
			out = append(out, Broken{RuleRequired, "implementation." + f.name + " is empty (fix: run the suite with " + f.flag + ")", srcValidate})
		}
	}
	return out
}

// validate17 is the rule v1.7.0's Implementation.Validate adds to v1.6.3's:
// the URL must pass validateURL. The empty fields are RuleRequired lines.
func validate17(impl *confv1.Implementation) []Broken {
	if impl.URL == "" {
		return nil
	}
	if err := validateURL17(impl.URL); err != nil {
		return []Broken{{RuleURL, fmt.Sprintf("implementation.url %q is invalid: %v (fix: run the suite with --url=https://<host>/<page about the implementation>)", impl.URL, err),
			"v1.7.0 conformance/apis/v1 Implementation.Validate, validateURL"}}
	}
	return nil
}

// validateURL17 follows validateURL of v1.7.0
// conformance/apis/v1/conformancereport.go.
func validateURL17(rawURL string) error {
	parsed, err := url.Parse(rawURL)
	if err != nil {
		return fmt.Errorf("could not parse url: %w", err)
	}
	if !parsed.IsAbs() {
		return errors.New("url must be absolute (missing scheme)")
	}
	if parsed.Scheme != "http" && parsed.Scheme != "https" {
		return fmt.Errorf("url scheme must be http or https, got %q", parsed.Scheme)
	}
	if parsed.Host == "" {
		return errors.New("url must include a host")
	}
	return nil
}

// upstreamProfiles are the profile names of conformance/utils/suite
// (v1.6.3; v1.7.0 has the same seven).
var upstreamProfiles = []suite.ConformanceProfileName{
	suite.GatewayHTTPConformanceProfileName, suite.GatewayTLSConformanceProfileName, suite.GatewayTCPConformanceProfileName,
	suite.GatewayUDPConformanceProfileName, suite.GatewayGRPCConformanceProfileName,
	suite.MeshHTTPConformanceProfileName, suite.MeshGRPCConformanceProfileName,
}

// profileNames checks each profile is an upstream one, reported once.
func profileNames(rep *confv1.ConformanceReport) []Broken {
	var out []Broken
	seen := map[string]bool{}
	for _, p := range rep.ProfileReports {
		known := false
		for _, u := range upstreamProfiles {
			known = known || string(u) == p.Name
		}
		if p.Name != "" && !known {
			out = append(out, Broken{RuleProfile, fmt.Sprintf("profile %q is not an upstream profile (fix: submit only the report the upstream suite wrote; a project's own profiles are not submitted)", p.Name),
				"conformance/utils/suite/profiles.go"})
		}
		if seen[p.Name] {
			out = append(out, Broken{RuleProfile, fmt.Sprintf("profile %q is listed twice (fix: submit the file exactly as the upstream suite wrote it)", p.Name), "conformance/utils/suite/reports.go profileReportsMap"})
		}
		seen[p.Name] = true
	}
	return out
}

// consistency checks that each status is what the upstream suite makes of
// its statistics (compileResults) and each summary what buildSummary
// writes: a report edited by hand breaks it.
func consistency(rep *confv1.ConformanceReport) []Broken {
	var out []Broken
	bad := func(format string, args ...any) {
		out = append(out, Broken{RuleConsistency, fmt.Sprintf(format, args...) + " (fix: submit the file exactly as the upstream suite wrote it; rerun rather than edit)", srcSuite})
	}
	for _, p := range rep.ProfileReports {
		levels := []struct {
			name string
			s    confv1.Status
		}{{"core", p.Core}}
		if p.Extended != nil {
			levels = append(levels, struct {
				name string
				s    confv1.Status
			}{"extended", p.Extended.Status})
		}
		for _, l := range levels {
			if want := reportgen.StatusResult(l.s); l.s.Result != want {
				bad("profile %s %s: result %q, but Failed=%d Skipped=%d make it %q", p.Name, l.name, l.s.Result, l.s.Failed, l.s.Skipped, want)
			}
			if n := len(l.s.SkippedTests); n != int(l.s.Skipped) {
				bad("profile %s %s: %d skippedTests listed, statistics say Skipped=%d", p.Name, l.name, n, l.s.Skipped)
			}
			if n := len(l.s.FailedTests); n != int(l.s.Failed) {
				bad("profile %s %s: %d failedTests listed, statistics say Failed=%d", p.Name, l.name, n, l.s.Failed)
			}
		}
		if want := summaryOf(p); p.Summary != "" && p.Summary != want {
			bad("profile %s: summary %q, the suite writes %q", p.Name, p.Summary, want)
		}
	}
	return out
}

// summaryOf follows buildSummary and buildReportSummary of
// conformance/utils/suite/reports.go.
func summaryOf(p confv1.ProfileReport) string {
	one := func(s confv1.Status) string {
		switch s.Result {
		case confv1.Success:
			return "succeeded"
		case confv1.Partial:
			return fmt.Sprintf("partially succeeded with %d test skips", s.Skipped)
		case confv1.Failure:
			return fmt.Sprintf("failed with %d test failures", s.Failed)
		}
		return ""
	}
	sum := "Core tests " + one(p.Core)
	if p.Extended != nil {
		sum += ". Extended tests " + one(p.Extended.Status)
	}
	return sum + "."
}

// isConformant follows ConformanceReport.IsConformant of v1.7.0
// conformance/apis/v1/conformancereport.go: the verdict of the Gateway
// profiles and of the Mesh profiles (names starting with MESH), each the
// best of its profiles (updateResult). Where upstream returns one joined
// error, it returns each broken rule; a profile whose core tests were
// skipped is partial, which upstream also reports as an error, but breaks no
// submission rule (partial reports are accepted and listed apart): it is a
// note. The Implementation check it starts with is the caller's (valid).
func isConformant(rep *confv1.ConformanceReport, version string, valid bool) (Verdict, []Broken, []string) {
	v := Verdict{Gateway: confv1.Failure, Mesh: confv1.Failure}
	var broken []Broken
	var notes []string
	for _, p := range rep.ProfileReports {
		mesh := strings.HasPrefix(p.Name, "MESH")
		if mesh {
			v.MeshProfiles++
		} else {
			v.GatewayProfiles++
		}
		errs := profileIsConformant(p, version)
		result := confv1.Success
		if len(errs) > 0 {
			result = confv1.Failure
			broken = append(broken, errs...)
		} else {
			if p.Core.Result == confv1.Partial {
				result = confv1.Partial
			}
			if len(p.Core.SkippedTests) > 0 {
				notes = append(notes, fmt.Sprintf("profile %s is partial: core tests were skipped (%s)", p.Name, strings.Join(p.Core.SkippedTests, ", ")))
				result = confv1.Partial
			}
		}
		if mesh {
			v.Mesh = updateResult(v.Mesh, result)
		} else {
			v.Gateway = updateResult(v.Gateway, result)
		}
	}
	if !valid {
		v.Gateway, v.Mesh = confv1.Failure, confv1.Failure
	}
	return v, broken, notes
}

// profileIsConformant follows ProfileReport.IsConformant of v1.7.0
// conformance/apis/v1/profilereport.go, returning every broken rule where
// upstream returns the first.
func profileIsConformant(p confv1.ProfileReport, version string) []Broken {
	const src = "v1.7.0 conformance/apis/v1 ProfileReport.IsConformant"
	var out []Broken
	if p.Name == "" {
		out = append(out, Broken{RuleProfile, "a profile has an empty name (fix: submit the file exactly as the upstream suite wrote it)", src})
	}
	if p.Summary == "" {
		out = append(out, Broken{RuleProfile, fmt.Sprintf("profile %q has an empty summary (fix: submit the file exactly as the upstream suite wrote it)", p.Name), src})
	}
	out = append(out, statusIsConformant(p.Name, "core", p.Core, version)...)
	if p.Extended != nil {
		out = append(out, statusIsConformant(p.Name, "extended", p.Extended.Status, version)...)
	}
	return out
}

// MaxSkippedV17 is how many tests a partial status may skip in a v1.7
// report (Status.IsConformant).
const MaxSkippedV17 = 5

// statusIsConformant follows Status.IsConformant of v1.7.0
// conformance/apis/v1/profilereport.go: a failure is never conformant, and
// for v1.7 a partial status may skip at most 5 tests.
func statusIsConformant(profile, level string, s confv1.Status, version string) []Broken {
	src := "v1.7.0 conformance/apis/v1 Status.IsConformant"
	if semver.MajorMinor(version) != "v1.7" {
		src = srcReadme + " (results success or partial)"
	}
	if s.Result == confv1.Failure {
		return []Broken{{RuleResult, fmt.Sprintf("profile %s %s result is failure (%s) (fix: make the failing tests pass, or exempt the features you do not support with --exempt-features / --supported-features)", profile, level, strings.Join(s.FailedTests, ", ")), src}}
	}
	if s.Result == confv1.Partial && semver.MajorMinor(version) == "v1.7" && s.Skipped > MaxSkippedV17 {
		return []Broken{{RuleSkips, fmt.Sprintf("profile %s %s is partial with %d skipped tests, v1.7 allows at most %d (fix: run the skipped tests: %s)", profile, level, s.Skipped, MaxSkippedV17, strings.Join(s.SkippedTests, ", ")), src}}
	}
	return nil
}

// updateResult follows updateResult of v1.7.0
// conformance/apis/v1/conformancereport.go: success beats partial beats
// failure.
func updateResult(oldResult, newResult confv1.Result) confv1.Result {
	if oldResult == newResult || oldResult == confv1.Success {
		return oldResult
	}
	if oldResult == confv1.Partial {
		if newResult == confv1.Success {
			return newResult
		}
		return oldResult
	}
	return newResult
}
