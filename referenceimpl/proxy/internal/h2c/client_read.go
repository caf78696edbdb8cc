package h2c

// The connection's reader goroutine: every frame the backend sends, the
// response headers, DATA, SETTINGS, WINDOW_UPDATE, GOAWAY, RST_STREAM.

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"strconv"
	"strings"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// readLoop reads and handles the connection's frames until it fails.
func (cc *clConn) readLoop() {
	var err error
	for {
		if len(cc.pending) > 0 && (len(cc.pending) >= 32 || !cc.frameBuffered()) {
			cc.wakePending()
		}
		var f http2.Frame
		f, err = cc.fr.ReadFrame()
		if err != nil {
			if se, ok := err.(http2.StreamError); ok {
				cc.streamError(se)
				continue
			}
			if ce, ok := err.(http2.ConnectionError); ok {
				reason := "malformed frame"
				if d := cc.fr.ErrorDetail(); d != nil {
					reason = d.Error()
				}
				err = clConnError{http2.ErrCode(ce), reason}
			} else if err == http2.ErrFrameTooLarge {
				err = clConnError{http2.ErrCodeFrameSize, "frame too large"}
			}
			break
		}
		if err = cc.handleFrame(f); err != nil {
			break
		}
	}
	cc.wakePending()
	cc.fail(err)
}

// frameBuffered reports whether a whole frame is buffered, so that the
// reader would not block reading it.
func (cc *clConn) frameBuffered() bool {
	n := cc.br.Buffered()
	if n < 9 {
		return false
	}
	h, _ := cc.br.Peek(3)
	return n >= 9+(int(h[0])<<16|int(h[1])<<8|int(h[2]))
}

// queueWake wakes the goroutine waiting on s once the reader has handled
// the frames at hand: a response header and the body right behind it
// then take one wakeup, not two.
func (cc *clConn) queueWake(s *clStream) {
	if !s.queued {
		s.queued = true
		cc.pending = append(cc.pending, s)
	}
}

func (cc *clConn) wakePending() {
	for i, s := range cc.pending {
		s.queued = false
		s.signal()
		cc.pending[i] = nil
	}
	cc.pending = cc.pending[:0]
}

// fail closes the connection after the reader stopped with err and fails
// the streams left.
func (cc *clConn) fail(err error) {
	if ce, ok := err.(clConnError); ok {
		cc.wmu.Lock()
		_ = cc.fr.WriteGoAway(0, ce.code, []byte(ce.reason))
		_ = cc.flushLocked()
		cc.wmu.Unlock()
	}
	cc.nc.Close()
	cc.idleTimer.Stop()
	cc.t.removeConn(cc)
	cc.wmu.Lock()
	if cc.werr != nil {
		err = cc.werr
	} else {
		cc.werr = errClientConnClosed
	}
	cc.wmu.Unlock()
	if _, ok := err.(clConnError); !ok {
		err = fmt.Errorf("%w: %w", errClientConnClosed, err)
	}
	cc.mu.Lock()
	cc.closed = true
	streams := make([]*clStream, 0, len(cc.streams))
	for _, s := range cc.streams {
		streams = append(streams, s)
	}
	cc.flow.Broadcast()
	cc.mu.Unlock()
	for _, s := range streams {
		cc.abortStream(s, false, 0, err)
	}
}

// streamError resets the stream of a stream error the framer found.
func (cc *clConn) streamError(se http2.StreamError) {
	cc.mu.Lock()
	s := cc.streams[se.StreamID]
	cc.mu.Unlock()
	if s != nil {
		cc.abortStream(s, true, se.Code, se)
	}
}

// lookup returns the open stream id, or nil for a closed one.
func (cc *clConn) lookup(id uint32) (*clStream, error) {
	cc.mu.Lock()
	s, next := cc.streams[id], cc.nextID
	cc.mu.Unlock()
	if s == nil && (id%2 == 0 || id >= next) {
		return nil, clConnError{http2.ErrCodeProtocol, fmt.Sprintf("frame on idle stream %d", id)}
	}
	return s, nil
}

func (cc *clConn) handleFrame(f http2.Frame) error {
	switch f := f.(type) {
	case *http2.MetaHeadersFrame:
		return cc.onHeaders(f)
	case *http2.DataFrame:
		return cc.onData(f)
	case *http2.SettingsFrame:
		return cc.onSettings(f)
	case *http2.PingFrame:
		if !f.IsAck() {
			cc.wmu.Lock()
			_ = cc.fr.WritePing(true, f.Data)
			_ = cc.flushLocked()
			cc.wmu.Unlock()
		}
	case *http2.WindowUpdateFrame:
		return cc.onWindowUpdate(f)
	case *http2.GoAwayFrame:
		cc.onGoAway(f)
	case *http2.RSTStreamFrame:
		return cc.onReset(f)
	case *http2.PushPromiseFrame:
		return clConnError{http2.ErrCodeProtocol, "PUSH_PROMISE with push disabled"}
	}
	return nil
}

func clStreamError(s *clStream, code http2.ErrCode, format string, args ...any) http2.StreamError {
	return http2.StreamError{StreamID: s.id, Code: code, Cause: fmt.Errorf(format, args...)}
}

func (cc *clConn) onHeaders(f *http2.MetaHeadersFrame) error {
	s, err := cc.lookup(f.StreamID)
	if s == nil {
		return err
	}
	switch {
	case s.ended:
		cc.abortStream(s, true, http2.ErrCodeStreamClosed, clStreamError(s, http2.ErrCodeStreamClosed, "HEADERS after END_STREAM"))
	case f.Truncated:
		cc.abortStream(s, true, http2.ErrCodeProtocol, clStreamError(s, http2.ErrCodeProtocol, "response header list larger than %d bytes", clMaxHeaderList))
	case s.gotHead:
		cc.onTrailers(s, f)
	default:
		cc.onResponse(s, f)
	}
	return nil
}

// clStatusLines holds "200 OK" and the like.
var clStatusLines = func() (lines [500]string) {
	for i := range lines {
		if text := http.StatusText(i + 100); text != "" {
			lines[i] = strconv.Itoa(i+100) + " " + text
		}
	}
	return lines
}()

func clStatusLine(code int) string {
	if code >= 100 && code < 600 && clStatusLines[code-100] != "" {
		return clStatusLines[code-100]
	}
	return strconv.Itoa(code) + " " + http.StatusText(code)
}

// header returns fields as a header, the values of each name sharing one
// allocation.
func (cc *clConn) header(fields []hpack.HeaderField) http.Header {
	h := make(http.Header, len(fields))
	values := make([]string, len(fields))
	for _, hf := range fields {
		k := canonical(hf.Name)
		if vv := h[k]; vv != nil {
			h[k] = append(vv, hf.Value)
			continue
		}
		vv := values[:1:1]
		values = values[1:]
		vv[0] = hf.Value
		h[k] = vv
	}
	return h
}

func (cc *clConn) onResponse(s *clStream, f *http2.MetaHeadersFrame) {
	status := f.PseudoValue("status")
	code, err := strconv.Atoi(status)
	if len(status) != 3 || err != nil || code < 100 {
		cc.abortStream(s, true, http2.ErrCodeProtocol, clStreamError(s, http2.ErrCodeProtocol, "malformed response :status %q", status))
		return
	}
	end := f.StreamEnded()
	if code < 200 {
		if code == http.StatusSwitchingProtocols || end {
			cc.abortStream(s, true, http2.ErrCodeProtocol, clStreamError(s, http2.ErrCodeProtocol, "invalid %d response", code))
			return
		}
		if trace := httptrace.ContextClientTrace(s.ctx); trace != nil && trace.Got1xxResponse != nil {
			if err := trace.Got1xxResponse(code, textproto.MIMEHeader(cc.header(f.RegularFields()))); err != nil {
				cc.abortStream(s, true, http2.ErrCodeCancel, err)
			}
		}
		return
	}
	h := cc.header(f.RegularFields())
	resp := &http.Response{
		Status:        clStatusLine(code),
		StatusCode:    code,
		Proto:         "HTTP/2.0",
		ProtoMajor:    2,
		Header:        h,
		ContentLength: -1,
		Request:       s.req,
	}
	for _, v := range h["Trailer"] {
		for k := range strings.SplitSeq(v, ",") {
			k = http.CanonicalHeaderKey(strings.TrimSpace(k))
			switch k {
			case "", "Transfer-Encoding", "Trailer", "Content-Length":
				continue
			}
			if resp.Trailer == nil {
				resp.Trailer = make(http.Header)
			}
			resp.Trailer[k] = nil
		}
	}
	if cl := h["Content-Length"]; len(cl) == 1 {
		if n, err := strconv.ParseUint(cl[0], 10, 63); err == nil {
			resp.ContentLength = int64(n)
		}
	} else if len(cl) == 0 && end && !s.head {
		resp.ContentLength = 0
	}
	if end && (s.head || resp.ContentLength <= 0) {
		resp.Body = http.NoBody
	} else {
		resp.Body = s
	}
	s.gotHead = true
	s.mu.Lock()
	s.resp = resp
	if !s.head {
		s.clen = resp.ContentLength
	}
	if end {
		s.endLocked()
	}
	s.mu.Unlock()
	cc.queueWake(s)
	if end {
		cc.endRecv(s)
	}
}

// endLocked completes the response. s.mu is held.
func (s *clStream) endLocked() {
	if s.err != nil {
		return
	}
	if s.clen >= 0 && s.got != s.clen {
		s.err = io.ErrUnexpectedEOF
		s.buf.release()
		return
	}
	s.err = io.EOF
}

func (cc *clConn) onTrailers(s *clStream, f *http2.MetaHeadersFrame) {
	if !f.StreamEnded() || len(f.PseudoFields()) > 0 {
		cc.abortStream(s, true, http2.ErrCodeProtocol, clStreamError(s, http2.ErrCodeProtocol, "malformed trailers"))
		return
	}
	trailer := cc.header(f.RegularFields())
	s.mu.Lock()
	if s.err == nil {
		s.trailer = trailer
	}
	s.endLocked()
	s.mu.Unlock()
	cc.queueWake(s)
	cc.endRecv(s)
}

func (cc *clConn) onData(f *http2.DataFrame) error {
	n := int64(f.Length)
	if n > 0 {
		cc.recvAvail -= n
		if cc.recvAvail < 0 {
			return clConnError{http2.ErrCodeFlowControl, "connection window exceeded"}
		}
		cc.recvUnsent += n
		if cc.recvUnsent >= clConnRefresh {
			cc.writeWindowUpdate(0, cc.recvUnsent)
			cc.recvAvail += cc.recvUnsent
			cc.recvUnsent = 0
		}
	}
	s, err := cc.lookup(f.StreamID)
	if s == nil {
		return err
	}
	if s.ended {
		cc.abortStream(s, true, http2.ErrCodeStreamClosed, clStreamError(s, http2.ErrCodeStreamClosed, "DATA after END_STREAM"))
		return nil
	}
	if !s.gotHead {
		cc.abortStream(s, true, http2.ErrCodeProtocol, clStreamError(s, http2.ErrCodeProtocol, "DATA before the response header"))
		return nil
	}
	data := f.Data()
	s.mu.Lock()
	s.recvAvail -= n
	if s.recvAvail < 0 {
		s.mu.Unlock()
		return clConnError{http2.ErrCodeFlowControl, fmt.Sprintf("stream %d window exceeded", s.id)}
	}
	if s.clen >= 0 && s.got+int64(len(data)) > s.clen {
		s.mu.Unlock()
		cc.abortStream(s, true, http2.ErrCodeProtocol, clStreamError(s, http2.ErrCodeProtocol, "response body longer than its Content-Length %d", s.clen))
		return nil
	}
	s.got += int64(len(data))
	if s.err == nil {
		s.buf.write(data)
	}
	// Padding is never read: its credit goes back at once.
	pad := n - int64(len(data))
	s.recvAvail += pad
	end := f.StreamEnded()
	if end {
		s.endLocked()
	}
	s.mu.Unlock()
	if pad > 0 && !end {
		cc.writeWindowUpdate(s.id, pad)
	}
	cc.queueWake(s)
	if end {
		cc.endRecv(s)
	}
	return nil
}

func (cc *clConn) onSettings(f *http2.SettingsFrame) error {
	if f.IsAck() {
		return nil
	}
	if err := f.ForeachSetting(http2.Setting.Valid); err != nil {
		code := http2.ErrCodeProtocol
		if ce, ok := err.(http2.ConnectionError); ok {
			code = http2.ErrCode(ce)
		}
		return clConnError{code, "invalid SETTINGS value"}
	}
	cc.wmu.Lock()
	defer cc.wmu.Unlock()
	cc.mu.Lock()
	err := f.ForeachSetting(func(st http2.Setting) error {
		switch st.ID {
		case http2.SettingMaxConcurrentStreams:
			cc.maxStreams = st.Val
		case http2.SettingInitialWindowSize:
			delta := int64(st.Val) - cc.initWin
			for _, s := range cc.streams {
				s.sendWin += delta
				if s.sendWin > math.MaxInt32 {
					return clConnError{http2.ErrCodeFlowControl, "SETTINGS_INITIAL_WINDOW_SIZE overflows a window"}
				}
			}
			cc.initWin = int64(st.Val)
		case http2.SettingMaxFrameSize:
			cc.maxFrame = st.Val
		case http2.SettingHeaderTableSize:
			cc.enc.SetMaxDynamicTableSizeLimit(st.Val)
		}
		return nil
	})
	cc.flow.Broadcast()
	cc.mu.Unlock()
	if err != nil {
		return err
	}
	_ = cc.fr.WriteSettingsAck()
	_ = cc.flushLocked()
	return nil
}

func (cc *clConn) onWindowUpdate(f *http2.WindowUpdateFrame) error {
	cc.mu.Lock()
	if f.StreamID == 0 {
		cc.sendWin += int64(f.Increment)
		if cc.sendWin > math.MaxInt32 {
			cc.mu.Unlock()
			return clConnError{http2.ErrCodeFlowControl, "connection send window overflow"}
		}
		cc.flow.Broadcast()
		cc.mu.Unlock()
		return nil
	}
	s := cc.streams[f.StreamID]
	overflow := false
	if s != nil {
		s.sendWin += int64(f.Increment)
		overflow = s.sendWin > math.MaxInt32
		cc.flow.Broadcast()
	}
	cc.mu.Unlock()
	if overflow {
		cc.abortStream(s, true, http2.ErrCodeFlowControl, clStreamError(s, http2.ErrCodeFlowControl, "send window overflow"))
	}
	return nil
}

func (cc *clConn) onGoAway(f *http2.GoAwayFrame) {
	cc.mu.Lock()
	cc.draining = true
	var refused []*clStream
	for id, s := range cc.streams {
		if id > f.LastStreamID {
			refused = append(refused, s)
		}
	}
	closeNow := cc.inuse == 0
	cc.mu.Unlock()
	cc.t.removeConn(cc)
	for _, s := range refused {
		cc.abortStream(s, false, 0, &clRetryError{
			err: fmt.Errorf("h2c: server sent GOAWAY (%v) before processing stream %d", f.ErrCode, s.id),
		})
	}
	if closeNow {
		cc.shutdown()
	}
}

func (cc *clConn) onReset(f *http2.RSTStreamFrame) error {
	s, err := cc.lookup(f.StreamID)
	if s == nil {
		return err
	}
	var serr error = http2.StreamError{StreamID: s.id, Code: f.ErrCode, Cause: errors.New("reset by the server")}
	if f.ErrCode == http2.ErrCodeRefusedStream && !s.gotHead {
		serr = &clRetryError{err: serr}
	}
	cc.abortStream(s, false, 0, serr)
	return nil
}
