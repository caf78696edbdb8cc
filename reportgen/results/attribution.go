package results

import "slices"

// Attribute applies the upstream report rules to one test: the test counts
// for profile P only when every feature it needs is in P's core or extended
// set, and it counts as extended when any of them is outside P's core.
// A test that fits no profile gets none (upstream leaves it out of every
// report statistic; we still record it).
func Attribute(features []string, profiles []Profile) []Attribution {
	var out []Attribution
	for _, p := range profiles {
		level, ok := Core, true
		for _, f := range features {
			switch {
			case slices.Contains(p.Core, f):
			case slices.Contains(p.Extended, f):
				level = Extended
			default:
				ok = false
			}
		}
		if ok {
			out = append(out, Attribution{Profile: p.Name, Level: level})
		}
	}
	return out
}

// Counts is the number of tests per outcome.
type Counts struct {
	Passed, Failed, Skipped, NotSupported, Flaky int
}

// Count tallies the tests of one suite ("" for all).
func (r *Results) Count(suite Suite) Counts {
	var c Counts
	for _, t := range r.Tests {
		if suite != "" && t.Suite != suite {
			continue
		}
		switch t.Outcome {
		case Passed:
			c.Passed++
		case Failed:
			c.Failed++
		case Skipped:
			c.Skipped++
		case NotSupported:
			c.NotSupported++
		case Flaky:
			c.Flaky++
		}
	}
	return c
}
