// Package h2c is the proxy's HTTP/2 over cleartext TCP with prior knowledge
// (h2c, what gRPC speaks in a mesh): a Server that hands each stream of a
// client's connection to an http.Handler, and a Transport that sends
// requests to backends over pooled, multiplexed connections.
//
// # The Server
//
// The Server is hand-made on golang.org/x/net/http2's Framer and hpack,
// which read, size-check and decode every frame and header block. Around
// them it keeps what RFC 9113 asks of a server: the stream states (frames
// on idle, half-closed and closed streams are the errors section 5.1
// names), flow control both ways (windows above 2^31-1 are errors; a
// client may have at most 1 MiB of request body unread per stream and per
// connection, as x/net's defaults), the SETTINGS ranges of section 6.5.2,
// the largest frame it reads (16 KiB, HTTP/2's default), stream
// dependencies on themselves, and malformed requests (sections 8.1.1 to
// 8.3: pseudo-header fields missing or wrong, connection-specific fields,
// a TE other than "trailers", a Content-Length that the DATA frames do
// not add up to), which reset the stream and never reach the handler. A
// connection error sends GOAWAY, then reads and drops what the client
// still sends for up to a second before closing; a graceful GOAWAY
// (shutdown, idle timeout, the client's own GOAWAY) lets the open streams
// finish, then closes when the client acknowledges a PING sent after it,
// or a second later. Both as x/net, so that the client reads the GOAWAY
// before the kernel answers its last frames with a TCP reset.
//
// It is held to h2spec (make protocol, TestH2Spec): it must pass every case
// x/net's server passes. Of h2spec v2.2.1's 145 cases x/net's server
// passes 139, the proxy with this server 143 (the one it fails is an
// invalid preface, which the proxy serves as HTTP/1.1). It bounds what
// a connection holds: 250 open streams, 1,000 handlers still running
// (those of reset streams included), 1 MiB of unread request body per
// stream and per connection, 64 KiB of unsent response in the connection's
// write buffer (internal/ioloop: a handler whose client does not read
// waits). A request body read waits at most BodyReadTimeout (not for gRPC).
// A gRPC request's context ends at the deadline its grpc-timeout field
// sets, as in a gRPC server (the proxy then answers DEADLINE_EXCEEDED).
//
// Why it exists rather than x/net's server: speed. x/net runs each
// stream's handler on a new goroutine and writes every response with three
// more (the HEADERS frame, then a flush after it and one after the DATA).
// Here the connection's reader goroutine reads the frames, each stream's
// handler runs on a reused worker goroutine and writes its own frames under
// the connection's lock, and the connection under them (internal/ioloop)
// coalesces the writes. BenchmarkProxy, h2c, 1 KiB responses, medians of
// 3 runs each interleaved on this project's 2-core VM (see
// referenceimpl/README.md): this server 119 µs median added latency,
// throughput ratio 0.71, 52.9 µs of proxy CPU per request; x/net's
// 173 µs, 0.57, 83.0 µs. The targets are 150 µs and 0.5.
//
// What the Server does not do: TLS, the HTTP/1.1 Upgrade to h2c (prior
// knowledge only, as net/http), server push, priorities (read, checked and
// ignored: streams are served in the order their frames come), extended
// CONNECT (RFC 8441: SETTINGS_ENABLE_CONNECT_PROTOCOL is not offered),
// Content-Type sniffing, a Content-Length of its own for a response, a
// write timeout (a client that reads nothing keeps the handlers of its
// streams waiting until it resets them or the connection closes; flow
// control and the write buffer bound what they hold).
//
// # The Transport
//
// The Transport replaces net/http's for the proxy's sake: net/http's starts
// a goroutine per request and looks its connection pool up by a hashed key;
// this one runs each request on its caller's goroutine, and the connection
// under it (internal/ioloop) coalesces the writes.
//
// What it does not do: TLS, server push, priorities.
package h2c

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// Server settings, as advertised to clients, and its bounds.
const (
	maxConcurrentStreams = 250
	// maxHandlers bounds the handlers of one connection still running,
	// those of streams already reset included: a client that opens and
	// resets streams in a loop must not start handlers without end.
	maxHandlers       = 4 * maxConcurrentStreams
	maxHeaderListSize = 1 << 20 // as net/http's DefaultMaxHeaderBytes
	// maxReadFrameSize is the largest frame a client may send: HTTP/2's
	// default, so it is not advertised.
	maxReadFrameSize = 16 << 10
	// streamWindow and connWindow bound the request body bytes a client
	// may send before the handlers read them: per stream and per
	// connection, x/net's defaults.
	streamWindow  = 1 << 20
	connWindow    = 1 << 20
	initialWindow = 65535 // every window's size until SETTINGS say otherwise
	maxWindow     = 1<<31 - 1
	// defaultBodyReadTimeout is as the HTTP/1.1 server's.
	defaultBodyReadTimeout = 10 * time.Second
	defaultIdleTimeout     = 5 * time.Minute
	shutdownGrace          = 5 * time.Second
	prefaceTimeout         = 10 * time.Second
	// goAwayLinger is how long a connection is still read after its
	// GOAWAY, once no stream is left, at most, before it is closed:
	// closing a socket with unread input sends a TCP reset, which can
	// destroy the GOAWAY before the client reads it.
	goAwayLinger = time.Second
	// workerIdle is how long a goroutine that served a stream waits for
	// the next one.
	workerIdle = time.Second
)

// Server serves h2c connections with Handler.
type Server struct {
	Handler http.Handler
	// IdleTimeout closes a connection with no stream for this long (0: 5 min).
	IdleTimeout time.Duration
	// BodyReadTimeout bounds the wait for each read of a request body
	// (0: 10 s), except for gRPC, whose streams may rightly stay quiet for
	// long. When it passes, the read fails with an error that is a
	// net.Error whose Timeout() is true. Flow control bounds what a body
	// buffers either way.
	BodyReadTimeout time.Duration
}

func (s *Server) idleTimeout() time.Duration {
	if s.IdleTimeout > 0 {
		return s.IdleTimeout
	}
	return defaultIdleTimeout
}

func (s *Server) bodyReadTimeout() time.Duration {
	if s.BodyReadTimeout > 0 {
		return s.BodyReadTimeout
	}
	return defaultBodyReadTimeout
}

// ServeConn serves c until the client or an error ends it. c's first bytes
// must be the client preface (Sniff). Requests carry ctx's values; when ctx
// ends, the server sends GOAWAY, lets open streams finish for a few seconds
// and closes c.
func (s *Server) ServeConn(ctx context.Context, c net.Conn) {
	sc := newServerConn(s, ctx, c)
	defer sc.close()
	c.SetReadDeadline(time.Now().Add(prefaceTimeout))
	preface := make([]byte, len(clientPreface))
	if _, err := io.ReadFull(c, preface); err != nil || !bytes.Equal(preface, clientPreface) {
		return
	}
	c.SetReadDeadline(time.Time{})
	sc.start()
	stop := context.AfterFunc(ctx, sc.shutdown)
	defer stop()
	sc.serve()
}

// serverConn is one client connection. Its reader goroutine (serve) reads
// and processes every frame; handlers write their frames under mu.
type serverConn struct {
	srv    *Server
	c      net.Conn
	base   context.Context
	remote string
	// fr reads on the reader goroutine only; its writes are under mu.
	fr          *http2.Framer
	sawSettings bool // the reader's: the client's first frame was SETTINGS

	mu      sync.Mutex // guards everything below, and writing to c
	cond    *sync.Cond // send windows grew, or a stream or c closed
	enc     *hpack.Encoder
	hbuf    bytes.Buffer
	dateBuf []byte
	// streams are the open streams: neither reset nor done both ways.
	streams  map[uint32]*stream
	lastID   uint32 // highest stream ID the client opened
	handlers int    // handler goroutines running
	// sendWindow is what the client lets us send on the connection;
	// recvWindow what we let it send, unsent what its handlers read but
	// the client was not told yet. Windows are int64 so that a client's
	// WINDOW_UPDATE past 2^31-1 is seen, not wrapped.
	sendWindow  int64
	recvWindow  int64
	unsent      int64
	peerWindow  int64  // the client's SETTINGS_INITIAL_WINDOW_SIZE
	maxFrame    uint32 // the client's SETTINGS_MAX_FRAME_SIZE
	unacked     int    // SETTINGS we sent that the client has not acknowledged
	goingAway   bool   // GOAWAY sent: no new streams
	closing     bool   // c closes soon: GOAWAY sent, no stream left
	closed      bool
	idleTimer   *time.Timer
	idleTimeout time.Duration
}

func newServerConn(s *Server, ctx context.Context, c net.Conn) *serverConn {
	sc := &serverConn{
		srv:         s,
		c:           c,
		base:        context.WithoutCancel(ctx),
		remote:      c.RemoteAddr().String(),
		streams:     make(map[uint32]*stream),
		sendWindow:  initialWindow,
		recvWindow:  connWindow,
		peerWindow:  initialWindow,
		maxFrame:    16 << 10,
		idleTimeout: s.idleTimeout(),
	}
	sc.cond = sync.NewCond(&sc.mu)
	sc.fr = http2.NewFramer(c, c)
	sc.fr.SetMaxReadFrameSize(maxReadFrameSize)
	sc.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	sc.fr.MaxHeaderListSize = maxHeaderListSize
	sc.fr.SetReuseFrames()
	sc.enc = hpack.NewEncoder(&sc.hbuf)
	return sc
}

// start sends the server's SETTINGS and the connection window beyond the
// initial 64 KiB, and starts the idle timer.
func (sc *serverConn) start() {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	sc.fr.WriteSettings(
		http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: maxConcurrentStreams},
		http2.Setting{ID: http2.SettingInitialWindowSize, Val: streamWindow},
		http2.Setting{ID: http2.SettingMaxHeaderListSize, Val: maxHeaderListSize},
	)
	sc.unacked++
	sc.fr.WriteWindowUpdate(0, connWindow-initialWindow)
	sc.idleTimer = time.AfterFunc(sc.idleTimeout, sc.idle)
}

// goAwayLocked tells the client that no stream after the last it opened
// will be served, and why. sc.mu is held.
func (sc *serverConn) goAwayLocked(code http2.ErrCode) {
	if sc.closed || (sc.goingAway && code == http2.ErrCodeNo) {
		return
	}
	sc.goingAway = true
	sc.fr.WriteGoAway(sc.lastID, code, nil)
}

// fail ends the connection on a connection error: GOAWAY, every stream
// ended, and the client's input read and dropped for goAwayLinger.
func (sc *serverConn) fail(code http2.ErrCode) {
	sc.mu.Lock()
	sc.goAwayLocked(code)
	sc.closed = true // nothing more is written
	sc.closeStreamsLocked()
	sc.mu.Unlock()
	sc.c.SetReadDeadline(time.Now().Add(goAwayLinger))
	io.Copy(io.Discard, sc.c)
}

// shutdown starts a graceful close: GOAWAY, then close when the open
// streams are done, or after shutdownGrace. The timer is armed before mu
// is taken: a handler writing to a client that reads nothing may hold mu
// until the connection closes.
func (sc *serverConn) shutdown() {
	time.AfterFunc(shutdownGrace, func() { sc.c.Close() })
	sc.mu.Lock()
	defer sc.mu.Unlock()
	sc.goAwayLocked(http2.ErrCodeNo)
	if len(sc.streams) == 0 {
		sc.closeConnLocked()
	}
}

// idle closes a connection that has had no stream for the idle timeout.
func (sc *serverConn) idle() {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if len(sc.streams) == 0 {
		sc.goAwayLocked(http2.ErrCodeNo)
		sc.closeConnLocked()
	}
}

// closePing is the data of the PING that follows a graceful GOAWAY.
var closePing = [8]byte{'h', '2', 'c', 'c', 'l', 'o', 's', 'e'}

// closeConnLocked ends the connection after a graceful GOAWAY, once no
// stream is left: when the client acknowledges a PING sent after the
// GOAWAY, or goAwayLinger later. Until then frames are still read and
// answered, as x/net does for its 1 s: so that the client reads the
// GOAWAY before the connection closes, and what it sent meanwhile does
// not meet a TCP reset, which may destroy the GOAWAY unread. c's Close
// writes what is still buffered, and may wait: not under mu.
func (sc *serverConn) closeConnLocked() {
	if sc.closed || sc.closing {
		return
	}
	sc.closing = true
	sc.fr.WritePing(false, closePing)
	time.AfterFunc(goAwayLinger, func() { sc.c.Close() })
}

// closeStreamsLocked ends every open stream: the connection is done.
func (sc *serverConn) closeStreamsLocked() {
	for _, st := range sc.streams {
		sc.closeStreamLocked(st, net.ErrClosed)
	}
}

// close ends the connection once its reader stops: open streams are
// cancelled, handlers' writes fail from now on.
func (sc *serverConn) close() {
	sc.mu.Lock()
	sc.closed = true
	sc.closeStreamsLocked()
	if sc.idleTimer != nil {
		sc.idleTimer.Stop()
	}
	sc.cond.Broadcast()
	sc.mu.Unlock()
	sc.c.Close()
}

// idleWorkers hands a stream to a goroutine that served one before and
// now waits (unbuffered: only a waiting worker takes it). A worker keeps
// the stack it grew through the handler's deep call chain (reverse proxy,
// transport); a new goroutine per stream grew its stack by copying on
// every request, 8 % of the proxy's CPU on small h2c requests.
var idleWorkers = make(chan func())

func runWorker(f func()) {
	select {
	case idleWorkers <- f:
	default:
		go worker(f)
	}
}

func worker(f func()) {
	t := time.NewTimer(workerIdle)
	defer t.Stop()
	for {
		f()
		t.Reset(workerIdle)
		select {
		case f = <-idleWorkers:
		case <-t.C:
			return
		}
	}
}
