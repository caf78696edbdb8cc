package semantics

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"gamma-conformance/suites/internal/dump"
	"gamma-conformance/suites/internal/kube"
)

// Fixtures. Routes attach to Services, not to pods, so the pods of a run
// are shared and each spec owns the Services its routes attach to:
//
//   - Every app a selected spec declares (fixture(...): echo-v1..3,
//     remote, the clients) runs once, as one pod, in the run's shared
//     namespace of its key ("p" producer, "c" and "z" consumers, "o"
//     another client, "b" a backend elsewhere). They are prepared before
//     the first spec, as the upstream suite prepares its shared fixture,
//     and deleted when the run ends. Specs run one after another on a
//     quiet cluster: no pod starts or stops during a run.
//   - Each spec creates its own Services (named <spec id>-<app>, e.g.
//     s07-echo-v1, selecting the shared pods of app) when it starts; every
//     object it builds (routes, policies, ReferenceGrants) carries its id
//     in its name, refers only to its own Services, and is deleted when it
//     ends. A route's parentRefs and a policy's targetRefs name the spec's
//     Services, so nothing of one spec applies to another's traffic:
//     a consumer route in a shared client namespace applies to that
//     namespace's requests to its parent Service, which only its spec
//     calls, and a ReferenceGrant names the Services it lets routes
//     reach. A response's Hostname still names the app (pod names start
//     with the Deployment's), and what a backend received is counted with
//     a tag fresh for each batch (Received), so shared backends do not
//     blur a count.
//
// Under GinkgoTest, where no run knows its selection ahead, each spec gets
// shared namespaces of its own holding just its apps, deleted when it ends.

// sharedPrefix names the run's shared namespaces: gs-shared-<key>-<random>.
// Keys keep their order in the names ("p" < "z"), which specs rely on.
const sharedPrefix = "gs-shared"

// podMargin is the room left for pods that are not the suite's.
const podMargin = 10

// fixtures is a run's shared namespaces and pods.
type fixtures struct {
	ready chan struct{}
	p     *kube.Prepared
	err   error
	pods  int
	// kept is set when a failed spec kept its objects (KeepOnFailure):
	// the shared namespaces stay too.
	kept atomic.Bool
}

// sharedFixture is what specs need from the shared namespaces: every
// namespace key and every app with pods (without Services: each spec makes
// its own), once each, in declaration order.
func sharedFixture(specs []Spec) kube.Fixture {
	var fx kube.Fixture
	seen := map[string]bool{}
	for _, sp := range specs {
		for _, key := range sp.fixture.Namespaces {
			if !slices.Contains(fx.Namespaces, key) {
				fx.Namespaces = append(fx.Namespaces, key)
			}
		}
		for _, a := range sp.fixture.Apps {
			if a.ServiceOnly || seen[a.Namespace+"/"+a.Name] {
				continue
			}
			seen[a.Namespace+"/"+a.Name] = true
			fx.Apps = append(fx.Apps, kube.App{Namespace: a.Namespace, Name: a.Name, NoService: true})
		}
	}
	return fx
}

// SharedPods is how many pods a run of specs starts: one per distinct app
// (namespace key and name) the specs declare.
func SharedPods(specs []Spec) int { return sharedFixture(specs).Pods() }

// prewarm prepares the shared namespaces and pods of specs in the
// background, once the namespaces of an earlier run are gone.
func (r *runner) prewarm(ctx context.Context, specs []Spec) {
	c, f := r.c, &r.fx
	f.ready = make(chan struct{})
	fx := sharedFixture(specs)
	f.pods = fx.Pods()
	if waited, err := c.WaitSuiteNamespacesGone(ctx, 3*time.Minute); err != nil {
		r.progress("semantics: %v", err)
	} else if waited > 2*time.Second {
		r.progress("semantics: waited %.1fs for the namespaces of an earlier run to go", waited.Seconds())
	}
	if free, err := c.FreePods(ctx); err == nil && free-podMargin < f.pods {
		r.progress("semantics: the cluster has room for %d more pods, the fixtures need %d (and %d are left for others): some may stay Pending", free, f.pods, podMargin)
	}
	r.progress("semantics: preparing the shared fixtures of %d specs: %d pods in %d namespaces", len(specs), f.pods, len(fx.Namespaces))
	go func() {
		defer close(f.ready)
		f.p, f.err = c.Prepare(ctx, sharedPrefix, fx)
	}()
}

// waitInitial waits until the shared pods are ready (or failed: the specs
// report it), so no spec shares the machine with starting pods.
func (r *runner) waitInitial(ctx context.Context) {
	f := &r.fx
	select {
	case <-f.ready:
	case <-ctx.Done():
		return
	}
	if f.err != nil {
		r.progress("semantics: preparing the shared fixtures failed: %v", f.err)
		return
	}
	r.progress("semantics: fixtures ready: %d pods in %d namespaces, %.1fs after the run started (fixture_ready_s=%.1f)",
		f.pods, len(f.p.NS), time.Since(r.start).Seconds(), time.Since(r.start).Seconds())
}

// claim hands a spec the namespaces its apps run in: the run's shared
// ones, or (no run prepared any: GinkgoTest) its own, which it deletes when
// it ends.
func (r *runner) claim(ctx context.Context, sp Spec) (p *kube.Prepared, own bool, err error) {
	f := &r.fx
	if f.ready == nil {
		p, err := r.c.Prepare(ctx, nsPrefix(sp.Text), sharedFixture([]Spec{sp}))
		return p, true, err
	}
	select {
	case <-f.ready:
	case <-ctx.Done():
		return nil, false, ctx.Err()
	}
	return f.p, false, f.err
}

// releaseShared deletes the shared namespaces at the end of the run (the
// next run waits for them to go), unless a failed spec kept its objects.
func (r *runner) releaseShared() {
	f := &r.fx
	if f.ready == nil {
		return
	}
	<-f.ready
	if f.p == nil || len(f.p.NS) == 0 {
		return
	}
	names := namespaces(f.p)
	if f.kept.Load() {
		r.progress("semantics: kept the shared namespaces %s (keep on failure)", strings.Join(names, " "))
		return
	}
	if err := r.c.Delete(context.Background(), f.p); err != nil {
		r.progress("semantics: cleanup: %v", err)
		return
	}
	r.progress("semantics: deleted the shared namespaces %s", strings.Join(names, " "))
}

// namespaces are the real names of a fixture's namespaces, sorted.
func namespaces(p *kube.Prepared) []string {
	var names []string
	for _, ns := range p.NS {
		names = append(names, ns)
	}
	sort.Strings(names)
	return names
}

// setUp creates the spec's own Services for the apps it declares, waits
// until Kubernetes has their endpoints, and for consumer-route specs lets
// routes of each of its namespaces reference its Services in the others.
func (s *S) setUp(consumer bool) {
	var svcs []client.Object
	var waits []*corev1.Service
	for _, a := range s.spec.fixture.Apps {
		if a.NoService {
			continue
		}
		svc := kube.ServiceOf(s.NS(a.Namespace), s.Svc(a.Name), a)
		s.own(svc)
		svcs = append(svcs, svc)
		waits = append(waits, svc)
	}
	s.Create(svcs...)
	if err := s.c.WaitEndpoints(s.ctx, waits...); err != nil {
		s.Fail(fmt.Sprintf("the spec's Services: %v (fix: check the shared pods are Ready)", err))
	}
	if consumer {
		s.grantRoutesAcrossNamespaces()
	}
}

// cleanup deletes what the spec made (its objects in the shared
// namespaces, or its own namespaces), after a dump if it failed; with
// KeepOnFailure a failed spec's objects stay, and so do the shared
// namespaces.
func (s *S) cleanup(ctx context.Context) {
	if s.p == nil {
		return
	}
	names := namespaces(s.p)
	failed := s.h.failed()
	cfg := s.r.cfg
	if failed && cfg.DumpOnFailure {
		dir := filepath.Join(cfg.DumpDir, nsPrefix(s.spec.Text))
		if err := dump.Namespaces(ctx, s.c, dir, names); err != nil {
			s.Logf("dump incomplete: %v", err)
		}
		s.r.progress("semantics: dump of %s written to %s", strings.Join(names, " "), dir)
	}
	if failed && cfg.KeepOnFailure {
		s.r.progress("semantics: kept the objects named %s-* in namespaces %s (keep on failure)", s.spec.id, strings.Join(names, " "))
		if !s.ownNS {
			s.r.fx.kept.Store(true)
		}
		return
	}
	if s.ownNS {
		if err := s.c.Delete(ctx, s.p); err != nil {
			s.Logf("cleanup: %v", err)
		}
		return
	}
	for i := len(s.owned) - 1; i >= 0; i-- {
		o := s.owned[i]
		err := s.c.Client.Delete(ctx, o, client.PropagationPolicy(metav1.DeletePropagationBackground))
		if err != nil && !apierrors.IsNotFound(err) && !meta.IsNoMatchError(err) {
			s.Logf("cleanup: delete %T %s/%s: %v", o, o.GetNamespace(), o.GetName(), err)
		}
	}
}

// Svc is the name of the spec's own Service for app (<spec id>-<app>); it
// selects the pods of app. Every object the spec builds is named so.
func (s *S) Svc(app string) string { return s.spec.id + "-" + app }

// own records an object the spec built, to delete when it ends.
func (s *S) own(o client.Object) { s.owned = append(s.owned, o) }

// services are the names of the spec's own Services.
func (s *S) services() []string {
	var out []string
	for _, a := range s.spec.fixture.Apps {
		if !a.NoService {
			out = append(out, s.Svc(a.Name))
		}
	}
	return out
}

// grantRoutesAcrossNamespaces lets the HTTP and gRPC routes of each of the
// spec's namespaces reference its Services in the others (each grant names
// them). Consumer-route specs send a consumer namespace's routes to the
// producer's Services; GEP-1294 allows that without a ReferenceGrant, but
// "if a mesh implementation does expose the ability to access a broader
// scope …, then ReferenceGrant must be used". A grant is legal on every
// mesh, so these specs pass on both kinds (the spec of cross-namespace
// backendRefs without a grant is apart, and no grant names its Service).
func (s *S) grantRoutesAcrossNamespaces() {
	svcs := map[string][]gatewayv1.ReferenceGrantTo{}
	for _, a := range s.spec.fixture.Apps {
		if !a.NoService {
			svcs[a.Namespace] = append(svcs[a.Namespace], gatewayv1.ReferenceGrantTo{Group: "", Kind: "Service", Name: ptr.To(gatewayv1.ObjectName(s.Svc(a.Name)))})
		}
	}
	for _, fromKey := range s.spec.fixture.Namespaces {
		for _, toKey := range s.spec.fixture.Namespaces {
			if fromKey == toKey || len(svcs[toKey]) == 0 {
				continue
			}
			from := gatewayv1.Namespace(s.NS(fromKey))
			g := &gatewayv1.ReferenceGrant{
				ObjectMeta: metav1.ObjectMeta{Namespace: s.NS(toKey), Name: s.Svc("routes-from-" + fromKey)},
				Spec: gatewayv1.ReferenceGrantSpec{
					From: []gatewayv1.ReferenceGrantFrom{
						{Group: gatewayv1.GroupName, Kind: "HTTPRoute", Namespace: from},
						{Group: gatewayv1.GroupName, Kind: "GRPCRoute", Namespace: from},
					},
					To: svcs[toKey],
				},
			}
			s.own(g)
			s.Create(g)
		}
	}
}
