// Package budget is the proxy's retry budget: per Service, retries may make
// up at most a percentage of the requests sent to it within a sliding
// interval, plus a minimum number of retries per (shorter) interval that is
// always allowed. It implements meshconfig.RetryBudget.
package budget

import (
	"sync"
	"time"

	"gamma-conformance/referenceimpl/meshconfig"
)

// slots is how many buckets a sliding window is cut into.
const slots = 20

// window counts events over a sliding interval in fixed buckets.
type window struct {
	width time.Duration // of one bucket
	start [slots]int64  // bucket start, in units of width
	count [slots]int64
}

func newWindow(interval time.Duration) window {
	w := window{width: interval / slots}
	if w.width <= 0 {
		w.width = 1
	}
	return w
}

func (w *window) add(now time.Time, n int64) {
	b := now.UnixNano() / int64(w.width)
	i := b % slots
	if w.start[i] != b {
		w.start[i], w.count[i] = b, 0
	}
	w.count[i] += n
}

func (w *window) sum(now time.Time) int64 {
	b := now.UnixNano() / int64(w.width)
	var s int64
	for i := range w.count {
		if b-w.start[i] < slots {
			s += w.count[i]
		}
	}
	return s
}

// Budget is the retry budget of one Service in one proxy.
type Budget struct {
	cfg meshconfig.RetryBudget
	now func() time.Time

	mu         sync.Mutex
	requests   window // first attempts and retries, over cfg.Interval
	retries    window // retries, over cfg.Interval
	minRetries window // retries, over cfg.MinInterval
}

// New returns an empty budget; now is the clock (time.Now when nil).
func New(cfg meshconfig.RetryBudget, now func() time.Time) *Budget {
	if now == nil {
		now = time.Now
	}
	b := &Budget{cfg: cfg, now: now, requests: newWindow(cfg.Interval), retries: newWindow(cfg.Interval)}
	if cfg.MinRetries > 0 {
		b.minRetries = newWindow(cfg.MinInterval)
	}
	return b
}

// Request records one request (first attempt) sent to the Service.
func (b *Budget) Request() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.requests.add(b.now(), 1)
}

// Retry reports whether one more retry fits the budget and, if it does,
// records it (as a retry and as a request). A retry fits when, counting it,
// retries stay within Percent of the requests of the interval, or when
// fewer than MinRetries retries were sent in the last MinInterval.
func (b *Budget) Retry() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	retries, requests := b.retries.sum(now)+1, b.requests.sum(now)+1
	ok := retries*100 <= int64(b.cfg.Percent)*requests
	if !ok && b.cfg.MinRetries > 0 {
		ok = b.minRetries.sum(now) < int64(b.cfg.MinRetries)
	}
	if ok {
		b.requests.add(now, 1)
		b.retries.add(now, 1)
		if b.cfg.MinRetries > 0 {
			b.minRetries.add(now, 1)
		}
	}
	return ok
}

// Set holds the budgets of a proxy, one per Service and configuration, for
// the proxy's lifetime (budgets outlive configuration snapshots).
type Set struct {
	now func() time.Time
	mu  sync.Mutex
	m   map[meshconfig.RetryBudget]*Budget
}

// NewSet returns an empty set; now is the clock (time.Now when nil).
func NewSet(now func() time.Time) *Set {
	return &Set{now: now, m: map[meshconfig.RetryBudget]*Budget{}}
}

// Get returns the budget for cfg (nil for nil), creating it when needed. A
// changed configuration starts a new, empty budget.
func (s *Set) Get(cfg *meshconfig.RetryBudget) *Budget {
	if cfg == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.m[*cfg]
	if !ok {
		for k := range s.m {
			if k.Service == cfg.Service {
				delete(s.m, k)
			}
		}
		b = New(*cfg, s.now)
		s.m[*cfg] = b
	}
	return b
}
