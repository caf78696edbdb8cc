// Package cli is what the two suite binaries share: the root module's
// (`go test -c ./suites`: the v1.6.3 upstream tests and the semantics suite)
// and the v1.7.0 upstream binary of the nested module suites/upstream17.
// Both parse the same flags (package config and the upstream runner's), run
// the upstream tests the same way (RunUpstream), make the same rerun
// commands and write the same results file (Meta, upstream.Results.AddTo).
//
// It must compile against both gateway-api versions and their dependency
// sets, so it never imports the semantics suite.
package cli

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	ctrlconfig "sigs.k8s.io/controller-runtime/pkg/client/config"
	"sigs.k8s.io/gateway-api/conformance"

	"gamma-conformance/reportgen/results"
	"gamma-conformance/suites/internal/config"
	"gamma-conformance/suites/internal/gotest"
	"gamma-conformance/suites/internal/kube"
	"gamma-conformance/suites/upstream"
)

var progressMu sync.Mutex

// Progress prints one line with the time since start to stderr, which go
// test and Ginkgo leave alone, so it shows up at once even when stdout is
// buffered per test.
func Progress(start time.Time, format string, args ...any) {
	progressMu.Lock()
	defer progressMu.Unlock()
	fmt.Fprintf(os.Stderr, "[%7.1fs] %s\n", time.Since(start).Seconds(), fmt.Sprintf(format, args...))
}

// RunUpstream runs the upstream mesh tests, unmodified, with the upstream
// runner's flags and ours (config.Current), and returns what they found.
// rerunTest names the go test that reruns one upstream test.
func RunUpstream(t *testing.T, start time.Time, capture *gotest.Capture, rerunTest string) upstream.Results {
	t.Helper()
	opts := conformance.DefaultOptions(t)
	if FlagSet("report-output") {
		if err := opts.Implementation.Validate(); err != nil {
			t.Fatalf("--report-output needs the implementation flags (--organization, --project, --url, --version, --contact): %v", err)
		}
	} else {
		opts.ReportOutputPath = config.Current.UpstreamReport()
	}
	cfg := upstream.Config{
		Options:       opts,
		DumpOnFailure: config.Current.DumpOnFailure,
		DumpDir:       config.Current.DumpDir,
		Start:         start,
		Rerun: func(test string) string {
			return RerunCommand(rerunTest, "--run-test="+test)
		},
	}
	if capture != nil {
		cfg.FailureText = capture.Output
	}
	return upstream.Run(t, cfg)
}

// Meta is what no suite knows of a run, for its results file: the suite
// version, the implementation flags, the run's clock and command line.
func Meta(start time.Time) results.Results {
	f := config.Current
	return results.Results{
		SuiteVersion: f.SuiteVersion,
		Implementation: results.Implementation{
			Organization: FlagValue("organization"),
			Project:      FlagValue("project"),
			URL:          FlagValue("url"),
			Version:      FlagValue("version"),
			Contact:      FlagList("contact"),
		},
		Run: results.Run{
			Start: start, End: time.Now(), Mode: FlagValue("mode"),
			ControllerName: f.ControllerName, Command: os.Args[0], Args: os.Args[1:],
		},
	}
}

// InstalledGatewayAPI reads the bundle version and channel of the installed
// HTTPRoute CRD, for runs without an upstream report.
func InstalledGatewayAPI() results.GatewayAPI {
	unknown := results.GatewayAPI{Version: "UNDEFINED", Channel: "UNDEFINED"}
	c, err := BinaryCluster()
	if err != nil {
		return unknown
	}
	version, channel := kube.InstalledGatewayAPI(context.Background(), c.Client)
	if version == "" {
		return unknown
	}
	return results.GatewayAPI{Version: version, Channel: channel}
}

// BinaryCluster is an API client for the binary's own needs (CRD version,
// cleanup after an interrupt), from --kubeconfig.
func BinaryCluster() (*kube.Cluster, error) {
	rc, err := ctrlconfig.GetConfig()
	if err != nil {
		return nil, err
	}
	return kube.NewCluster(rc, kube.Options{})
}

// RequireCluster skips the calling suite unless a cluster was named: with
// --kubeconfig, or from inside a pod. A plain `go test ./...` then runs no
// conformance suite by accident.
func RequireCluster(t *testing.T) {
	t.Helper()
	if !FlagSet("kubeconfig") && os.Getenv("KUBERNETES_SERVICE_HOST") == "" {
		t.Skip("no cluster named: pass --kubeconfig=<file> to run the conformance suites")
	}
	if err := os.MkdirAll(config.Current.OutputDir, 0o755); err != nil {
		t.Fatalf("--output-dir=%s: %v (fix: pass a writable folder)", config.Current.OutputDir, err)
	}
}

// CleanupUpstreamAndExit is the end of a run interrupted during the upstream
// tests (which cannot be stopped midway): it deletes the upstream fixture's
// namespaces, unless --cleanup-base-resources=false, and exits with 130.
func CleanupUpstreamAndExit(start time.Time) {
	Progress(start, "interrupted: cleaning up, then exiting (interrupt again to exit now)")
	if c, err := BinaryCluster(); err == nil && FlagValue("cleanup-base-resources") != "false" {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := upstream.DeleteNamespaces(ctx, c); err != nil {
			Progress(start, "cleanup: %v", err)
		}
		cancel()
	}
	os.Exit(130)
}

// dropped are the flags a rerun command replaces: test selection of go
// test, the upstream runner and Ginkgo.
var dropped = []string{"test.run", "run-test", "skip-tests", "ginkgo.focus", "ginkgo.skip", "ginkgo.label-filter", "ginkgo.focus-file", "ginkgo.skip-file"}

// isBoolFlag reports whether the flag takes no separate value argument.
func isBoolFlag(name string) bool {
	f := flag.Lookup(name)
	if f == nil {
		return false
	}
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// RerunCommand is the command line that reruns one test: this binary with
// the same arguments, minus test selection, plus -test.run=^<test>$ and the
// given selection flags.
func RerunCommand(test string, selection ...string) string {
	exe := os.Args[0]
	if abs, err := filepath.Abs(exe); err == nil {
		exe = abs
	}
	out := []string{shellQuote(exe), shellQuote("-test.run=^" + test + "$")}
	args := os.Args[1:]
	for i := 0; i < len(args); i++ {
		name, hasValue := flagName(args[i])
		if name == "" || !slices.Contains(dropped, name) {
			out = append(out, shellQuote(args[i]))
			continue
		}
		if !hasValue && !isBoolFlag(name) && i+1 < len(args) {
			i++ // the value is the next argument
		}
	}
	for _, s := range selection {
		out = append(out, shellQuote(s))
	}
	return strings.Join(out, " ")
}

// flagName parses "-name", "--name" or "-name=value".
func flagName(arg string) (string, bool) {
	if !strings.HasPrefix(arg, "-") || arg == "-" || arg == "--" {
		return "", false
	}
	name := strings.TrimLeft(arg, "-")
	if n, _, ok := strings.Cut(name, "="); ok {
		return n, true
	}
	return name, false
}

func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=./:,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// FlagValue is the value of a registered flag, "" when there is none.
func FlagValue(name string) string {
	if f := flag.Lookup(name); f != nil {
		return f.Value.String()
	}
	return ""
}

// FlagList returns the names in the comma-separated value of a flag.
func FlagList(name string) []string {
	var out []string
	for _, s := range strings.Split(FlagValue(name), ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// FlagSet reports whether the flag was given on the command line.
func FlagSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
