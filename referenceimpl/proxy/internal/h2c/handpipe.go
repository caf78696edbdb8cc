package h2c

import (
	"io"
	"sync"
)

// creditBatch is how many request body bytes a handler reads before the
// client gets them back as window: a WINDOW_UPDATE per DATA frame would
// double the frames of an upload.
const creditBatch = streamWindow / 4

// pipe is a request body: the connection's reader writes the DATA frames
// into it, the handler reads them, and what the handler has read goes back
// to the client as flow control window.
type pipe struct {
	mu         sync.Mutex
	cond       sync.Cond
	buf        []byte
	err        error // returned once buf is drained: io.EOF at the end
	closed     bool  // the handler is done reading
	uncredited int
	credit     func(n int)
}

func newPipe(credit func(n int)) *pipe {
	p := &pipe{credit: credit}
	p.cond.L = &p.mu
	return p
}

// write appends data (and counts padding, which takes window but carries
// nothing); false if the client sent more than limit unread bytes, more
// than the window it was given.
func (p *pipe) write(data []byte, padding, limit int) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || p.err != nil {
		return true
	}
	if len(p.buf)+len(data) > limit {
		return false
	}
	p.buf = append(p.buf, data...)
	p.uncredited += padding
	p.cond.Signal()
	return true
}

// closeWithError ends the body: readers get err after the buffered bytes.
func (p *pipe) closeWithError(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err == nil {
		p.err = err
	}
	p.cond.Broadcast()
}

// ended reports whether the client finished sending the body.
func (p *pipe) ended() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err == io.EOF
}

func (p *pipe) Read(b []byte) (int, error) {
	p.mu.Lock()
	for len(p.buf) == 0 && p.err == nil && !p.closed {
		p.cond.Wait()
	}
	if p.closed {
		p.mu.Unlock()
		return 0, errStreamClosed
	}
	if len(p.buf) == 0 {
		err := p.err
		p.mu.Unlock()
		return 0, err
	}
	n := copy(b, p.buf)
	p.buf = p.buf[n:]
	if len(p.buf) == 0 {
		p.buf = nil
	}
	p.uncredited += n
	credit := 0
	if p.uncredited >= creditBatch && p.err == nil {
		credit, p.uncredited = p.uncredited, 0
	}
	p.mu.Unlock()
	if credit > 0 {
		p.credit(credit)
	}
	return n, nil
}

// Close is the handler's: it reads no more, later DATA is dropped.
func (p *pipe) Close() error {
	p.closeRead()
	return nil
}

func (p *pipe) closeRead() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	p.buf = nil
	p.cond.Broadcast()
}
