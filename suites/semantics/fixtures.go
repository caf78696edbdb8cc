package semantics

import (
	"context"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"

	"gamma-conformance/suites/internal/kube"
)

// Fixtures (each spec's namespaces, echo Deployments and Services) are
// prepared ahead, in the order the specs will run, as many as the cluster
// has room for: on a cluster with room for them all, every fixture is ready
// before the first spec starts, and the namespaces of finished specs are
// deleted once the suite is over. Specs then run on a quiet cluster (no pods
// starting or stopping beside them), as the upstream tests do on their
// shared fixture. On a smaller cluster the rest are prepared while earlier
// specs run, and each spec's namespaces are deleted when it ends, to make
// room. Each spec still owns its namespaces.

// defaultPodBudget is the pod budget when the cluster's free room cannot be
// read (no permission to list nodes and pods).
const defaultPodBudget = 80

// podMargin is the room left for pods that are not the suite's.
const podMargin = 10

// warm is a fixture being prepared ahead of its spec.
type warm struct {
	done    chan struct{}
	p       *kube.Prepared
	err     error
	pods    int64
	started bool // preparation began (guarded by fixtures.mu)
	claimed bool // its spec started (and prepares it itself if not started)
	handed  bool // its spec received it and owns its cleanup
}

// fixtures is the state of preparing a run's fixtures ahead.
type fixtures struct {
	mu     sync.Mutex
	warmed map[string]*warm
	// closed stops preparing ahead once the run is over.
	closed bool
	// everyStarted is set once every fixture's preparation has begun:
	// from then on nobody waits for room, so deletions can wait for the end.
	everyStarted bool
	// deferred are the fixtures of finished specs, deleted at the end.
	deferred []*kube.Prepared
	// initial are the fixtures started at once; waitInitial waits for
	// them before the first spec.
	initial []*warm
	// room holds one unit per pod the cluster can take for fixtures.
	room *semaphore.Weighted
}

// prewarm prepares the fixtures of texts in the background, in the order
// the specs will run, within the cluster's free room for pods.
func (r *runner) prewarm(ctx context.Context, specs []Spec) {
	c, f := r.c, &r.fx
	f.warmed = map[string]*warm{}
	if waited, err := c.WaitSuiteNamespacesGone(ctx, 3*time.Minute); err != nil {
		r.progress("semantics: %v", err)
	} else if waited > 2*time.Second {
		r.progress("semantics: waited %.1fs for the namespaces of an earlier run to go", waited.Seconds())
	}
	free, err := c.FreePods(ctx)
	if err != nil {
		r.progress("semantics: cannot read the cluster's free room for pods (%v): preparing at most %d pods ahead", err, defaultPodBudget)
		free = defaultPodBudget + podMargin
	}
	roomSize := int64(max(free-podMargin, 1))
	f.room = semaphore.NewWeighted(roomSize)
	var queue []*warm
	var names []Spec
	total := 0
	f.mu.Lock()
	for _, sp := range specs {
		w := &warm{done: make(chan struct{}), pods: int64(min(sp.Pods(), int(roomSize)))}
		f.warmed[sp.FullText()] = w
		queue = append(queue, w)
		names = append(names, sp)
		total += sp.Pods()
	}
	f.mu.Unlock()
	r.progress("semantics: preparing the fixtures of %d specs (%d pods; room for %d)", len(queue), total, roomSize)
	start := func(i int) {
		w := queue[i]
		w.started = true
		go func() {
			defer close(w.done)
			w.p, w.err = c.Prepare(ctx, nsPrefix(names[i].Text), names[i].fixture)
		}()
	}
	// The fixtures that fit now start at once; the first spec waits for them.
	f.mu.Lock()
	next := 0
	for ; next < len(queue) && f.room.TryAcquire(queue[next].pods); next++ {
		start(next)
		f.initial = append(f.initial, queue[next])
	}
	f.everyStarted = next == len(queue)
	f.mu.Unlock()
	// The rest start as specs end and make room.
	go func() {
		for i := next; i < len(queue); i++ {
			if err := f.room.Acquire(ctx, queue[i].pods); err != nil {
				return
			}
			f.mu.Lock()
			switch {
			case f.closed:
				f.mu.Unlock()
				f.room.Release(queue[i].pods)
				return
			case queue[i].claimed:
				f.room.Release(queue[i].pods)
			default:
				start(i)
			}
			f.everyStarted = i == len(queue)-1
			f.mu.Unlock()
		}
	}()
}

// waitInitialFixtures waits until the fixtures started at once are ready
// (or failed: their specs report it), so the first specs do not share the
// machine with starting pods.
func (r *runner) waitInitial(ctx context.Context) {
	f := &r.fx
	f.mu.Lock()
	ws := f.initial
	f.mu.Unlock()
	if len(ws) == 0 {
		return
	}
	begun := time.Now()
	pods := int64(0)
	for _, w := range ws {
		select {
		case <-w.done:
		case <-ctx.Done():
			return
		}
		pods += w.pods
	}
	r.progress("semantics: %d fixtures (%d pods) ready before the first spec (waited %.1fs)", len(ws), pods, time.Since(begun).Seconds())
}

// claim hands a spec its fixture: the prewarmed one, or a fresh one when
// preparation has not started yet.
func (r *runner) claim(ctx context.Context, sp Spec) (*kube.Prepared, error) {
	f := &r.fx
	f.mu.Lock()
	w := f.warmed[sp.FullText()]
	started := w != nil && w.started
	if w != nil {
		w.claimed = true
	}
	f.mu.Unlock()
	if !started {
		return r.c.Prepare(ctx, nsPrefix(sp.Text), sp.fixture)
	}
	select {
	case <-w.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	f.mu.Lock()
	w.handed = true
	f.mu.Unlock()
	return w.p, w.err
}

// release deletes a finished spec's namespaces: at once when other fixtures
// wait for room, else at the end of the run (see deleteDeferred).
func (r *runner) release(ctx context.Context, sp Spec, p *kube.Prepared) error {
	f := &r.fx
	f.mu.Lock()
	w := f.warmed[sp.FullText()]
	if f.everyStarted && !f.closed {
		f.deferred = append(f.deferred, p)
		f.mu.Unlock()
		return nil
	}
	f.mu.Unlock()
	err := r.c.Delete(ctx, p)
	if w != nil && w.started {
		f.room.Release(w.pods)
	}
	return err
}

// releaseUnclaimedFixtures deletes what is left at the end of the run: the
// namespaces of finished specs whose deletion waited, and fixtures prepared
// for specs that never received them (interrupted, failed-fast or timed-out
// runs), so nothing is left behind.
func (r *runner) releaseUnclaimed() {
	f := &r.fx
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	var leftovers []*kube.Prepared
	for _, w := range f.warmed {
		if !w.started {
			continue
		}
		<-w.done
		if !w.handed && w.p != nil {
			leftovers = append(leftovers, w.p)
		}
	}
	leftovers = append(leftovers, f.deferred...)
	f.deferred = nil
	if len(leftovers) == 0 {
		return
	}
	for _, p := range leftovers {
		if err := r.c.Delete(context.Background(), p); err != nil {
			r.progress("semantics: cleanup: %v", err)
		}
	}
	r.progress("semantics: deleted the namespaces of %d fixtures", len(leftovers))
}
