// Package config holds the suite binary's own flags: the ones the upstream
// runner does not have. The v1.7.0 upstream binary (suites/upstream17)
// registers the same flags, so one command line (pipeline.Suite) runs either;
// it must not import the semantics suite, which that module does not build. Their names never collide with the upstream flags
// (registered by sigs.k8s.io/gateway-api/conformance) nor with Ginkgo's
// (prefixed "ginkgo.") or go test's (prefixed "test.").
package config

import (
	"flag"
	"fmt"
	"path/filepath"
	"time"

	"gamma-conformance/gatewayapi"
)

// Flags are the suite binary's own options.
type Flags struct {
	OutputDir          string
	ResultsOutput      string
	ControllerName     string
	ConvergenceTimeout time.Duration
	KeepOnFailure      bool
	DumpOnFailure      bool
	DumpDir            string
	EchoImage          string
	ReadyTimeout       time.Duration
	SuiteVersion       string
	NegativeControl    bool
	PolicyController   string
	List               bool
	ParallelSpecs      int
}

// Current holds the values parsed from the command line.
var Current = register(flag.CommandLine)

func register(fs *flag.FlagSet) *Flags {
	f := &Flags{}
	fs.StringVar(&f.OutputDir, "output-dir", "out/suites", "folder for results.json, the upstream report (unless --report-output is set) and failure dumps")
	fs.StringVar(&f.ResultsOutput, "results-output", "", "results file (default <output-dir>/results.json)")
	fs.StringVar(&f.ControllerName, "controller-name", "", "semantics suite: read only route status entries written by this controllerName (default: any entry for the parentRef)")
	fs.DurationVar(&f.ConvergenceTimeout, "convergence-timeout", 30*time.Second, "semantics suite: how long a spec waits for route status and traffic to converge")
	fs.DurationVar(&f.ReadyTimeout, "ready-timeout", 5*time.Minute, "semantics suite: how long the run waits for the pods its specs share to become Ready")
	fs.BoolVar(&f.KeepOnFailure, "keep-on-failure", false, "semantics suite: keep the objects of a failed spec and the namespaces they are in, for debugging")
	fs.BoolVar(&f.DumpOnFailure, "dump-on-failure", true, "semantics suite: write routes with status, proxy config dumps, pod logs and events of a failed spec")
	fs.StringVar(&f.DumpDir, "dump-dir", "", "folder for failure dumps (default <output-dir>/dumps)")
	fs.StringVar(&f.EchoImage, "echo-image", gatewayapi.EchoImageV163, "semantics suite: the echo server and client image (must be present on the nodes)")
	fs.StringVar(&f.SuiteVersion, "suite-version", "dev", "version of the suites recorded in results.json")
	fs.BoolVar(&f.NegativeControl, "negative-control", false, "the cluster has no mesh: exit 0 only if every semantics spec that tests mesh behaviour failed and every control passed")
	fs.StringVar(&f.PolicyController, "policy-controller-name", "", "semantics suite: read only policy ancestor entries written by this controllerName (default: any; a mesh may write policy status under another name than route status)")
	fs.IntVar(&f.ParallelSpecs, "parallel-specs", 1, "semantics suite: how many specs run at once (1: one after another, each on a quiet mesh; the negative control runs 16)")
	fs.BoolVar(&f.List, "list", false, "print every semantics spec with its features, level and the sentence of the specification it checks, and exit")
	return f
}

// UpstreamReport is the default path of the upstream report.
func (f *Flags) UpstreamReport() string { return filepath.Join(f.OutputDir, "upstream-report.yaml") }

// Resolve fills the defaults that depend on other flags and checks values.
func (f *Flags) Resolve() error {
	if f.OutputDir == "" {
		return fmt.Errorf("--output-dir is empty: pass a writable folder, e.g. --output-dir=out/suites")
	}
	if f.ResultsOutput == "" {
		f.ResultsOutput = filepath.Join(f.OutputDir, "results.json")
	}
	if f.DumpDir == "" {
		f.DumpDir = filepath.Join(f.OutputDir, "dumps")
	}
	if f.ConvergenceTimeout <= 0 {
		return fmt.Errorf("--convergence-timeout=%v: must be positive, e.g. 30s", f.ConvergenceTimeout)
	}
	if f.ReadyTimeout <= 0 {
		return fmt.Errorf("--ready-timeout=%v: must be positive, e.g. 3m", f.ReadyTimeout)
	}
	return nil
}
