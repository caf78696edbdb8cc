package semantics

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"gamma-conformance/profiles"
	"gamma-conformance/suites/internal/kube"
)

// host is what runs a spec: a *testing.T (Run) or Ginkgo (GinkgoSpecs).
type specHost interface {
	// fail stops the spec as failed; it does not return.
	fail(msg string)
	// skip stops the spec as skipped; it does not return.
	skip(msg string)
	// cleanup runs f when the spec ends, pass or fail.
	cleanup(f func(ctx context.Context))
	logf(format string, args ...any)
	failed() bool
}

var nonAlnum = regexp.MustCompile(`[^a-z0-9]+`)

// nsPrefix derives a namespace name prefix from a spec text.
func nsPrefix(text string) string {
	s := strings.Trim(nonAlnum.ReplaceAllString(strings.ToLower(text), "-"), "-")
	if len(s) > 24 {
		s = strings.TrimRight(s[:24], "-")
	}
	return "gs-" + s
}

// S is one running spec: its cluster, namespaces and helpers. Its methods
// fail the spec (and stop it) when an expectation does not hold.
type S struct {
	ctx     context.Context
	r       *runner
	spec    Spec
	h       specHost
	g       gomega.Gomega
	c       *kube.Cluster
	p       *kube.Prepared
	pods    map[string]kube.Pod
	pending []*pendingStatus
	// failure and location of the first failure, for the results.
	failure, location string
	// ownNS: the namespaces are the spec's own (GinkgoTest), not a run's
	// shared ones.
	ownNS bool
	// owned is every object the spec built, deleted when it ends.
	owned []client.Object
}

// newS is a spec about to run; the caller sets its host and context.
func (r *runner) newS(ctx context.Context, sp Spec) *S {
	s := &S{ctx: ctx, r: r, spec: sp, c: r.c, pods: map[string]kube.Pod{}}
	s.g = gomega.NewGomega(func(msg string, _ ...int) { s.Fail(msg) })
	return s
}

// runSpec runs one spec's body: it claims the namespaces of its apps,
// creates its own Services, runs the body and waits for the status checks
// still running.
func (r *runner) runSpec(s *S) {
	p, own, err := r.claim(s.ctx, s.spec)
	s.p, s.ownNS = p, own
	s.h.cleanup(s.cleanup)
	s.Expect(err).NotTo(gomega.HaveOccurred(), "preparing the spec's namespaces and pods")
	begun := time.Now()
	s.setUp(slices.Contains(s.spec.Labels, profiles.ConsumerRoute))
	s.By(fmt.Sprintf("fixture ready: the spec's Services %s in %.1fs", strings.Join(s.services(), " "), time.Since(begun).Seconds()))
	s.spec.body(s)
	s.settle()
}

// Expect starts a Gomega assertion that fails the spec.
func (s *S) Expect(actual any, extra ...any) gomega.Assertion {
	return s.g.Expect(actual, extra...)
}

// Fail fails the spec with msg and stops it.
func (s *S) Fail(msg string) {
	if s.failure == "" {
		s.failure, s.location = msg, specLocation()
	}
	s.h.fail(msg)
}

// By logs a step of the spec.
func (s *S) By(step string) { s.h.logf("STEP: %s", step) }

// Logf logs a line of the spec.
func (s *S) Logf(format string, args ...any) { s.h.logf(format, args...) }

// specLocation is the innermost spec file line on the stack: where the
// failing expectation of the spec is.
func specLocation() string {
	pcs := make([]uintptr, 32)
	frames := runtime.CallersFrames(pcs[:runtime.Callers(3, pcs)])
	first := ""
	for {
		f, more := frames.Next()
		if strings.Contains(f.File, "/suites/semantics/") {
			loc := fmt.Sprintf("%s:%d", f.File, f.Line)
			if first == "" && !strings.HasSuffix(f.File, "/dsl.go") {
				first = loc
			}
			if strings.Contains(filepath.Base(f.File), "spec_") {
				return loc
			}
		}
		if !more {
			return first
		}
	}
}

// NS is the real name of a logical namespace of the fixture.
func (s *S) NS(key string) string {
	ns, ok := s.p.NS[key]
	s.Expect(ok).To(gomega.BeTrue(), "fixture has no namespace %q", key)
	return ns
}

// Pod is the running pod of app in a logical namespace.
func (s *S) Pod(nsKey, app string) kube.Pod {
	k := nsKey + "/" + app
	if p, ok := s.pods[k]; ok {
		return p
	}
	p, err := s.c.PodOf(s.ctx, s.NS(nsKey), app)
	s.Expect(err).NotTo(gomega.HaveOccurred())
	s.pods[k] = p
	return p
}

// Create creates objects in order.
func (s *S) Create(objs ...client.Object) {
	for _, o := range objs {
		s.Expect(s.create(o)).To(gomega.Succeed(), "create %T %s/%s", o, o.GetNamespace(), o.GetName())
	}
}

// How often a spec checks again while it waits for convergence: a status
// read is one GET, cheap enough to repeat every 25 ms for the fraction of a
// second a mesh needs; a traffic check is an exec of the echo client.
const (
	statusPoll  = 25 * time.Millisecond
	trafficPoll = 50 * time.Millisecond
)

// eventually retries f until it succeeds or --convergence-timeout passes;
// what names the failure.
func (s *S) eventually(what string, f func() error) {
	if err := s.poll(what, f); err != nil {
		s.Fail(err.Error())
	}
}

// poll is eventually without failing: it returns the last error.
func (s *S) poll(what string, f func() error) error {
	deadline := time.Now().Add(s.c.Options.ConvergenceTimeout)
	for tries := 1; ; tries++ {
		err := f()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) || s.ctx.Err() != nil {
			return fmt.Errorf("%s: %v\n(last of %d tries in --convergence-timeout=%v)", what, err, tries, s.c.Options.ConvergenceTimeout)
		}
		time.Sleep(statusPoll)
	}
}

// pendingStatus is a status check running beside the spec's traffic.
type pendingStatus struct {
	done chan struct{}
	err  error
}

// Status expects the route to get a status entry for ref (from the chosen
// controller) meeting every want within --convergence-timeout. The check
// runs beside what the spec does next (a mesh programs its proxies and
// writes status at the same time, so neither waits for the other); the spec
// fails at its end, or at its first traffic failure, if the status never
// converged. Call settle before reading status directly.
func (s *S) Status(route client.Object, ref gatewayv1.ParentReference, wants ...kube.Want) {
	what := fmt.Sprintf("route %s/%s: status for parent %s", route.GetNamespace(), route.GetName(), ref.Name)
	s.By(what)
	p := &pendingStatus{done: make(chan struct{})}
	s.pending = append(s.pending, p)
	route = route.DeepCopyObject().(client.Object) // read into a copy: the spec goes on using its own
	go func() {
		defer close(p.done)
		p.err = s.poll(what, func() error {
			entries, err := s.c.ParentStatuses(s.ctx, route, ref)
			if err != nil {
				return err
			}
			if len(entries) == 0 && s.c.Options.ControllerName != "" {
				if others := s.c.StatusControllers(s.ctx, route, ref); len(others) > 0 {
					return fmt.Errorf("no status entry from --controller-name=%s, only from %s", s.c.Options.ControllerName, strings.Join(others, ", "))
				}
			}
			return kube.Check(entries, wants...)
		})
	}()
}

// Accepted expects the route to be Accepted=True for ref (see Status).
func (s *S) Accepted(route client.Object, ref gatewayv1.ParentReference) {
	s.Status(route, ref, kube.Want{Type: string(gatewayv1.RouteConditionAccepted), Status: "True"})
}

// statusErrors waits for the status checks still running and returns
// their failures.
func (s *S) statusErrors() error {
	var errs []error
	for _, p := range s.pending {
		<-p.done
		errs = append(errs, p.err)
	}
	s.pending = nil
	return errors.Join(errs...)
}

// settle waits for the status checks still running and fails the spec if
// one did not converge.
func (s *S) settle() {
	if err := s.statusErrors(); err != nil {
		s.Fail(err.Error())
	}
}

// flow is an expected traffic outcome: a batch of requests from a pod and
// the check the whole batch must pass.
type flow struct {
	from  kube.Pod
	req   kube.Request
	check check
}

// Traffic sends each flow's batch, again and again until its check passes
// or --convergence-timeout runs out. The flows run concurrently: put a flow
// that checks that something is NOT routed in a later call, after a flow
// that shows the route works.
func (s *S) Traffic(flows ...flow) {
	errs := make([]error, len(flows))
	var wg sync.WaitGroup
	for i, f := range flows {
		s.By(fmt.Sprintf("traffic from %s/%s: %s", f.from.Namespace, f.from.Name, strings.Join(f.req.Args(), " ")))
		wg.Go(func() { errs[i] = s.await(f) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		// The status checks say why, when the route was never accepted.
		s.Fail(errors.Join(err, s.statusErrors()).Error())
	}
}

func (s *S) await(f flow) error {
	timeout, what := s.trafficTimeout()
	deadline := time.Now().Add(timeout)
	for tries := 1; ; tries++ {
		r := s.c.Send(s.ctx, f.from, f.req)
		err := f.check(r)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) || s.ctx.Err() != nil {
			return fmt.Errorf("traffic from %s/%s: %s\n  %w\n  (last of %d tries in %s=%v; client stderr: %q)",
				f.from.Namespace, f.from.Name, strings.Join(r.Args, " "), err, tries, what, timeout, strings.TrimSpace(r.Stderr))
		}
		time.Sleep(trafficPoll)
	}
}

// controlTrafficTimeout is the least time a control's traffic gets to
// converge. A control that fails says the cluster is broken, so it must not
// fail because a run shortened --convergence-timeout to make the mesh's
// specs fail fast (the negative control's 5s): on a loaded cluster the
// spec's new Service can take longer than that to be programmed into the
// node's service proxy (kube-proxy), or one exec of the client to return.
const controlTrafficTimeout = 30 * time.Second

// trafficTimeout is how long the spec's traffic may take to converge, and
// what sets it, for the failure message.
func (s *S) trafficTimeout() (time.Duration, string) {
	if t := s.c.Options.ConvergenceTimeout; !s.spec.Control() || t >= controlTrafficTimeout {
		return t, "--convergence-timeout"
	}
	return controlTrafficTimeout, "a control's least traffic timeout"
}

// softAccepted waits for the route to be accepted if a mesh writes status,
// without failing when none does: controls must pass with no mesh.
func (s *S) softAccepted(route client.Object, ref gatewayv1.ParentReference) {
	deadline := time.Now().Add(s.c.Options.ConvergenceTimeout)
	for time.Now().Before(deadline) {
		entries, err := s.c.ParentStatuses(s.ctx, route, ref)
		if err == nil && kube.Check(entries, kube.Want{Type: string(gatewayv1.RouteConditionAccepted), Status: "True"}) == nil {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	s.Logf("no Accepted status on %s/%s: checking pass-through anyway\n", route.GetNamespace(), route.GetName())
}
