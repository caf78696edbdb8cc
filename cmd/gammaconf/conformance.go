package main

import (
	"errors"

	"github.com/spf13/cobra"

	"gamma-conformance/pipeline"
)

func conformanceCommand() *cobra.Command {
	f := &clusterFlags{}
	var outDir, binary string
	cmd := &cobra.Command{
		Use:   "conformance",
		Short: "the main job: cluster up, CRDs, negative control, reference mesh, both suites, reports, cluster down",
		Long: `Run the main job on one cluster (what ` + "`make conformance`" + ` runs):

  1. bring the cluster up (--provider local: the embedded single-node
     cluster on this host, as root; kind; or existing with --kubeconfig)
  2. install the experimental-channel Gateway API CRDs
  3. the negative control: the semantics suite with no mesh installed; every
     spec that tests mesh behaviour must fail and every control must pass
     (results in <output-dir>/negative-control)
  4. build, load and install the reference mesh
  5. run both suites against it (results in <output-dir>/suites)
  6. render the reports (report.html, YAML reports, junit.xml, badges/)
  7. bring the cluster down, whatever happened (also on interrupt)

The last line printed is conformance_wall_s=<seconds>.

Exit codes: 0 the negative control held and the reference mesh passed every
test it claims; 1 it did not (see the reports), or a step failed; 2 bad input
or setup (unknown provider, not root for the local provider, an unusable
kubeconfig); 3 the suite binary could not be built or run.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := f.newProvider()
			if err != nil {
				return err
			}
			err = pipeline.Conformance(cmd.Context(), pipeline.Options{
				Provider: p, OutDir: outDir, SuiteBinary: binary, Log: cmd.ErrOrStderr(),
			})
			var se *pipeline.SuiteError
			var fe *pipeline.FailedError
			switch {
			case err == nil:
				return nil
			case errors.As(err, &se) && se.Usage:
				return &exitError{exitUsage, err}
			case errors.As(err, &fe):
				return &exitError{exitFailed, err}
			case errors.As(err, &se) && se.Code < 0:
				return &exitError{exitRuntime, err}
			default:
				return err
			}
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&outDir, "output-dir", "out", "output folder: negative-control/, suites/, mesh/, bin/")
	cmd.Flags().StringVar(&binary, "suite-binary", "", "prebuilt suite binary (`go test -c ./suites`); default: build it from this source tree")
	return cmd
}
