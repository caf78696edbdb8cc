package h2c

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"time"
)

// creditBatch is how many request body bytes a handler reads, while more
// are buffered, before they go back to the client as window: one
// WINDOW_UPDATE check per read would take the connection's lock each time.
// What is read is credited at once when the buffer runs dry, so that no
// handler waits for bytes that its own unreported reads hold back.
const creditBatch = 16 << 10

var (
	// errBodyClosed is what a read after Close returns (as net/http's
	// http.ErrBodyReadAfterClose): an error, not io.EOF, so that a
	// Transport still sending the body upstream aborts that request rather
	// than end it as if the body were whole.
	errBodyClosed = errors.New("h2c: read on a closed request body")
	// errBodyTimeout is a net.Error whose Timeout() is true, as a
	// connection's read deadline error.
	errBodyTimeout = fmt.Errorf("h2c: request body read timeout: %w", os.ErrDeadlineExceeded)
)

// requestBody is a request's body: the connection's reader appends the
// DATA frames, the handler reads them, and what it read goes back to the
// client as flow control window.
type requestBody struct {
	st         *stream
	mu         sync.Mutex
	cond       sync.Cond
	buf        []byte
	err        error // returned once buf is drained: io.EOF at the body's end
	closed     bool  // the handler closed the body
	uncredited int   // read, not given back to the client yet
	// sendContinue answers the client's "Expect: 100-continue" at the
	// first read; nil when done or never asked for.
	sendContinue func()
	trailer      http.Header // the trailers received, until the body's end is read
	reqTrailer   http.Header // the request's Trailer: the trailers it declared

	// A read waits at most timeout (0: without bound). One timer per body,
	// armed when a read first waits and moved on only when it fires, so
	// that reads which find data cost nothing.
	timeout   time.Duration
	timer     *time.Timer
	armed     bool
	waitSince time.Time // when the read now waiting began; zero: none waits
}

func newRequestBody(st *stream, req *http.Request, timeout time.Duration, expectContinue bool) *requestBody {
	b := &requestBody{st: st, reqTrailer: req.Trailer, timeout: timeout}
	b.cond.L = &b.mu
	if expectContinue {
		b.sendContinue = func() { st.sc.writeContinue(st) }
	}
	return b
}

func (b *requestBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	if f := b.sendContinue; f != nil {
		b.sendContinue = nil
		b.mu.Unlock()
		f()
		b.mu.Lock()
	}
	for len(b.buf) == 0 && b.err == nil && !b.closed {
		b.wait()
	}
	if b.closed {
		b.mu.Unlock()
		return 0, errBodyClosed
	}
	if len(b.buf) == 0 {
		if b.err == io.EOF {
			b.copyTrailers()
		}
		err := b.err
		b.mu.Unlock()
		return 0, err
	}
	n := copy(p, b.buf)
	b.buf = b.buf[n:]
	if len(b.buf) == 0 {
		b.buf = nil // an idle stream holds no buffer
	}
	b.uncredited += n
	credit := 0
	if len(b.buf) == 0 || b.uncredited >= creditBatch {
		credit, b.uncredited = b.uncredited, 0
	}
	b.mu.Unlock()
	if credit > 0 {
		b.st.sc.credit(b.st, credit, true)
	}
	return n, nil
}

// wait waits for the connection's reader, at most the read timeout.
// b.mu is held.
func (b *requestBody) wait() {
	if b.timeout > 0 {
		b.waitSince = time.Now()
		if !b.armed {
			b.armed = true
			if b.timer == nil {
				b.timer = time.AfterFunc(b.timeout, b.checkStall)
			} else {
				b.timer.Reset(b.timeout)
			}
		}
	}
	b.cond.Wait()
	b.waitSince = time.Time{}
}

// checkStall fails the body if a read has waited the whole timeout, and
// otherwise waits on for the one waiting now, if any.
func (b *requestBody) checkStall() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.armed = false
	if b.waitSince.IsZero() || b.err != nil || b.closed {
		return
	}
	if left := b.timeout - time.Since(b.waitSince); left > 0 {
		b.armed = true
		b.timer.Reset(left)
		return
	}
	b.err = errBodyTimeout
	b.cond.Broadcast()
}

// copyTrailers hands the trailers the request declared to the handler, on
// its goroutine, before it sees io.EOF (as x/net). b.mu is held.
func (b *requestBody) copyTrailers() {
	for k, vs := range b.trailer {
		if _, ok := b.reqTrailer[k]; ok {
			b.reqTrailer[k] = vs
		}
	}
	b.trailer = nil
}

// write appends a DATA frame's data and, if end, ends the body. False:
// the handler closed the body or it failed, and the data was dropped.
func (b *requestBody) write(data []byte, end bool) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed || b.err != nil {
		return false
	}
	b.buf = append(b.buf, data...)
	if end {
		b.err = io.EOF
	}
	b.cond.Signal()
	return true
}

// end ends the body with the trailers that closed it.
func (b *requestBody) end(trailer http.Header) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err == nil {
		b.err, b.trailer = io.EOF, trailer
	}
	b.cond.Broadcast()
}

// abort ends the body for its stream's end: unread bytes are dropped, and
// reads return err unless the body was read to its end. It returns the
// bytes that leave the connection's window: dropped, or read and not yet
// credited.
func (b *requestBody) abort(err error) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err == nil || (b.err == io.EOF && len(b.buf) > 0) {
		b.err = err
	}
	n := len(b.buf) + b.uncredited
	b.buf, b.uncredited = nil, 0
	b.stopTimer()
	b.cond.Broadcast()
	return n
}

// Close is the handler's: it reads no more. Bytes still buffered, and
// those that come later, go back to the connection's window only: the
// stream's stays closed, so the client stops sending. A read after Close
// (or waiting when it came) returns errBodyClosed; the proxy's relay does
// not take that for the client's failure (httpproxy's clientBody).
func (b *requestBody) Close() error {
	b.mu.Lock()
	b.closed = true
	n := len(b.buf) + b.uncredited
	b.buf, b.uncredited = nil, 0
	b.stopTimer()
	b.cond.Broadcast()
	b.mu.Unlock()
	if n > 0 {
		b.st.sc.credit(b.st, n, false)
	}
	return nil
}

func (b *requestBody) stopTimer() {
	if b.timer != nil {
		b.timer.Stop()
		b.armed = false
	}
}
