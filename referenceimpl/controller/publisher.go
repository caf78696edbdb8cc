package controller

import (
	"reflect"
	"sync"
	"time"

	"gamma-conformance/referenceimpl/meshconfig"
)

// Publisher holds the current snapshot and tells streams when it changes.
type Publisher struct {
	mu      sync.Mutex
	snap    *meshconfig.Snapshot
	changed chan struct{} // closed and replaced on every change
	ready   chan struct{} // closed on the first publish
}

// NewPublisher returns a publisher with no snapshot yet. Versions start
// from the clock so that a restarted control plane never repeats one.
func NewPublisher() *Publisher {
	return &Publisher{
		snap:    &meshconfig.Snapshot{Version: uint64(time.Now().UnixNano())},
		changed: make(chan struct{}),
		ready:   make(chan struct{}),
	}
}

// Publish replaces the tables. It bumps the version only when they differ,
// and reports whether they did.
func (p *Publisher) Publish(tables []meshconfig.Table) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	first := false
	select {
	case <-p.ready:
	default:
		first = true
		close(p.ready)
	}
	if !first && reflect.DeepEqual(p.snap.Tables, tables) {
		return false
	}
	p.snap = &meshconfig.Snapshot{Version: p.snap.Version + 1, Tables: tables}
	close(p.changed)
	p.changed = make(chan struct{})
	return true
}

// Ready is closed once the first snapshot is published.
func (p *Publisher) Ready() <-chan struct{} { return p.ready }

// Current returns the snapshot and a channel closed at the next change.
func (p *Publisher) Current() (*meshconfig.Snapshot, <-chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.snap, p.changed
}
