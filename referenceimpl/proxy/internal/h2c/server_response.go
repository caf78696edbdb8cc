package h2c

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// responseWriter is a stream's http.ResponseWriter (and http.Flusher).
// Only the handler's goroutine uses it.
type responseWriter struct {
	st          *stream
	header      http.Header
	head        bool // the request's method is HEAD
	status      int
	sentHeaders bool
	done        bool
	declLen     int64 // the response's Content-Length; -1: none
	written     int64
}

func (w *responseWriter) Header() http.Header { return w.header }

func (w *responseWriter) WriteHeader(code int) {
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("invalid WriteHeader code %v", code)) // as net/http
	}
	if w.sentHeaders || w.status != 0 || w.done {
		return
	}
	if code < 200 {
		// Informational: out at once, the final answer follows. HTTP/2
		// has no 101 (RFC 9113 8.6).
		if code != http.StatusSwitchingProtocols {
			w.st.sc.writeHeaders(w.st, code, w.header, false)
		}
		return
	}
	w.status = code
	if cl := w.header.Get("Content-Length"); cl != "" {
		if n, err := strconv.ParseUint(cl, 10, 63); err == nil {
			w.declLen = int64(n)
		} else {
			delete(w.header, "Content-Length")
		}
	}
}

// bodyAllowed reports whether the response may have content.
func (w *responseWriter) bodyAllowed() bool {
	return !w.head && w.status != http.StatusNoContent && w.status != http.StatusNotModified
}

func (w *responseWriter) Write(p []byte) (int, error) {
	if w.done {
		return 0, errStreamClosed
	}
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	switch {
	case !w.bodyAllowed() && (w.head || len(p) == 0):
		return len(p), nil
	case !w.bodyAllowed():
		return 0, http.ErrBodyNotAllowed
	case w.declLen >= 0 && w.written+int64(len(p)) > w.declLen:
		return 0, http.ErrContentLength
	}
	if err := w.sendHeaders(false); err != nil {
		return 0, err
	}
	if len(p) == 0 {
		return 0, nil
	}
	if err := w.st.sc.writeData(w.st, p, false); err != nil {
		return 0, err
	}
	w.written += int64(len(p))
	return len(p), nil
}

func (w *responseWriter) Flush() {
	if w.done {
		return
	}
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	w.sendHeaders(false)
}

func (w *responseWriter) sendHeaders(end bool) error {
	if w.sentHeaders {
		return nil
	}
	w.sentHeaders = true
	if w.status == http.StatusNoContent {
		delete(w.header, "Content-Length") // RFC 9110 8.6
	}
	return w.st.sc.writeHeaders(w.st, w.status, w.header, end)
}

// finish ends the response when the handler returns: trailers if it set
// any, else END_STREAM on the HEADERS or on an empty DATA frame.
func (w *responseWriter) finish() {
	if w.done {
		return
	}
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	w.done = true
	trailer := w.trailers()
	if !w.sentHeaders && trailer == nil {
		w.sendHeaders(true)
		return
	}
	if err := w.sendHeaders(false); err != nil {
		return
	}
	if trailer != nil {
		w.st.sc.writeHeaders(w.st, 0, trailer, true)
		return
	}
	w.st.sc.writeData(w.st, nil, true)
}

// trailers collects the trailers the handler declared ("Trailer") or set
// with http.TrailerPrefix; nil when there are none.
func (w *responseWriter) trailers() http.Header {
	var t http.Header
	add := func(k string, vs []string) {
		if len(vs) == 0 {
			return
		}
		if t == nil {
			t = make(http.Header)
		}
		t[http.CanonicalHeaderKey(k)] = vs
	}
	for _, v := range w.header["Trailer"] {
		for _, k := range strings.Split(v, ",") {
			k = strings.TrimSpace(k)
			add(k, w.header[http.CanonicalHeaderKey(k)])
		}
	}
	for k, vs := range w.header {
		if strings.HasPrefix(k, http.TrailerPrefix) {
			add(strings.TrimPrefix(k, http.TrailerPrefix), vs)
		}
	}
	return t
}

// notOnTheWire are header fields never sent: HTTP/2 forbids the
// connection-specific ones (RFC 9113 8.2.2).
var notOnTheWire = map[string]bool{
	"Connection": true, "Keep-Alive": true, "Proxy-Connection": true,
	"Transfer-Encoding": true, "Upgrade": true,
}

// writeHeaders writes a HEADERS frame (and CONTINUATIONs): a response
// head when status > 0, trailers otherwise.
func (sc *serverConn) writeHeaders(st *stream, status int, h http.Header, end bool) error {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if st.closed || sc.closed {
		return errStreamClosed
	}
	if err := sc.writeBlockLocked(st.id, sc.encodeLocked(status, h), end); err != nil {
		return err
	}
	if status >= 200 {
		st.sentHeaders = true
	}
	if end {
		sc.endedLocked(st)
	}
	return nil
}

// writeContinue answers a request's "Expect: 100-continue", unless the
// response started.
func (sc *serverConn) writeContinue(st *stream) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if !st.closed && !st.sentHeaders && !sc.closed {
		sc.writeBlockLocked(st.id, sc.encodeLocked(http.StatusContinue, nil), false)
	}
}

// encodeLocked encodes a header block: :status (if status > 0), then h's
// fields but those HTTP/2 forbids and those of invalid syntax (as x/net,
// which drops them too), then Date on a final response head that has
// none. sc.mu is held; the block is valid until the next call.
func (sc *serverConn) encodeLocked(status int, h http.Header) []byte {
	sc.hbuf.Reset()
	if status > 0 {
		sc.enc.WriteField(hpack.HeaderField{Name: ":status", Value: strconv.Itoa(status)})
	}
	for k, vs := range h {
		if notOnTheWire[k] || strings.HasPrefix(k, http.TrailerPrefix) || !httpguts.ValidHeaderFieldName(k) {
			continue
		}
		name := lower(k)
		for _, v := range vs {
			if httpguts.ValidHeaderFieldValue(v) && (name != "te" || v == "trailers") {
				sc.enc.WriteField(hpack.HeaderField{Name: name, Value: v})
			}
		}
	}
	if _, ok := h["Date"]; status >= 200 && !ok {
		sc.dateBuf = time.Now().UTC().AppendFormat(sc.dateBuf[:0], http.TimeFormat)
		sc.enc.WriteField(hpack.HeaderField{Name: "date", Value: string(sc.dateBuf)})
	}
	return sc.hbuf.Bytes()
}

// writeBlockLocked writes a header block as a HEADERS frame and as many
// CONTINUATION frames as the client's SETTINGS_MAX_FRAME_SIZE (at least
// 16 KiB) requires. sc.mu is held.
func (sc *serverConn) writeBlockLocked(id uint32, block []byte, end bool) error {
	first := true
	for first || len(block) > 0 {
		n := min(len(block), int(sc.maxFrame))
		frag := block[:n]
		block = block[n:]
		var err error
		if first {
			err = sc.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: frag, EndStream: end, EndHeaders: len(block) == 0})
		} else {
			err = sc.fr.WriteContinuation(id, len(block) == 0, frag)
		}
		if err != nil {
			return err
		}
		first = false
	}
	return nil
}

// writeData writes p as DATA frames within the flow control windows,
// waiting for the client's WINDOW_UPDATEs; end sets END_STREAM on the last.
func (sc *serverConn) writeData(st *stream, p []byte, end bool) error {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	for {
		if st.closed || sc.closed {
			return errStreamClosed
		}
		if len(p) == 0 && !end {
			return nil
		}
		n := min(int64(len(p)), st.sendWindow, sc.sendWindow, int64(sc.maxFrame))
		if len(p) > 0 && n <= 0 {
			sc.cond.Wait()
			continue
		}
		n = max(n, 0)
		st.sendWindow -= n
		sc.sendWindow -= n
		last := end && int(n) == len(p)
		if err := sc.fr.WriteData(st.id, last, p[:n]); err != nil {
			return err
		}
		p = p[n:]
		if last {
			sc.endedLocked(st)
			return nil
		}
		if len(p) == 0 {
			return nil
		}
	}
}
