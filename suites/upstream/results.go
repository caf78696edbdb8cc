package upstream

import (
	"path/filepath"

	"gamma-conformance/reportgen/results"
)

// AddTo records the run in a results file: its profiles and tests, the
// run's profiles, supported and exempt features and mode, and, when the
// upstream report was written, the Gateway API version and channel it
// names and its file relative to resultsPath (where r will be written).
func (up *Results) AddTo(r *results.Results, resultsPath string) {
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
