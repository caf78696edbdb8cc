package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"gamma-conformance/harness/existing"
	"gamma-conformance/harness/local"
	"gamma-conformance/pipeline"
	"gamma-conformance/profiles"
)

// Exit codes of gammaconf (documented in `gammaconf run --help`).
const (
	exitFailed  = 1
	exitUsage   = 2
	exitRuntime = 3
)

// exitError carries an exit code out of a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }

func runCommand() *cobra.Command {
	var kubeconfig, outDir, binary string
	var negative bool
	var repeat int
	var reference bool
	var negativeTimeout time.Duration
	cmd := &cobra.Command{
		Use:   "run [flags] [-- suite flags]",
		Short: "run the conformance suites (upstream mesh tests + GAMMA semantics) against a cluster",
		Long: `Run the conformance suite binary against a cluster with a mesh installed.

The suite binary holds the 22 upstream mesh tests of gateway-api v1.6.3 (run
unmodified) and the GAMMA semantics suite. Flags after -- go to it and take
the upstream runner's names and meanings, for example:

  gammaconf run --kubeconfig ~/.kube/config -- \
    --conformance-profiles=MESH-HTTP,MESH-GRPC --all-features \
    --exempt-features=Gateway,ReferenceGrant \
    --namespace-labels=istio-injection=enabled \
    --organization=Acme --project=acme-mesh --url=https://example.com/acme \
    --version=v1.2.3 --contact=mesh@example.com

Or let the suite read the features your mesh claims on its XMesh object:
  -- --gateway-class= --mesh-name=<xmesh name> --conformance-profiles=MESH-HTTP,MESH-GRPC

Results go to <output-dir>/suites (results.json, the upstream report YAML,
failure dumps); render them with ` + "`gammaconf report`" + `.

--negative-control runs only the semantics suite against a cluster with NO
mesh: it succeeds only if every spec that tests mesh behaviour fails and
every control spec passes (results in <output-dir>/negative-control).

Feature names (--supported-features, --exempt-features) are upstream's
(sigs.k8s.io/gateway-api/pkg/features) and the semantics suite's:
` + wrap(strings.Join(profiles.Features(), ", "), 76) + `

Exit codes: 0 every test that ran passed (or the negative control held);
1 a test failed (or the negative control did not hold); 2 bad usage or
setup (no kubeconfig, a cluster that does not answer or serves no Gateway
API CRDs, an unknown feature name, a bad flag), checked before anything is
built or run; 3 the suite binary could not be built or run.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if repeat < 1 || (repeat > 1 && negative) {
				return &exitError{exitUsage, fmt.Errorf("--repeat %d: must be at least 1, and 1 with --negative-control", repeat)}
			}
			if err := checkFeatureFlags(args); err != nil {
				return &exitError{exitUsage, err}
			}
			if _, err := os.Stat(kubeconfig); err != nil {
				return &exitError{exitUsage, fmt.Errorf("kubeconfig %s: %w (bring a cluster up with `gammaconf cluster up`, or pass --kubeconfig)", kubeconfig, err)}
			}
			// The cluster answers and serves the Gateway API, whoever made it.
			if _, err := (&existing.Provider{Kubeconfig: kubeconfig}).Up(cmd.Context()); err != nil {
				return err
			}
			if err := os.MkdirAll(outDir, 0o755); err != nil {
				return &exitError{exitUsage, fmt.Errorf("--output-dir %s: %w", outDir, err)}
			}
			if binary == "" {
				binary = filepath.Join(outDir, "bin", "suites.test")
				fmt.Fprintf(cmd.ErrOrStderr(), "building the suite binary %s\n", binary)
				if err := pipeline.BuildSuite(cmd.Context(), binary, cmd.ErrOrStderr()); err != nil {
					return &exitError{exitRuntime, err}
				}
			}
			if reference {
				args = append(pipeline.ReferenceMeshFlags(), args...)
			}
			s := pipeline.Suite{Binary: binary, Kubeconfig: kubeconfig, OutputDir: filepath.Join(outDir, "suites"), Flags: args}
			if negative {
				s.NegativeControl, s.Timeout, s.OutputDir = true, negativeTimeout, filepath.Join(outDir, "negative-control")
			}
			var err error
			if repeat > 1 {
				_, err = pipeline.Repeat(cmd.Context(), s, repeat, cmd.OutOrStdout(), cmd.ErrOrStderr())
			} else {
				err = s.Run(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr())
			}
			return suiteExit(err)
		},
	}
	f := cmd.Flags()
	f.StringVar(&kubeconfig, "kubeconfig", local.DefaultKubeconfig, "kubeconfig of the cluster under test")
	f.StringVar(&outDir, "output-dir", "out", "output folder of the run")
	f.StringVar(&binary, "suite-binary", "", "prebuilt suite binary (`go test -c ./suites`); default: build it from this source tree")
	f.BoolVar(&negative, "negative-control", false, "run the semantics suite as the negative control (cluster with no mesh)")
	f.BoolVar(&reference, "reference-mesh", false, "pass the suite flags of a run against the reference mesh (its XMesh, namespace label, controller name and report identity) before the flags after --")
	f.IntVar(&repeat, "repeat", 1, "run both suites this many times against the cluster and merge the runs: passes / runs and the median and longest duration per test; a test that both passed and failed is flaky (results of each run in <output-dir>/suites/runs/<k>)")
	f.DurationVar(&negativeTimeout, "negative-control-timeout", time.Second, "convergence timeout of the negative control: with no mesh nothing converges, and the control specs pass at once")
	return cmd
}

// featureFlags are the suite flags whose values name features.
var featureFlags = []string{"supported-features", "exempt-features"}

// checkFeatureFlags fails on an unknown feature name in the suite flags
// (args after --), before anything is built or run.
func checkFeatureFlags(args []string) error {
	for i, a := range args {
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || !slices.Contains(featureFlags, name) {
			continue
		}
		if !hasValue && i+1 < len(args) {
			value = args[i+1]
		}
		var names []string
		for _, n := range strings.Split(value, ",") {
			if n = strings.TrimSpace(n); n != "" {
				names = append(names, n)
			}
		}
		if err := profiles.CheckFeatureNames("--"+name, names); err != nil {
			return err
		}
	}
	return nil
}

// wrap breaks s into lines of at most width characters, at spaces.
func wrap(s string, width int) string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(s) {
		if line != "" && len(line)+1+len(w) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	return strings.Join(append(lines, line), "\n")
}

// suiteExit maps how a suite run ended to gammaconf's exit codes.
func suiteExit(err error) error {
	var se *pipeline.SuiteError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &se) && se.Usage:
		return &exitError{exitUsage, err}
	case errors.As(err, &se) && se.Code > 0:
		return &exitError{exitFailed, err}
	default:
		return &exitError{exitRuntime, err}
	}
}
