package suites

import (
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
		up.AddTo(&r, resultsPath)
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
