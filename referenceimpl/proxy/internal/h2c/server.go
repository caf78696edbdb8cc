package h2c

import (
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"golang.org/x/net/http2"
)

// Server serves h2c connections with Handler.
type Server struct {
	Handler http.Handler
	// IdleTimeout closes a connection with no stream for this long (0: 5 min).
	IdleTimeout time.Duration

	once sync.Once
	hs   *http.Server
	h2   *http2.Server
	mu   sync.Mutex
	shut context.Context // the context whose end shut the connections down last
}

var handServer = os.Getenv("GAMMA_H2C_HAND") != ""

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
	if handServer {
		s.serveConnHand(ctx, c)
		return
	}
	s.once.Do(s.init)
	stop := context.AfterFunc(ctx, func() { s.shutdown(ctx) })
	defer stop()
	s.h2.ServeConn(c, &http2.ServeConnOpts{Context: context.WithoutCancel(ctx), BaseConfig: s.hs, Handler: s.Handler})
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
