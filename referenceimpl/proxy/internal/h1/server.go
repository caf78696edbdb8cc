// Package h1 is the proxy's HTTP/1.1 server: it reads an intercepted
// connection's requests one after another (keep-alive, pipelining) and
// hands each to an http.Handler on the connection's goroutine.
//
// It replaces net/http's server for the proxy's sake: per request, that
// server starts a goroutine that reads ahead on the connection (to notice a
// client that goes away), sets read deadlines twice, and wraps the response
// in several layers. In BenchmarkProxy's HTTP/1.1 throughput runs the
// proxy's CPU per small request went from 27.8 to 24.9 µs with this one.
// Requests are parsed by net/http (http.ReadRequest), responses
// framed as net/http frames them: Content-Length when the handler sets it
// or finishes having written little, chunked otherwise, trailers in the
// last chunk.
//
// A request's context is the connection's, with the server's values: it
// does not end, neither when the client disconnects mid-request (the proxy
// notices when it writes the answer) nor when the handler returns, so a
// handler that needs a deadline sets its own (the proxy does, for route
// timeouts). Skipping a cancelable context per request, and with it the
// backend client's watch of it, took BenchmarkProxy's HTTP/1.1
// throughput ratio from 0.539 to 0.552 (medians of 5 runs).
//
// What it does not do: TLS, HTTP/2 (package h2c), Content-Type sniffing.
package h1

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/http/httpguts"
)

const (
	defaultIdleTimeout = 5 * time.Minute
	// maxHeaderBytes bounds a request's header, as net/http's
	// DefaultMaxHeaderBytes.
	maxHeaderBytes = 1 << 20
	// maxDrain is how much of a request body the handler left unread is
	// read to keep the connection; more, and it is closed.
	maxDrain = 256 << 10
	// defaultBodyReadTimeout bounds each read of a request body: a client
	// that sends nothing of its body for this long loses its connection.
	defaultBodyReadTimeout = 10 * time.Second
	// lingerTimeout is how long a connection closed on an error reads on.
	lingerTimeout = 500 * time.Millisecond
	// smallBody: a response without Content-Length whose handler finishes
	// having written at most this much gets a Content-Length; otherwise it
	// is chunked (net/http's bufferBeforeChunkingSize).
	smallBody = 2048
)

// Server serves HTTP/1.x connections with Handler.
type Server struct {
	Handler http.Handler
	// IdleTimeout closes a connection that sends no request for this long
	// (0: 5 min); it also bounds the reading of a request's header.
	IdleTimeout time.Duration
	// BodyReadTimeout bounds the wait for each read of a request body
	// (0: 10 s); the connection closes when it passes.
	BodyReadTimeout time.Duration
}

func (s *Server) idleTimeout() time.Duration {
	if s.IdleTimeout > 0 {
		return s.IdleTimeout
	}
	return defaultIdleTimeout
}

// ServeConn serves c until the client closes it, an error, or ctx ends
// (then an idle connection is closed at once, a busy one after its
// response). Requests carry ctx's values. ServeConn closes c unless a
// handler hijacked it.
func (s *Server) ServeConn(ctx context.Context, c net.Conn) {
	sc := &conn{srv: s, c: c, shut: ctx, base: context.WithoutCancel(ctx), remote: c.RemoteAddr().String()}
	sc.tr = &timedReader{c: c, timeout: s.BodyReadTimeout}
	if sc.tr.timeout <= 0 {
		sc.tr.timeout = defaultBodyReadTimeout
	}
	sc.lr = &HeaderLimit{R: sc.tr, Err: errHeaderTooLarge}
	sc.br = bufio.NewReaderSize(sc.lr, 4<<10)
	sc.bw = bufio.NewWriterSize(c, 4<<10)
	stop := context.AfterFunc(ctx, func() { c.SetReadDeadline(time.Now()) })
	defer stop()
	for sc.serveOne() && ctx.Err() == nil {
	}
	if !sc.hijacked {
		c.Close()
	}
}

type conn struct {
	srv      *Server
	c        net.Conn
	shut     context.Context // ends when the server shuts down
	base     context.Context
	remote   string
	tr       *timedReader
	head     []byte // reused for timedReader.head
	lr       *HeaderLimit
	br       *bufio.Reader
	bw       *bufio.Writer
	deadline time.Time // the read deadline set last
	hijacked bool
	dateBuf  [64]byte
}

var errHeaderTooLarge = errors.New("request header too large")

// readRequest reads the next request and checks it as net/http's server
// does; nil: the connection must close (the client has had its answer).
func (sc *conn) readRequest() *http.Request {
	// One deadline bounds both the idle wait and the header; it is moved
	// at most once a minute, not per request.
	idle := sc.srv.idleTimeout()
	if now := time.Now(); sc.deadline.Sub(now) < idle-min(idle/5, time.Minute) {
		sc.deadline = now.Add(idle)
		sc.c.SetReadDeadline(sc.deadline)
	}
	sc.lr.Left = maxHeaderBytes + 4096 + 1 // net/http's slack
	// http.ReadRequest drops the Host field and leaves an empty one and
	// none alike: keep the header's bytes to tell them apart (headerField).
	sc.tr.head, _ = sc.br.Peek(sc.br.Buffered())
	sc.tr.head = append(sc.head[:0], sc.tr.head...)
	sc.tr.keep = true
	req, err := http.ReadRequest(sc.br)
	sc.tr.keep = false
	sc.head = sc.tr.head[:0]
	sc.lr.Left = 0
	if err != nil {
		switch {
		case errors.Is(err, errHeaderTooLarge):
			sc.fail(statusError{code: http.StatusRequestHeaderFieldsTooLarge})
		case err == io.EOF || errors.Is(err, net.ErrClosed) || errors.Is(err, io.ErrUnexpectedEOF) || isTimeout(err):
		default:
			sc.fail(readError(err))
		}
		return nil
	}
	if req.Host != "" && req.URL.Host == "" {
		req.Header["Host"] = []string{req.Host} // from the Host field
	} else if v, ok := headerField(sc.tr.head, "host:"); ok {
		req.Header["Host"] = []string{v}
	}
	if len(req.TransferEncoding) > 0 {
		if _, ok := headerField(sc.tr.head, "content-length:"); ok {
			// RFC 9112 6.1: the body is framed by Transfer-Encoding
			// alone, but the connection MUST close after the answer.
			req.Close = true
		}
	}
	if err := checkRequest(req); err != nil {
		sc.fail(err.(statusError))
		return nil
	}
	return req
}

// serveOne reads and answers one request; false: close the connection.
func (sc *conn) serveOne() bool {
	req := sc.readRequest()
	if req == nil {
		return false
	}
	var body *reqBody
	if req.Body != http.NoBody {
		// A body may take longer to arrive than a header, but each of its
		// reads has a timeout (timedReader).
		sc.c.SetReadDeadline(time.Time{})
		sc.deadline = time.Time{}
		sc.tr.on = true
		defer func() { sc.tr.on = false }()
		body = &reqBody{rc: req.Body}
		req.Body = body
	}
	req.RemoteAddr = sc.remote
	w := &response{sc: sc, req: req, body: body, header: make(http.Header), contentLength: -1}
	if e, ok := req.Header["Expect"]; ok {
		if len(e) != 1 || !strings.EqualFold(e[0], "100-continue") {
			// As net/http's server: any expectation but 100-continue.
			w.header.Set("Connection", "close")
			w.WriteHeader(http.StatusExpectationFailed)
			w.finish()
			return false
		}
		if req.ProtoAtLeast(1, 1) && req.Body != http.NoBody {
			w.cont = &continueReader{ReadCloser: req.Body, sc: sc}
			req.Body = w.cont
		}
	}
	if !sc.serveHTTP(w, req.WithContext(sc.base)) || sc.hijacked {
		return false
	}
	if err := w.finish(); err != nil || w.closeAfter {
		return false
	}
	// Read what the handler left of the body, so the next request parses.
	if w.cont != nil && !w.cont.stop() {
		return false // the client never sent the body: do not wait for it
	}
	return body == nil || body.drain()
}

// reqBody is a request body as the handler sees it. Closing it does not
// read the rest (net/http's body would, without bound): the server does,
// up to maxDrain, once the handler has returned (drain). A Transport may
// still read it after its RoundTrip returned (an early answer of the
// backend, a 413 say): mu orders those reads with Close and drain.
type reqBody struct {
	mu     sync.Mutex
	rc     io.ReadCloser
	eof    bool
	err    error
	closed bool
}

var errBodyClosed = errors.New("http: invalid Read on closed Body")

func (b *reqBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return 0, errBodyClosed
	}
	n, err := b.rc.Read(p)
	if err == io.EOF {
		b.eof = true
	} else if err != nil && b.err == nil {
		b.err = err
	}
	return n, err
}

func (b *reqBody) Close() error {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	return nil
}

// failed reports whether reading the body failed.
func (b *reqBody) failed() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err != nil
}

// drain reads what the handler left of the body, so that the next request
// parses; false: the connection must close. A body that ended in an error
// (a bad chunk, a timeout) leaves the connection at an unknown point of
// the byte stream: what follows must not be read as a request (RFC 9112
// 7.1; request smuggling).
func (b *reqBody) drain() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	if b.err != nil {
		return false
	}
	if b.eof {
		return true
	}
	n, err := io.CopyN(io.Discard, b.rc, maxDrain+1)
	return n <= maxDrain && err == io.EOF
}

// serveHTTP runs the handler; false: it panicked (http.ErrAbortHandler,
// say) and the connection must close, the response being cut.
func (sc *conn) serveHTTP(w *response, r *http.Request) (ok bool) {
	defer func() {
		if p := recover(); p != nil {
			ok = false
		}
	}()
	sc.srv.Handler.ServeHTTP(w, r)
	return true
}

// fail answers a request that could not be read, then the connection
// closes; the answer is net/http's server's, byte for byte.
func (sc *conn) fail(e statusError) {
	status := fmt.Sprintf("%d %s", e.code, http.StatusText(e.code))
	if e.text != "" {
		status += ": " + e.text
	}
	body := status
	if e.code == http.StatusNotImplemented {
		body = "Unsupported transfer encoding"
	}
	fmt.Fprintf(sc.bw, "HTTP/1.1 %s\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n%s", status, body)
	sc.bw.Flush()
	sc.lingerClose()
}

// lingerClose ends the connection's writing side and reads what the client
// still sends for a moment before the connection closes, as net/http's
// server does after an error: closing with unread bytes would reset the
// connection, and the client might lose the answer.
func (sc *conn) lingerClose() {
	if cw, ok := sc.c.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	sc.c.SetReadDeadline(time.Now().Add(lingerTimeout))
	io.CopyN(io.Discard, sc.c, maxDrain)
}

// timedReader reads the connection; while on (a request body is read), it
// gives every read its timeout. While a header is read, it keeps a
// copy of what it read in head (headerField).
type timedReader struct {
	c       net.Conn
	timeout time.Duration
	on      bool
	keep    bool
	head    []byte
}

func (r *timedReader) Read(p []byte) (int, error) {
	if r.on {
		r.c.SetReadDeadline(time.Now().Add(r.timeout))
	}
	n, err := r.c.Read(p)
	if r.keep {
		r.head = append(r.head, p[:n]...)
	}
	return n, err
}

// headerField returns the value of the first field named name (lower
// case, with its colon) of the header in head, if it has one.
func headerField(head []byte, name string) (string, bool) {
	for len(head) > 0 {
		line, rest, _ := bytes.Cut(head, []byte("\n"))
		line = bytes.TrimRight(line, "\r")
		if len(line) == 0 {
			return "", false // the end of the header
		}
		if len(line) >= len(name) && bytes.EqualFold(line[:len(name)], []byte(name)) {
			return string(bytes.Trim(line[len(name):], " \t")), true
		}
		head = rest
	}
	return "", false
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// continueReader answers "100 Continue" when the handler first reads the
// body of a request that expects it. Closed before that, the body was
// never sent: the connection closes rather than wait for it.
// The handler may relay the backend's own 100 Continue (WriteHeader) on
// another goroutine than the one reading the body: the client gets one.
type continueReader struct {
	io.ReadCloser
	sc *conn

	mu   sync.Mutex // guards sent and writing the 100 Continue
	sent bool
}

func (r *continueReader) Close() error {
	r.mu.Lock()
	sent := r.sent
	r.mu.Unlock()
	if !sent {
		return nil
	}
	return r.ReadCloser.Close()
}

func (r *continueReader) Read(p []byte) (int, error) {
	if err := r.send(nil); err != nil {
		return 0, err
	}
	return r.ReadCloser.Read(p)
}

// stop reports whether the 100 Continue was sent, and makes sure it never
// is from now on (a Transport may read the body after the handler returned).
func (r *continueReader) stop() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	sent := r.sent
	r.sent = true
	return sent
}

// send writes the 100 Continue unless it was sent: with write, the
// handler's, else the server's own.
func (r *continueReader) send(write func()) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.sent {
		return nil
	}
	r.sent = true
	if write != nil {
		write()
	} else {
		r.sc.bw.WriteString("HTTP/1.1 100 Continue\r\n\r\n")
	}
	return r.sc.bw.Flush()
}

// response is a request's http.ResponseWriter, http.Flusher and
// http.Hijacker.
type response struct {
	sc     *conn
	req    *http.Request
	body   *reqBody        // nil: the request has none
	cont   *continueReader // nil: the request expects no 100 Continue
	header http.Header

	status        int   // final status, 0 until WriteHeader
	committed     bool  // the final header is written
	contentLength int64 // declared, -1: none
	written       int64
	chunked       bool
	closeAfter    bool
	pending       []byte // body held back while deciding the framing
	done          bool
}

func (w *response) Header() http.Header { return w.header }

func (w *response) WriteHeader(code int) {
	if w.committed || w.status != 0 || w.sc.hijacked {
		return
	}
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		if !w.req.ProtoAtLeast(1, 1) {
			return // RFC 9110 15.2: no 1xx to an HTTP/1.0 client
		}
		// Informational: out at once, the final answer follows.
		write := func() {
			w.writeStatusLine(code)
			w.writeHeaderFields(w.header, nil)
			w.sc.bw.WriteString("\r\n")
		}
		if code == http.StatusContinue && w.cont != nil {
			w.cont.send(write)
			return
		}
		write()
		w.sc.bw.Flush()
		return
	}
	w.status = code
	if cl := w.header.Get("Content-Length"); cl != "" {
		if n, err := strconv.ParseInt(cl, 10, 64); err == nil && n >= 0 {
			w.contentLength = n
		} else {
			delete(w.header, "Content-Length")
		}
	}
}

// bodyAllowed reports whether the response may have a body.
func (w *response) bodyAllowed() bool {
	return w.status >= 200 && w.status != http.StatusNoContent && w.status != http.StatusNotModified && w.req.Method != http.MethodHead
}

func (w *response) Write(p []byte) (int, error) {
	if w.done || w.sc.hijacked {
		return 0, http.ErrHijacked
	}
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if !w.bodyAllowed() {
		if w.req.Method == http.MethodHead || len(p) == 0 {
			return len(p), nil
		}
		return 0, http.ErrBodyNotAllowed
	}
	if w.contentLength >= 0 && w.written+int64(len(p)) > w.contentLength {
		return 0, http.ErrContentLength
	}
	w.written += int64(len(p))
	if !w.committed && w.contentLength < 0 && len(w.pending)+len(p) <= smallBody {
		w.pending = append(w.pending, p...)
		return len(p), nil
	}
	if !w.committed {
		w.commit(false)
	}
	if err := w.writeBody(p); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (w *response) writeBody(p []byte) error {
	bw := w.sc.bw
	if w.chunked {
		if len(p) == 0 {
			return nil
		}
		bw.WriteString(strconv.FormatInt(int64(len(p)), 16))
		bw.WriteString("\r\n")
		bw.Write(p)
		_, err := bw.WriteString("\r\n")
		return err
	}
	_, err := bw.Write(p)
	return err
}

func (w *response) Flush() {
	if w.done || w.sc.hijacked {
		return
	}
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if !w.committed {
		w.commit(false)
	}
	w.sc.bw.Flush()
}

// Hijack hands the connection to the handler (a protocol upgrade).
func (w *response) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if w.committed || w.done {
		return nil, nil, errors.New("h1: hijack after the response started")
	}
	w.sc.hijacked = true
	w.sc.c.SetDeadline(time.Time{})
	return w.sc.c, bufio.NewReadWriter(w.sc.br, w.sc.bw), nil
}

// trailerKeys returns the trailers the handler declared or set with
// http.TrailerPrefix.
func (w *response) trailerKeys() []string {
	var keys []string
	for _, v := range w.header["Trailer"] {
		for _, k := range strings.Split(v, ",") {
			if k = strings.TrimSpace(k); k != "" {
				keys = append(keys, http.CanonicalHeaderKey(k))
			}
		}
	}
	for k := range w.header {
		if strings.HasPrefix(k, http.TrailerPrefix) {
			keys = append(keys, k)
		}
	}
	return keys
}

// commit writes the final header, choosing the body's framing; final: the
// handler has returned, so the pending body is all of it.
func (w *response) commit(final bool) {
	w.committed = true
	h := w.header
	keys := w.trailerKeys()
	trailers := w.bodyAllowed() && len(keys) > 0
	switch {
	case !w.bodyAllowed() && w.req.Method != http.MethodHead:
		delete(h, "Content-Length")
		delete(h, "Transfer-Encoding")
	case w.req.Method == http.MethodHead:
	case trailers && w.req.ProtoAtLeast(1, 1):
		delete(h, "Content-Length")
		w.contentLength = -1
		w.chunked = true
	case w.contentLength >= 0:
	case final:
		w.contentLength = int64(len(w.pending))
		h["Content-Length"] = []string{strconv.Itoa(len(w.pending))}
	case w.req.ProtoAtLeast(1, 1):
		w.chunked = true
	default:
		w.closeAfter = true // an HTTP/1.0 body ends with the connection
	}
	if w.req.Close || w.sc.shut.Err() != nil || (w.body != nil && w.body.failed()) || httpguts.HeaderValuesContainsToken(h["Connection"], "close") {
		w.closeAfter = true
	}
	if !w.req.ProtoAtLeast(1, 1) && !httpguts.HeaderValuesContainsToken(w.req.Header["Connection"], "keep-alive") {
		w.closeAfter = true
	}
	w.writeStatusLine(w.status)
	w.writeHeaderFields(h, keys)
	bw := w.sc.bw
	if _, ok := h["Date"]; !ok {
		bw.WriteString("Date: ")
		bw.Write(time.Now().UTC().AppendFormat(w.sc.dateBuf[:0], http.TimeFormat))
		bw.WriteString("\r\n")
	}
	if w.chunked {
		bw.WriteString("Transfer-Encoding: chunked\r\n")
	}
	switch {
	case w.closeAfter && !httpguts.HeaderValuesContainsToken(h["Connection"], "close"):
		bw.WriteString("Connection: close\r\n")
	case !w.closeAfter && !w.req.ProtoAtLeast(1, 1):
		bw.WriteString("Connection: keep-alive\r\n")
	}
	bw.WriteString("\r\n")
	if len(w.pending) > 0 {
		w.writeBody(w.pending)
		w.pending = nil
	}
}

func (w *response) writeStatusLine(code int) {
	bw := w.sc.bw
	bw.WriteString("HTTP/1.1 ")
	bw.WriteString(strconv.Itoa(code))
	bw.WriteByte(' ')
	text := http.StatusText(code)
	if text == "" {
		text = "status code " + strconv.Itoa(code)
	}
	bw.WriteString(text)
	bw.WriteString("\r\n")
}

var newlineToSpace = strings.NewReplacer("\r\n", " ", "\r", " ", "\n", " ")

// writeHeaderFields writes h's fields but the trailers (keys) and hop-by-hop
// framing headers the server sets itself.
func (w *response) writeHeaderFields(h http.Header, keys []string) {
	bw := w.sc.bw
	for k, vs := range h {
		if k == "Transfer-Encoding" || k == "Trailer" || strings.HasPrefix(k, http.TrailerPrefix) || slices.Contains(keys, k) {
			continue
		}
		for _, v := range vs {
			if strings.ContainsAny(v, "\r\n") {
				v = newlineToSpace.Replace(v)
			}
			bw.WriteString(k)
			bw.WriteString(": ")
			bw.WriteString(v)
			bw.WriteString("\r\n")
		}
	}
	if len(keys) > 0 && w.chunked {
		declared := make([]string, 0, len(keys))
		for _, k := range keys {
			declared = append(declared, strings.TrimPrefix(k, http.TrailerPrefix))
		}
		bw.WriteString("Trailer: ")
		bw.WriteString(strings.Join(declared, ", "))
		bw.WriteString("\r\n")
	}
}

// finish ends the response after the handler returned.
func (w *response) finish() error {
	w.done = true
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if !w.committed {
		w.commit(true)
	}
	bw := w.sc.bw
	if w.chunked {
		bw.WriteString("0\r\n")
		for _, k := range w.trailerKeys() {
			name := strings.TrimPrefix(k, http.TrailerPrefix)
			for _, v := range w.header[k] {
				bw.WriteString(name)
				bw.WriteString(": ")
				bw.WriteString(newlineToSpace.Replace(v))
				bw.WriteString("\r\n")
			}
		}
		bw.WriteString("\r\n")
	}
	if w.bodyAllowed() && w.contentLength >= 0 && w.written != w.contentLength {
		// A short body: the client must not wait for the rest.
		w.closeAfter = true
	}
	return bw.Flush()
}
