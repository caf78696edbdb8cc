package suites

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"
	"github.com/onsi/gomega"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/gateway-api/conformance"
	meshtests "sigs.k8s.io/gateway-api/conformance/tests/mesh"
	"sigs.k8s.io/gateway-api/conformance/utils/suite"
	"sigs.k8s.io/yaml"

	"gamma-conformance/suites/internal/config"
)

// The two suites, in the order they run: go test runs tests in file and
// declaration order, and the semantics fixtures are prepared while the
// upstream tests run.

// TestUpstream runs the upstream mesh conformance tests, unmodified, with
// the upstream runner's flags. The report is generated in a Cleanup
// registered before Run: since v1.6.2 Run clears its running state in its
// own Cleanup, so Report() right after Run() would fail.
func TestUpstream(t *testing.T) {
	requireCluster(t)
	phase.Store(phaseUpstream)
	defer phase.Store(phaseNone)
	if c, err := semanticsCluster(); err == nil {
		start := time.Now()
		require.NoError(t, c.WaitNotTerminating(t.Context(), 3*time.Minute, suite.MeshNamespace, suite.MeshConsumerNamespace))
		if waited := time.Since(start); waited > time.Second {
			progress("upstream: waited %.1fs for an earlier run's namespaces to terminate", waited.Seconds())
		}
	}
	opts := conformance.DefaultOptions(t)
	if len(opts.ConformanceProfiles) == 0 {
		opts.ConformanceProfiles = []suite.ConformanceProfileName{suite.MeshHTTPConformanceProfileName, suite.MeshGRPCConformanceProfileName}
	}
	if flagSet("report-output") {
		require.NoError(t, opts.Implementation.Validate(), "--report-output needs the implementation flags (--organization, --project, --url, --version, --contact)")
	} else {
		opts.ReportOutputPath = filepath.Join(config.Current.OutputDir, upstreamFile)
	}
	opts.Hook = upstream.record
	if opts.AllowCRDsMismatch {
		progress("upstream: --allow-crds-mismatch: the report's version and channel become UNDEFINED; such a report is not valid for submission")
	}
	t.Cleanup(func() {
		upstream.mu.Lock()
		defer upstream.mu.Unlock()
		upstream.ran = true
		upstream.setupFailed = t.Failed() && len(upstream.tests) == 0
	})
	s, err := suite.NewConformanceTestSuite(opts)
	require.NoError(t, err, "error initializing conformance suite")

	upstream.mu.Lock()
	upstream.ran, upstream.opts, upstream.supported = true, opts, s.SupportedFeatures
	upstream.profiles = upstreamProfiles(opts, s.SupportedFeatures)
	upstream.mu.Unlock()

	t.Cleanup(func() {
		report, err := s.Report()
		require.NoError(t, err, "error generating conformance profile report")
		raw, err := yaml.Marshal(report)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(opts.ReportOutputPath, raw, 0o600), "error writing report")
		t.Logf("upstream conformance report written to %s", opts.ReportOutputPath)
		upstream.mu.Lock()
		upstream.report, upstream.reportPath = report, opts.ReportOutputPath
		upstream.mu.Unlock()
	})
	start := time.Now()
	s.Setup(t, meshtests.MeshConformanceTests)
	progress("upstream: setup done in %.1fs, running %d mesh tests", time.Since(start).Seconds(), len(meshtests.MeshConformanceTests))
	upstream.mu.Lock()
	upstream.last = time.Now()
	upstream.mu.Unlock()
	require.NoError(t, s.Run(t, meshtests.MeshConformanceTests))
}

// TestSemantics runs the GAMMA semantics suite. Fixtures of the specs that
// will run are prepared ahead (see fixtures_test.go); each spec still owns
// its namespaces.
func TestSemantics(t *testing.T) {
	requireCluster(t)
	gomega.RegisterFailHandler(Fail)
	if _, err := semanticsCluster(); err != nil {
		t.Fatal(err)
	}
	if interrupted.Load() {
		t.Skip("interrupted")
	}
	phase.Store(phaseSemantics)
	defer phase.Store(phaseNone)
	startPrewarm()
	waitInitialFixtures(prewarmCtx)
	if interrupted.Load() {
		t.Skip("interrupted while the fixtures were being prepared")
	}
	suiteConfig, reporterConfig := GinkgoConfiguration()
	RunSpecs(t, semanticsSuite, suiteConfig, reporterConfig)
}

var prewarmOnce sync.Once

// startPrewarm picks the specs that will run (PreviewSpecs applies the
// focus, skip and label filters) and starts preparing their fixtures.
func startPrewarm() {
	prewarmOnce.Do(func() {
		if _, err := semanticsCluster(); err != nil {
			return
		}
		suiteConfig, _ := GinkgoConfiguration()
		if suiteConfig.DryRun {
			return
		}
		previewing = true
		preview := PreviewSpecs(semanticsSuite)
		previewing = false
		var texts []string
		for _, sr := range preview.SpecReports {
			if sr.LeafNodeType == types.NodeTypeIt && sr.State == types.SpecStatePassed {
				texts = append(texts, sr.LeafNodeText)
			}
		}
		prewarm(texts)
	})
}
