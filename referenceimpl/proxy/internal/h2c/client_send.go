package h2c

// The sending side of a stream: the request's header block, its body and
// trailers, within the peer's flow control windows.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/net/http/httpguts"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// clCheckRequest rejects the requests that cannot be encoded, before
// anything is written: the HPACK encoder must not see a header field that
// is then not sent.
func clCheckRequest(r *http.Request) error {
	if r.URL == nil {
		return errors.New("h2c: nil Request.URL")
	}
	if r.Method == http.MethodConnect {
		return errors.New("h2c: CONNECT is not supported")
	}
	if r.URL.Host == "" {
		return errors.New("h2c: no Host in request URL")
	}
	if r.Method != "" && !httpguts.ValidHeaderFieldName(r.Method) {
		return fmt.Errorf("h2c: invalid method %q", r.Method)
	}
	if !httpguts.ValidHostHeader(clAuthority(r)) {
		return errors.New("h2c: invalid Host")
	}
	if err := clCheckFields(r.Header); err != nil {
		return err
	}
	for k := range r.Trailer {
		if !httpguts.ValidHeaderFieldName(k) {
			return fmt.Errorf("h2c: invalid trailer name %q", k)
		}
	}
	return nil
}

func clCheckFields(h http.Header) error {
	for k, vv := range h {
		if !httpguts.ValidHeaderFieldName(k) {
			return fmt.Errorf("h2c: invalid header field name %q", k)
		}
		for _, v := range vv {
			if !httpguts.ValidHeaderFieldValue(v) {
				return fmt.Errorf("h2c: invalid header field value for %q", k)
			}
		}
	}
	return nil
}

func clAuthority(r *http.Request) string {
	if r.Host != "" {
		return r.Host
	}
	return r.URL.Host
}

func (cc *clConn) fieldLocked(name, value string) {
	// Writing into a bytes.Buffer cannot fail.
	_ = cc.enc.WriteField(hpack.HeaderField{Name: name, Value: value})
}

// encodeRequestLocked encodes the header block of r into hbuf.
// cc.wmu is held.
func (cc *clConn) encodeRequestLocked(r *http.Request, hasBody bool) {
	cc.hbuf.Reset()
	method := r.Method
	if method == "" {
		method = http.MethodGet
	}
	cc.fieldLocked(":method", method)
	cc.fieldLocked(":scheme", "http")
	cc.fieldLocked(":authority", clAuthority(r))
	cc.fieldLocked(":path", r.URL.RequestURI())
	for k, vv := range r.Header {
		name := lower(k)
		switch name {
		case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "host",
			"content-length", "trailer":
			continue
		case "te":
			if slices.ContainsFunc(vv, func(v string) bool { return strings.EqualFold(v, "trailers") }) {
				cc.fieldLocked("te", "trailers")
			}
			continue
		}
		for _, v := range vv {
			cc.fieldLocked(name, v)
		}
	}
	if len(r.Trailer) > 0 {
		keys := make([]string, 0, len(r.Trailer))
		for k := range r.Trailer {
			keys = append(keys, http.CanonicalHeaderKey(k))
		}
		slices.Sort(keys)
		cc.fieldLocked("trailer", strings.Join(keys, ","))
	}
	if hasBody && r.ContentLength > 0 {
		cc.fieldLocked("content-length", strconv.FormatInt(r.ContentLength, 10))
	}
}

// writeHeaderBlockLocked frames the header block in hbuf as HEADERS and
// CONTINUATION frames into wbuf. cc.wmu is held.
func (cc *clConn) writeHeaderBlockLocked(id uint32, endStream bool) {
	block := cc.hbuf.Bytes()
	frag := block[:min(len(block), int(cc.maxFrame))]
	block = block[len(frag):]
	// Framing into a bytes.Buffer cannot fail.
	_ = cc.fr.WriteHeaders(http2.HeadersFrameParam{
		StreamID:      id,
		BlockFragment: frag,
		EndStream:     endStream,
		EndHeaders:    len(block) == 0,
	})
	for len(block) > 0 {
		frag = block[:min(len(block), int(cc.maxFrame))]
		block = block[len(frag):]
		_ = cc.fr.WriteContinuation(id, len(block) == 0, frag)
	}
}

// clBodyBufs holds the buffers request bodies are read into.
var clBodyBufs = sync.Pool{New: func() any { return new([32 << 10]byte) }}

// writeBody sends the request body, then its trailers, and ends the
// stream; it runs on its own goroutine.
func (s *clStream) writeBody() {
	cc := s.cc
	// Nobody may be reading the response when the request is canceled:
	// the body could wait on flow control, or on its source, forever.
	stop := context.AfterFunc(s.ctx, func() {
		cc.abortStream(s, true, http2.ErrCodeCancel, fmt.Errorf("h2c: request canceled: %w", s.ctx.Err()))
	})
	defer stop()
	bp := clBodyBufs.Get().(*[32 << 10]byte)
	defer clBodyBufs.Put(bp)
	body, declared := s.req.Body, s.req.ContentLength
	var sent int64
	for {
		n, rerr := body.Read(bp[:])
		sent += int64(n)
		if rerr == nil && declared > 0 && sent >= declared {
			// The last DATA frame can end the stream if the end is
			// known now.
			rerr = clExpectEOF(body)
		}
		if rerr == io.EOF && declared > 0 && sent != declared {
			rerr = fmt.Errorf("%d bytes, Content-Length %d", sent, declared)
		}
		if rerr != nil && rerr != io.EOF {
			cc.abortStream(s, true, http2.ErrCodeCancel, fmt.Errorf("h2c: reading request body: %w", rerr))
			return
		}
		eof := rerr == io.EOF
		trailers := eof && clHasTrailers(s.req.Trailer)
		if n > 0 || eof && !trailers {
			if err := s.sendData(bp[:n], eof && !trailers); err != nil {
				return
			}
		}
		if trailers {
			if err := s.sendTrailers(); err != nil {
				return
			}
		}
		if eof {
			cc.endSend(s)
			return
		}
	}
}

// clExpectEOF reads from a body that should be at its end.
func clExpectEOF(r io.Reader) error {
	var b [1]byte
	for {
		n, err := r.Read(b[:])
		if n > 0 {
			return errors.New("longer than its Content-Length")
		}
		if err != nil {
			return err
		}
	}
}

func clHasTrailers(h http.Header) bool {
	for _, vv := range h {
		if len(vv) > 0 {
			return true
		}
	}
	return false
}

// sendData writes p as DATA frames as the send windows allow, the last one
// with END_STREAM if end.
func (s *clStream) sendData(p []byte, end bool) error {
	cc := s.cc
	for {
		cc.mu.Lock()
		var n int64
		for {
			if s.sendDone || cc.closed {
				cc.mu.Unlock()
				return errClientStreamDone
			}
			n = min(s.sendWin, cc.sendWin, int64(len(p)))
			if n > 0 || len(p) == 0 {
				break
			}
			cc.flow.Wait()
		}
		s.sendWin -= n
		cc.sendWin -= n
		cc.mu.Unlock()
		chunk := p[:n]
		p = p[n:]
		if err := cc.writeData(s, chunk, end && len(p) == 0); err != nil {
			return err
		}
		if len(p) == 0 {
			return nil
		}
	}
}

// writeData writes p as DATA frames of at most the peer's frame size.
func (cc *clConn) writeData(s *clStream, p []byte, end bool) error {
	cc.wmu.Lock()
	defer cc.wmu.Unlock()
	if s.wdone {
		return errClientStreamDone
	}
	for len(p) > int(cc.maxFrame) {
		_ = cc.fr.WriteData(s.id, false, p[:cc.maxFrame])
		p = p[cc.maxFrame:]
	}
	_ = cc.fr.WriteData(s.id, end, p)
	s.wdone = end
	return cc.flushLocked()
}

// sendTrailers writes the request trailers as a HEADERS frame that ends
// the stream.
func (s *clStream) sendTrailers() error {
	cc := s.cc
	if err := clCheckFields(s.req.Trailer); err != nil {
		cc.abortStream(s, true, http2.ErrCodeInternal, err)
		return err
	}
	cc.wmu.Lock()
	defer cc.wmu.Unlock()
	if s.wdone {
		return errClientStreamDone
	}
	cc.hbuf.Reset()
	for k, vv := range s.req.Trailer {
		name := lower(k)
		for _, v := range vv {
			cc.fieldLocked(name, v)
		}
	}
	cc.writeHeaderBlockLocked(s.id, true)
	s.wdone = true
	return cc.flushLocked()
}

// endSend records that the request is sent, closes its body and ends the
// stream if the response is complete too.
func (cc *clConn) endSend(s *clStream) {
	cc.mu.Lock()
	s.sendDone = true
	body := s.body
	s.body = nil
	closeNow := s.recvDone && cc.forgetLocked(s)
	cc.mu.Unlock()
	if body != nil {
		body.Close()
	}
	if closeNow {
		cc.shutdown()
	}
}
