package suites

import (
	"context"
	"regexp"
	"sync"
	"testing"

	"github.com/onsi/ginkgo/v2"
	ctrlconfig "sigs.k8s.io/controller-runtime/pkg/client/config"
	"sigs.k8s.io/gateway-api/conformance/utils/suite"

	"gamma-conformance/suites/internal/cli"
	"gamma-conformance/suites/internal/config"
	"gamma-conformance/suites/semantics"
	"gamma-conformance/suites/upstream"
)

// The two suites, in the order they run (go test runs tests in file and
// declaration order). Each maps the binary's flags to its Config and keeps
// what it found for the results file (TestMain writes it).

var (
	ranMu             sync.Mutex
	upRes             *upstream.Results
	semRes            *semantics.Results
	runCtx, cancelRun = context.WithCancel(context.Background())
)

// TestUpstream runs the upstream mesh conformance tests, unmodified, with
// the upstream runner's flags.
func TestUpstream(t *testing.T) {
	requireCluster(t)
	phase.Store(phaseUpstream)
	defer phase.Store(phaseNone)
	res := cli.RunUpstream(t, runStart, capture, "TestUpstream")
	ranMu.Lock()
	upRes = &res
	ranMu.Unlock()
}

// TestSemantics runs the GAMMA semantics suite.
func TestSemantics(t *testing.T) {
	requireCluster(t)
	if interrupted.Load() {
		t.Skip("interrupted")
	}
	cfg, err := semanticsConfig()
	if err != nil {
		t.Fatal(err)
	}
	phase.Store(phaseSemantics)
	defer phase.Store(phaseNone)
	res := semantics.Run(t, cfg)
	ranMu.Lock()
	semRes = &res
	ranMu.Unlock()
}

// semanticsConfig maps the flags to the semantics suite's Config: our own,
// the upstream runner's namespace and feature flags, and Ginkgo's
// selection flags.
func semanticsConfig() (semantics.Config, error) {
	rc, err := ctrlconfig.GetConfig()
	if err != nil {
		return semantics.Config{}, err
	}
	f := config.Current
	gc, _ := ginkgo.GinkgoConfiguration()
	return semantics.Config{
		RESTConfig:           rc,
		ControllerName:       f.ControllerName,
		PolicyControllerName: f.PolicyController,
		MeshName:             flagLookupValue("mesh-name"),
		NamespaceLabels:      suite.ParseKeyValuePairs(flagLookupValue("namespace-labels")),
		NamespaceAnnotations: suite.ParseKeyValuePairs(flagLookupValue("namespace-annotations")),
		EchoImage:            f.EchoImage,
		ConvergenceTimeout:   f.ConvergenceTimeout,
		ReadyTimeout:         f.ReadyTimeout,
		DumpOnFailure:        f.DumpOnFailure,
		DumpDir:              f.DumpDir,
		KeepOnFailure:        f.KeepOnFailure,
		Parallel:             f.ParallelSpecs,
		LabelFilter:          gc.LabelFilter,
		Focus:                gc.FocusStrings,
		Skip:                 gc.SkipStrings,
		SupportedFeatures:    featureFlag("supported-features"),
		ExemptFeatures:       featureFlag("exempt-features"),
		AllFeatures:          flagLookupValue("all-features") == "true",
		Context:              runCtx,
		Rerun: func(fullText string) string {
			return rerunCommand("TestSemantics", "--ginkgo.focus=^"+regexp.QuoteMeta(fullText)+"$")
		},
	}, nil
}
