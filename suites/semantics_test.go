package suites

import (
	"regexp"
	"slices"
	"strings"
	"sync"

	. "github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"

	"gamma-conformance/profiles"
	"gamma-conformance/reportgen/results"
)

const semanticsSuite = "GAMMA semantics"

// notSupportedPrefix starts the skip message of specs whose features the
// implementation does not claim.
const notSupportedPrefix = "not supported: "

var (
	semanticsMu     sync.Mutex
	semanticsReport *types.Report
	// previewing is set while PreviewSpecs walks the tree: the report
	// nodes then see a dry run, which must not count.
	previewing bool
)

var _ = ReportAfterSuite("results file", func(r Report) {
	if previewing {
		return
	}
	semanticsMu.Lock()
	defer semanticsMu.Unlock()
	semanticsReport = &r
})

// describe is Describe with a progress line after each spec. (A top-level
// ReportAfterEach would be lost: PreviewSpecs restores a clone of the suite
// that keeps only containers and suite-level nodes.)
func describe(text string, body func()) bool {
	return Describe(text, func() {
		ReportAfterEach(reportProgress)
		body()
	})
}

func reportProgress(sr SpecReport) {
	if previewing || sr.LeafNodeType != types.NodeTypeIt || sr.State == types.SpecStateSkipped && sr.Failure.Message == "" {
		return
	}
	progress("semantics: %-70.70s %-13s %6.1fs", sr.LeafNodeText, outcomeOf(sr), sr.RunTime.Seconds())
}

// semanticsTests turns the Ginkgo report into results entries.
func semanticsTests(r *types.Report) []results.Test {
	profs := semanticsProfiles()
	var out []results.Test
	for _, sr := range r.SpecReports {
		if sr.LeafNodeType != types.NodeTypeIt {
			continue
		}
		labels := sr.Labels()
		feats := slices.DeleteFunc(slices.Clone(labels), func(l string) bool { return l == results.ControlLabel })
		t := results.Test{
			ID:              sr.FullText(),
			Suite:           results.Semantics,
			Outcome:         outcomeOf(sr),
			Features:        feats,
			Labels:          labels,
			Profiles:        results.Attribute(feats, profs),
			DurationSeconds: sr.RunTime.Seconds(),
			Rerun:           rerunCommand("TestSemantics", "--ginkgo.focus=^"+regexp.QuoteMeta(sr.FullText())+"$"),
		}
		if sr.Failure.Message != "" {
			t.Failure = sr.Failure.Message
			t.Location = sr.Failure.Location.String()
		}
		if t.Outcome == results.Failed && t.Failure == "" {
			t.Failure = "spec " + sr.State.String()
		}
		out = append(out, t)
	}
	return out
}

func outcomeOf(sr types.SpecReport) results.Outcome {
	switch {
	case sr.State == types.SpecStatePassed:
		return results.Passed
	case sr.State == types.SpecStateSkipped && strings.HasPrefix(sr.Failure.Message, notSupportedPrefix):
		return results.NotSupported
	case sr.State == types.SpecStateSkipped, sr.State == types.SpecStatePending:
		return results.Skipped
	default:
		return results.Failed
	}
}

// semanticsProfiles describes our profiles for the results file.
func semanticsProfiles() []results.Profile {
	supported := supportedSemantics()
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

// supportedSemantics is the semantics feature set of this run, read from
// the upstream flags: every feature, minus --exempt-features; when
// --supported-features names semantics features, only those and the core
// ones (upstream ignores names it does not know).
func supportedSemantics() map[string]bool {
	listed := slices.DeleteFunc(featureFlag("supported-features"), func(f string) bool { return !profiles.IsFeature(f) })
	out := map[string]bool{}
	for _, p := range profiles.All() {
		for _, f := range p.Core {
			out[f] = true
		}
		for _, f := range p.Extended {
			out[f] = len(listed) == 0 || slices.Contains(listed, f)
		}
	}
	for _, f := range featureFlag("exempt-features") {
		if profiles.IsFeature(f) {
			out[f] = false
		}
	}
	return out
}

// featureFlag returns the feature names in the value of an upstream flag.
func featureFlag(name string) []string {
	var out []string
	for _, s := range strings.Split(flagLookupValue(name), ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// checkFeatureFlags fails on a name in --supported-features or
// --exempt-features that no suite knows (upstream ignores those silently).
func checkFeatureFlags() error {
	for _, name := range []string{"supported-features", "exempt-features"} {
		if err := profiles.CheckFeatureNames("--"+name, featureFlag(name)); err != nil {
			return err
		}
	}
	return nil
}

// unsupported lists the spec's features this run does not claim.
func unsupported(labels []string) []string {
	supported := supportedSemantics()
	var out []string
	for _, l := range labels {
		if l != results.ControlLabel && !supported[l] {
			out = append(out, l)
		}
	}
	return out
}
