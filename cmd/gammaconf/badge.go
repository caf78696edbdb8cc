package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"gamma-conformance/reportgen"
)

func badgeCommand() *cobra.Command {
	var resultsPath, reportPath, output string
	cmd := &cobra.Command{
		Use:   "badge",
		Short: "make one SVG badge per conformance profile, offline",
		Long: `Make one SVG badge per conformance profile, in the style of the Gateway API
implementations page: label "Gateway API Mesh Conformance <version>", message
"<profile>: <passed>/<total>", green (success), orange (partial) or red
(failure). Text widths come from a font-metrics table: no font, no network.

From a saved run (--results: the upstream report and our semantics report)
or from any upstream ConformanceReport YAML (--report). Writes
badges/<profile>.svg into the output folder.
` + exitCodes,
		Example: `  gammaconf badge --results out/suites
  gammaconf badge --report standard-v1.2.3-default-report.yaml --output site/`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var badges []reportgen.Badge
			switch {
			case (resultsPath == "") == (reportPath == ""):
				return &exitError{exitUsage, errors.New("pass exactly one of --results (a run's results.json or its folder) and --report (a ConformanceReport YAML)")}
			case resultsPath != "":
				run, err := reportgen.Load(resultsPath)
				if err != nil {
					return &exitError{exitUsage, err}
				}
				badges = run.Badges()
				if output == "" {
					output = filepath.Dir(run.ResultsPath)
				}
			default:
				data, err := os.ReadFile(reportPath)
				if err != nil {
					return &exitError{exitUsage, fmt.Errorf("read report: %w (fix: pass the ConformanceReport YAML the upstream suite wrote)", err)}
				}
				rep, err := reportgen.ParseReport(data)
				if err != nil {
					return &exitError{exitUsage, fmt.Errorf("%s: %w", reportPath, err)}
				}
				badges = reportgen.Badges(rep)
				if output == "" {
					output = filepath.Dir(reportPath)
				}
			}
			if len(badges) == 0 {
				return &exitError{exitUsage, errors.New("no profile to make a badge for (fix: run at least one conformance profile)")}
			}
			files := reportgen.BadgeFiles(badges)
			if err := reportgen.Write(output, files); err != nil {
				return &exitError{exitRuntime, err}
			}
			for i, b := range badges {
				fmt.Fprintf(cmd.OutOrStdout(), "%s\t%s: %s (%s)\n", filepath.Join(output, files[i].Name), b.Label, b.Message, b.Result)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&resultsPath, "results", "", "results.json of a run, or the folder that holds it")
	cmd.Flags().StringVar(&reportPath, "report", "", "an upstream ConformanceReport YAML")
	cmd.Flags().StringVar(&output, "output", "", "folder to write badges/ into (default: the folder of the input)")
	return cmd
}
