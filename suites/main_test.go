package suites

import (
	"context"
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

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlconfig "sigs.k8s.io/controller-runtime/pkg/client/config"

	"gamma-conformance/profiles"
	"gamma-conformance/reportgen/results"
	"gamma-conformance/suites/internal/config"
	"gamma-conformance/suites/internal/gotest"
	"gamma-conformance/suites/internal/kube"
	"gamma-conformance/suites/semantics"
	"gamma-conformance/suites/upstream"
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
	meta := results.Results{
		SuiteVersion: f.SuiteVersion,
		Implementation: results.Implementation{
			Organization: flagLookupValue("organization"),
			Project:      flagLookupValue("project"),
			URL:          flagLookupValue("url"),
			Version:      flagLookupValue("version"),
			Contact:      featureFlag("contact"),
		},
		Run: results.Run{
			Start: runStart, End: time.Now(), Mode: flagLookupValue("mode"),
			ControllerName: f.ControllerName, Command: os.Args[0], Args: os.Args[1:],
		},
	}
	if up == nil || up.Report == nil {
		meta.GatewayAPI = installedGatewayAPI()
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

// installedGatewayAPI reads the bundle version and channel of the installed
// HTTPRoute CRD, for runs without the upstream part.
func installedGatewayAPI() results.GatewayAPI {
	unknown := results.GatewayAPI{Version: "UNDEFINED", Channel: "UNDEFINED"}
	c, err := binaryCluster()
	if err != nil {
		return unknown
	}
	crd := &unstructured.Unstructured{}
	crd.SetGroupVersionKind(schema.GroupVersionKind{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition"})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Client.Get(ctx, client.ObjectKey{Name: "httproutes.gateway.networking.k8s.io"}, crd); err != nil {
		return unknown
	}
	a := crd.GetAnnotations()
	return results.GatewayAPI{Version: a["gateway.networking.k8s.io/bundle-version"], Channel: a["gateway.networking.k8s.io/channel"]}
}

// binaryCluster is an API client for the binary's own needs (CRD version,
// cleanup after an interrupt), from --kubeconfig.
func binaryCluster() (*kube.Cluster, error) {
	rc, err := ctrlconfig.GetConfig()
	if err != nil {
		return nil, err
	}
	return kube.NewCluster(rc, kube.Options{})
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
		progress("interrupted: cleaning up, then exiting (interrupt again to exit now)")
		if c, err := binaryCluster(); err == nil && flagLookupValue("cleanup-base-resources") != "false" {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			if err := upstream.DeleteNamespaces(ctx, c); err != nil {
				progress("cleanup: %v", err)
			}
			cancel()
		}
		os.Exit(130)
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
