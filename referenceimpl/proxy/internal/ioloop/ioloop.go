// Package ioloop is what the proxy does each time it runs out of work, as
// the event loop of an event-driven proxy does at the end of each
// iteration: it writes out what its connections' writes coalesced, then
// polls their sockets for a short while (busy polling) before letting the
// process sleep.
//
// Coalescing: a Conn's Write only appends to a buffer; the loop writes the
// buffer out once every goroutine that had something to do has run. The
// HTTP/2 server in net/http, for one, writes a response's HEADERS and DATA
// frames with a flush each, and frames of many streams one by one; the
// loop sends them in one write. Reads are buffered too, so that reading an
// HTTP/2 frame is not two syscalls (header, then payload).
//
// Busy polling: a proxy relays a request, then waits for the answer, which
// comes tens of microseconds later. Sleeping in between costs a wakeup per
// message, and waking a thread on an idle CPU is slow on virtual machines
// (about 30 µs per wakeup in a Firecracker VM with guest halt polling off).
// After a write, the loop polls the sockets it watches for up to its spin
// time while nothing else runs, and hands over as soon as one is readable.
// The price is CPU: up to the spin time after each burst of activity, so
// at most spin × bursts per second. Between polls the loop yields the CPU
// (sched_yield): another thread waiting for this CPU, such as the app's
// thread that will answer, runs first instead of waiting out the spin
// (h2c p50 added in BenchmarkProxy, medians of 5 runs: 142 -> 138 µs).
// So under load the loop spins only on CPU time nothing else wants:
// polling at any load, rather than only while at most one request was in
// flight as before the yield, took BenchmarkProxy's HTTP/1.1 throughput
// ratio from 0.51 to 0.56 and h2c's from 0.60 to 0.61 (medians of 3 and 2
// runs); the poll's length (20, 50, 100 or 200 µs) made no difference
// there. Spinning has a cost we measured but could not avoid: while one
// vCPU spins, waking a thread on the other, idle one takes longer (HTTP/1.1
// relay to the app's thread, p50 52 µs against 31 µs with no polling;
// PAUSE between polls did not help), but the wakeups of the proxy it saves
// are worth more (proxied p50 132 against 179 µs in those traced runs).
//
// Raw syscalls: a Conn reads and writes its socket, and the loop polls,
// with syscall.RawSyscall, which does not tell the Go runtime. These calls
// never block (the sockets are non-blocking), so the runtime loses
// nothing: it would only hand the P to another thread for a blocking
// call. What it does when told costs a sidecar dearly: the first syscall
// after the process has been idle wakes the runtime's monitor thread
// (sysmon), which then wakes every 20 µs for at least a millisecond,
// preempting the proxy or waking an idle CPU each time. A proxy is idle
// between bursts thousands of times a second, so sysmon never calmed
// down: in BenchmarkProxy's HTTP/1.1 throughput runs it was 9.4-9.7 % of
// the proxy's CPU, and 1.4-1.7 % with raw syscalls (perf profiles); proxy
// CPU per request went from 25.4-27.0 to 20.8-21.0 µs and the app's (load
// generator and server) from 34.0-36.5 to 30.3-31.3 µs; throughput ratios
// (medians of 3-4 runs) http1 0.465 -> 0.50, h2c 0.51 -> 0.58; h2c p50
// added 163 -> 142 µs.
//
// The loop runs on the proxy's goroutines: it is meant for a process with
// one P (GOMAXPROCS=1, as the sidecar runs), where "nothing else runs" is
// true while the loop spins. It needs Linux (epoll).
package ioloop

import (
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// Loop is one proxy's loop. Its zero value is not usable: use New.
type Loop struct {
	spin time.Duration

	mu      sync.Mutex // guards the fields below
	users   int        // Start calls not yet matched by Stop
	epfd    int        // watched sockets; -1 when not running
	dirty   []*Conn    // connections with buffered writes
	spare   []*Conn    // the other of dirty's two arrays
	kick    chan struct{}
	stopped chan struct{} // closed when the loop goroutine ends

	polled atomic.Int64 // spins ended by a readable socket
}

// New returns a loop that polls for up to spin after activity; spin 0
// turns polling off (writes are still coalesced).
func New(spin time.Duration) *Loop {
	return &Loop{spin: max(spin, 0), epfd: -1}
}

// Start runs the loop until the matching Stop; calls nest (the proxy
// serves several listeners).
func (l *Loop) Start() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.users++
	if l.users > 1 {
		return nil
	}
	fd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		l.users--
		return err
	}
	l.epfd = fd
	l.kick = make(chan struct{}, 1)
	l.stopped = make(chan struct{})
	go l.run(fd, l.kick, l.stopped)
	return nil
}

// Stop ends the loop after the last Start's match: buffered writes are
// written, and Conns then write directly.
func (l *Loop) Stop() {
	l.mu.Lock()
	l.users--
	if l.users > 0 {
		l.mu.Unlock()
		return
	}
	kick, stopped, epfd := l.kick, l.stopped, l.epfd
	l.kick = nil // from now on, Conns write directly
	l.mu.Unlock()
	close(kick)
	<-stopped
	l.mu.Lock()
	syscall.Close(epfd)
	if l.epfd == epfd { // not restarted meanwhile
		l.epfd = -1
	}
	dirty := l.dirty
	l.dirty = nil
	l.mu.Unlock()
	for _, c := range dirty {
		c.flushBlocking()
	}
}

// Polled reports how many spins ended because a watched socket became
// readable: how many wakeups polling saved.
func (l *Loop) Polled() int64 { return l.polled.Load() }

// Watch adds c's socket to those the loop polls; a connection that is not
// a socket, or a loop not running, is left alone. The kernel forgets the
// socket when it is closed.
func (l *Loop) Watch(c any) {
	sc, ok := c.(syscall.Conn)
	if !ok || l.spin == 0 {
		return
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.epfd < 0 {
		return
	}
	rc.Control(func(fd uintptr) {
		// Edge-triggered: a socket whose data waits for a busy goroutine
		// must not end every spin at once.
		ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP | -syscall.EPOLLET, Fd: int32(fd)}
		syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_ADD, int(fd), &ev)
	})
}

// enqueue puts c on the flush list and wakes the loop; false: the loop is
// not running and the caller writes itself.
func (l *Loop) enqueue(c *Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.kick == nil {
		return false
	}
	l.dirty = append(l.dirty, c)
	select {
	case l.kick <- struct{}{}:
	default:
	}
	return true
}

func (l *Loop) flush() {
	l.mu.Lock()
	dirty := l.dirty
	l.dirty, l.spare = l.spare[:0], nil
	l.mu.Unlock()
	for i, c := range dirty {
		c.flush()
		dirty[i] = nil
	}
	l.mu.Lock()
	l.spare = dirty[:0] // the two arrays take turns: no allocation
	l.mu.Unlock()
}

func (l *Loop) run(epfd int, kick <-chan struct{}, stopped chan<- struct{}) {
	defer close(stopped)
	var evs [1]syscall.EpollEvent
	for range kick {
		// Let every goroutine with something to do run (and write) first:
		// Gosched puts the loop behind them.
		runtime.Gosched()
		l.flush()
		if l.spin == 0 {
			continue
		}
		deadline := time.Now().Add(l.spin)
		for {
			if readable(epfd, &evs[0]) {
				// Parking now lets the scheduler's own network poll find
				// the goroutine waiting for that socket.
				l.polled.Add(1)
				break
			}
			if time.Now().After(deadline) {
				break
			}
			runtime.Gosched()
			l.flush()
			// Let a thread of another process waiting for this CPU (the
			// app, whose answer the proxy awaits) run first.
			syscall.RawSyscall(syscall.SYS_SCHED_YIELD, 0, 0, 0)
		}
	}
	l.flush()
}

// readable polls epfd once, without blocking and without telling the
// runtime (see rawSyscall).
func readable(epfd int, ev *syscall.EpollEvent) bool {
	n, _, e := syscall.RawSyscall6(syscall.SYS_EPOLL_WAIT, uintptr(epfd), uintptr(unsafe.Pointer(ev)), 1, 0, 0, 0)
	return e == 0 && n > 0
}
