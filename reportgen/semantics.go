package reportgen

import (
	"fmt"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	confv1 "sigs.k8s.io/gateway-api/conformance/apis/v1"

	"gamma-conformance/reportgen/results"
)

// UnprofiledName is the profile of our semantics report that holds the
// upstream mesh tests the upstream report counts in no profile (their
// features fit neither MESH-HTTP nor MESH-GRPC). Its core is MESH-HTTP's core
// ({Mesh, HTTPRoute}); every other feature of those tests is extended.
const UnprofiledName = "MESH-UPSTREAM-UNPROFILED"

// semanticsReport builds our report, in the upstream ConformanceReport
// schema, from the results: one profile per semantics profile, plus
// UnprofiledName when upstream tests fell outside every profile. Results,
// statistics and summaries are computed the way the upstream suite computes
// them. It returns nil when there is nothing to report.
func semanticsReport(r *results.Results) *confv1.ConformanceReport {
	var profiles []confv1.ProfileReport
	for _, p := range r.Profiles {
		if p.Suite != results.Semantics {
			continue
		}
		pr := newProfile(p.Name)
		for _, t := range sortedTests(r.Tests) {
			for _, a := range t.Profiles {
				if a.Profile == p.Name {
					pr.add(t.ID, t.Outcome, a.Level == results.Extended)
				}
			}
		}
		profiles = append(profiles, pr.compile(p.SupportedExtended, p.UnsupportedExtended))
	}
	if up, ok := unprofiled(r); ok {
		profiles = append(profiles, up)
	}
	if len(profiles) == 0 {
		return nil
	}
	slices.SortFunc(profiles, func(a, b confv1.ProfileReport) int { return strings.Compare(a.Name, b.Name) })
	return &confv1.ConformanceReport{
		TypeMeta: metav1.TypeMeta{APIVersion: confv1.GroupVersion.String(), Kind: "ConformanceReport"},
		Implementation: confv1.Implementation{
			Organization: r.Implementation.Organization,
			Project:      r.Implementation.Project,
			URL:          r.Implementation.URL,
			Version:      r.Implementation.Version,
			Contact:      r.Implementation.Contact,
		},
		Date:              r.Run.End.Format(time.RFC3339),
		GatewayAPIVersion: r.GatewayAPI.Version,
		GatewayAPIChannel: r.GatewayAPI.Channel,
		Mode:              r.Run.Mode,
		ProfileReports:    profiles,
	}
}

// unprofiled builds the UnprofiledName profile from the upstream tests with
// features but no profile attribution.
func unprofiled(r *results.Results) (confv1.ProfileReport, bool) {
	core := []string{"Mesh", "HTTPRoute"}
	for _, p := range r.Profiles {
		if p.Name == "MESH-HTTP" && p.Suite == results.Upstream {
			core = p.Core
		}
	}
	pr := newProfile(UnprofiledName)
	var supported, unsupported []string
	found := false
	for _, t := range sortedTests(r.Tests) {
		if t.Suite != results.Upstream || len(t.Profiles) > 0 || len(t.Features) == 0 {
			continue
		}
		found = true
		extended := false
		for _, f := range t.Features {
			if slices.Contains(core, f) {
				continue
			}
			extended = true
			if slices.Contains(r.Run.SupportedFeatures, f) {
				supported = appendNew(supported, f)
			} else {
				unsupported = appendNew(unsupported, f)
			}
		}
		pr.add(t.ID, t.Outcome, extended)
	}
	return pr.compile(supported, unsupported), found
}

// profileBuilder counts tests into a ProfileReport like the upstream
// suite's addTestResults.
type profileBuilder struct{ confv1.ProfileReport }

func newProfile(name string) *profileBuilder {
	return &profileBuilder{confv1.ProfileReport{Name: name}}
}

// add counts one test. Not-supported tests are not counted, as upstream.
func (p *profileBuilder) add(id string, o results.Outcome, extended bool) {
	st := &p.Core
	if extended {
		if p.Extended == nil {
			p.Extended = &confv1.ExtendedStatus{}
		}
		st = &p.Extended.Status
	}
	switch o {
	case results.Passed:
		st.Passed++
	case results.Failed, results.Flaky:
		// A flaky test is no pass: upstream's schema has no other place.
		st.Failed++
		st.FailedTests = append(st.FailedTests, id)
	case results.Skipped:
		st.Skipped++
		st.SkippedTests = append(st.SkippedTests, id)
	}
}

// compile sets results and the summary like the upstream compileResults.
func (p *profileBuilder) compile(supported, unsupported []string) confv1.ProfileReport {
	p.Core.Result = StatusResult(p.Core)
	if p.Extended != nil {
		p.Extended.Result = StatusResult(p.Extended.Status)
		p.Extended.SupportedFeatures = sorted(supported)
		p.Extended.UnsupportedFeatures = sorted(unsupported)
	}
	p.Summary = summary(p.ProfileReport)
	return p.ProfileReport
}

// StatusResult is the result the upstream suite gives a status from its
// statistics (compileResults of conformance/utils/suite/reports.go, the same
// in v1.6.3 and v1.7.0): failure if a test failed, else partial if one was
// skipped, else success.
func StatusResult(s confv1.Status) confv1.Result {
	switch {
	case s.Failed > 0:
		return confv1.Failure
	case s.Skipped > 0:
		return confv1.Partial
	}
	return confv1.Success
}

// summary is upstream's buildSummary.
func summary(r confv1.ProfileReport) string {
	s := "Core tests " + statusSummary(r.Core)
	if r.Extended != nil {
		s += ". Extended tests " + statusSummary(r.Extended.Status)
	}
	return s + "."
}

func statusSummary(s confv1.Status) string {
	switch s.Result {
	case confv1.Partial:
		return fmt.Sprintf("partially succeeded with %d test skips", s.Skipped)
	case confv1.Failure:
		return fmt.Sprintf("failed with %d test failures", s.Failed)
	}
	return "succeeded"
}

// sortedTests returns the tests ordered by id, as upstream orders them.
func sortedTests(ts []results.Test) []results.Test {
	out := slices.Clone(ts)
	slices.SortStableFunc(out, func(a, b results.Test) int { return strings.Compare(a.ID, b.ID) })
	return out
}

func sorted(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	out := slices.Clone(s)
	slices.Sort(out)
	return slices.Compact(out)
}

func appendNew(s []string, v string) []string {
	if slices.Contains(s, v) {
		return s
	}
	return append(s, v)
}
