package h2c

// How a stream ends (both sides done, aborted, failed) and how the caller
// reads the response body.

import (
	"fmt"
	"io"
	"net/http"

	"golang.org/x/net/http2"
)

// endRecv records that the response is complete and ends the stream if the
// request is sent too. It runs on the reader goroutine.
func (cc *clConn) endRecv(s *clStream) {
	s.ended = true
	cc.mu.Lock()
	s.recvDone = true
	closeNow := s.sendDone && cc.forgetLocked(s)
	cc.mu.Unlock()
	if closeNow {
		cc.shutdown()
	}
}

// forgetLocked removes s from cc's streams unless it is gone already;
// true: that left a draining cc idle, and the caller shuts it down. cc.mu
// is held.
func (cc *clConn) forgetLocked(s *clStream) bool {
	if cc.streams[s.id] != s {
		return false
	}
	delete(cc.streams, s.id)
	return cc.releaseLocked()
}

// abortStream ends s in both directions: it sends RST_STREAM with code if
// rst and the stream is still open, fails the response with err unless it
// is complete, and closes the request body.
func (cc *clConn) abortStream(s *clStream, rst bool, code http2.ErrCode, err error) {
	cc.wmu.Lock()
	cc.mu.Lock()
	live := cc.streams[s.id] == s
	closeNow := cc.forgetLocked(s)
	s.sendDone, s.recvDone = true, true
	body := s.body
	s.body = nil
	cc.flow.Broadcast()
	cc.mu.Unlock()
	if rst && live {
		_ = cc.fr.WriteRSTStream(s.id, code)
		_ = cc.flushLocked()
	}
	s.wdone = true
	cc.wmu.Unlock()

	s.fail(err)
	if body != nil {
		body.Close()
	}
	if closeNow {
		cc.shutdown()
	}
}

// fail ends the response with err unless it ended already.
func (s *clStream) fail(err error) {
	s.mu.Lock()
	if s.err == nil {
		s.err = err
		s.buf.release()
	}
	s.mu.Unlock()
	s.signal()
}

// Read reads the response body; once it returns io.EOF, the response
// trailers are in Response.Trailer.
func (s *clStream) Read(p []byte) (int, error) {
	for {
		s.mu.Lock()
		if s.buf.n > 0 {
			n := s.buf.read(p)
			var credit int64
			if s.err == nil {
				s.unsent += int64(n)
				if s.unsent >= clStreamRefresh {
					credit = s.unsent
					s.unsent = 0
					s.recvAvail += credit
				}
			}
			var err error
			if s.buf.n == 0 && s.err != nil {
				err = s.endErrLocked()
			}
			s.mu.Unlock()
			if credit > 0 {
				s.cc.writeWindowUpdate(s.id, credit)
			}
			return n, err
		}
		if s.err != nil {
			err := s.endErrLocked()
			s.mu.Unlock()
			return 0, err
		}
		s.mu.Unlock()
		select {
		case <-s.wake:
		case <-s.ctx.Done():
			s.cc.abortStream(s, true, http2.ErrCodeCancel, fmt.Errorf("h2c: request canceled: %w", s.ctx.Err()))
		}
	}
}

// endErrLocked returns the error Read ends with and, at the first io.EOF,
// moves the trailers into the response. s.mu is held.
func (s *clStream) endErrLocked() error {
	if s.err == io.EOF && s.trailer != nil {
		if s.resp.Trailer == nil {
			s.resp.Trailer = make(http.Header, len(s.trailer))
		}
		for k, vv := range s.trailer {
			s.resp.Trailer[k] = append(s.resp.Trailer[k], vv...)
		}
		s.trailer = nil
	}
	return s.err
}

// Close closes the response body; before its end, it resets the stream.
func (s *clStream) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	complete := s.err != nil
	s.err = errClientBodyClosed
	s.buf.release()
	s.mu.Unlock()
	cc := s.cc
	if complete {
		cc.mu.Lock()
		complete = s.sendDone
		cc.mu.Unlock()
	}
	if !complete {
		cc.abortStream(s, true, http2.ErrCodeCancel, errClientBodyClosed)
	}
	return nil
}

// writeWindowUpdate returns n bytes of stream id's window to the peer.
func (cc *clConn) writeWindowUpdate(id uint32, n int64) {
	cc.wmu.Lock()
	_ = cc.fr.WriteWindowUpdate(id, uint32(n))
	_ = cc.flushLocked()
	cc.wmu.Unlock()
}
