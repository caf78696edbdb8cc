package h2c

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/http2"
)

// Transport sends requests over HTTP/2 prior-knowledge cleartext connections, pooled per r.URL.Host.
//
// It is leaner than net/http's HTTP/2 transport: a request without a body
// is written by the calling goroutine, which then waits for the
// connection's reader goroutine to hand over the response; only a request
// body gets a goroutine of its own. A Transport is safe for concurrent use.
type Transport struct {
	// Dial opens a connection (required).
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// IdleTimeout closes a connection that has had no stream for this long (0: 90 s).
	IdleTimeout time.Duration

	mu    sync.Mutex
	pools map[string]*clPool // by dial address
}

const (
	// clStreamWindow is the receive window of every stream, advertised
	// in SETTINGS: the most response body one stream buffers. With 4 MiB,
	// 100 streams whose client did not read made the proxy hold 450 MB;
	// with this, 100 such streams hold at most 25 MiB.
	clStreamWindow = 256 << 10
	// clStreamRefresh is how much consumed body a stream gathers before
	// returning it to the peer in a WINDOW_UPDATE.
	clStreamRefresh = clStreamWindow / 4
	// clConnWindow is the connection's receive window; the stream windows
	// bound what is buffered, this one only needs not to get in the way.
	clConnWindow = 1 << 30
	// clConnRefresh is how much received data the connection gathers
	// before returning it to the peer.
	clConnRefresh = 16 << 20
	// clMaxHeaderList bounds a response header (and trailer) list.
	clMaxHeaderList = 10 << 20
	// clMaxReadFrame is the largest frame read: the default
	// SETTINGS_MAX_FRAME_SIZE, which the client does not raise.
	clMaxReadFrame = 16 << 10
	// clDefaultMaxStreams is the concurrency assumed of a server until its
	// SETTINGS say otherwise.
	clDefaultMaxStreams = 100
	clDefaultIdle       = 90 * time.Second
	// clMaxAttempts bounds how many connections a request is tried on.
	clMaxAttempts = 4
	// clInitialWindow is the HTTP/2 default initial window.
	clInitialWindow = 65535
	// clWriteErrorGrace is how long the reader may go on reading after a
	// write failed.
	clWriteErrorGrace = time.Second
)

var (
	errClientBodyClosed = errors.New("h2c: response body closed")
	errClientConnClosed = errors.New("h2c: connection closed")
	// errClientStreamDone stops a request body writer whose stream ended.
	errClientStreamDone = errors.New("h2c: stream closed")
)

// clRetryError marks a failure of a request that the server did not
// process, so that it can be sent again on another connection.
type clRetryError struct {
	err error
	// bodyUnused: the request body was not touched.
	bodyUnused bool
}

func (e *clRetryError) Error() string { return e.err.Error() }
func (e *clRetryError) Unwrap() error { return e.err }

// clConnError is a connection error: the client sends GOAWAY with code and
// closes the connection.
type clConnError struct {
	code   http2.ErrCode
	reason string
}

func (e clConnError) Error() string {
	return fmt.Sprintf("h2c: connection error %v: %s", e.code, e.reason)
}

// RoundTrip sends r and returns the response once its header has arrived;
// the body and trailers arrive as Body is read.
func (t *Transport) RoundTrip(r *http.Request) (*http.Response, error) {
	hasBody := r.Body != nil && r.Body != http.NoBody
	if err := clCheckRequest(r); err != nil {
		if r.Body != nil {
			r.Body.Close()
		}
		return nil, err
	}
	addr := r.URL.Host
	if strings.LastIndexByte(addr, ':') <= strings.LastIndexByte(addr, ']') {
		addr = net.JoinHostPort(strings.Trim(addr, "[]"), "80")
	}
	var avoid *clConn
	for attempt := 1; ; attempt++ {
		cc, err := t.getConn(r.Context(), addr, avoid)
		if err != nil {
			if r.Body != nil {
				r.Body.Close()
			}
			return nil, err
		}
		resp, err := cc.roundTrip(r, hasBody)
		if err == nil {
			return resp, nil
		}
		re, ok := err.(*clRetryError)
		if !ok {
			return nil, err
		}
		if attempt == clMaxAttempts || hasBody && !re.bodyUnused && r.GetBody == nil {
			if re.bodyUnused && r.Body != nil {
				r.Body.Close()
			}
			return nil, re.err
		}
		if hasBody && !re.bodyUnused {
			body, err := r.GetBody()
			if err != nil {
				return nil, fmt.Errorf("h2c: rewinding request body to retry after %v: %w", re.err, err)
			}
			nr := *r
			nr.Body = body
			r = &nr
		}
		avoid = cc
	}
}

// CloseIdleConnections closes the connections that carry no stream.
func (t *Transport) CloseIdleConnections() {
	var idle []*clConn
	t.mu.Lock()
	for addr, p := range t.pools {
		kept := p.conns[:0]
		for _, cc := range p.conns {
			if cc.retireIfIdle() {
				idle = append(idle, cc)
			} else {
				kept = append(kept, cc)
			}
		}
		clear(p.conns[len(kept):])
		p.conns = kept
		if len(kept) == 0 && p.dial == nil {
			delete(t.pools, addr)
		}
	}
	t.mu.Unlock()
	for _, cc := range idle {
		cc.nc.Close()
	}
}
