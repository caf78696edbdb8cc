package main

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"gamma-conformance/reportgen"
)

// exitCodes documents the exit codes of report and badge.
const exitCodes = `
Exit codes:
  0  the files were written (whatever the test outcomes)
  2  bad input: bad flags, a missing or unreadable file, a results file of
     another schema version, an upstream report that does not belong to the
     results; nothing was written
  3  the files could not be written (e.g. the output folder is not
     writable); nothing was half-written`

// noArgs rejects positional arguments as bad usage.
func noArgs(_ *cobra.Command, args []string) error {
	if len(args) > 0 {
		return &exitError{exitUsage, fmt.Errorf("unexpected argument %q: every input is a flag (see --help)", args[0])}
	}
	return nil
}

func reportCommand() *cobra.Command {
	var resultsPath, output string
	var readme bool
	var checks []string
	cmd := &cobra.Command{
		Use:   "report",
		Short: "render the reports of a saved run (no cluster needed)",
		Long: `Render the reports of a saved run from its results.json and the upstream
report saved beside it. No cluster is needed; a run can be re-rendered later.

Writes into the output folder:
  <channel>-<version>-<mode>-report.yaml            upstream ConformanceReport, byte for byte
  <channel>-<version>-<mode>-semantics-report.yaml  our profiles + upstream tests in no profile
  junit.xml                                         one testsuite per suite
  report.html                                       self-contained page
  badges/<profile>.svg                              one badge per profile
  README.md                                         with --readme: the reports table

With --check FILE.yaml it renders nothing: it applies upstream's rules to an
upstream ConformanceReport before you submit it (see --check).
` + exitCodes + checkExitCodes,
		Example: `  gammaconf report --results out/suites
  gammaconf report --results out/suites/results.json --output reports/v1.6/my-mesh --readme
  gammaconf report --check reports/v1.7/my-mesh/experimental-v1.2.3-default-report.yaml`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(checks) > 0 {
				if resultsPath != "" || output != "" || readme {
					return &exitError{exitUsage, fmt.Errorf("--check renders nothing: use it without --results, --output and --readme")}
				}
				return checkReports(cmd.OutOrStdout(), checks)
			}
			start := time.Now()
			if resultsPath == "" {
				return &exitError{exitUsage, fmt.Errorf("--results is required: pass a run's results.json or the folder that holds it")}
			}
			run, err := reportgen.Load(resultsPath)
			if err != nil {
				return &exitError{exitUsage, err}
			}
			if output == "" {
				output = filepath.Dir(run.ResultsPath)
			}
			files, err := reportgen.Render(run)
			if err != nil {
				return &exitError{exitRuntime, err}
			}
			if readme {
				f, err := reportgen.Readme(output, files)
				if err != nil {
					return &exitError{exitUsage, err}
				}
				files = append(files, f)
			}
			if err := reportgen.Write(output, files); err != nil {
				return &exitError{exitRuntime, err}
			}
			for _, f := range files {
				fmt.Fprintln(cmd.OutOrStdout(), filepath.Join(output, f.Name))
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "rendered %d files from %s in %s\n", len(files), run.ResultsPath, time.Since(start).Round(time.Millisecond))
			return nil
		},
	}
	cmd.Flags().StringVar(&resultsPath, "results", "", "results.json of a run, or the folder that holds it (required)")
	cmd.Flags().StringVar(&output, "output", "", "folder to write into (default: the folder of the results file)")
	cmd.Flags().StringArrayVar(&checks, "check", nil, "check an upstream ConformanceReport YAML against upstream's submission rules of its Gateway API version (repeatable); exit 2 when a rule is broken")
	cmd.Flags().BoolVar(&readme, "readme", false, "also write README.md listing every report in the output folder (for reports/<version>/<impl>/)")
	return cmd
}
