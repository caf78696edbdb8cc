package suites

import (
	"context"
	"flag"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	confv1 "sigs.k8s.io/gateway-api/conformance/apis/v1"
	"sigs.k8s.io/gateway-api/conformance/utils/suite"
	"sigs.k8s.io/gateway-api/pkg/features"

	"gamma-conformance/reportgen/results"
	"gamma-conformance/suites/internal/config"
	"gamma-conformance/suites/internal/dump"
)

// setupTestID names the results entry recording a failed upstream setup.
const setupTestID = "UpstreamSetup"

// upstreamFile is the default name of the upstream report in --output-dir.
const upstreamFile = "upstream-report.yaml"

// meshProfiles are the upstream profiles a mesh run uses by default.
var meshProfiles = []suite.ConformanceProfile{suite.MeshHTTPConformanceProfile, suite.MeshGRPCConformanceProfile}

// upstreamRun is what TestUpstream recorded for the results file.
type upstreamRun struct {
	mu         sync.Mutex
	ran        bool
	opts       suite.ConformanceOptions
	supported  suite.FeaturesSet
	report     *confv1.ConformanceReport
	reportPath string
	last       time.Time
	// setupFailed: TestUpstream failed before any test ran.
	setupFailed bool
	tests       []results.Test
	profiles    []results.Profile
}

var upstream upstreamRun

// record is the upstream suite's Hook: it runs in each test's Cleanup, after
// the test and its parallel subtests finished. Mesh tests run one after the
// other, so a test's duration is the time since the previous one ended.
func (u *upstreamRun) record(t *testing.T, test suite.ConformanceTest, s *suite.ConformanceTestSuite) {
	u.mu.Lock()
	defer u.mu.Unlock()
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
		DurationSeconds: now.Sub(u.last).Seconds(),
		Profiles:        results.Attribute(feats, u.profiles),
		Rerun:           rerunCommand("TestUpstream", "--run-test="+test.ShortName),
	}
	u.last = now
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
	progress("upstream: %-45s %-13s %6.1fs", test.ShortName, rt.Outcome, rt.DurationSeconds)
	if rt.Outcome == results.Failed && config.Current.DumpOnFailure {
		dumpUpstream(test.ShortName)
		u.last = time.Now() // the dump is no part of the next test
	}
	u.tests = append(u.tests, rt)
}

// upstreamProfiles describes the requested upstream profiles for the results file.
func upstreamProfiles(opts suite.ConformanceOptions, supported suite.FeaturesSet) []results.Profile {
	var out []results.Profile
	for _, p := range meshProfiles {
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

// finish adds the failure text of failed upstream tests, read from the
// captured go test output (the upstream tests report only via *testing.T).
func (u *upstreamRun) finish() {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.setupFailed {
		u.tests = append(u.tests, results.Test{
			ID: setupTestID, Suite: results.Upstream, Outcome: results.Failed,
			Description: "the upstream suite's setup (options, CRDs, mesh fixture) before any test ran",
			Failure:     capture.Output("TestUpstream"),
			Rerun:       rerunCommand("TestUpstream"),
		})
		if u.tests[len(u.tests)-1].Failure == "" {
			u.tests[len(u.tests)-1].Failure = "TestUpstream failed before any test ran; see its go test output"
		}
	}
	for i := range u.tests {
		if u.tests[i].ID != setupTestID && (u.tests[i].Outcome == results.Failed || u.tests[i].Outcome == results.Skipped) {
			text := capture.Output("TestUpstream/" + u.tests[i].ID)
			if text == "" && u.tests[i].Outcome == results.Failed {
				text = "failed; see the go test output of TestUpstream/" + u.tests[i].ID
			}
			u.tests[i].Failure = text
		}
	}
}

func flagSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// deleteUpstreamNamespaces removes the upstream fixture's namespaces after
// an interrupted run, unless --cleanup-base-resources=false asked to keep them.
func deleteUpstreamNamespaces() {
	if flagLookupValue("cleanup-base-resources") == "false" {
		return
	}
	c, err := semanticsCluster()
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, ns := range []string{suite.MeshNamespace, suite.MeshConsumerNamespace} {
		obj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}
		if err := c.Client.Delete(ctx, obj); err != nil && !apierrors.IsNotFound(err) {
			progress("cleanup: delete namespace %s: %v", ns, err)
		}
	}
}

// dumpUpstream dumps the upstream fixture's namespaces after a failed test:
// pods, logs, events and proxy config dumps. The test's routes are already
// deleted unless --cleanup-test-resources=false.
func dumpUpstream(test string) {
	c, err := semanticsCluster()
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := filepath.Join(config.Current.DumpDir, "upstream-"+test)
	if err := dump.Namespaces(ctx, c, dir, []string{suite.MeshNamespace, suite.MeshConsumerNamespace}); err != nil {
		progress("upstream: dump incomplete: %v", err)
	}
	progress("upstream: dump of %s written to %s", test, dir)
}
