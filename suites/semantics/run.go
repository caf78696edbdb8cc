package semantics

import (
	"cmp"
	"context"
	"fmt"
	"runtime/debug"
	"sort"
	"sync"
	"testing"
	"time"

	"gamma-conformance/profiles"
	"gamma-conformance/reportgen/results"
	"gamma-conformance/suites/internal/kube"
)

// SuiteName is the name of the semantics suite (its Ginkgo Describe and
// its test name).
const SuiteName = "GAMMA semantics"

// Results is what a run of the semantics suite found, in the schema of the
// results file (package reportgen/results).
type Results struct {
	// Tests has one entry per selected spec, in run order.
	Tests []results.Test
	// Profiles describes the semantics profiles and which of their
	// extended features the run claimed.
	Profiles []results.Profile
	// SupportedFeatures are the semantics features the run claimed.
	SupportedFeatures []string
	// ConformanceProfiles names the semantics profiles.
	ConformanceProfiles []string
}

// Count tallies the outcomes.
func (r Results) Count() results.Counts {
	return (&results.Results{Tests: r.Tests}).Count(results.Semantics)
}

// runner is one run of the suite: its configuration, cluster clients and
// fixtures. Nothing of it is shared with another run.
type runner struct {
	cfg       Config
	c         *kube.Cluster
	supported map[string]bool
	// gatewayAPI is the installed Gateway API release (version.go).
	gatewayAPI string
	start      time.Time
	logMu      sync.Mutex
	fx         fixtures
}

func newRunner(cfg Config) (*runner, error) {
	cfg = cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c, err := kube.NewCluster(cfg.RESTConfig, kube.Options{
		ControllerName:       cfg.ControllerName,
		PolicyControllerName: cfg.PolicyControllerName,
		NamespaceLabels:      cfg.NamespaceLabels,
		NamespaceAnnotations: cfg.NamespaceAnnotations,
		EchoImage:            cfg.EchoImage,
		ConvergenceTimeout:   cfg.ConvergenceTimeout,
		ReadyTimeout:         cfg.ReadyTimeout,
	})
	if err != nil {
		return nil, err
	}
	ctx := cfg.Context
	if ctx == nil {
		ctx = context.Background()
	}
	installed, _ := kube.InstalledGatewayAPI(ctx, c.Client)
	supported, err := claims(ctx, cfg, c.Client, installed)
	if err != nil {
		return nil, err
	}
	return &runner{cfg: cfg, c: c, supported: supported, gatewayAPI: cmp.Or(installed, cfg.GatewayAPIVersion), start: time.Now()}, nil
}

// progress prints one line with the elapsed run time.
func (r *runner) progress(format string, args ...any) {
	r.logMu.Lock()
	defer r.logMu.Unlock()
	fmt.Fprintf(r.cfg.Log, "[%7.1fs] %s\n", time.Since(r.start).Seconds(), fmt.Sprintf(format, args...))
}

// Run runs the selected specs of the semantics suite against the cluster
// of cfg, each as a subtest of t named by its full text, and returns what
// they found. A spec of a feature the run does not claim is recorded as
// not supported and not run. The pods of the specs that will run are
// prepared ahead, once, in namespaces the specs share; each spec owns the
// Services its routes attach to and every object it creates (see
// fixtures.go). Everything is deleted by the time Run returns.
//
// Run keeps no state outside its call: two Runs (also concurrent ones,
// in parallel subtests) with different configurations do not interfere.
func Run(t *testing.T, cfg Config) Results {
	t.Helper()
	r, err := newRunner(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := r.cfg.Context
	if ctx == nil {
		ctx = t.Context()
	}
	specs := selected(r.cfg)
	var runnable []Spec
	for _, sp := range specs {
		if r.notRunnable(sp) == "" {
			runnable = append(runnable, sp)
		}
	}
	prewarmCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	r.prewarm(prewarmCtx, runnable)
	defer r.releaseShared()
	r.waitInitial(prewarmCtx)
	tests := make([]results.Test, len(specs))
	// Config.Parallel specs at a time (t.Run may be called from several
	// goroutines); the results keep the specs' order.
	slots := make(chan struct{}, max(r.cfg.Parallel, 1))
	var wg sync.WaitGroup
	for i, sp := range specs {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			tests[i] = r.runOne(ctx, t, sp)
		})
	}
	wg.Wait()
	return r.results(tests)
}

// runOne runs one spec as a subtest and records its outcome.
func (r *runner) runOne(ctx context.Context, t *testing.T, sp Spec) results.Test {
	rt := r.entry(sp)
	if why := r.notRunnable(sp); why != "" {
		rt.Outcome, rt.Failure = results.NotSupported, why
		return rt
	}
	if ctx.Err() != nil {
		rt.Outcome, rt.Failure = results.Skipped, "interrupted"
		return rt
	}
	s := r.newS(ctx, sp)
	start := time.Now()
	skipped := false
	t.Run(sp.FullText(), func(t *testing.T) {
		s.h = &testHost{t: t}
		specCtx, cancel := context.WithCancel(ctx)
		defer cancel()
		s.ctx = specCtx
		defer func() {
			if p := recover(); p != nil {
				s.Fail(fmt.Sprintf("panic: %v\n%s", p, debug.Stack()))
			}
		}()
		defer func() { skipped = t.Skipped() }()
		r.runSpec(s)
	})
	rt.DurationSeconds = time.Since(start).Seconds()
	rt.Failure, rt.Location = s.failure, s.location
	switch {
	case s.failure != "" || s.h.failed():
		rt.Outcome = results.Failed
	case skipped:
		rt.Outcome = results.Skipped
	default:
		rt.Outcome = results.Passed
	}
	if rt.Outcome == results.Failed && rt.Failure == "" {
		rt.Failure = "spec failed"
	}
	r.progress("semantics: %-70.70s %-13s %6.1fs", sp.Text, rt.Outcome, rt.DurationSeconds)
	return rt
}

// entry is a spec's results entry before it runs.
func (r *runner) entry(sp Spec) results.Test {
	feats := sp.Features()
	rt := results.Test{
		ID:       sp.FullText(),
		Suite:    results.Semantics,
		Features: feats,
		Labels:   sp.Labels,
		Profiles: results.Attribute(feats, resultProfiles(r.supported, nil)),
	}
	if r.cfg.Rerun != nil {
		rt.Rerun = r.cfg.Rerun(sp.FullText())
	}
	if req, ok := sp.Requirement(); ok {
		rt.Requirement = &req
	}
	return rt
}

// results is the run's Results: the tests, and as supported only the
// claimed features that some spec proved (passed, none failed).
func (r *runner) results(tests []results.Test) Results {
	proven := provenFeatures(tests)
	out := Results{Tests: tests, Profiles: resultProfiles(r.supported, proven)}
	for f, ok := range r.supported {
		if ok && proven[f] {
			out.SupportedFeatures = append(out.SupportedFeatures, f)
		}
	}
	sort.Strings(out.SupportedFeatures)
	for _, p := range profiles.All() {
		out.ConformanceProfiles = append(out.ConformanceProfiles, p.Name)
	}
	return out
}

// testHost runs a spec under a *testing.T.
type testHost struct{ t *testing.T }

func (h *testHost) fail(msg string) { h.t.Fatal(msg) }
func (h *testHost) skip(msg string) { h.t.Skip(msg) }
func (h *testHost) cleanup(f func(ctx context.Context)) {
	h.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		f(ctx)
	})
}
func (h *testHost) logf(format string, args ...any) { h.t.Logf(format, args...) }
func (h *testHost) failed() bool                    { return h.t.Failed() }
