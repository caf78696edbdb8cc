package h2c

// A connection and its streams: reserving a stream, sending a request
// and waiting for its response.

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"sync"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// clConn is one connection. Lock order: wmu, then mu, then a stream's mu;
// the Transport's mu comes before mu.
type clConn struct {
	t    *Transport
	addr string
	nc   net.Conn
	br   *bufio.Reader
	// fr reads frames on the reader goroutine and writes them, into wbuf,
	// under wmu.
	fr *http2.Framer

	// wmu serializes writes and guards the encoder, the buffers, maxFrame,
	// lower, werr and the streams' wdone.
	wmu      sync.Mutex
	enc      *hpack.Encoder // writes into hbuf
	hbuf     bytes.Buffer   // a header block being encoded
	wbuf     bytes.Buffer   // frames to write to nc in one Write
	maxFrame uint32         // the peer's SETTINGS_MAX_FRAME_SIZE
	werr     error          // the first write error; the connection is dead

	mu         sync.Mutex
	flow       sync.Cond // on mu: a send window grew, or a stream or the connection ended
	streams    map[uint32]*clStream
	nextID     uint32
	inuse      int    // streams open or reserved
	maxStreams uint32 // the peer's SETTINGS_MAX_CONCURRENT_STREAMS
	initWin    int64  // the peer's SETTINGS_INITIAL_WINDOW_SIZE
	sendWin    int64  // the connection's send window
	draining   bool   // no new streams
	closed     bool   // the reader has stopped
	idle       time.Duration
	idleSince  time.Time // when inuse last became 0
	idleTimer  *time.Timer

	// Owned by the reader goroutine.
	recvAvail  int64       // connection window left to the peer
	recvUnsent int64       // received data not yet returned to the peer
	pending    []*clStream // streams to wake before the reader blocks
}

// clStream is one request and its response; it is also the response Body.
type clStream struct {
	cc   *clConn
	id   uint32
	req  *http.Request
	ctx  context.Context
	head bool // HEAD request
	wake chan struct{}

	// Under cc.wmu.
	wdone bool // no more frames may be written on the stream

	// Under cc.mu.
	sendWin  int64
	sendDone bool          // END_STREAM or RST_STREAM sent, or the stream failed
	recvDone bool          // END_STREAM received, or the stream failed
	body     io.ReadCloser // the request body, until closed

	mu        sync.Mutex
	resp      *http.Response
	err       error // io.EOF once the response is complete, or why it failed
	buf       clBuffer
	trailer   http.Header // received trailers, moved to resp.Trailer at EOF
	closed    bool        // Body.Close was called
	unsent    int64       // consumed body not yet returned to the peer
	recvAvail int64       // stream window left to the peer
	clen      int64       // declared response content length, or -1
	got       int64       // response body bytes received

	// Owned by the reader goroutine.
	gotHead bool // the final response header arrived
	ended   bool // END_STREAM received
	queued  bool // in cc.pending
}

// reserve takes room for one stream on cc.
func (cc *clConn) reserve() bool {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.draining || cc.closed || cc.inuse >= int(cc.maxStreams) {
		return false
	}
	cc.inuse++
	return true
}

// releaseLocked gives back a stream's room and reports whether the
// connection is now to be closed. cc.mu is held.
func (cc *clConn) releaseLocked() bool {
	cc.inuse--
	if cc.inuse > 0 {
		return false
	}
	cc.idleSince = time.Now()
	return cc.draining && !cc.closed
}

// retireIfIdle stops new streams on cc if it has none, and reports
// whether it did (or cc is dead).
func (cc *clConn) retireIfIdle() bool {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.inuse == 0 || cc.closed {
		cc.draining = true
		return true
	}
	return false
}

// shutdown closes a connection that has no stream left.
func (cc *clConn) shutdown() {
	cc.t.removeConn(cc)
	cc.nc.Close()
}

// onIdleTimer closes cc if it has been idle for its idle timeout, else
// sets the timer for when it could be.
func (cc *clConn) onIdleTimer() {
	cc.mu.Lock()
	if cc.closed || cc.draining {
		cc.mu.Unlock()
		return
	}
	next := cc.idle
	if cc.inuse == 0 {
		idle := time.Since(cc.idleSince)
		if idle >= cc.idle {
			cc.draining = true
			cc.mu.Unlock()
			cc.shutdown()
			return
		}
		next = cc.idle - idle
	}
	cc.idleTimer.Reset(next)
	cc.mu.Unlock()
}

// flushLocked writes the frames in wbuf. cc.wmu is held.
func (cc *clConn) flushLocked() error {
	if cc.werr != nil {
		cc.wbuf.Reset()
		return cc.werr
	}
	_, err := cc.nc.Write(cc.wbuf.Bytes())
	if cc.wbuf.Cap() > 1<<20 {
		cc.wbuf = bytes.Buffer{}
	} else {
		cc.wbuf.Reset()
	}
	if err != nil {
		cc.werr = err
		// A broken connection fails the reader too, which then fails
		// every stream, but only after the frames already received:
		// a GOAWAY among them makes the streams it refused retryable.
		// The reader is stopped if it is still waiting after a while.
		time.AfterFunc(clWriteErrorGrace, func() { cc.nc.Close() })
	}
	return err
}

// roundTrip sends r on a stream reserved on cc and waits for the response
// header.
func (cc *clConn) roundTrip(r *http.Request, hasBody bool) (*http.Response, error) {
	s := &clStream{
		cc:        cc,
		req:       r,
		ctx:       r.Context(),
		head:      r.Method == http.MethodHead,
		wake:      make(chan struct{}, 1),
		recvAvail: clStreamWindow,
		clen:      -1,
	}
	s.buf.chunks = s.buf.inline[:0]

	cc.wmu.Lock()
	cc.mu.Lock()
	if cc.draining || cc.closed || cc.werr != nil {
		closeNow := cc.releaseLocked()
		cc.mu.Unlock()
		cc.wmu.Unlock()
		if closeNow {
			cc.shutdown()
		}
		return nil, &clRetryError{err: errClientConnClosed, bodyUnused: true}
	}
	s.id = cc.nextID
	cc.nextID += 2
	if cc.nextID > math.MaxInt32 {
		cc.draining = true
	}
	s.sendWin = cc.initWin
	s.sendDone = !hasBody
	if hasBody {
		s.body = r.Body
	}
	cc.streams[s.id] = s
	cc.mu.Unlock()

	cc.encodeRequestLocked(r, hasBody)
	cc.writeHeaderBlockLocked(s.id, !hasBody)
	s.wdone = !hasBody
	// A failed write closes the connection; the reader then fails s.
	werr := cc.flushLocked()
	cc.wmu.Unlock()
	if werr == nil && hasBody {
		go s.writeBody()
	}
	return s.awaitResponse()
}

// awaitResponse waits for the response header of s.
func (s *clStream) awaitResponse() (*http.Response, error) {
	for {
		s.mu.Lock()
		resp, err := s.resp, s.err
		s.mu.Unlock()
		if resp != nil {
			return resp, nil
		}
		if err != nil {
			return nil, err
		}
		select {
		case <-s.wake:
		case <-s.ctx.Done():
			err := fmt.Errorf("h2c: request canceled: %w", s.ctx.Err())
			s.cc.abortStream(s, true, http2.ErrCodeCancel, err)
			return nil, err
		}
	}
}

// signal wakes the goroutine waiting on s, if any.
func (s *clStream) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}
