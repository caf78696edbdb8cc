package suites

import (
	"path/filepath"
	"slices"
	"sort"

	"gamma-conformance/reportgen/results"
	"gamma-conformance/suites/semantics"
	"gamma-conformance/suites/upstream"
)

// Combine makes one results file of whatever ran: the upstream run, the
// semantics run, or both (a nil part did not run). meta carries what no
// suite knows (suite version, implementation, the run's command and clock);
// its GatewayAPI is kept when the upstream report does not say (runs
// without the upstream part). resultsPath is where the file will be
// written: the upstream report is named relative to it.
func Combine(meta results.Results, resultsPath string, up *upstream.Results, sem *semantics.Results) *results.Results {
	r := meta
	r.SchemaVersion = results.SchemaVersion
	if up != nil {
		r.Profiles = append(r.Profiles, up.Profiles...)
		r.Tests = append(r.Tests, up.Tests...)
		for _, p := range up.Options.ConformanceProfiles {
			r.Run.ConformanceProfiles = append(r.Run.ConformanceProfiles, string(p))
		}
		r.Run.SupportedFeatures = append(r.Run.SupportedFeatures, up.SupportedFeatures...)
		for _, e := range up.Options.ExemptFeatures {
			r.Run.ExemptFeatures = append(r.Run.ExemptFeatures, string(e))
		}
		r.Run.Mode = up.Options.Mode
		if up.Report != nil {
			r.GatewayAPI = results.GatewayAPI{Version: up.Report.GatewayAPIVersion, Channel: up.Report.GatewayAPIChannel}
			r.UpstreamReport = up.ReportPath
			if rel, err := filepath.Rel(filepath.Dir(resultsPath), up.ReportPath); err == nil {
				r.UpstreamReport = rel
			}
		}
	}
	if sem != nil {
		r.Profiles = append(r.Profiles, sem.Profiles...)
		r.Tests = append(r.Tests, sem.Tests...)
		r.Run.ConformanceProfiles = append(r.Run.ConformanceProfiles, sem.ConformanceProfiles...)
		r.Run.SupportedFeatures = append(r.Run.SupportedFeatures, sem.SupportedFeatures...)
	}
	sort.Strings(r.Run.SupportedFeatures)
	r.Run.SupportedFeatures = slices.Compact(r.Run.SupportedFeatures)
	return &r
}
