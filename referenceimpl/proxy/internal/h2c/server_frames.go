package h2c

import (
	"errors"

	"golang.org/x/net/http2"
)

// The section numbers in this file's comments are RFC 9113's.

var errClosed = errors.New("h2c: connection closed after GOAWAY")

// serve reads frames until the connection fails or ends. The Framer checks
// each frame's size, its stream ID where its type requires one or none,
// its flags and padding, CONTINUATION order, and decodes header blocks
// (hpack, field syntax, pseudo-header fields first and once); what is left
// is the connection's and the streams' state.
func (sc *serverConn) serve() {
	for {
		f, err := sc.fr.ReadFrame()
		if err == nil {
			err = sc.process(f)
		}
		if err != nil && !sc.handleError(err) {
			return
		}
	}
}

// handleError answers an error of reading or processing a frame: a stream
// error resets the stream, a connection error sends GOAWAY; false: the
// connection is done.
func (sc *serverConn) handleError(err error) bool {
	var se http2.StreamError
	var ce http2.ConnectionError
	switch {
	case errors.As(err, &se):
		sc.resetStream(se.StreamID, se.Code)
		return true
	case errors.As(err, &ce):
		sc.fail(http2.ErrCode(ce))
	case errors.Is(err, http2.ErrFrameTooLarge):
		sc.fail(http2.ErrCodeFrameSize) // 4.2
	}
	return false
}

func (sc *serverConn) process(f http2.Frame) error {
	if !sc.sawSettings {
		// 3.4: the client preface ends with a SETTINGS frame.
		if _, ok := f.(*http2.SettingsFrame); !ok {
			return http2.ConnectionError(http2.ErrCodeProtocol)
		}
		sc.sawSettings = true
	}
	switch f := f.(type) {
	case *http2.MetaHeadersFrame:
		return sc.processHeaders(f)
	case *http2.DataFrame:
		return sc.processData(f)
	case *http2.SettingsFrame:
		return sc.processSettings(f)
	case *http2.WindowUpdateFrame:
		return sc.processWindowUpdate(f)
	case *http2.PingFrame:
		return sc.processPing(f)
	case *http2.RSTStreamFrame:
		return sc.processReset(f)
	case *http2.PriorityFrame:
		if f.StreamDep == f.StreamID {
			return http2.StreamError{StreamID: f.StreamID, Code: http2.ErrCodeProtocol} // 5.3.1
		}
	case *http2.GoAwayFrame:
		return sc.processGoAway()
	case *http2.PushPromiseFrame:
		return http2.ConnectionError(http2.ErrCodeProtocol) // 8.4: clients do not push
	}
	// Other frames (priorities, unknown types: 5.5) are ignored.
	return nil
}

// processPing answers a PING, and ends the connection when the client
// acknowledges the PING that followed a graceful GOAWAY.
func (sc *serverConn) processPing(f *http2.PingFrame) error {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	switch {
	case !f.IsAck() && !sc.closed:
		sc.fr.WritePing(true, f.Data)
	case f.IsAck() && f.Data == closePing && sc.closing:
		return errClosed
	}
	return nil
}

// processSettings applies the client's settings in order and
// acknowledges them.
func (sc *serverConn) processSettings(f *http2.SettingsFrame) error {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if f.IsAck() {
		if sc.unacked--; sc.unacked < 0 {
			return http2.ConnectionError(http2.ErrCodeProtocol) // an ACK of nothing
		}
		return nil
	}
	if f.NumSettings() > 100 {
		// Not the RFC's, but x/net's: no client needs this many.
		return http2.ConnectionError(http2.ErrCodeProtocol)
	}
	if err := f.ForeachSetting(sc.applySettingLocked); err != nil {
		return err
	}
	if !sc.closed {
		sc.fr.WriteSettingsAck()
	}
	sc.cond.Broadcast()
	return nil
}

// applySettingLocked applies one setting; an error is a connection error.
// sc.mu is held.
func (sc *serverConn) applySettingLocked(s http2.Setting) error {
	// 6.5.2's ranges: ENABLE_PUSH 0 or 1, INITIAL_WINDOW_SIZE at most
	// 2^31-1, MAX_FRAME_SIZE 2^14 to 2^24-1.
	if err := s.Valid(); err != nil {
		return err
	}
	switch s.ID {
	case http2.SettingInitialWindowSize:
		// 6.9.2: the change applies to every open stream's window, which
		// may go negative but not above 2^31-1.
		delta := int64(s.Val) - sc.peerWindow
		sc.peerWindow = int64(s.Val)
		for _, st := range sc.streams {
			if st.sendWindow += delta; st.sendWindow > maxWindow {
				return http2.ConnectionError(http2.ErrCodeFlowControl)
			}
		}
	case http2.SettingMaxFrameSize:
		sc.maxFrame = s.Val
	case http2.SettingHeaderTableSize:
		sc.enc.SetMaxDynamicTableSizeLimit(s.Val)
	}
	return nil
}

// processWindowUpdate grows a send window. The Framer rejected an
// increment of 0.
func (sc *serverConn) processWindowUpdate(f *http2.WindowUpdateFrame) error {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	inc := int64(f.Increment)
	if f.StreamID == 0 {
		if sc.sendWindow+inc > maxWindow {
			return http2.ConnectionError(http2.ErrCodeFlowControl) // 6.9.1
		}
		sc.sendWindow += inc
		sc.cond.Broadcast()
		return nil
	}
	st := sc.streams[f.StreamID]
	switch {
	case st == nil && f.StreamID > sc.lastID:
		return http2.ConnectionError(http2.ErrCodeProtocol) // 5.1: idle
	case st == nil:
		return nil // closed: it may have been in flight
	case st.sendWindow+inc > maxWindow:
		return http2.StreamError{StreamID: st.id, Code: http2.ErrCodeFlowControl} // 6.9.1
	}
	st.sendWindow += inc
	sc.cond.Broadcast()
	return nil
}

// processReset ends a stream the client reset.
func (sc *serverConn) processReset(f *http2.RSTStreamFrame) error {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	st := sc.streams[f.StreamID]
	switch {
	case st == nil && f.StreamID > sc.lastID:
		return http2.ConnectionError(http2.ErrCodeProtocol) // 5.1, 6.4: idle
	case st != nil:
		sc.closeStreamLocked(st, resetError(f.ErrCode, true))
	}
	return nil
}

// processGoAway takes the client's GOAWAY: no new streams, the open ones
// finish, then the connection closes.
func (sc *serverConn) processGoAway() error {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	sc.goAwayLocked(http2.ErrCodeNo)
	if len(sc.streams) == 0 {
		sc.closeConnLocked()
	}
	return nil
}

// processData hands a DATA frame's data to its stream's body.
func (sc *serverConn) processData(f *http2.DataFrame) error {
	body, err := sc.acceptData(f)
	if err != nil || body == nil {
		return err
	}
	data := f.Data()
	if !body.write(data, f.StreamEnded()) && len(data) > 0 {
		// The handler closed the body, or the stream ended meanwhile:
		// the bytes are dropped, and leave the connection's window.
		sc.mu.Lock()
		sc.creditConnLocked(int64(len(data)))
		sc.mu.Unlock()
	}
	return nil
}

// acceptData checks a DATA frame against the stream's state, the flow
// control windows and the request's Content-Length, and returns the body
// its data goes to (nil: none, the stream was reset).
func (sc *serverConn) acceptData(f *http2.DataFrame) (*requestBody, error) {
	id, n, data := f.StreamID, int64(f.Length), int64(len(f.Data()))
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if n > sc.recvWindow {
		return nil, http2.ConnectionError(http2.ErrCodeFlowControl) // 6.9.1
	}
	sc.recvWindow -= n
	st := sc.streams[id]
	if st == nil || st.remoteDone {
		sc.creditConnLocked(n)
		if st == nil && id > sc.lastID {
			return nil, http2.ConnectionError(http2.ErrCodeProtocol) // 5.1: idle
		}
		return nil, http2.StreamError{StreamID: id, Code: http2.ErrCodeStreamClosed} // 5.1: closed, half-closed (remote)
	}
	if n > st.recvWindow {
		sc.creditConnLocked(n)
		return nil, http2.StreamError{StreamID: id, Code: http2.ErrCodeFlowControl}
	}
	st.recvWindow -= n
	if pad := n - data; pad > 0 {
		// Padding takes window but no buffer: it goes back at once.
		sc.creditLocked(st, int(pad), true)
	}
	st.gotLen += data
	st.remoteDone = f.StreamEnded()
	var malformed error
	switch {
	case st.declLen >= 0 && st.gotLen > st.declLen:
		malformed = errBodyTooLong // 8.1.1
	case st.remoteDone && st.declLen >= 0 && st.gotLen < st.declLen:
		malformed = errBodyTooShort
	}
	if malformed != nil {
		sc.creditConnLocked(data)
		sc.resetStreamLocked(id, http2.ErrCodeProtocol, malformed)
		return nil, nil
	}
	return st.body, nil
}
