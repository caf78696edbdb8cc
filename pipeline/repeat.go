package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"gamma-conformance/reportgen/results"
)

// Repeat runs the suite n times against one cluster, each run into
// <OutputDir>/runs/<k>, and merges them into <OutputDir>/results.json
// (results.MergeRepeats: passes / runs, median and longest duration per test;
// a test that both passed and failed is flaky). The first run's upstream
// report is copied beside it verbatim. After each run it prints the
// figures so far: flake_runs=<k> and flaky_tests=<tests that were ever
// flaky or failed>. The error is a *SuiteError when some test failed or was
// flaky in the merged results.
func Repeat(ctx context.Context, s Suite, n int, stdout, log io.Writer) (*results.Results, error) {
	if n < 1 {
		return nil, fmt.Errorf("--repeat %d: run the suites at least once", n)
	}
	var runs []*results.Results
	var merged *results.Results
	for k := 1; k <= n && ctx.Err() == nil; k++ {
		run := s
		run.OutputDir = filepath.Join(s.OutputDir, "runs", fmt.Sprint(k))
		err := run.Run(ctx, stdout, log)
		var se *SuiteError
		if err != nil && (!errors.As(err, &se) || se.Usage || se.Code < 0) {
			return merged, err
		}
		r, rerr := results.Read(filepath.Join(run.OutputDir, results.File))
		if rerr != nil {
			return merged, fmt.Errorf("run %d of %d wrote no results: %w", k, n, rerr)
		}
		runs = append(runs, r)
		if merged, rerr = results.MergeRepeats(runs); rerr != nil {
			return merged, rerr
		}
		fmt.Fprintf(log, "flake_runs=%d\nflaky_tests=%d\n", k, len(unsteady(merged)))
	}
	if err := writeMerged(s.OutputDir, merged, runs[0]); err != nil {
		return merged, err
	}
	if bad := unsteady(merged); len(bad) > 0 {
		return merged, &SuiteError{Code: 1, Err: fmt.Errorf("%d tests failed or were flaky over %d runs: %v", len(bad), len(runs), bad)}
	}
	return merged, ctx.Err()
}

// unsteady lists the tests that failed or were flaky.
func unsteady(r *results.Results) []string {
	var out []string
	for _, t := range r.Tests {
		if t.Outcome == results.Failed || t.Outcome == results.Flaky {
			out = append(out, t.ID)
		}
	}
	return out
}

// writeMerged writes the merged results into dir with a verbatim copy of
// the first run's upstream report.
func writeMerged(dir string, merged, first *results.Results) error {
	if first.UpstreamReport != "" {
		src := filepath.Join(dir, "runs", "1", first.UpstreamReport)
		raw, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		name := filepath.Base(first.UpstreamReport)
		if err := os.WriteFile(filepath.Join(dir, name), raw, 0o644); err != nil {
			return err
		}
		merged.UpstreamReport = name
	}
	return results.Write(filepath.Join(dir, results.File), merged)
}
