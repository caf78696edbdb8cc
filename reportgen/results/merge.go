package results

import (
	"errors"
	"fmt"
	"slices"
	"sort"
)

// Merge makes one results file of two runs against the same cluster and
// Gateway API CRDs, e.g. the v1.7.0 upstream binary's (suites/upstream17)
// and the root suite binary's semantics run. The run spans both; profiles
// and tests are the two lists, which must not share a name; the Gateway API
// version and channel must agree (UNDEFINED yields to a known one). The
// upstream report path is kept as it is in whichever part has one: write
// the result beside that part's file.
func Merge(a, b *Results) (*Results, error) {
	var errs []error
	r := *a
	r.Profiles = append(slices.Clone(a.Profiles), b.Profiles...)
	r.Tests = append(slices.Clone(a.Tests), b.Tests...)
	switch {
	case undefined(a.GatewayAPI):
		r.GatewayAPI = b.GatewayAPI
	case !undefined(b.GatewayAPI) && a.GatewayAPI != b.GatewayAPI:
		errs = append(errs, fmt.Errorf("the runs saw different Gateway API CRDs: %s %s and %s %s (fix: run both against one cluster)",
			a.GatewayAPI.Version, a.GatewayAPI.Channel, b.GatewayAPI.Version, b.GatewayAPI.Channel))
	}
	if r.Implementation.Organization == "" {
		r.Implementation = b.Implementation
	}
	if a.UpstreamReport != "" && b.UpstreamReport != "" {
		errs = append(errs, errors.New("both runs have an upstream report: merge an upstream run with a semantics-only run"))
	}
	if r.UpstreamReport == "" {
		r.UpstreamReport = b.UpstreamReport
	}
	if b.Run.Start.Before(r.Run.Start) {
		r.Run.Start = b.Run.Start
	}
	if b.Run.End.After(r.Run.End) {
		r.Run.End = b.Run.End
	}
	if r.Run.Mode == "" {
		r.Run.Mode = b.Run.Mode
	}
	if r.Run.ControllerName == "" {
		r.Run.ControllerName = b.Run.ControllerName
	}
	r.Run.ConformanceProfiles = union(a.Run.ConformanceProfiles, b.Run.ConformanceProfiles, false)
	r.Run.SupportedFeatures = union(a.Run.SupportedFeatures, b.Run.SupportedFeatures, true)
	r.Run.ExemptFeatures = union(a.Run.ExemptFeatures, b.Run.ExemptFeatures, true)
	if err := r.Validate(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("merge results: %w", errors.Join(errs...))
	}
	return &r, nil
}

func undefined(g GatewayAPI) bool { return g.Version == "" || g.Version == "UNDEFINED" }

// union is a then the names of b it lacks, sorted if asked.
func union(a, b []string, sorted bool) []string {
	out := slices.Clone(a)
	for _, s := range b {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	if sorted {
		sort.Strings(out)
	}
	return out
}
