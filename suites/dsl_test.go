package suites

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlconfig "sigs.k8s.io/controller-runtime/pkg/client/config"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/gateway-api/conformance/utils/suite"

	"gamma-conformance/suites/internal/config"
	"gamma-conformance/suites/internal/dump"
	"gamma-conformance/suites/internal/kube"
)

// specDef is what a spec declares before it runs.
type specDef struct {
	labels  []string
	fixture kube.Fixture
}

var specDefs = map[string]specDef{}

// meshIt declares a semantics spec: its labels (one per feature, plus
// "control" for controls), the fixture it needs, and its body. Leaf texts
// are unique across the suite (Ginkgo builds the tree twice: once for the
// preview that picks the fixtures to prepare, once to run).
func meshIt(text string, labels []string, fx kube.Fixture, body func(s *S)) bool {
	specDefs[text] = specDef{labels: labels, fixture: fx}
	return It(text, Label(labels...), func(ctx SpecContext) {
		if missing := unsupported(labels); len(missing) > 0 {
			Skip(notSupportedPrefix + strings.Join(missing, ", ") + " (the run does not claim it; see --supported-features / --exempt-features)")
		}
		s := begin(ctx, text)
		body(s)
		s.settle()
	})
}

var (
	clusterOnce sync.Once
	clusterErr  error
	theCluster  *kube.Cluster
)

// semanticsCluster builds the API clients once, from --kubeconfig (or the
// usual kubeconfig lookup) and our flags.
func semanticsCluster() (*kube.Cluster, error) {
	clusterOnce.Do(func() {
		cfg, err := ctrlconfig.GetConfig()
		if err != nil {
			clusterErr = fmt.Errorf("kubeconfig: %w (fix: pass --kubeconfig=<file>)", err)
			return
		}
		f := config.Current
		theCluster, clusterErr = kube.NewCluster(cfg, kube.Options{
			ControllerName:       f.ControllerName,
			NamespaceLabels:      suite.ParseKeyValuePairs(flagLookupValue("namespace-labels")),
			NamespaceAnnotations: suite.ParseKeyValuePairs(flagLookupValue("namespace-annotations")),
			EchoImage:            f.EchoImage,
			ConvergenceTimeout:   f.ConvergenceTimeout,
			ReadyTimeout:         f.ReadyTimeout,
		})
	})
	return theCluster, clusterErr
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

// S is one running spec: its cluster, namespaces and helpers.
type S struct {
	ctx     context.Context
	c       *kube.Cluster
	p       *kube.Prepared
	pods    map[string]kube.Pod
	pending []*pendingStatus
}

func begin(ctx context.Context, text string) *S {
	c, err := semanticsCluster()
	Expect(err).NotTo(HaveOccurred())
	p, err := claim(ctx, c, text)
	s := &S{ctx: ctx, c: c, p: p, pods: map[string]kube.Pod{}}
	DeferCleanup(s.cleanup)
	Expect(err).NotTo(HaveOccurred(), "preparing the spec's namespaces and pods")
	By(fmt.Sprintf("fixture ready (%.1fs)", p.Took.Seconds()))
	return s
}

func (s *S) cleanup(ctx SpecContext) {
	if s.p == nil {
		return
	}
	var names []string
	for _, ns := range s.p.NS {
		names = append(names, ns)
	}
	failed := CurrentSpecReport().Failed()
	if failed && config.Current.DumpOnFailure {
		dir := filepath.Join(config.Current.DumpDir, nsPrefix(CurrentSpecReport().LeafNodeText))
		if err := dump.Namespaces(ctx, s.c, dir, names); err != nil {
			GinkgoWriter.Printf("dump incomplete: %v\n", err)
		}
		AddReportEntry("dump", dir)
		progress("semantics: dump of %s written to %s", strings.Join(names, " "), dir)
	}
	if failed && config.Current.KeepOnFailure {
		progress("semantics: kept namespaces %s (--keep-on-failure)", strings.Join(names, " "))
		return
	}
	Expect(release(ctx, s.c, CurrentSpecReport().LeafNodeText, s.p)).To(Succeed())
}

// NS is the real name of a logical namespace of the fixture.
func (s *S) NS(key string) string {
	GinkgoHelper()
	ns, ok := s.p.NS[key]
	Expect(ok).To(BeTrue(), "fixture has no namespace %q", key)
	return ns
}

// Pod is the running pod of app in a logical namespace.
func (s *S) Pod(nsKey, app string) kube.Pod {
	GinkgoHelper()
	k := nsKey + "/" + app
	if p, ok := s.pods[k]; ok {
		return p
	}
	p, err := s.c.PodOf(s.ctx, s.NS(nsKey), app)
	Expect(err).NotTo(HaveOccurred())
	s.pods[k] = p
	return p
}

// Create creates objects in order.
func (s *S) Create(objs ...client.Object) {
	GinkgoHelper()
	for _, o := range objs {
		Expect(s.c.Client.Create(s.ctx, o)).To(Succeed(), "create %T %s/%s", o, o.GetNamespace(), o.GetName())
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
	GinkgoHelper()
	if err := s.poll(what, f); err != nil {
		Fail(err.Error())
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
	GinkgoHelper()
	what := fmt.Sprintf("route %s/%s: status for parent %s", route.GetNamespace(), route.GetName(), ref.Name)
	By(what)
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
	GinkgoHelper()
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
	GinkgoHelper()
	if err := s.statusErrors(); err != nil {
		Fail(err.Error())
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
	GinkgoHelper()
	errs := make([]error, len(flows))
	var wg sync.WaitGroup
	for i, f := range flows {
		By(fmt.Sprintf("traffic from %s/%s: %s", f.from.Namespace, f.from.Name, strings.Join(f.req.Args(), " ")))
		wg.Go(func() { errs[i] = s.await(f) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		// The status checks say why, when the route was never accepted.
		Fail(errors.Join(err, s.statusErrors()).Error())
	}
}

func (s *S) await(f flow) error {
	deadline := time.Now().Add(s.c.Options.ConvergenceTimeout)
	for tries := 1; ; tries++ {
		r := s.c.Send(s.ctx, f.from, f.req)
		err := f.check(r)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) || s.ctx.Err() != nil {
			return fmt.Errorf("traffic from %s/%s: %s\n  %w\n  (last of %d tries in --convergence-timeout=%v; client stderr: %q)",
				f.from.Namespace, f.from.Name, strings.Join(r.Args, " "), err, tries, s.c.Options.ConvergenceTimeout, strings.TrimSpace(r.Stderr))
		}
		time.Sleep(trafficPoll)
	}
}

// softAccepted waits for the route to be accepted if a mesh writes status,
// without failing when none does: controls must pass with no mesh.
func (s *S) softAccepted(route client.Object, ref gatewayv1.ParentReference) {
	GinkgoHelper()
	deadline := time.Now().Add(s.c.Options.ConvergenceTimeout)
	for time.Now().Before(deadline) {
		entries, err := s.c.ParentStatuses(s.ctx, route, ref)
		if err == nil && kube.Check(entries, kube.Want{Type: string(gatewayv1.RouteConditionAccepted), Status: "True"}) == nil {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	GinkgoWriter.Printf("no Accepted status on %s/%s: checking pass-through anyway\n", route.GetNamespace(), route.GetName())
}
