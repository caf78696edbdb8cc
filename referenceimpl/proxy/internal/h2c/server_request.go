package h2c

import (
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

var (
	errMalformed    = errors.New("h2c: malformed request")
	errBodyTooLong  = errors.New("h2c: request body longer than its Content-Length")
	errBodyTooShort = errors.New("h2c: request body shorter than its Content-Length")
)

// processHeaders opens a stream, or ends an open one with trailers.
func (sc *serverConn) processHeaders(f *http2.MetaHeadersFrame) error {
	id := f.StreamID
	if id%2 == 0 {
		// RFC 9113 5.1.1: clients open odd-numbered streams only.
		return http2.ConnectionError(http2.ErrCodeProtocol)
	}
	sc.mu.Lock()
	if st := sc.streams[id]; st != nil {
		defer sc.mu.Unlock()
		return sc.trailersLocked(st, f)
	}
	if id <= sc.lastID {
		// Closed (5.1: frames after END_STREAM are a connection error
		// STREAM_CLOSED), or a stream ID that went down (5.1.1).
		sc.mu.Unlock()
		return http2.ConnectionError(http2.ErrCodeStreamClosed)
	}
	sc.lastID = id
	refuse := sc.goingAway || len(sc.streams) >= maxConcurrentStreams || sc.handlers >= maxHandlers
	sc.mu.Unlock()
	if f.HasPriority() && f.Priority.StreamDep == id {
		return http2.StreamError{StreamID: id, Code: http2.ErrCodeProtocol} // 5.3.1
	}
	if refuse {
		return http2.StreamError{StreamID: id, Code: http2.ErrCodeRefusedStream}
	}
	req, expectContinue, err := sc.newRequest(f)
	if err != nil {
		return http2.StreamError{StreamID: id, Code: http2.ErrCodeProtocol, Cause: err}
	}
	h := sc.srv.Handler
	if f.Truncated {
		h = http.HandlerFunc(headerListTooLong)
	}
	sc.startStream(id, req, h, expectContinue)
	return nil
}

// headerListTooLong answers a request whose header list the client sent
// beyond SETTINGS_MAX_HEADER_LIST_SIZE (as x/net: 431).
func headerListTooLong(w http.ResponseWriter, _ *http.Request) {
	http.Error(w, "431 Request Header Fields Too Large", http.StatusRequestHeaderFieldsTooLarge)
}

// startStream registers the stream of req and runs its handler.
func (sc *serverConn) startStream(id uint32, req *http.Request, h http.Handler, expectContinue bool) {
	grpc := strings.HasPrefix(req.Header.Get("Content-Type"), "application/grpc")
	ctx, cancel := sc.streamContext(req, grpc)
	st := &stream{sc: sc, id: id, cancel: cancel, recvWindow: streamWindow, declLen: -1}
	if req.Body == http.NoBody {
		st.remoteDone = true
	} else {
		st.declLen = req.ContentLength
		timeout := sc.srv.bodyReadTimeout()
		if grpc {
			timeout = 0 // a gRPC stream may rightly stay quiet for long
		}
		st.body = newRequestBody(st, req, timeout, expectContinue)
		req.Body = st.body
	}
	sc.mu.Lock()
	st.sendWindow = sc.peerWindow
	sc.streams[id] = st
	sc.handlers++
	if len(sc.streams) == 1 {
		sc.idleTimer.Stop()
	}
	sc.mu.Unlock()
	r := req.WithContext(ctx)
	runWorker(func() { st.run(r, h) })
}

// streamContext is a request's context: canceled when its stream ends,
// and for gRPC past the deadline its grpc-timeout field sets, as in a
// gRPC server. A proxy then answers DEADLINE_EXCEEDED itself once the
// deadline passes, rather than relaying what the backend's own deadline
// makes it send (grpc-go resets the stream, which the proxy relays as
// UNAVAILABLE, and which can reach the client before its own timer fires).
func (sc *serverConn) streamContext(req *http.Request, grpc bool) (context.Context, context.CancelFunc) {
	if grpc {
		if d, ok := grpcTimeout(req.Header.Get("Grpc-Timeout")); ok {
			return context.WithTimeout(sc.base, d)
		}
	}
	return context.WithCancel(sc.base)
}

// grpcTimeout parses a grpc-timeout field: 1 to 8 digits and a unit
// (gRPC over HTTP/2). False: none, or not valid.
func grpcTimeout(v string) (time.Duration, bool) {
	if len(v) < 2 || len(v) > 9 {
		return 0, false
	}
	n, err := strconv.ParseUint(v[:len(v)-1], 10, 64)
	if err != nil {
		return 0, false
	}
	unit, ok := grpcTimeoutUnits[v[len(v)-1]]
	if !ok || n > uint64(math.MaxInt64/unit) {
		return 0, false // beyond 292 years: no deadline
	}
	return time.Duration(n) * unit, true
}

var grpcTimeoutUnits = map[byte]time.Duration{
	'H': time.Hour, 'M': time.Minute, 'S': time.Second,
	'm': time.Millisecond, 'u': time.Microsecond, 'n': time.Nanosecond,
}

// trailersLocked takes a HEADERS frame on an open stream: the trailers
// that end its request body. sc.mu is held.
func (sc *serverConn) trailersLocked(st *stream, f *http2.MetaHeadersFrame) error {
	switch {
	case st.remoteDone:
		// 5.1: half-closed (remote) takes no more HEADERS.
		return http2.StreamError{StreamID: st.id, Code: http2.ErrCodeStreamClosed}
	case !f.StreamEnded() || len(f.PseudoFields()) > 0:
		// 8.1: trailers end the stream and carry no pseudo-header field.
		return http2.StreamError{StreamID: st.id, Code: http2.ErrCodeProtocol}
	}
	trailer := make(http.Header)
	for _, hf := range f.RegularFields() {
		k := canonical(hf.Name)
		if !httpguts.ValidTrailerHeader(k) || connectionSpecific(hf) {
			return http2.StreamError{StreamID: st.id, Code: http2.ErrCodeProtocol}
		}
		trailer[k] = append(trailer[k], hf.Value)
	}
	st.remoteDone = true
	if st.declLen >= 0 && st.gotLen != st.declLen {
		sc.resetStreamLocked(st.id, http2.ErrCodeProtocol, errBodyTooShort)
		return nil
	}
	st.body.end(trailer)
	return nil
}

// connectionSpecific reports whether a header field is one HTTP/2 forbids
// (RFC 9113 8.2.2): connection-specific, or a TE other than "trailers".
func connectionSpecific(hf hpack.HeaderField) bool {
	switch hf.Name {
	case "connection", "proxy-connection", "keep-alive", "transfer-encoding", "upgrade":
		return true
	case "te":
		return hf.Value != "trailers"
	}
	return false
}

// newRequest builds the request of a HEADERS frame that opens a stream,
// with a Body (not yet the stream's) unless the frame ended the stream. An
// error says the request is malformed (RFC 9113 8.1.1, 8.2, 8.3): a stream
// error PROTOCOL_ERROR, the handler never sees it.
func (sc *serverConn) newRequest(f *http2.MetaHeadersFrame) (r *http.Request, expectContinue bool, err error) {
	ps, err := requestPseudo(f)
	if err != nil {
		return nil, false, err
	}
	h := make(http.Header, len(f.Fields))
	var cookies []string
	for _, hf := range f.RegularFields() {
		if connectionSpecific(hf) {
			return nil, false, errMalformed
		}
		if hf.Name == "cookie" {
			cookies = append(cookies, hf.Value)
			continue
		}
		k := canonical(hf.Name)
		h[k] = append(h[k], hf.Value)
	}
	if len(cookies) > 0 {
		// 8.2.3: cookie fields are joined for HTTP/1.1 semantics.
		h["Cookie"] = []string{strings.Join(cookies, "; ")}
	}
	if ps.authority == "" {
		ps.authority = h.Get("Host")
	}
	if strings.Contains(ps.authority, "@") {
		return nil, false, errMalformed // 8.3.1: no userinfo
	}
	r = &http.Request{
		Method:     ps.method,
		URL:        ps.url,
		Proto:      "HTTP/2.0",
		ProtoMajor: 2,
		Header:     h,
		Host:       ps.authority,
		RemoteAddr: sc.remote,
		RequestURI: ps.requestURI,
		Trailer:    declaredTrailers(h),
	}
	if err := setBody(r, f.StreamEnded()); err != nil {
		return nil, false, err
	}
	if httpguts.HeaderValuesContainsToken(h["Expect"], "100-continue") {
		// As x/net: the server answers 100 Continue itself when the
		// handler first reads the body.
		delete(h, "Expect")
		expectContinue = r.Body != http.NoBody
	}
	return r, expectContinue, nil
}

// pseudo are a request's pseudo-header fields, checked.
type pseudo struct {
	method, authority, requestURI string
	url                           *url.URL
}

// requestPseudo checks a request's pseudo-header fields (RFC 9113 8.3.1;
// the Framer checked that they come first, once each, and are known).
func requestPseudo(f *http2.MetaHeadersFrame) (pseudo, error) {
	ps := pseudo{method: f.PseudoValue("method"), authority: f.PseudoValue("authority")}
	scheme, path := f.PseudoValue("scheme"), f.PseudoValue("path")
	switch {
	case f.PseudoValue("protocol") != "" || f.PseudoValue("status") != "":
		// Extended CONNECT is not offered; :status is a response's.
		return ps, errMalformed
	case ps.method == http.MethodConnect:
		// 8.5: CONNECT has :authority only.
		if scheme != "" || path != "" || ps.authority == "" {
			return ps, errMalformed
		}
		ps.url, ps.requestURI = &url.URL{Host: ps.authority}, ps.authority
		return ps, nil
	case ps.method == "" || (scheme != "http" && scheme != "https") || path == "" || (path[0] != '/' && path != "*"):
		return ps, errMalformed
	}
	u, err := url.ParseRequestURI(path)
	if err != nil {
		return ps, errMalformed
	}
	ps.url, ps.requestURI = u, path
	return ps, nil
}

// declaredTrailers takes the Trailer field out of h and returns the
// trailers it declares (those HTTP/1.1 allows), nil if none.
func declaredTrailers(h http.Header) http.Header {
	var t http.Header
	for _, v := range h["Trailer"] {
		for _, k := range strings.Split(v, ",") {
			k = http.CanonicalHeaderKey(strings.TrimSpace(k))
			switch k {
			case "", "Transfer-Encoding", "Trailer", "Content-Length":
				continue
			}
			if t == nil {
				t = make(http.Header)
			}
			t[k] = nil
		}
	}
	delete(h, "Trailer")
	return t
}

// setBody sets r's ContentLength, and a Body (a placeholder for the
// stream's) unless the HEADERS frame ended the stream. A Content-Length
// must be one non-negative number; with no body, zero.
func setBody(r *http.Request, ended bool) error {
	r.ContentLength = -1
	if vs, ok := r.Header["Content-Length"]; ok {
		n, err := strconv.ParseUint(vs[0], 10, 63)
		for _, v := range vs[1:] {
			if v != vs[0] {
				err = errMalformed
			}
		}
		if err != nil {
			return errMalformed
		}
		r.ContentLength = int64(n)
	}
	if ended {
		if r.ContentLength > 0 {
			return errBodyTooShort
		}
		r.ContentLength, r.Body = 0, http.NoBody
		return nil
	}
	r.Body = io.NopCloser(nil) // replaced by the stream's body
	return nil
}
