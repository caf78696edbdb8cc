package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"gamma-conformance/gatewayapi"
	"gamma-conformance/harness/crds"
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

// runOptions are gammaconf run's flags.
type runOptions struct {
	kubeconfig, outDir, binary, upstreamBinary, version string
	negative, reference, parallelSuites                 bool
	repeat                                              int
	negativeTimeout                                     time.Duration
}

func runCommand() *cobra.Command {
	o := &runOptions{}
	cmd := &cobra.Command{
		Use:   "run [flags] [-- suite flags]",
		Short: "run the conformance suites (upstream mesh tests + GAMMA semantics) against a cluster",
		Long: `Run the conformance suites against a cluster with a mesh installed.

The suites are the upstream mesh tests of the Gateway API release of the
cluster's CRDs, run unmodified, and the GAMMA semantics suite.
--gateway-api-version names the release (default ` + gatewayapi.Default + `); the CRDs must be
its own (` + "`gammaconf crds install --version`" + `):
  v1.7.0  23 upstream tests, run by the nested module's runner
          (suites/upstream17, Go 1.27.3), the semantics suite by the suite
          binary; the two results files are merged
  v1.6.3  22 upstream tests and the semantics suite, in the suite binary
Flags after -- go to the suites and take the upstream runner's names and
meanings, for example:

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
			return o.run(cmd, args)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.kubeconfig, "kubeconfig", local.DefaultKubeconfig, "kubeconfig of the cluster under test")
	f.StringVar(&o.outDir, "output-dir", "out", "output folder of the run")
	f.StringVar(&o.binary, "suite-binary", "", "prebuilt suite binary (`go test -c ./suites`); default: build it from this source tree")
	f.StringVar(&o.version, "gateway-api-version", gatewayapi.Default, "Gateway API release of the cluster's CRDs, whose upstream mesh tests run ("+strings.Join(gatewayapi.Versions(), " or ")+")")
	f.StringVar(&o.upstreamBinary, "upstream-binary", "", "prebuilt upstream runner of a release the suite binary does not hold (v1.7.0: make upstream17-bin); default: build it (Go 1.27.3, fetched from the module proxy)")
	f.BoolVar(&o.parallelSuites, "parallel-suites", false, "run the upstream tests and the semantics suite at the same time, as two processes (each in its own namespaces; what `gammaconf conformance` does)")
	f.BoolVar(&o.negative, "negative-control", false, "run the semantics suite as the negative control (cluster with no mesh)")
	f.BoolVar(&o.reference, "reference-mesh", false, "pass the suite flags of a run against the reference mesh (its XMesh, namespace label, controller name and report identity) before the flags after --")
	f.IntVar(&o.repeat, "repeat", 1, "run both suites this many times against the cluster and merge the runs: passes / runs and the median and longest duration per test; a test that both passed and failed is flaky (results of each run in <output-dir>/suites/runs/<k>)")
	f.DurationVar(&o.negativeTimeout, "negative-control-timeout", 5*time.Second, "convergence timeout of the negative control: with no mesh nothing converges, and the control specs pass once kube-proxy serves each spec's new Services")
	return cmd
}

// run checks the input and the cluster, builds what is missing and runs
// the suites.
func (o *runOptions) run(cmd *cobra.Command, args []string) error {
	ctx, log := cmd.Context(), cmd.ErrOrStderr()
	if o.repeat < 1 || (o.repeat > 1 && o.negative) {
		return &exitError{exitUsage, fmt.Errorf("--repeat %d: must be at least 1, and 1 with --negative-control", o.repeat)}
	}
	rel, err := gatewayapi.Lookup(o.version)
	if err != nil {
		return &exitError{exitUsage, fmt.Errorf("--gateway-api-version: %w", err)}
	}
	if err := checkFeatureFlags(args); err != nil {
		return &exitError{exitUsage, err}
	}
	if _, err := os.Stat(o.kubeconfig); err != nil {
		return &exitError{exitUsage, fmt.Errorf("kubeconfig %s: %w (bring a cluster up with `gammaconf cluster up`, or pass --kubeconfig)", o.kubeconfig, err)}
	}
	// The cluster answers and serves the release's CRDs, whoever made it.
	c, err := (&existing.Provider{Kubeconfig: o.kubeconfig}).Up(ctx)
	if err != nil {
		return err
	}
	rc, err := c.RESTConfig()
	if err != nil {
		return err
	}
	if err := crds.CheckVersion(ctx, rc, rel.Version); err != nil {
		return err
	}
	if err := os.MkdirAll(o.outDir, 0o755); err != nil {
		return &exitError{exitUsage, fmt.Errorf("--output-dir %s: %w", o.outDir, err)}
	}
	s, err := o.suite(ctx, rel, args, log)
	if err != nil {
		return &exitError{exitRuntime, err}
	}
	if o.repeat > 1 {
		_, err = pipeline.Repeat(ctx, s, o.repeat, cmd.OutOrStdout(), log)
	} else {
		err = s.Run(ctx, cmd.OutOrStdout(), log)
	}
	return suiteExit(err)
}

// suite builds the binaries that were not given and says how to run them.
func (o *runOptions) suite(ctx context.Context, rel gatewayapi.Release, args []string, log io.Writer) (pipeline.Suite, error) {
	s := pipeline.Suite{Binary: o.binary, Kubeconfig: o.kubeconfig, OutputDir: filepath.Join(o.outDir, "suites"), Flags: args}
	if s.Binary == "" {
		s.Binary = filepath.Join(o.outDir, "bin", pipeline.SuiteBinaryName)
		fmt.Fprintf(log, "building the suite binary %s\n", s.Binary)
		if err := pipeline.BuildSuite(ctx, s.Binary, log); err != nil {
			return s, err
		}
	}
	if o.reference {
		s.Flags = append(pipeline.ReferenceMeshFlags(), args...)
	}
	if o.negative {
		s.NegativeControl, s.Timeout, s.OutputDir = true, o.negativeTimeout, filepath.Join(o.outDir, "negative-control")
		return s, nil
	}
	if o.parallelSuites {
		s.UpstreamBinary, s.Concurrent = s.Binary, true
	}
	if pipeline.SeparateUpstream(rel) {
		s.UpstreamBinary = o.upstreamBinary
		if s.UpstreamBinary == "" {
			s.UpstreamBinary = filepath.Join(o.outDir, "bin", rel.UpstreamBinary)
			fmt.Fprintf(log, "building the Gateway API %s upstream runner %s\n", rel.Version, s.UpstreamBinary)
			if err := pipeline.BuildUpstream(ctx, rel, s.UpstreamBinary, log); err != nil {
				return s, err
			}
		}
	}
	return s, nil
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
