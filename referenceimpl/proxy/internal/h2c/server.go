// Package h2c is the proxy's HTTP/2 over cleartext TCP with prior knowledge
// (h2c, what gRPC speaks in a mesh): a Server that hands each stream of a
// client's connection to an http.Handler, and a Transport that sends
// requests to backends over pooled, multiplexed connections.
//
// The Server is golang.org/x/net/http2's, configured: it passes the h2spec
// cases x/net passes, bounds what a connection buffers (flow control
// windows of 1 MiB per stream and per connection, 250 streams) and checks
// every frame as RFC 9113 requires. A hand-made server preceded it, about
// 20 % cheaper in CPU per small request (37.3 against 46.5 µs), that failed
// 18 more h2spec cases and could be made to write 72 MB of empty
// CONTINUATION frames: see referenceimpl/README.md for the figures. Most
// of the difference is x/net's design, which no setting changes: each
// stream's handler runs on a goroutine of its own, and each response is
// written by three more (the HEADERS frame, then a flush after it and one
// after the DATA).
//
// The Transport replaces net/http's for the proxy's sake: net/http's starts
// a goroutine per request and looks its connection pool up by a hashed key;
// this one runs each request on its caller's goroutine, and the connection
// under it (internal/ioloop) coalesces the writes.
//
// What they do not do: TLS, server push, priorities (ignored), the HTTP/1.1
// Upgrade to h2c (prior knowledge only, as net/http).
package h2c

import (
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/http2"
)

// Server settings, as advertised to clients.
const (
	maxConcurrentStreams = 250
	maxHeaderListSize    = 1 << 20 // as net/http's DefaultMaxHeaderBytes
	defaultIdleTimeout   = 5 * time.Minute
	// defaultBodyReadTimeout is as the HTTP/1.1 server's.
	defaultBodyReadTimeout = 10 * time.Second
)

// Server serves h2c connections with Handler.
type Server struct {
	Handler http.Handler
	// IdleTimeout closes a connection with no stream for this long (0: 5 min).
	IdleTimeout time.Duration
	// BodyReadTimeout bounds the wait for each read of a request body
	// (0: 10 s), except for gRPC, whose streams may rightly stay quiet for
	// long; when it passes, the stream is reset. Flow control bounds what
	// a body buffers either way.
	BodyReadTimeout time.Duration

	once sync.Once
	hs   *http.Server
	h2   *http2.Server
	mu   sync.Mutex
	shut context.Context // the context whose end shut the connections down last
}

func (s *Server) idleTimeout() time.Duration {
	if s.IdleTimeout > 0 {
		return s.IdleTimeout
	}
	return defaultIdleTimeout
}

func (s *Server) init() {
	s.hs = &http.Server{Handler: s.Handler, MaxHeaderBytes: maxHeaderListSize, ErrorLog: log.New(io.Discard, "", 0)}
	s.h2 = &http2.Server{
		MaxConcurrentStreams: maxConcurrentStreams,
		IdleTimeout:          s.idleTimeout(),
	}
	if err := http2.ConfigureServer(s.hs, s.h2); err != nil {
		panic(err) // only for TLS settings, which there are none of
	}
}

// ServeConn serves c until the client or an error ends it. c's first bytes
// must be the client preface (Sniff). Requests carry ctx's values; when ctx
// ends, the server sends GOAWAY, lets open streams finish and closes c.
func (s *Server) ServeConn(ctx context.Context, c net.Conn) {
	s.once.Do(s.init)
	stop := context.AfterFunc(ctx, func() { s.shutdown(ctx) })
	defer stop()
	s.h2.ServeConn(c, &http2.ServeConnOpts{Context: context.WithoutCancel(ctx), BaseConfig: s.hs, Handler: http.HandlerFunc(s.serveHTTP)})
}

// serveHTTP gives a request body, but a gRPC one, its read timeout.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Body == http.NoBody || strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc") {
		s.Handler.ServeHTTP(w, r)
		return
	}
	timeout := s.BodyReadTimeout
	if timeout <= 0 {
		timeout = defaultBodyReadTimeout
	}
	b := &timedBody{ReadCloser: r.Body, rc: http.NewResponseController(w), timeout: timeout}
	r.Body = b
	defer b.handlerDone()
	s.Handler.ServeHTTP(w, r)
}

// timedBody moves the stream's read deadline before a read, at most once
// a second (each move is a message to the connection's goroutine): a read
// waits between timeout - 1 s and timeout. A transport may go on reading
// a body after the handler returned (an early answer); x/net's
// ResponseWriter must not be used then, so done is checked under mu.
type timedBody struct {
	io.ReadCloser
	rc      *http.ResponseController
	timeout time.Duration

	mu   sync.Mutex
	set  time.Time // when the deadline was last moved
	done bool      // the handler has returned
}

func (b *timedBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	if now := time.Now(); !b.done && now.Sub(b.set) >= min(time.Second, b.timeout/10) {
		b.set = now
		b.rc.SetReadDeadline(now.Add(b.timeout))
	}
	b.mu.Unlock()
	return b.ReadCloser.Read(p)
}

func (b *timedBody) handlerDone() {
	b.mu.Lock()
	b.done = true
	b.mu.Unlock()
}

// shutdown starts a graceful shutdown of every connection, once per ctx.
func (s *Server) shutdown(ctx context.Context) {
	s.mu.Lock()
	done := s.shut == ctx
	s.shut = ctx
	s.mu.Unlock()
	if !done {
		s.hs.Shutdown(ctx)
	}
}
