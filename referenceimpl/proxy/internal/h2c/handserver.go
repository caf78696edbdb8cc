// Package h2c is the proxy's HTTP/2 over cleartext TCP with prior knowledge
// (h2c, what gRPC speaks in a mesh): a Server that hands each stream of a
// client's connection to an http.Handler, and a Transport that sends
// requests to backends over pooled, multiplexed connections.
//
// Both replace net/http's HTTP/2 for the proxy's sake: net/http's server
// runs a goroutine per connection that serializes every frame write through
// channels and flushes HEADERS and DATA separately; its Transport starts a
// goroutine per request and looks its connection pool up by a hashed key.
// In BenchmarkProxy's h2c throughput runs the proxy spent 45 µs of CPU per
// small request with both, 28 µs with these. Here the connection's reader
// goroutine reads the frames, each stream's handler runs on a reused
// worker goroutine and writes its own frames under the connection's lock,
// and the connection under them (internal/ioloop) coalesces the writes.
//
// What they do not do: TLS, server push, priorities (ignored), the HTTP/1.1
// Upgrade to h2c (prior knowledge only, as net/http), CONNECT.
package h2c

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// Server settings, as advertised to clients.
const (
	maxConcurrentStreams = 250
	streamWindow         = 1 << 20 // request body bytes buffered per stream
	connWindow           = 1 << 30
	maxHeaderListSize    = 1 << 20 // as net/http's DefaultMaxHeaderBytes
	defaultIdleTimeout   = 5 * time.Minute
	shutdownGrace        = 5 * time.Second
	prefaceTimeout       = 30 * time.Second
	// workerIdle is how long a goroutine that served a stream waits for
	// the next one.
	workerIdle = time.Second
)

// idleWorkers hands a stream to a goroutine that served one before and
// now waits (unbuffered: only a waiting worker takes it). A worker keeps
// the stack it grew through the handler's deep call chain (reverse proxy,
// transport); a new goroutine per stream grew its stack by copying on
// every request, 8 % of the proxy's CPU on small h2c requests.
var idleWorkers = make(chan func())

func runWorker(f func()) {
	select {
	case idleWorkers <- f:
	default:
		go worker(f)
	}
}

func worker(f func()) {
	t := time.NewTimer(workerIdle)
	defer t.Stop()
	for {
		f()
		t.Reset(workerIdle)
		select {
		case f = <-idleWorkers:
		case <-t.C:
			return
		}
	}
}

var clientPreface = []byte(http2.ClientPreface)

// Sniff reads from c until its first bytes tell HTTP/2's client preface
// from anything else, for at most timeout. It returns whether they are
// the preface and a connection that reads them again.
func Sniff(c net.Conn, timeout time.Duration) (bool, net.Conn, error) {
	c.SetReadDeadline(time.Now().Add(timeout))
	defer c.SetReadDeadline(time.Time{})
	var got []byte
	buf := make([]byte, len(clientPreface))
	for len(got) < len(clientPreface) && bytes.HasPrefix(clientPreface, got) {
		n, err := c.Read(buf[:len(clientPreface)-len(got)])
		got = append(got, buf[:n]...)
		if err != nil {
			return false, nil, err
		}
	}
	return bytes.Equal(got, clientPreface), &replayConn{Conn: c, first: got}, nil
}

// replayConn reads first, then from its connection.
type replayConn struct {
	net.Conn
	first []byte
}

func (c *replayConn) Read(p []byte) (int, error) {
	if len(c.first) > 0 {
		n := copy(p, c.first)
		c.first = c.first[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// ServeConn serves c until the client or an error ends it. c's first bytes
// must be the client preface (Sniff). Requests carry ctx's values; when ctx
// ends, the server sends GOAWAY, lets open streams finish for a few seconds
// and closes c.
func (s *Server) serveConnHand(ctx context.Context, c net.Conn) {
	sc := &serverConn{
		srv:        s,
		c:          c,
		base:       context.WithoutCancel(ctx),
		streams:    make(map[uint32]*stream),
		sendWindow: 65535,
		peerWindow: 65535,
		maxFrame:   16384,
		remote:     c.RemoteAddr().String(),
	}
	sc.cond = sync.NewCond(&sc.mu)
	sc.fr = http2.NewFramer(c, c)
	sc.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	sc.fr.MaxHeaderListSize = maxHeaderListSize
	sc.fr.SetReuseFrames()
	sc.enc = hpack.NewEncoder(&sc.hbuf)
	defer sc.close()

	c.SetReadDeadline(time.Now().Add(prefaceTimeout))
	preface := make([]byte, len(clientPreface))
	if _, err := io.ReadFull(c, preface); err != nil || !bytes.Equal(preface, clientPreface) {
		return
	}
	c.SetReadDeadline(time.Time{})
	sc.mu.Lock()
	sc.fr.WriteSettings(
		http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: maxConcurrentStreams},
		http2.Setting{ID: http2.SettingInitialWindowSize, Val: streamWindow},
		http2.Setting{ID: http2.SettingMaxHeaderListSize, Val: maxHeaderListSize},
	)
	sc.fr.WriteWindowUpdate(0, connWindow-65535)
	sc.idleTimer = time.AfterFunc(s.idleTimeout(), sc.idle)
	sc.mu.Unlock()
	stop := context.AfterFunc(ctx, sc.shutdown)
	defer stop()
	sc.serve()
}

// serverConn is one client connection. Its reader goroutine (serve) reads
// every frame; handlers write their frames under mu.
type serverConn struct {
	srv    *Server
	c      net.Conn
	base   context.Context
	remote string

	mu         sync.Mutex // guards everything below, and writing to c
	cond       *sync.Cond // flow control windows grew, or a stream ended
	fr         *http2.Framer
	enc        *hpack.Encoder
	hbuf       bytes.Buffer
	streams    map[uint32]*stream
	lastID     uint32 // highest stream ID the client opened
	sendWindow int32  // connection flow control: what we may send
	peerWindow int32  // the client's initial stream window
	maxFrame   uint32
	unacked    int32 // received DATA bytes not yet credited back
	goingAway  bool  // GOAWAY sent: no new streams
	closed     bool
	idleTimer  *time.Timer
	graceTimer *time.Timer
}

// stream is one request. Its handler goroutine owns the response side.
type stream struct {
	sc         *serverConn
	id         uint32
	cancel     context.CancelFunc
	body       *pipe // nil: the request had no body
	sendWindow int32 // guarded by sc.mu
	reset      bool  // guarded by sc.mu: RST_STREAM sent or received
	trailer    http.Header
}

// serve reads frames until the connection fails or ends.
func (sc *serverConn) serve() {
	for {
		f, err := sc.fr.ReadFrame()
		if err != nil {
			var se http2.StreamError
			if errors.As(err, &se) {
				sc.resetStream(se.StreamID, se.Code)
				continue
			}
			var ce http2.ConnectionError
			if errors.As(err, &ce) {
				sc.goAway(http2.ErrCode(ce))
			}
			return
		}
		if err := sc.process(f); err != nil {
			sc.goAway(http2.ErrCodeProtocol)
			return
		}
	}
}

var errProtocol = errors.New("h2c: protocol error")

func (sc *serverConn) process(f http2.Frame) error {
	switch f := f.(type) {
	case *http2.MetaHeadersFrame:
		return sc.processHeaders(f)
	case *http2.DataFrame:
		return sc.processData(f)
	case *http2.SettingsFrame:
		if f.IsAck() {
			return nil
		}
		sc.mu.Lock()
		defer sc.mu.Unlock()
		err := f.ForeachSetting(func(s http2.Setting) error {
			switch s.ID {
			case http2.SettingInitialWindowSize:
				if s.Val > 1<<31-1 {
					return errProtocol
				}
				delta := int32(s.Val) - sc.peerWindow
				sc.peerWindow = int32(s.Val)
				for _, st := range sc.streams {
					st.sendWindow += delta
				}
			case http2.SettingMaxFrameSize:
				sc.maxFrame = s.Val
			case http2.SettingHeaderTableSize:
				sc.enc.SetMaxDynamicTableSizeLimit(s.Val)
			}
			return nil
		})
		if err != nil {
			return err
		}
		sc.fr.WriteSettingsAck()
		sc.cond.Broadcast()
	case *http2.WindowUpdateFrame:
		sc.mu.Lock()
		if f.StreamID == 0 {
			sc.sendWindow += int32(f.Increment)
		} else if st := sc.streams[f.StreamID]; st != nil {
			st.sendWindow += int32(f.Increment)
		}
		sc.cond.Broadcast()
		sc.mu.Unlock()
	case *http2.PingFrame:
		if !f.IsAck() {
			sc.mu.Lock()
			sc.fr.WritePing(true, f.Data)
			sc.mu.Unlock()
		}
	case *http2.RSTStreamFrame:
		sc.mu.Lock()
		st := sc.streams[f.StreamID]
		if st != nil {
			st.reset = true
			sc.cond.Broadcast()
		}
		sc.mu.Unlock()
		if st != nil {
			st.cancel()
			if st.body != nil {
				st.body.closeWithError(errors.New("h2c: client reset the stream"))
			}
		}
	case *http2.GoAwayFrame:
		sc.mu.Lock()
		sc.goingAway = true
		idle := len(sc.streams) == 0
		sc.mu.Unlock()
		if idle {
			return io.EOF
		}
	case *http2.PushPromiseFrame:
		return errProtocol
	}
	return nil
}

func (sc *serverConn) processHeaders(f *http2.MetaHeadersFrame) error {
	id := f.StreamID
	sc.mu.Lock()
	st := sc.streams[id]
	switch {
	case st != nil:
		// Trailers: they must end the stream.
		sc.mu.Unlock()
		if !f.StreamEnded() || st.body == nil {
			sc.resetStream(id, http2.ErrCodeProtocol)
			return nil
		}
		for _, hf := range f.RegularFields() {
			k := canonical(hf.Name)
			st.trailer[k] = append(st.trailer[k], hf.Value)
		}
		st.body.closeWithError(io.EOF)
		return nil
	case id%2 == 0 || id <= sc.lastID:
		sc.mu.Unlock()
		return errProtocol
	}
	sc.lastID = id
	if sc.goingAway || len(sc.streams) >= maxConcurrentStreams {
		sc.fr.WriteRSTStream(id, http2.ErrCodeRefusedStream)
		sc.mu.Unlock()
		return nil
	}
	req, err := sc.newRequest(f)
	if err != nil {
		sc.fr.WriteRSTStream(id, http2.ErrCodeProtocol)
		sc.mu.Unlock()
		return nil
	}
	ctx, cancel := context.WithCancel(sc.base)
	st = &stream{sc: sc, id: id, cancel: cancel, sendWindow: sc.peerWindow, trailer: req.Trailer}
	if !f.StreamEnded() {
		st.body = newPipe(func(n int) { sc.credit(st, n) })
		req.Body = st.body
	}
	sc.streams[id] = st
	if len(sc.streams) == 1 {
		sc.idleTimer.Stop()
	}
	sc.mu.Unlock()
	r := req.WithContext(ctx)
	runWorker(func() { st.run(r) })
	return nil
}

// newRequest builds the server request of a HEADERS frame. sc.mu is held.
func (sc *serverConn) newRequest(f *http2.MetaHeadersFrame) (*http.Request, error) {
	method, path, authority := f.PseudoValue("method"), f.PseudoValue("path"), f.PseudoValue("authority")
	if method == "" || path == "" || method == http.MethodConnect {
		return nil, errProtocol
	}
	u, err := url.ParseRequestURI(path)
	if err != nil {
		return nil, err
	}
	h := make(http.Header, len(f.Fields))
	var cookies []string
	for _, hf := range f.RegularFields() {
		if hf.Name == "cookie" {
			cookies = append(cookies, hf.Value)
			continue
		}
		k := canonical(hf.Name)
		h[k] = append(h[k], hf.Value)
	}
	if len(cookies) > 0 {
		// RFC 9113 8.2.3: split cookie fields are joined for HTTP/1.1 semantics.
		h["Cookie"] = []string{strings.Join(cookies, "; ")}
	}
	if authority == "" {
		authority = h.Get("Host")
	}
	r := &http.Request{
		Method:     method,
		URL:        u,
		Proto:      "HTTP/2.0",
		ProtoMajor: 2,
		Header:     h,
		Body:       http.NoBody,
		Host:       authority,
		RemoteAddr: sc.remote,
		RequestURI: path,
	}
	if !f.StreamEnded() {
		r.ContentLength = -1
		if cl := h.Get("Content-Length"); cl != "" {
			if n, err := strconv.ParseInt(cl, 10, 64); err == nil && n >= 0 {
				r.ContentLength = n
			}
		}
	}
	for _, v := range h["Trailer"] {
		for _, k := range strings.Split(v, ",") {
			if k = http.CanonicalHeaderKey(strings.TrimSpace(k)); k != "" {
				if r.Trailer == nil {
					r.Trailer = make(http.Header)
				}
				r.Trailer[k] = nil
			}
		}
	}
	if r.Trailer == nil {
		r.Trailer = make(http.Header)
	}
	return r, nil
}

func (sc *serverConn) processData(f *http2.DataFrame) error {
	n := int32(f.Length)
	sc.mu.Lock()
	sc.unacked += n
	if sc.unacked >= connWindow/2 {
		sc.fr.WriteWindowUpdate(0, uint32(sc.unacked))
		sc.unacked = 0
	}
	st := sc.streams[f.StreamID]
	sc.mu.Unlock()
	if st == nil {
		if f.StreamID > sc.lastID {
			return errProtocol
		}
		// A stream that ended or was reset; its DATA may still be in flight.
		return nil
	}
	if st.body == nil {
		sc.resetStream(st.id, http2.ErrCodeStreamClosed)
		return nil
	}
	if !st.body.write(f.Data(), int(n)-len(f.Data()), streamWindow) {
		sc.resetStream(st.id, http2.ErrCodeFlowControl)
		return nil
	}
	if f.StreamEnded() {
		st.body.closeWithError(io.EOF)
	}
	return nil
}

// credit gives the client back n bytes of the stream's window, in batches.
func (sc *serverConn) credit(st *stream, n int) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if !st.reset && !sc.closed {
		sc.fr.WriteWindowUpdate(st.id, uint32(n))
	}
}

// resetStream sends RST_STREAM and ends the stream's request.
func (sc *serverConn) resetStream(id uint32, code http2.ErrCode) {
	sc.mu.Lock()
	st := sc.streams[id]
	if st != nil {
		if st.reset {
			sc.mu.Unlock()
			return
		}
		st.reset = true
		sc.cond.Broadcast()
	}
	if !sc.closed {
		sc.fr.WriteRSTStream(id, code)
	}
	sc.mu.Unlock()
	if st != nil {
		st.cancel()
		if st.body != nil {
			st.body.closeWithError(fmt.Errorf("h2c: stream reset (%v)", code))
		}
	}
}

// goAway tells the client no more streams will be served and why.
func (sc *serverConn) goAway(code http2.ErrCode) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if !sc.closed {
		sc.goingAway = true
		sc.fr.WriteGoAway(sc.lastID, code, nil)
	}
}

// shutdown starts a graceful close: GOAWAY, then close when the open
// streams end or after the grace period.
func (sc *serverConn) shutdown() {
	sc.goAway(http2.ErrCodeNo)
	sc.mu.Lock()
	idle := len(sc.streams) == 0
	if !idle && !sc.closed {
		sc.graceTimer = time.AfterFunc(shutdownGrace, func() { sc.c.Close() })
	}
	sc.mu.Unlock()
	if idle {
		sc.c.Close()
	}
}

// idle closes a connection that has had no stream for the idle timeout.
func (sc *serverConn) idle() {
	sc.mu.Lock()
	idle := len(sc.streams) == 0
	sc.mu.Unlock()
	if idle {
		sc.goAway(http2.ErrCodeNo)
		sc.c.Close()
	}
}

// close ends the connection once its reader stops: open streams are
// cancelled.
func (sc *serverConn) close() {
	sc.mu.Lock()
	sc.closed = true
	if sc.idleTimer != nil {
		sc.idleTimer.Stop()
	}
	if sc.graceTimer != nil {
		sc.graceTimer.Stop()
	}
	streams := make([]*stream, 0, len(sc.streams))
	for _, st := range sc.streams {
		streams = append(streams, st)
	}
	sc.cond.Broadcast()
	sc.mu.Unlock()
	sc.c.Close()
	for _, st := range streams {
		st.cancel()
		if st.body != nil {
			st.body.closeWithError(net.ErrClosed)
		}
	}
}

// endStream forgets a finished stream.
func (sc *serverConn) endStream(st *stream) {
	sc.mu.Lock()
	delete(sc.streams, st.id)
	left := len(sc.streams)
	if left == 0 && !sc.closed {
		if sc.goingAway {
			sc.mu.Unlock()
			sc.c.Close()
			return
		}
		sc.idleTimer.Reset(sc.srv.idleTimeout())
	}
	sc.mu.Unlock()
}

// run serves the stream's request on its own goroutine.
func (st *stream) run(r *http.Request) {
	w := &responseWriter{st: st, header: make(http.Header)}
	defer func() {
		if p := recover(); p != nil {
			// As net/http: a handler panic (http.ErrAbortHandler, say)
			// resets the stream.
			st.sc.resetStream(st.id, http2.ErrCodeInternal)
		} else {
			w.finish()
		}
		if st.body != nil {
			st.body.closeRead()
			// The client may still be sending: tell it to stop.
			if !st.body.ended() {
				st.sc.resetStream(st.id, http2.ErrCodeNo)
			}
		}
		st.cancel()
		st.sc.endStream(st)
	}()
	st.sc.srv.Handler.ServeHTTP(w, r)
}

var errStreamClosed = errors.New("h2c: stream closed")

// responseWriter is a stream's http.ResponseWriter (and http.Flusher).
type responseWriter struct {
	st          *stream
	header      http.Header
	status      int
	sentHeaders bool
	done        bool
}

func (w *responseWriter) Header() http.Header { return w.header }

func (w *responseWriter) WriteHeader(code int) {
	if w.sentHeaders || w.status != 0 {
		return
	}
	if code >= 100 && code < 200 {
		if code != http.StatusSwitchingProtocols {
			w.st.sc.writeHeaders(w.st, code, w.header, false)
		}
		return
	}
	w.status = code
}

func (w *responseWriter) Write(p []byte) (int, error) {
	if w.done {
		return 0, errStreamClosed
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
	return len(p), nil
}

func (w *responseWriter) Flush() { w.sendHeaders(false) }

func (w *responseWriter) sendHeaders(end bool) error {
	if w.sentHeaders {
		return nil
	}
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.sentHeaders = true
	return w.st.sc.writeHeaders(w.st, w.status, w.header, end)
}

// finish ends the response: trailers if the handler set any, else
// END_STREAM on the HEADERS or an empty DATA frame.
func (w *responseWriter) finish() {
	if w.done {
		return
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

// hopHeaders are connection-specific: never sent over HTTP/2.
var hopHeaders = map[string]bool{
	"Connection": true, "Keep-Alive": true, "Proxy-Connection": true,
	"Transfer-Encoding": true, "Upgrade": true, "Trailer": true,
}

// writeHeaders writes a HEADERS frame (and CONTINUATIONs): a response
// head when status > 0, trailers otherwise.
func (sc *serverConn) writeHeaders(st *stream, status int, h http.Header, end bool) error {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if st.reset || sc.closed {
		return errStreamClosed
	}
	sc.hbuf.Reset()
	if status > 0 {
		sc.enc.WriteField(hpack.HeaderField{Name: ":status", Value: strconv.Itoa(status)})
	}
	for k, vs := range h {
		if hopHeaders[k] || strings.HasPrefix(k, http.TrailerPrefix) {
			continue
		}
		name := lower(k)
		for _, v := range vs {
			sc.enc.WriteField(hpack.HeaderField{Name: name, Value: v})
		}
	}
	block := sc.hbuf.Bytes()
	first := true
	for first || len(block) > 0 {
		n := min(len(block), int(sc.maxFrame))
		frag := block[:n]
		block = block[n:]
		var err error
		if first {
			err = sc.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: st.id, BlockFragment: frag, EndStream: end, EndHeaders: len(block) == 0})
		} else {
			err = sc.fr.WriteContinuation(st.id, len(block) == 0, frag)
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
		if st.reset || sc.closed {
			return errStreamClosed
		}
		if len(p) == 0 {
			if end {
				return sc.fr.WriteData(st.id, true, nil)
			}
			return nil
		}
		n := min(int32(len(p)), st.sendWindow, sc.sendWindow, int32(sc.maxFrame))
		if n <= 0 {
			sc.cond.Wait()
			continue
		}
		st.sendWindow -= n
		sc.sendWindow -= n
		last := end && int(n) == len(p)
		if err := sc.fr.WriteData(st.id, last, p[:n]); err != nil {
			return err
		}
		p = p[n:]
		if last {
			return nil
		}
	}
}
