package upstream17

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"gamma-conformance/reportgen/results"
	"gamma-conformance/suites/internal/cli"
	"gamma-conformance/suites/internal/config"
	"gamma-conformance/suites/internal/gotest"
	"gamma-conformance/suites/upstream"
)

var (
	// capture holds the go test output, for upstream failure text.
	capture  *gotest.Capture
	runStart time.Time

	ranMu       sync.Mutex
	upRes       *upstream.Results
	interrupted atomic.Bool
)

func TestMain(m *testing.M) {
	flag.Parse()
	if err := config.Current.Resolve(); err != nil {
		fail(err)
	}
	if config.Current.NegativeControl || config.Current.List {
		fail(fmt.Errorf("--negative-control and --list are the semantics suite's: this binary runs only the v1.7.0 upstream mesh tests (fix: run them with the root suite binary, suites.test)"))
	}
	var err error
	if capture, err = gotest.Start(); err != nil {
		fail(fmt.Errorf("capture test output: %w", err))
	}
	if !cli.FlagSet("test.timeout") {
		// go test's 10m default is shorter than a full run on a slow mesh.
		flag.Set("test.timeout", "2h")
	}
	go handleInterrupts()
	runStart = time.Now()
	code := m.Run()
	capture.Stop()
	if err := writeResults(); err != nil {
		fmt.Fprintln(os.Stderr, "gamma-conformance upstream17:", err)
		if code == 0 {
			code = 1
		}
	}
	if interrupted.Load() {
		code = 130
	}
	os.Exit(code)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "gamma-conformance upstream17:", err)
	os.Exit(2)
}

// TestUpstream runs the v1.7.0 upstream mesh conformance tests, unmodified,
// with the upstream runner's flags.
func TestUpstream(t *testing.T) {
	cli.RequireCluster(t)
	res := cli.RunUpstream(t, runStart, capture, "TestUpstream")
	ranMu.Lock()
	upRes = &res
	ranMu.Unlock()
}

// writeResults writes the results file of the upstream run (nothing when
// it did not run, e.g. with no --kubeconfig).
func writeResults() error {
	ranMu.Lock()
	up := upRes
	ranMu.Unlock()
	if up == nil {
		return nil
	}
	f := config.Current
	r := cli.Meta(runStart)
	r.SchemaVersion = results.SchemaVersion
	if up.Report == nil {
		r.GatewayAPI = cli.InstalledGatewayAPI()
	}
	up.AddTo(&r, f.ResultsOutput)
	if err := results.Write(f.ResultsOutput, &r); err != nil {
		return fmt.Errorf("write %s: %w", f.ResultsOutput, err)
	}
	c := r.Count(results.Upstream)
	cli.Progress(runStart, "results written to %s: upstream (Gateway API %s) %d passed %d failed %d skipped %d not-supported",
		f.ResultsOutput, r.GatewayAPI.Version, c.Passed, c.Failed, c.Skipped, c.NotSupported)
	return nil
}

// handleInterrupts: the upstream tests cannot be stopped midway, so a first
// interrupt deletes the upstream fixture and exits; a second exits at once.
func handleInterrupts() {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	<-sigs
	interrupted.Store(true)
	go func() {
		<-sigs
		cli.Progress(runStart, "interrupted again: exiting now; namespaces gateway-conformance-mesh* may be left")
		os.Exit(130)
	}()
	cli.CleanupUpstreamAndExit(runStart)
}
