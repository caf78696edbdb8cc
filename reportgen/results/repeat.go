package results

import (
	"fmt"
	"slices"
)

// MergeRepeats makes one Results of the runs of a repeated run (the same suites,
// N times, against one cluster): per test, how many runs ran it and passed
// it, and the median and longest duration. A test that both passed and
// failed is Flaky; one that always failed keeps the first failure text;
// the outcome of a test every run skipped is the first run's. Metadata is
// the first run's, with the last run's end time.
func MergeRepeats(runs []*Results) (*Results, error) {
	if len(runs) == 0 {
		return nil, fmt.Errorf("merge: no runs")
	}
	out := *runs[0]
	out.Run.End = runs[len(runs)-1].Run.End
	out.Tests = nil
	type acc struct {
		t         Test
		durations []float64
		passed    int
		failure   string
		location  string
	}
	var order []string
	byKey := map[string]*acc{}
	for _, r := range runs {
		for _, t := range r.Tests {
			key := string(t.Suite) + "/" + t.ID
			a := byKey[key]
			if a == nil {
				a = &acc{t: t}
				byKey[key] = a
				order = append(order, key)
			}
			switch t.Outcome {
			case Passed:
				a.passed++
				a.durations = append(a.durations, t.DurationSeconds)
			case Failed:
				a.durations = append(a.durations, t.DurationSeconds)
				if a.failure == "" {
					a.failure, a.location = t.Failure, t.Location
				}
			}
		}
	}
	for _, key := range order {
		a := byKey[key]
		t := a.t
		if n := len(a.durations); n > 0 {
			rep := &Repeats{Runs: n, Passed: a.passed, MedianSeconds: median(a.durations), MaxSeconds: slices.Max(a.durations)}
			t.Repeats, t.DurationSeconds = rep, rep.MedianSeconds
			switch {
			case a.passed == n:
				t.Outcome, t.Failure, t.Location = Passed, "", ""
			case a.passed == 0:
				t.Outcome, t.Failure, t.Location = Failed, a.failure, a.location
			default:
				t.Outcome, t.Failure, t.Location = Flaky, fmt.Sprintf("flaky: passed %d of %d runs; first failure:\n%s", a.passed, n, a.failure), a.location
			}
		}
		out.Tests = append(out.Tests, t)
	}
	return &out, nil
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
