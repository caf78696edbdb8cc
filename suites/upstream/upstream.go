// Package upstream runs the upstream gateway-api mesh conformance tests
// (meshtests.MeshConformanceTests), unmodified, through the upstream suite
// package under a real *testing.T, and records what they found in the
// results-file schema (package reportgen/results) beside the upstream
// ConformanceReport, which is written exactly as the upstream suite makes it.
// The tests upstream counts in no profile run too (when their features are
// claimed) and are recorded in the results only.
package upstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	confv1 "sigs.k8s.io/gateway-api/conformance/apis/v1"
	meshtests "sigs.k8s.io/gateway-api/conformance/tests/mesh"
	"sigs.k8s.io/gateway-api/conformance/utils/suite"
	"sigs.k8s.io/gateway-api/pkg/features"
	"sigs.k8s.io/yaml"

	"gamma-conformance/reportgen/results"
	"gamma-conformance/suites/internal/dump"
	"gamma-conformance/suites/internal/kube"
)

// SetupTestID names the results entry recording a failed upstream setup.
const SetupTestID = "UpstreamSetup"

// MeshProfiles are the upstream profiles a mesh run uses by default.
var MeshProfiles = []suite.ConformanceProfile{suite.MeshHTTPConformanceProfile, suite.MeshGRPCConformanceProfile}

// Config is a run of the upstream mesh tests.
type Config struct {
	// Options are the upstream suite's options, e.g. from
	// conformance.DefaultOptions(t) (the upstream runner's flags); they
	// must name a client (RestConfig, Client). No ConformanceProfiles:
	// MESH-HTTP and MESH-GRPC. Options.ReportOutputPath receives the
	// upstream report (required).
	Options suite.ConformanceOptions
	// DumpOnFailure writes the upstream fixture's namespaces (pods, logs,
	// events, proxy config dumps) into DumpDir after a failed test.
	DumpOnFailure bool
	DumpDir       string
	// Log receives one progress line per test (default os.Stderr).
	Log io.Writer
	// Start is when the run's clock started (default: when Run starts).
	Start time.Time
	// Rerun, if set, gives the command line that reruns one test.
	Rerun func(shortName string) string
	// FailureText, if set, gives the output of a failed or skipped test
	// by its go test name (the upstream tests report only through
	// *testing.T); without it the results point at the go test output.
	FailureText func(goTestName string) string
}

// Results is what the upstream run found.
type Results struct {
	// Report is the upstream ConformanceReport, written to ReportPath
	// (nil when the suite could not start).
	Report     *confv1.ConformanceReport
	ReportPath string
	// Tests has one entry per upstream test that ran or was skipped, in
	// run order (plus SetupTestID when the setup failed).
	Tests []results.Test
	// Profiles describes the requested upstream profiles.
	Profiles []results.Profile
	// SupportedFeatures are the features the suite ran with (claimed,
	// inferred from the XMesh, or all, minus the exempt ones).
	SupportedFeatures []string
	// Options are the options the suite ran with.
	Options suite.ConformanceOptions
}

// run is one upstream run's record.
type run struct {
	cfg     Config
	mu      sync.Mutex
	last    time.Time
	names   map[string]string // short name -> go test name
	setup   string            // go test name of the subtest the suite ran in
	res     Results
	cluster *kube.Cluster
}

// Run runs the upstream mesh tests in a subtest of t ("conformance", each
// upstream test a subtest of it, as upstream names them) and returns what
// they found; the upstream report is written before Run returns.
func Run(t *testing.T, cfg Config) Results {
	t.Helper()
	opts := cfg.Options
	if len(opts.ConformanceProfiles) == 0 {
		opts.ConformanceProfiles = []suite.ConformanceProfileName{suite.MeshHTTPConformanceProfileName, suite.MeshGRPCConformanceProfileName}
	}
	if cfg.Log == nil {
		cfg.Log = os.Stderr
	}
	if cfg.Start.IsZero() {
		cfg.Start = time.Now()
	}
	r := &run{cfg: cfg, names: map[string]string{}}
	if opts.RestConfig != nil {
		r.cluster, _ = kube.NewCluster(opts.RestConfig, kube.Options{})
	}
	if err := r.waitForEarlierRun(t.Context()); err != nil {
		t.Fatal(err)
	}
	if opts.ReportOutputPath == "" {
		t.Fatal("upstream: Options.ReportOutputPath is empty: name the file for the upstream report")
	}
	if opts.AllowCRDsMismatch {
		r.progress("upstream: --allow-crds-mismatch: the report's version and channel become UNDEFINED; such a report is not valid for submission")
	}
	opts.Hook = r.record
	r.res.Options = opts
	ok := t.Run("conformance", func(t *testing.T) { r.conformance(t, opts) })
	r.finish(!ok)
	return r.res
}

// conformance is the upstream runner's TestConformance, unmodified but for
// the hook that records each test. The report is generated in a Cleanup
// registered before Run: since v1.6.2 Run clears its running state in its
// own Cleanup, so Report() right after Run() would fail.
func (r *run) conformance(t *testing.T, opts suite.ConformanceOptions) {
	r.mu.Lock()
	r.setup = t.Name()
	r.mu.Unlock()
	s, err := suite.NewConformanceTestSuite(opts)
	if err != nil {
		t.Fatalf("error initializing conformance suite: %v", err)
	}
	r.mu.Lock()
	r.res.SupportedFeatures = sortedNames(s.SupportedFeatures)
	r.res.Profiles = profilesOf(opts, s.SupportedFeatures)
	r.mu.Unlock()
	t.Cleanup(func() {
		report, err := s.Report()
		if err != nil {
			t.Errorf("error generating conformance profile report: %v", err)
			return
		}
		raw, err := yaml.Marshal(report)
		if err == nil {
			err = os.WriteFile(opts.ReportOutputPath, raw, 0o600)
		}
		if err != nil {
			t.Errorf("error writing report: %v", err)
			return
		}
		t.Logf("upstream conformance report written to %s", opts.ReportOutputPath)
		r.mu.Lock()
		r.res.Report, r.res.ReportPath = report, opts.ReportOutputPath
		r.mu.Unlock()
	})
	start := time.Now()
	s.Setup(t, meshtests.MeshConformanceTests)
	r.progress("upstream: setup done in %.1fs, running %d mesh tests", time.Since(start).Seconds(), len(meshtests.MeshConformanceTests))
	r.mu.Lock()
	r.last = time.Now()
	r.mu.Unlock()
	if err := s.Run(t, meshtests.MeshConformanceTests); err != nil {
		t.Error(err)
	}
}

// waitForEarlierRun waits for the upstream namespaces of an earlier run to
// finish terminating, so the fixture can be made again.
func (r *run) waitForEarlierRun(ctx context.Context) error {
	if r.cluster == nil {
		return nil
	}
	start := time.Now()
	err := r.cluster.WaitNotTerminating(ctx, 3*time.Minute, suite.MeshNamespace, suite.MeshConsumerNamespace)
	if waited := time.Since(start); waited > time.Second {
		r.progress("upstream: waited %.1fs for an earlier run's namespaces to terminate", waited.Seconds())
	}
	return err
}

func (r *run) progress(format string, args ...any) {
	fmt.Fprintf(r.cfg.Log, "[%7.1fs] %s\n", time.Since(r.cfg.Start).Seconds(), fmt.Sprintf(format, args...))
}

// record is the upstream suite's Hook: it runs in each test's Cleanup, after
// the test and its parallel subtests finished. Mesh tests run one after the
// other, so a test's duration is the time since the previous one ended.
func (r *run) record(t *testing.T, test suite.ConformanceTest, s *suite.ConformanceTestSuite) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	var feats []string
	for _, f := range test.Features {
		feats = append(feats, string(f))
	}
	rt := results.Test{
		ID:              test.ShortName,
		Suite:           results.Upstream,
		Description:     test.Description,
		Features:        feats,
		Provisional:     test.Provisional,
		DurationSeconds: now.Sub(r.last).Seconds(),
		Profiles:        results.Attribute(feats, r.res.Profiles),
	}
	if r.cfg.Rerun != nil {
		rt.Rerun = r.cfg.Rerun(test.ShortName)
	}
	r.last = now
	r.names[test.ShortName] = t.Name()
	switch {
	case t.Failed():
		rt.Outcome = results.Failed
	case t.Skipped():
		rt.Outcome = results.Skipped
		if s.RunTest == "" && !s.SupportedFeatures.HasAll(test.Features...) {
			rt.Outcome = results.NotSupported
		}
	default:
		rt.Outcome = results.Passed
	}
	r.progress("upstream: %-45s %-13s %6.1fs", test.ShortName, rt.Outcome, rt.DurationSeconds)
	if rt.Outcome == results.Failed && r.cfg.DumpOnFailure {
		r.dump(test.ShortName)
		r.last = time.Now() // the dump is no part of the next test
	}
	r.res.Tests = append(r.res.Tests, rt)
}

// profilesOf describes the requested upstream profiles for the results file.
func profilesOf(opts suite.ConformanceOptions, supported suite.FeaturesSet) []results.Profile {
	var out []results.Profile
	for _, p := range MeshProfiles {
		if !slices.Contains(opts.ConformanceProfiles, p.Name) {
			continue
		}
		rp := results.Profile{Name: string(p.Name), Suite: results.Upstream}
		rp.Core = append(rp.Core, sortedNames(p.CoreFeatures)...)
		for _, f := range sortedNames(p.ExtendedFeatures) {
			rp.Extended = append(rp.Extended, f)
			if supported.Has(features.FeatureName(f)) {
				rp.SupportedExtended = append(rp.SupportedExtended, f)
			} else {
				rp.UnsupportedExtended = append(rp.UnsupportedExtended, f)
			}
		}
		out = append(out, rp)
	}
	return out
}

// finish adds the failure text of failed and skipped tests, and an entry
// for a setup that failed before any test ran.
func (r *run) finish(failed bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	text := func(name string) string {
		if r.cfg.FailureText == nil {
			return ""
		}
		return r.cfg.FailureText(name)
	}
	if failed && len(r.res.Tests) == 0 {
		st := results.Test{
			ID: SetupTestID, Suite: results.Upstream, Outcome: results.Failed,
			Description: "the upstream suite's setup (options, CRDs, mesh fixture) before any test ran",
			Failure:     text(r.setup),
		}
		if st.Failure == "" {
			st.Failure = "the upstream suite failed before any test ran; see its go test output"
		}
		r.res.Tests = append(r.res.Tests, st)
	}
	for i := range r.res.Tests {
		rt := &r.res.Tests[i]
		if rt.ID == SetupTestID || (rt.Outcome != results.Failed && rt.Outcome != results.Skipped) {
			continue
		}
		rt.Failure = text(r.names[rt.ID])
		if rt.Failure == "" && rt.Outcome == results.Failed {
			rt.Failure = "failed; see the go test output of " + r.names[rt.ID]
		}
	}
}

// dump writes the upstream fixture's namespaces after a failed test: pods,
// logs, events and proxy config dumps. The test's routes are already
// deleted unless --cleanup-test-resources=false.
func (r *run) dump(test string) {
	if r.cluster == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := filepath.Join(r.cfg.DumpDir, "upstream-"+test)
	if err := dump.Namespaces(ctx, r.cluster, dir, []string{suite.MeshNamespace, suite.MeshConsumerNamespace}); err != nil {
		r.progress("upstream: dump incomplete: %v", err)
	}
	r.progress("upstream: dump of %s written to %s", test, dir)
}

// DeleteNamespaces removes the upstream fixture's namespaces, e.g. after an
// interrupted run.
func DeleteNamespaces(ctx context.Context, c *kube.Cluster) error {
	var errs []error
	for _, ns := range []string{suite.MeshNamespace, suite.MeshConsumerNamespace} {
		if err := c.DeleteNamespace(ctx, ns); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func sortedNames(s suite.FeaturesSet) []string {
	out := make([]string, 0, s.Len())
	for f := range s {
		out = append(out, string(f))
	}
	sort.Strings(out)
	return out
}
