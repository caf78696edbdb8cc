package semantics

import (
	"slices"

	"gamma-conformance/profiles"
	"gamma-conformance/reportgen/results"
)

// notSupportedPrefix starts the skip message of specs whose features the
// implementation does not claim.
const notSupportedPrefix = "not supported: "

// supportedFeatures is the semantics feature set of a run: every feature,
// minus ExemptFeatures; when SupportedFeatures names semantics features
// (and AllFeatures is not set), only those and the core ones (upstream
// ignores names it does not know).
func supportedFeatures(cfg Config) map[string]bool {
	listed := slices.DeleteFunc(slices.Clone(cfg.SupportedFeatures), func(f string) bool { return !profiles.IsFeature(f) })
	out := map[string]bool{}
	for _, p := range profiles.All() {
		for _, f := range p.Core {
			out[f] = true
		}
		for _, f := range p.Extended {
			out[f] = cfg.AllFeatures || len(listed) == 0 || slices.Contains(listed, f)
		}
	}
	for _, f := range cfg.ExemptFeatures {
		if profiles.IsFeature(f) {
			out[f] = false
		}
	}
	return out
}

// unsupported lists the spec's features this run does not claim.
func unsupported(labels []string, supported map[string]bool) []string {
	var out []string
	for _, l := range labels {
		if l != results.ControlLabel && !supported[l] {
			out = append(out, l)
		}
	}
	return out
}

// resultProfiles describes the semantics profiles for the results file.
func resultProfiles(supported map[string]bool) []results.Profile {
	var out []results.Profile
	for _, p := range profiles.All() {
		rp := results.Profile{Name: p.Name, Suite: results.Semantics, Core: p.Core, Extended: p.Extended}
		for _, f := range p.Extended {
			if supported[f] {
				rp.SupportedExtended = append(rp.SupportedExtended, f)
			} else {
				rp.UnsupportedExtended = append(rp.UnsupportedExtended, f)
			}
		}
		out = append(out, rp)
	}
	return out
}
