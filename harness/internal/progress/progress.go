// Package progress prints progress lines with the elapsed time since the
// start of a command, and times named steps.
package progress

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// Log prints lines prefixed with the time elapsed since New.
type Log struct {
	mu    sync.Mutex
	w     io.Writer
	start time.Time
	// Heartbeat is how often a running step reports that it is still running.
	Heartbeat time.Duration
}

// New returns a Log writing to w; a nil w discards everything.
func New(w io.Writer) *Log {
	if w == nil {
		w = io.Discard
	}
	return &Log{w: w, start: time.Now(), Heartbeat: 30 * time.Second}
}

// Printf prints one line prefixed with the elapsed time.
func (l *Log) Printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, "[%6.1fs] %s\n", time.Since(l.start).Seconds(), fmt.Sprintf(format, args...))
}

// Step runs fn, printing when it starts, a heartbeat while it runs, and how
// long it took.
func (l *Log) Step(name string, fn func() error) error {
	begin := time.Now()
	l.Printf("%s ...", name)
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(l.Heartbeat)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				l.Printf("%s: still running (%.0fs)", name, time.Since(begin).Seconds())
			}
		}
	}()
	err := fn()
	close(done)
	if err != nil {
		l.Printf("%s: FAILED after %.1fs", name, time.Since(begin).Seconds())
		return err
	}
	l.Printf("%s: done in %.1fs", name, time.Since(begin).Seconds())
	return nil
}

// Elapsed is the time since New.
func (l *Log) Elapsed() time.Duration { return time.Since(l.start) }
