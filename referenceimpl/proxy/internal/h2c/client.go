package h2c

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/http/httpguts"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// Transport sends requests over HTTP/2 prior-knowledge cleartext connections, pooled per r.URL.Host.
//
// It is leaner than net/http's HTTP/2 transport: a request without a body
// is written by the calling goroutine, which then waits for the
// connection's reader goroutine to hand over the response; only a request
// body gets a goroutine of its own. A Transport is safe for concurrent use.
type Transport struct {
	// Dial opens a connection (required).
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// IdleTimeout closes a connection that has had no stream for this long (0: 90 s).
	IdleTimeout time.Duration

	mu    sync.Mutex
	pools map[string]*clPool // by dial address
}

const (
	// clStreamWindow is the receive window of every stream, advertised
	// in SETTINGS: the most response body one stream buffers. With 4 MiB,
	// 100 streams whose client did not read made the proxy hold 450 MB;
	// with this, 100 such streams hold at most 25 MiB.
	clStreamWindow = 256 << 10
	// clStreamRefresh is how much consumed body a stream gathers before
	// returning it to the peer in a WINDOW_UPDATE.
	clStreamRefresh = clStreamWindow / 4
	// clConnWindow is the connection's receive window; the stream windows
	// bound what is buffered, this one only needs not to get in the way.
	clConnWindow = 1 << 30
	// clConnRefresh is how much received data the connection gathers
	// before returning it to the peer.
	clConnRefresh = 16 << 20
	// clMaxHeaderList bounds a response header (and trailer) list.
	clMaxHeaderList = 10 << 20
	// clMaxReadFrame is the largest frame read: the default
	// SETTINGS_MAX_FRAME_SIZE, which the client does not raise.
	clMaxReadFrame = 16 << 10
	// clDefaultMaxStreams is the concurrency assumed of a server until its
	// SETTINGS say otherwise.
	clDefaultMaxStreams = 100
	clDefaultIdle       = 90 * time.Second
	// clMaxAttempts bounds how many connections a request is tried on.
	clMaxAttempts = 4
	// clInitialWindow is the HTTP/2 default initial window.
	clInitialWindow = 65535
	// clWriteErrorGrace is how long the reader may go on reading after a
	// write failed.
	clWriteErrorGrace = time.Second
)

var (
	errClientBodyClosed = errors.New("h2c: response body closed")
	errClientConnClosed = errors.New("h2c: connection closed")
	// errClientStreamDone stops a request body writer whose stream ended.
	errClientStreamDone = errors.New("h2c: stream closed")
)

// clRetryError marks a failure of a request that the server did not
// process, so that it can be sent again on another connection.
type clRetryError struct {
	err error
	// bodyUnused: the request body was not touched.
	bodyUnused bool
}

func (e *clRetryError) Error() string { return e.err.Error() }
func (e *clRetryError) Unwrap() error { return e.err }

// clConnError is a connection error: the client sends GOAWAY with code and
// closes the connection.
type clConnError struct {
	code   http2.ErrCode
	reason string
}

func (e clConnError) Error() string {
	return fmt.Sprintf("h2c: connection error %v: %s", e.code, e.reason)
}

// RoundTrip sends r and returns the response once its header has arrived;
// the body and trailers arrive as Body is read.
func (t *Transport) RoundTrip(r *http.Request) (*http.Response, error) {
	hasBody := r.Body != nil && r.Body != http.NoBody
	if err := clCheckRequest(r); err != nil {
		if r.Body != nil {
			r.Body.Close()
		}
		return nil, err
	}
	addr := r.URL.Host
	if strings.LastIndexByte(addr, ':') <= strings.LastIndexByte(addr, ']') {
		addr = net.JoinHostPort(strings.Trim(addr, "[]"), "80")
	}
	var avoid *clConn
	for attempt := 1; ; attempt++ {
		cc, err := t.getConn(r.Context(), addr, avoid)
		if err != nil {
			if r.Body != nil {
				r.Body.Close()
			}
			return nil, err
		}
		resp, err := cc.roundTrip(r, hasBody)
		if err == nil {
			return resp, nil
		}
		re, ok := err.(*clRetryError)
		if !ok {
			return nil, err
		}
		if attempt == clMaxAttempts || hasBody && !re.bodyUnused && r.GetBody == nil {
			if re.bodyUnused && r.Body != nil {
				r.Body.Close()
			}
			return nil, re.err
		}
		if hasBody && !re.bodyUnused {
			body, err := r.GetBody()
			if err != nil {
				return nil, fmt.Errorf("h2c: rewinding request body to retry after %v: %w", re.err, err)
			}
			nr := *r
			nr.Body = body
			r = &nr
		}
		avoid = cc
	}
}

// CloseIdleConnections closes the connections that carry no stream.
func (t *Transport) CloseIdleConnections() {
	var idle []*clConn
	t.mu.Lock()
	for addr, p := range t.pools {
		kept := p.conns[:0]
		for _, cc := range p.conns {
			if cc.retireIfIdle() {
				idle = append(idle, cc)
			} else {
				kept = append(kept, cc)
			}
		}
		clear(p.conns[len(kept):])
		p.conns = kept
		if len(kept) == 0 && p.dial == nil {
			delete(t.pools, addr)
		}
	}
	t.mu.Unlock()
	for _, cc := range idle {
		cc.nc.Close()
	}
}

// clPool holds the connections to one address.
type clPool struct {
	conns []*clConn
	dial  *clDial // in progress, or nil
}

// clDial is a connection being dialed; requests that find no room on the
// existing connections wait for it rather than dial their own.
type clDial struct {
	done chan struct{}
	err  error
	// canceled: the dial failed because its requester's context ended,
	// which says nothing about the other requests.
	canceled bool
}

// getConn returns a connection to addr, other than avoid, with a stream
// reserved on it.
func (t *Transport) getConn(ctx context.Context, addr string, avoid *clConn) (*clConn, error) {
	for {
		t.mu.Lock()
		if t.pools == nil {
			t.pools = make(map[string]*clPool)
		}
		p := t.pools[addr]
		if p == nil {
			p = &clPool{}
			t.pools[addr] = p
		}
		for _, cc := range p.conns {
			if cc != avoid && cc.reserve() {
				t.mu.Unlock()
				return cc, nil
			}
		}
		if d := p.dial; d != nil {
			t.mu.Unlock()
			select {
			case <-d.done:
			case <-ctx.Done():
				return nil, fmt.Errorf("h2c: waiting for a connection to %s: %w", addr, ctx.Err())
			}
			if d.err != nil && !d.canceled {
				return nil, d.err
			}
			continue
		}
		d := &clDial{done: make(chan struct{})}
		p.dial = d
		t.mu.Unlock()

		cc, err := t.dial(ctx, addr)
		t.mu.Lock()
		p.dial = nil
		if err == nil {
			if !cc.reserve() {
				err = fmt.Errorf("h2c: %s allows no streams", addr)
				cc.nc.Close()
			} else {
				p.conns = append(p.conns, cc)
			}
		}
		if err != nil && len(p.conns) == 0 {
			delete(t.pools, addr)
		}
		d.err, d.canceled = err, err != nil && ctx.Err() != nil
		close(d.done)
		t.mu.Unlock()
		if err != nil {
			return nil, err
		}
		return cc, nil
	}
}

// removeConn takes cc out of its pool.
func (t *Transport) removeConn(cc *clConn) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.pools[cc.addr]
	if p == nil {
		return
	}
	if i := slices.Index(p.conns, cc); i >= 0 {
		p.conns = slices.Delete(p.conns, i, i+1)
	}
	if len(p.conns) == 0 && p.dial == nil {
		delete(t.pools, cc.addr)
	}
}

// dial opens a connection to addr, sends the preface and the client's
// settings and starts its reader.
func (t *Transport) dial(ctx context.Context, addr string) (*clConn, error) {
	if t.Dial == nil {
		return nil, errors.New("h2c: Transport.Dial is nil")
	}
	nc, err := t.Dial(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("h2c: dial %s: %w", addr, err)
	}
	idle := t.IdleTimeout
	if idle <= 0 {
		idle = clDefaultIdle
	}
	cc := &clConn{
		t:          t,
		addr:       addr,
		nc:         nc,
		br:         bufio.NewReaderSize(nc, 16<<10),
		maxFrame:   clMaxReadFrame,
		streams:    make(map[uint32]*clStream),
		nextID:     1,
		maxStreams: clDefaultMaxStreams,
		initWin:    clInitialWindow,
		sendWin:    clInitialWindow,
		idle:       idle,
		idleSince:  time.Now(),
		recvAvail:  clConnWindow,
	}
	cc.flow.L = &cc.mu
	cc.fr = http2.NewFramer(&cc.wbuf, cc.br)
	cc.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	cc.fr.MaxHeaderListSize = clMaxHeaderList
	cc.fr.SetMaxReadFrameSize(clMaxReadFrame)
	cc.fr.SetReuseFrames()
	cc.enc = hpack.NewEncoder(&cc.hbuf)

	cc.wmu.Lock()
	cc.wbuf.WriteString(http2.ClientPreface)
	_ = cc.fr.WriteSettings(
		http2.Setting{ID: http2.SettingEnablePush, Val: 0},
		http2.Setting{ID: http2.SettingInitialWindowSize, Val: clStreamWindow},
		http2.Setting{ID: http2.SettingMaxHeaderListSize, Val: clMaxHeaderList},
	)
	_ = cc.fr.WriteWindowUpdate(0, clConnWindow-clInitialWindow)
	err = cc.flushLocked()
	cc.wmu.Unlock()
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("h2c: writing preface to %s: %w", addr, err)
	}
	cc.mu.Lock()
	cc.idleTimer = time.AfterFunc(idle, cc.onIdleTimer)
	cc.mu.Unlock()
	go cc.readLoop()
	return cc, nil
}

// clConn is one connection. Lock order: wmu, then mu, then a stream's mu;
// the Transport's mu comes before mu.
type clConn struct {
	t    *Transport
	addr string
	nc   net.Conn
	br   *bufio.Reader
	// fr reads frames on the reader goroutine and writes them, into wbuf,
	// under wmu.
	fr *http2.Framer

	// wmu serializes writes and guards the encoder, the buffers, maxFrame,
	// lower, werr and the streams' wdone.
	wmu      sync.Mutex
	enc      *hpack.Encoder // writes into hbuf
	hbuf     bytes.Buffer   // a header block being encoded
	wbuf     bytes.Buffer   // frames to write to nc in one Write
	maxFrame uint32         // the peer's SETTINGS_MAX_FRAME_SIZE
	werr     error          // the first write error; the connection is dead

	mu         sync.Mutex
	flow       sync.Cond // on mu: a send window grew, or a stream or the connection ended
	streams    map[uint32]*clStream
	nextID     uint32
	inuse      int    // streams open or reserved
	maxStreams uint32 // the peer's SETTINGS_MAX_CONCURRENT_STREAMS
	initWin    int64  // the peer's SETTINGS_INITIAL_WINDOW_SIZE
	sendWin    int64  // the connection's send window
	draining   bool   // no new streams
	closed     bool   // the reader has stopped
	idle       time.Duration
	idleSince  time.Time // when inuse last became 0
	idleTimer  *time.Timer

	// Owned by the reader goroutine.
	recvAvail  int64       // connection window left to the peer
	recvUnsent int64       // received data not yet returned to the peer
	pending    []*clStream // streams to wake before the reader blocks
}

// clStream is one request and its response; it is also the response Body.
type clStream struct {
	cc   *clConn
	id   uint32
	req  *http.Request
	ctx  context.Context
	head bool // HEAD request
	wake chan struct{}

	// Under cc.wmu.
	wdone bool // no more frames may be written on the stream

	// Under cc.mu.
	sendWin  int64
	sendDone bool          // END_STREAM or RST_STREAM sent, or the stream failed
	recvDone bool          // END_STREAM received, or the stream failed
	body     io.ReadCloser // the request body, until closed

	mu        sync.Mutex
	resp      *http.Response
	err       error // io.EOF once the response is complete, or why it failed
	buf       clBuffer
	trailer   http.Header // received trailers, moved to resp.Trailer at EOF
	closed    bool        // Body.Close was called
	unsent    int64       // consumed body not yet returned to the peer
	recvAvail int64       // stream window left to the peer
	clen      int64       // declared response content length, or -1
	got       int64       // response body bytes received

	// Owned by the reader goroutine.
	gotHead bool // the final response header arrived
	ended   bool // END_STREAM received
	queued  bool // in cc.pending
}

// reserve takes room for one stream on cc.
func (cc *clConn) reserve() bool {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.draining || cc.closed || cc.inuse >= int(cc.maxStreams) {
		return false
	}
	cc.inuse++
	return true
}

// releaseLocked gives back a stream's room and reports whether the
// connection is now to be closed. cc.mu is held.
func (cc *clConn) releaseLocked() bool {
	cc.inuse--
	if cc.inuse > 0 {
		return false
	}
	cc.idleSince = time.Now()
	return cc.draining && !cc.closed
}

// retireIfIdle stops new streams on cc if it has none, and reports
// whether it did (or cc is dead).
func (cc *clConn) retireIfIdle() bool {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.inuse == 0 || cc.closed {
		cc.draining = true
		return true
	}
	return false
}

// shutdown closes a connection that has no stream left.
func (cc *clConn) shutdown() {
	cc.t.removeConn(cc)
	cc.nc.Close()
}

// onIdleTimer closes cc if it has been idle for its idle timeout, else
// sets the timer for when it could be.
func (cc *clConn) onIdleTimer() {
	cc.mu.Lock()
	if cc.closed || cc.draining {
		cc.mu.Unlock()
		return
	}
	next := cc.idle
	if cc.inuse == 0 {
		idle := time.Since(cc.idleSince)
		if idle >= cc.idle {
			cc.draining = true
			cc.mu.Unlock()
			cc.shutdown()
			return
		}
		next = cc.idle - idle
	}
	cc.idleTimer.Reset(next)
	cc.mu.Unlock()
}

// flushLocked writes the frames in wbuf. cc.wmu is held.
func (cc *clConn) flushLocked() error {
	if cc.werr != nil {
		cc.wbuf.Reset()
		return cc.werr
	}
	_, err := cc.nc.Write(cc.wbuf.Bytes())
	if cc.wbuf.Cap() > 1<<20 {
		cc.wbuf = bytes.Buffer{}
	} else {
		cc.wbuf.Reset()
	}
	if err != nil {
		cc.werr = err
		// A broken connection fails the reader too, which then fails
		// every stream, but only after the frames already received:
		// a GOAWAY among them makes the streams it refused retryable.
		// The reader is stopped if it is still waiting after a while.
		time.AfterFunc(clWriteErrorGrace, func() { cc.nc.Close() })
	}
	return err
}

// roundTrip sends r on a stream reserved on cc and waits for the response
// header.
func (cc *clConn) roundTrip(r *http.Request, hasBody bool) (*http.Response, error) {
	s := &clStream{
		cc:        cc,
		req:       r,
		ctx:       r.Context(),
		head:      r.Method == http.MethodHead,
		wake:      make(chan struct{}, 1),
		recvAvail: clStreamWindow,
		clen:      -1,
	}
	s.buf.chunks = s.buf.inline[:0]

	cc.wmu.Lock()
	cc.mu.Lock()
	if cc.draining || cc.closed || cc.werr != nil {
		closeNow := cc.releaseLocked()
		cc.mu.Unlock()
		cc.wmu.Unlock()
		if closeNow {
			cc.shutdown()
		}
		return nil, &clRetryError{err: errClientConnClosed, bodyUnused: true}
	}
	s.id = cc.nextID
	cc.nextID += 2
	if cc.nextID > math.MaxInt32 {
		cc.draining = true
	}
	s.sendWin = cc.initWin
	s.sendDone = !hasBody
	if hasBody {
		s.body = r.Body
	}
	cc.streams[s.id] = s
	cc.mu.Unlock()

	cc.encodeRequestLocked(r, hasBody)
	cc.writeHeaderBlockLocked(s.id, !hasBody)
	s.wdone = !hasBody
	// A failed write closes the connection; the reader then fails s.
	werr := cc.flushLocked()
	cc.wmu.Unlock()
	if werr == nil && hasBody {
		go s.writeBody()
	}
	return s.awaitResponse()
}

// awaitResponse waits for the response header of s.
func (s *clStream) awaitResponse() (*http.Response, error) {
	for {
		s.mu.Lock()
		resp, err := s.resp, s.err
		s.mu.Unlock()
		if resp != nil {
			return resp, nil
		}
		if err != nil {
			return nil, err
		}
		select {
		case <-s.wake:
		case <-s.ctx.Done():
			err := fmt.Errorf("h2c: request canceled: %w", s.ctx.Err())
			s.cc.abortStream(s, true, http2.ErrCodeCancel, err)
			return nil, err
		}
	}
}

// signal wakes the goroutine waiting on s, if any.
func (s *clStream) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

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

// clChunk is a piece of a response body buffer.
type clChunk struct {
	b    [16 << 10]byte
	r, w int
}

var clChunks = sync.Pool{New: func() any { return new(clChunk) }}

// clBuffer is a response body received and not yet read, in pooled
// chunks.
type clBuffer struct {
	chunks []*clChunk
	inline [2]*clChunk // chunks' first backing array
	n      int
}

func (b *clBuffer) write(p []byte) {
	b.n += len(p)
	for len(p) > 0 {
		var c *clChunk
		if k := len(b.chunks); k > 0 && b.chunks[k-1].w < len(b.chunks[k-1].b) {
			c = b.chunks[k-1]
		} else {
			c = clChunks.Get().(*clChunk)
			b.chunks = append(b.chunks, c)
		}
		n := copy(c.b[c.w:], p)
		c.w += n
		p = p[n:]
	}
}

func (b *clBuffer) read(p []byte) int {
	total := 0
	for len(p) > 0 && len(b.chunks) > 0 {
		c := b.chunks[0]
		n := copy(p, c.b[c.r:c.w])
		c.r += n
		p = p[n:]
		total += n
		if c.r == c.w {
			c.r, c.w = 0, 0
			clChunks.Put(c)
			k := copy(b.chunks, b.chunks[1:])
			b.chunks[k] = nil
			b.chunks = b.chunks[:k]
		}
	}
	b.n -= total
	return total
}

func (b *clBuffer) release() {
	for i, c := range b.chunks {
		c.r, c.w = 0, 0
		clChunks.Put(c)
		b.chunks[i] = nil
	}
	b.chunks = b.chunks[:0]
	b.n = 0
}
