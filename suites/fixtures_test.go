package suites

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
	started bool // preparation began (guarded by warmMu)
	claimed bool // its spec started (and prepares it itself if not started)
	handed  bool // its spec received it and owns its cleanup
}

var (
	warmMu sync.Mutex
	warmed = map[string]*warm{}
	// warmClosed stops preparing ahead once the run is over.
	warmClosed bool
	// everyStarted is set once every fixture's preparation has begun:
	// from then on nobody waits for room, so deletions can wait for the end.
	everyStarted bool
	// deferred are the fixtures of finished specs, deleted at the end.
	deferred []*kube.Prepared
	// initial are the fixtures started at once; waitInitialFixtures waits
	// for them before the first spec.
	initial []*warm
	// prewarmCtx is cancelled on interrupt, so fixtures being prepared
	// return at once and can be deleted.
	prewarmCtx, cancelPrewarm = context.WithCancel(context.Background())
	// room holds one unit per pod the cluster can take for fixtures.
	room *semaphore.Weighted
)

// prewarm prepares the fixtures of texts in the background, in the order
// the specs will run, within the cluster's free room for pods.
func prewarm(texts []string) {
	c, err := semanticsCluster()
	if err != nil {
		return
	}
	if waited, err := c.WaitSuiteNamespacesGone(prewarmCtx, 3*time.Minute); err != nil {
		progress("semantics: %v", err)
	} else if waited > 2*time.Second {
		progress("semantics: waited %.1fs for the namespaces of an earlier run to go", waited.Seconds())
	}
	free, err := c.FreePods(prewarmCtx)
	if err != nil {
		progress("semantics: cannot read the cluster's free room for pods (%v): preparing at most %d pods ahead", err, defaultPodBudget)
		free = defaultPodBudget + podMargin
	}
	roomSize := int64(max(free-podMargin, 1))
	room = semaphore.NewWeighted(roomSize)
	var queue []*warm
	var names []string
	total := 0
	warmMu.Lock()
	for _, text := range texts {
		def := specDefs[text]
		if len(unsupported(def.labels)) > 0 {
			continue
		}
		w := &warm{done: make(chan struct{}), pods: int64(min(def.fixture.Pods(), int(roomSize)))}
		warmed[text] = w
		queue = append(queue, w)
		names = append(names, text)
		total += def.fixture.Pods()
	}
	warmMu.Unlock()
	progress("semantics: preparing the fixtures of %d specs (%d pods; room for %d)", len(queue), total, roomSize)
	start := func(i int) {
		w := queue[i]
		w.started = true
		go func() {
			defer close(w.done)
			w.p, w.err = c.Prepare(prewarmCtx, nsPrefix(names[i]), specDefs[names[i]].fixture)
		}()
	}
	// The fixtures that fit now start at once; the first spec waits for them.
	warmMu.Lock()
	next := 0
	for ; next < len(queue) && room.TryAcquire(queue[next].pods); next++ {
		start(next)
		initial = append(initial, queue[next])
	}
	everyStarted = next == len(queue)
	warmMu.Unlock()
	// The rest start as specs end and make room.
	go func() {
		for i := next; i < len(queue); i++ {
			if err := room.Acquire(prewarmCtx, queue[i].pods); err != nil {
				return
			}
			warmMu.Lock()
			switch {
			case warmClosed:
				warmMu.Unlock()
				room.Release(queue[i].pods)
				return
			case queue[i].claimed:
				room.Release(queue[i].pods)
			default:
				start(i)
			}
			everyStarted = i == len(queue)-1
			warmMu.Unlock()
		}
	}()
}

// waitInitialFixtures waits until the fixtures started at once are ready
// (or failed: their specs report it), so the first specs do not share the
// machine with starting pods.
func waitInitialFixtures(ctx context.Context) {
	warmMu.Lock()
	ws := initial
	warmMu.Unlock()
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
		case <-interruptedCh:
			return
		}
		pods += w.pods
	}
	progress("semantics: %d fixtures (%d pods) ready before the first spec (waited %.1fs)", len(ws), pods, time.Since(begun).Seconds())
}

// claim hands a spec its fixture: the prewarmed one, or a fresh one when
// preparation has not started yet.
func claim(ctx context.Context, c *kube.Cluster, text string) (*kube.Prepared, error) {
	warmMu.Lock()
	w := warmed[text]
	started := w != nil && w.started
	if w != nil {
		w.claimed = true
	}
	warmMu.Unlock()
	if !started {
		return c.Prepare(ctx, nsPrefix(text), specDefs[text].fixture)
	}
	select {
	case <-w.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	warmMu.Lock()
	w.handed = true
	warmMu.Unlock()
	return w.p, w.err
}

// release deletes a finished spec's namespaces: at once when other fixtures
// wait for room, else at the end of the run (see deleteDeferred).
func release(ctx context.Context, c *kube.Cluster, text string, p *kube.Prepared) error {
	warmMu.Lock()
	w := warmed[text]
	if everyStarted && !warmClosed {
		deferred = append(deferred, p)
		warmMu.Unlock()
		return nil
	}
	warmMu.Unlock()
	err := c.Delete(ctx, p)
	if w != nil && w.started {
		room.Release(w.pods)
	}
	return err
}

// releaseUnclaimedFixtures deletes what is left at the end of the run: the
// namespaces of finished specs whose deletion waited, and fixtures prepared
// for specs that never received them (interrupted, failed-fast or timed-out
// runs), so nothing is left behind.
func releaseUnclaimedFixtures() {
	warmMu.Lock()
	defer warmMu.Unlock()
	warmClosed = true
	var leftovers []*kube.Prepared
	for _, w := range warmed {
		if !w.started {
			continue
		}
		<-w.done
		if !w.handed && w.p != nil {
			leftovers = append(leftovers, w.p)
		}
	}
	leftovers = append(leftovers, deferred...)
	deferred = nil
	if len(leftovers) == 0 {
		return
	}
	for _, p := range leftovers {
		if err := theCluster.Delete(context.Background(), p); err != nil {
			progress("semantics: cleanup: %v", err)
		}
	}
	progress("semantics: deleted the namespaces of %d fixtures", len(leftovers))
}
