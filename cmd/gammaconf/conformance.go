package main

import (
	"errors"
	"strings"

	"github.com/spf13/cobra"

	"gamma-conformance/gatewayapi"
	"gamma-conformance/pipeline"
)

func conformanceCommand() *cobra.Command {
	f := &clusterFlags{}
	var outDir, binary, upstreamBinary, version string
	cmd := &cobra.Command{
		Use:   "conformance",
		Short: "the main job: cluster up, CRDs, negative control, reference mesh, both suites, reports, cluster down",
		Long: `Run the main job on one cluster (what ` + "`make conformance`" + ` runs):

  1. bring the cluster up (--provider local: the embedded single-node
     cluster on this host, as root; kind; or existing with --kubeconfig)
  2. install the experimental-channel CRDs of the Gateway API release
     (--gateway-api-version; on the local and kind clusters the CRDs of
     another release are replaced)
  3. the negative control: the semantics suite with no mesh installed; every
     spec that tests mesh behaviour must fail and every control must pass
     (results in <output-dir>/negative-control); the mesh images and the
     release's upstream runner build meanwhile
  4. build, load and install the reference mesh
  5. run both suites against it, at once, as two processes in their own
     namespaces (results in <output-dir>/suites): the release's upstream
     mesh tests, unmodified, and the semantics suite
  6. switch the mesh to its alternate choices (the other legal answer
     wherever the specification leaves a choice) and run both suites again
     (results in <output-dir>/alternate)
  7. render the reports (report.html, YAML reports, junit.xml, badges/)
  8. bring the cluster down, whatever happened (also on interrupt)

Gateway API releases: ` + strings.Join(gatewayapi.Versions(), ", ") + ` (default ` + gatewayapi.Default + `). The
v1.7.0 upstream mesh tests need Go 1.27: their runner is the nested module
suites/upstream17, built with GOTOOLCHAIN=go1.27.3 (fetched from the module
proxy the first time) unless --upstream-binary gives it.

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
				GatewayAPIVersion: version, UpstreamBinary: upstreamBinary, PruneCRDs: f.provider != "existing",
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
	cmd.Flags().StringVar(&version, "gateway-api-version", gatewayapi.Default, "Gateway API release: its CRDs and its upstream mesh tests ("+strings.Join(gatewayapi.Versions(), " or ")+")")
	cmd.Flags().StringVar(&upstreamBinary, "upstream-binary", "", "prebuilt upstream runner of a release the suite binary does not hold (v1.7.0: make upstream17-bin); default: build it")
	return cmd
}
