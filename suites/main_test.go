package suites

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"gamma-conformance/profiles"
	"gamma-conformance/reportgen/results"
	"gamma-conformance/suites/internal/cli"
	"gamma-conformance/suites/internal/config"
	"gamma-conformance/suites/internal/gotest"
	"gamma-conformance/suites/internal/kube"
	"gamma-conformance/suites/semantics"
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
	if config.Current.List {
		listSpecs(os.Stdout)
		os.Exit(0)
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

// writeResults writes the results file of whatever ran. It writes nothing
// when neither suite ran (e.g. -test.run selected no suite).
func writeResults() (*results.Results, error) {
	ranMu.Lock()
	up, sem := upRes, semRes
	ranMu.Unlock()
	if up == nil && sem == nil {
		return nil, nil
	}
	f := config.Current
	meta := cli.Meta(runStart)
	if up == nil || up.Report == nil {
		meta.GatewayAPI = cli.InstalledGatewayAPI()
	}
	r := Combine(meta, f.ResultsOutput, up, sem)
	if err := results.Write(f.ResultsOutput, r); err != nil {
		return nil, fmt.Errorf("write %s: %w", f.ResultsOutput, err)
	}
	u, s := r.Count(results.Upstream), r.Count(results.Semantics)
	progress("results written to %s: upstream %d passed %d failed %d skipped %d not-supported; semantics %d passed %d failed %d skipped %d not-supported",
		f.ResultsOutput, u.Passed, u.Failed, u.Skipped, u.NotSupported, s.Passed, s.Failed, s.Skipped, s.NotSupported)
	return r, nil
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

// Which suite is running, for the interrupt handler.
const (
	phaseNone int32 = iota
	phaseUpstream
	phaseSemantics
)

var (
	phase       atomic.Int32
	interrupted atomic.Bool
)

// handleInterrupts: a first interrupt during the semantics suite stops the
// current spec, lets it clean up, and skips what is left; during the
// upstream suite (which cannot be stopped midway) it deletes the upstream
// fixture and exits. A second interrupt exits at once.
func handleInterrupts() {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	for n := 0; ; n++ {
		<-sigs
		interrupted.Store(true)
		if n > 0 {
			progress("interrupted again: exiting now; namespaces labelled %s=semantics and gateway-conformance-mesh* may be left", kube.SuiteLabel)
			os.Exit(130)
		}
		cancelRun()
		if phase.Load() == phaseSemantics {
			progress("interrupted: stopping the semantics suite after cleanup (interrupt again to exit now)")
			continue
		}
		cli.CleanupUpstreamAndExit(runStart)
	}
}

// listSpecs prints every semantics spec: its ID, features (core or
// extended), and the requirement it checks.
func listSpecs(w io.Writer) {
	core := map[string]bool{}
	for _, p := range profiles.All() {
		for _, f := range p.Core {
			core[f] = true
		}
	}
	for _, sp := range semantics.Specs() {
		var feats []string
		for _, f := range sp.Features() {
			level := "extended"
			if core[f] {
				level = "core"
			}
			feats = append(feats, f+" ("+level+")")
		}
		fmt.Fprintf(w, "%s\n  features: %s\n", sp.FullText(), strings.Join(feats, ", "))
		if sp.Control() {
			fmt.Fprintf(w, "  control: passes with no mesh\n")
		}
		if req, ok := sp.Requirement(); ok {
			fmt.Fprintf(w, "  %s (%s): %s\n", req.Level, req.Source, req.Text)
		}
	}
}
