package h2c

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"golang.org/x/net/http2"
)

// stream is one request. Its handler goroutine owns the response side.
type stream struct {
	sc     *serverConn
	id     uint32
	cancel context.CancelFunc
	body   *requestBody // nil: the request had no body

	// Guarded by sc.mu:
	sendWindow  int64 // what the client lets us send
	recvWindow  int64 // what we let the client send
	unsent      int64 // body bytes read and not given back as window yet
	remoteDone  bool  // the client ended its side: half-closed (remote)
	closed      bool  // reset, or done both ways: not in sc.streams
	sentHeaders bool  // the final response's HEADERS are out
	declLen     int64 // the request's Content-Length; -1: none
	gotLen      int64 // request body bytes received
}

var (
	errStreamClosed = errors.New("h2c: stream closed")
	errHandlerPanic = errors.New("h2c: stream reset: the handler panicked")
	errResponseDone = errors.New("h2c: stream closed: the response is complete")
)

// resetError is what a reset stream's body reads return. Its text says
// "stream reset": the proxy counts such a request as the client's
// abort (499), as a closed connection.
func resetError(code http2.ErrCode, byClient bool) error {
	if byClient {
		return fmt.Errorf("h2c: stream reset by the client (%v)", code)
	}
	return fmt.Errorf("h2c: stream reset (%v)", code)
}

// closeStreamLocked forgets st: its context is cancelled, what its body
// still buffers is dropped (and given back to the connection's window),
// its writers wake and fail. Body reads return err from now on, unless
// the body was read to its end. sc.mu is held.
func (sc *serverConn) closeStreamLocked(st *stream, err error) {
	if st.closed {
		return
	}
	st.closed = true
	delete(sc.streams, st.id)
	st.cancel()
	if st.body != nil {
		sc.creditConnLocked(int64(st.body.abort(err)))
	}
	sc.cond.Broadcast()
	if len(sc.streams) == 0 && !sc.closed {
		if sc.goingAway {
			sc.closeConnLocked()
		} else {
			sc.idleTimer.Reset(sc.idleTimeout)
		}
	}
}

// resetStream sends RST_STREAM with code for stream id (open, closed or
// idle: a stream error can concern any) and closes it if it is open.
func (sc *serverConn) resetStream(id uint32, code http2.ErrCode) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	sc.resetStreamLocked(id, code, resetError(code, false))
}

func (sc *serverConn) resetStreamLocked(id uint32, code http2.ErrCode, err error) {
	if sc.closed {
		return
	}
	sc.fr.WriteRSTStream(id, code)
	if st := sc.streams[id]; st != nil {
		sc.closeStreamLocked(st, err)
	}
}

// endedLocked follows the response's last frame: the stream is done; if
// the client still sends its body, RST_STREAM NO_ERROR asks it to stop
// (RFC 9113 8.1 lets a server do so after a complete response).
func (sc *serverConn) endedLocked(st *stream) {
	if !st.remoteDone {
		sc.fr.WriteRSTStream(st.id, http2.ErrCodeNo)
	}
	sc.closeStreamLocked(st, errResponseDone)
}

// refill returns how much window to give back, taking it from *unsent:
// once at least 4 KiB and half the window are used up, as x/net's server,
// so that a small body costs no WINDOW_UPDATE and a large one one per
// half window.
func refill(window, unsent *int64) int64 {
	if *unsent < 4<<10 || *unsent < *window {
		return 0
	}
	n := *unsent
	*window += n
	*unsent = 0
	return n
}

// creditConnLocked gives n body bytes that no longer take buffer space
// back to the connection's window. sc.mu is held.
func (sc *serverConn) creditConnLocked(n int64) {
	sc.unsent += n
	if k := refill(&sc.recvWindow, &sc.unsent); k > 0 && !sc.closed {
		sc.fr.WriteWindowUpdate(0, uint32(k))
	}
}

// credit gives back n body bytes of st that its handler read or dropped:
// to the connection's window, and to the stream's (toStream) while the
// client still sends on it.
func (sc *serverConn) credit(st *stream, n int, toStream bool) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	sc.creditLocked(st, n, toStream)
}

func (sc *serverConn) creditLocked(st *stream, n int, toStream bool) {
	sc.creditConnLocked(int64(n))
	if !toStream || st.closed || st.remoteDone || sc.closed {
		return
	}
	st.unsent += int64(n)
	if k := refill(&st.recvWindow, &st.unsent); k > 0 {
		sc.fr.WriteWindowUpdate(st.id, uint32(k))
	}
}

// run serves the stream's request on a worker goroutine.
func (st *stream) run(r *http.Request, h http.Handler) {
	w := &responseWriter{st: st, header: make(http.Header), head: r.Method == http.MethodHead, declLen: -1}
	defer st.handlerDone(w)
	h.ServeHTTP(w, r)
}

// handlerDone ends the response when the handler returns: its last frame,
// or, if the handler panicked, RST_STREAM INTERNAL_ERROR (as net/http: a
// panic, http.ErrAbortHandler say, resets the stream).
func (st *stream) handlerDone(w *responseWriter) {
	sc := st.sc
	if p := recover(); p != nil {
		sc.mu.Lock()
		if !st.closed {
			sc.resetStreamLocked(st.id, http2.ErrCodeInternal, errHandlerPanic)
		}
		sc.mu.Unlock()
	} else {
		w.finish()
	}
	sc.mu.Lock()
	sc.handlers--
	sc.mu.Unlock()
}
