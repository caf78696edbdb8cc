package suites

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"gamma-conformance/reportgen/results"
	"gamma-conformance/suites/internal/config"
	"gamma-conformance/suites/internal/gotest"
	"gamma-conformance/suites/internal/kube"
)

// capture holds the go test output of this run, for upstream failure text.
var capture *gotest.Capture

// runStart is when the binary started running tests.
var runStart time.Time

func TestMain(m *testing.M) {
	flag.Parse()
	if err := errors.Join(config.Current.Resolve(), checkFeatureFlags()); err != nil {
		fmt.Fprintln(os.Stderr, "gamma-conformance suites:", err)
		os.Exit(2)
	}
	var err error
	if capture, err = gotest.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "gamma-conformance suites: capture test output:", err)
		os.Exit(2)
	}
	if !flagSet("test.timeout") {
		// go test's 10m default is shorter than a full run on a slow mesh.
		flag.Set("test.timeout", "2h")
	}
	go handleInterrupts()
	runStart = time.Now()
	code := m.Run()
	capture.Stop()
	releaseUnclaimedFixtures()
	r, err := writeResults()
	if err != nil {
		fmt.Fprintln(os.Stderr, "gamma-conformance suites:", err)
		if code == 0 {
			code = 1
		}
	}
	if config.Current.NegativeControl {
		code = negativeControlExit(r)
	}
	if interrupted.Load() {
		code = 130
	}
	os.Exit(code)
}

// negativeControlExit turns a no-mesh run into a verdict: failures are
// expected there, so the exit code says whether the rule held instead.
func negativeControlExit(r *results.Results) int {
	if r == nil {
		fmt.Fprintln(os.Stderr, "negative control: no results (fix: run with -test.run='^TestSemantics$' against a cluster with no mesh)")
		return 1
	}
	if err := results.CheckNegativeControl(r); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	c := r.Count(results.Semantics)
	progress("negative control holds: %d specs failed with no mesh, %d controls passed", c.Failed, c.Passed)
	return 0
}

// requireCluster skips the calling suite unless a cluster was named: with
// --kubeconfig, or from inside a pod. A plain `go test ./...` then runs no
// conformance suite by accident.
func requireCluster(t *testing.T) {
	t.Helper()
	if !flagSet("kubeconfig") && os.Getenv("KUBERNETES_SERVICE_HOST") == "" {
		t.Skip("no cluster named: pass --kubeconfig=<file> to run the conformance suites")
	}
	if err := os.MkdirAll(config.Current.OutputDir, 0o755); err != nil {
		t.Fatalf("--output-dir=%s: %v (fix: pass a writable folder)", config.Current.OutputDir, err)
	}
}

// Which suite is running, for the interrupt handler.
const (
	phaseNone int32 = iota
	phaseUpstream
	phaseSemantics
)

var (
	phase       atomic.Int32
	interrupted atomic.Bool
	// interruptedCh is closed at the first interrupt.
	interruptedCh = make(chan struct{})
)

// handleInterrupts: a first interrupt during the semantics suite lets
// Ginkgo stop the current spec and clean up, then skips what is left; during
// the upstream suite (which cannot be stopped midway) it deletes what this
// binary created and exits. A second interrupt exits at once.
func handleInterrupts() {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	for n := 0; ; n++ {
		<-sigs
		if !interrupted.Swap(true) {
			close(interruptedCh)
		}
		if n > 0 {
			progress("interrupted again: exiting now; namespaces labelled %s=semantics and gateway-conformance-mesh* may be left", kube.SuiteLabel)
			os.Exit(130)
		}
		cancelPrewarm()
		if phase.Load() == phaseSemantics {
			progress("interrupted: stopping the semantics suite after cleanup (interrupt again to exit now)")
			continue
		}
		progress("interrupted: cleaning up, then exiting (interrupt again to exit now)")
		releaseUnclaimedFixtures()
		deleteUpstreamNamespaces()
		os.Exit(130)
	}
}
