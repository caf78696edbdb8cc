package h2c

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// The tests in this file hold the server to RFC 9113 where the hand-made
// server that preceded it failed h2spec (section numbers are the RFC's):
// each fails on that server (commit 0fe19f6).

// get and post are a request's header fields.
var (
	get  = [][2]string{{":method", "GET"}, {":scheme", "http"}, {":authority", "x"}, {":path", "/"}}
	post = [][2]string{{":method", "POST"}, {":scheme", "http"}, {":authority", "x"}, {":path", "/"}}
)

// writeRequest sends a HEADERS frame with fields on stream id.
func writeRequest(t *testing.T, fr *http2.Framer, id uint32, end bool, fields [][2]string, prio http2.PriorityParam) {
	t.Helper()
	var hbuf bytes.Buffer
	enc := hpack.NewEncoder(&hbuf)
	for _, f := range fields {
		enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: hbuf.Bytes(), EndStream: end, EndHeaders: true, Priority: prio}); err != nil {
		t.Fatal(err)
	}
}

// streamError reads frames until RST_STREAM on stream id or GOAWAY, and
// returns which ("RST_STREAM", "GOAWAY") and its code.
func streamError(t *testing.T, fr *http2.Framer, c net.Conn, id uint32) (string, http2.ErrCode) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("no RST_STREAM or GOAWAY: %v", err)
		}
		switch f := f.(type) {
		case *http2.RSTStreamFrame:
			if f.StreamID == id {
				return "RST_STREAM", f.ErrCode
			}
		case *http2.GoAwayFrame:
			return "GOAWAY", f.ErrCode
		}
	}
}

// readResponse reads frames until stream id's END_STREAM.
func readResponse(t *testing.T, fr *http2.Framer, c net.Conn, id uint32) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("no end of stream %d: %v", id, err)
		}
		if f.Header().StreamID == id && f.Header().Flags.Has(http2.FlagDataEndStream) {
			return
		}
	}
}

// blocking serves with a handler that waits for its request's end; it
// counts the requests it saw.
func blocking(t *testing.T) (string, *atomic.Int32) {
	var n atomic.Int32
	addr, _ := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		<-r.Context().Done()
	}))
	return addr, &n
}

// 4.2: a frame above the SETTINGS_MAX_FRAME_SIZE the server advertised
// (the default 16384) is a connection error FRAME_SIZE_ERROR. The
// preceding server read up to 16 MiB.
func TestFrameAboveMaxFrameSize(t *testing.T) {
	addr, _ := blocking(t)
	fr, c := rawH2C(t, addr)
	writeRequest(t, fr, 1, false, post, http2.PriorityParam{})
	fr.WriteData(1, false, make([]byte, 16385))
	if code := goAwayCode(t, fr, c); code != http2.ErrCodeFrameSize {
		t.Fatalf("GOAWAY %v, want FRAME_SIZE_ERROR", code)
	}
}

// 5.1, 6.4, 6.9: frames other than HEADERS and PRIORITY on an idle stream
// are a connection error PROTOCOL_ERROR. The preceding server ignored
// RST_STREAM and WINDOW_UPDATE there.
func TestFramesOnIdleStream(t *testing.T) {
	addr, _ := blocking(t)
	for name, send := range map[string]func(*http2.Framer){
		"RST_STREAM":    func(fr *http2.Framer) { fr.WriteRSTStream(1, http2.ErrCodeCancel) },
		"WINDOW_UPDATE": func(fr *http2.Framer) { fr.WriteWindowUpdate(1, 100) },
		"DATA":          func(fr *http2.Framer) { fr.WriteData(1, true, []byte("x")) },
	} {
		fr, c := rawH2C(t, addr)
		send(fr)
		if code := goAwayCode(t, fr, c); code != http2.ErrCodeProtocol {
			t.Errorf("%s on an idle stream: GOAWAY %v, want PROTOCOL_ERROR", name, code)
		}
	}
}

// 5.1: a stream the client ended (half-closed, remote) takes no more
// HEADERS: stream error STREAM_CLOSED. The preceding server took them as
// trailers and answered PROTOCOL_ERROR.
func TestHeadersOnHalfClosedStream(t *testing.T) {
	addr, _ := blocking(t)
	fr, c := rawH2C(t, addr)
	writeRequest(t, fr, 1, true, get, http2.PriorityParam{})
	writeRequest(t, fr, 1, true, get, http2.PriorityParam{})
	if kind, code := streamError(t, fr, c, 1); code != http2.ErrCodeStreamClosed {
		t.Fatalf("%s %v, want STREAM_CLOSED", kind, code)
	}
}

// 5.1: DATA on a closed stream is a stream error STREAM_CLOSED, HEADERS a
// connection error STREAM_CLOSED; whether the client reset the stream or
// the exchange completed. The preceding server ignored the DATA, and
// took the HEADERS as trailers or answered PROTOCOL_ERROR.
func TestFramesOnClosedStream(t *testing.T) {
	addr, _ := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, "ok")
	}))
	closeByReset := func(t *testing.T, fr *http2.Framer, _ net.Conn) {
		writeRequest(t, fr, 1, false, post, http2.PriorityParam{})
		fr.WriteRSTStream(1, http2.ErrCodeCancel)
	}
	closeByExchange := func(t *testing.T, fr *http2.Framer, c net.Conn) {
		writeRequest(t, fr, 1, true, get, http2.PriorityParam{})
		readResponse(t, fr, c, 1)
	}
	for _, tc := range []struct {
		name     string
		close    func(*testing.T, *http2.Framer, net.Conn)
		send     func(*http2.Framer)
		wantKind string // "": RST_STREAM or GOAWAY
	}{
		{"DATA after RST_STREAM", closeByReset, func(fr *http2.Framer) { fr.WriteData(1, true, []byte("test")) }, ""},
		{"HEADERS after RST_STREAM", closeByReset, func(fr *http2.Framer) { writeRequest(t, fr, 1, true, get, http2.PriorityParam{}) }, ""},
		{"DATA after the exchange", closeByExchange, func(fr *http2.Framer) { fr.WriteData(1, true, []byte("test")) }, ""},
		{"HEADERS after the exchange", closeByExchange, func(fr *http2.Framer) { writeRequest(t, fr, 1, true, get, http2.PriorityParam{}) }, "GOAWAY"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fr, c := rawH2C(t, addr)
			tc.close(t, fr, c)
			tc.send(fr)
			kind, code := streamError(t, fr, c, 1)
			if code != http2.ErrCodeStreamClosed || (tc.wantKind != "" && kind != tc.wantKind) {
				t.Fatalf("%s %v, want %s STREAM_CLOSED", kind, code, tc.wantKind)
			}
		})
	}
}

// 5.3.1: a stream cannot depend on itself: stream error PROTOCOL_ERROR, in
// HEADERS (and the request is not served) or in PRIORITY. The preceding
// server ignored priorities.
func TestSelfDependency(t *testing.T) {
	addr, served := blocking(t)
	fr, c := rawH2C(t, addr)
	writeRequest(t, fr, 1, true, get, http2.PriorityParam{StreamDep: 1, Weight: 15})
	if kind, code := streamError(t, fr, c, 1); kind != "RST_STREAM" || code != http2.ErrCodeProtocol {
		t.Errorf("HEADERS depending on itself: %s %v, want RST_STREAM PROTOCOL_ERROR", kind, code)
	}
	fr.WritePriority(3, http2.PriorityParam{StreamDep: 3, Weight: 15})
	if kind, code := streamError(t, fr, c, 3); kind != "RST_STREAM" || code != http2.ErrCodeProtocol {
		t.Errorf("PRIORITY depending on itself: %s %v, want RST_STREAM PROTOCOL_ERROR", kind, code)
	}
	if n := served.Load(); n != 0 {
		t.Errorf("the handler served %d requests", n)
	}
}

// 6.5.2: settings out of their ranges are connection errors; the
// preceding server acknowledged them.
func TestSettingsOutOfRange(t *testing.T) {
	addr, _ := blocking(t)
	for _, tc := range []struct {
		s    http2.Setting
		want http2.ErrCode
	}{
		{http2.Setting{ID: http2.SettingEnablePush, Val: 2}, http2.ErrCodeProtocol},
		{http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 31}, http2.ErrCodeFlowControl},
	} {
		fr, c := rawH2C(t, addr, tc.s)
		if code := goAwayCode(t, fr, c); code != tc.want {
			t.Errorf("%v: GOAWAY %v, want %v", tc.s, code, tc.want)
		}
	}
}

// 6.9.1: a WINDOW_UPDATE that takes a stream's window above 2^31-1 is a
// stream error FLOW_CONTROL_ERROR; the preceding server wrapped it.
func TestStreamWindowOverflow(t *testing.T) {
	addr, _ := blocking(t)
	fr, c := rawH2C(t, addr)
	writeRequest(t, fr, 1, true, get, http2.PriorityParam{})
	fr.WriteWindowUpdate(1, 1<<31-1)
	if kind, code := streamError(t, fr, c, 1); kind != "RST_STREAM" || code != http2.ErrCodeFlowControl {
		t.Fatalf("%s %v, want RST_STREAM FLOW_CONTROL_ERROR", kind, code)
	}
}

// 8.1.1, 8.2.2, 8.3.1: a malformed request is a stream error
// PROTOCOL_ERROR and never reaches the handler. The preceding server
// served a request without :scheme, and the others here.
func TestMalformedRequests(t *testing.T) {
	addr, served := blocking(t)
	without := func(name string) [][2]string {
		var fs [][2]string
		for _, f := range post {
			if f[0] != name {
				fs = append(fs, f)
			}
		}
		return fs
	}
	with := func(name, value string) [][2]string {
		return append(append([][2]string(nil), get...), [2]string{name, value})
	}
	for name, fields := range map[string][][2]string{
		"no :scheme":              without(":scheme"),
		"no :method":              without(":method"),
		"no :path":                without(":path"),
		":scheme ftp":             {{":method", "GET"}, {":scheme", "ftp"}, {":authority", "x"}, {":path", "/"}},
		"relative :path":          {{":method", "GET"}, {":scheme", "http"}, {":authority", "x"}, {":path", "a/b"}},
		"userinfo":                {{":method", "GET"}, {":scheme", "http"}, {":authority", "u@x"}, {":path", "/"}},
		":protocol":               append(append([][2]string(nil), get...), [2]string{":protocol", "websocket"}),
		"connection":              with("connection", "keep-alive"),
		"transfer-encoding":       with("transfer-encoding", "chunked"),
		"te: gzip":                with("te", "gzip"),
		"two content-lengths":     append(with("content-length", "1"), [2]string{"content-length", "2"}),
		"content-length, no body": with("content-length", "3"),
	} {
		fr, c := rawH2C(t, addr)
		writeRequest(t, fr, 1, name != "two content-lengths", fields, http2.PriorityParam{})
		if kind, code := streamError(t, fr, c, 1); kind != "RST_STREAM" || code != http2.ErrCodeProtocol {
			t.Errorf("%s: %s %v, want RST_STREAM PROTOCOL_ERROR", name, kind, code)
		}
	}
	if n := served.Load(); n != 0 {
		t.Errorf("the handler served %d malformed requests", n)
	}
}

// 8.1.1: a request body longer or shorter than its Content-Length is
// malformed: the stream is reset with PROTOCOL_ERROR and the handler's
// read fails. The preceding server passed the body on.
func TestContentLengthMismatch(t *testing.T) {
	addr, readErr := bodyReader(t)
	for name, data := range map[string][]string{
		"longer":                 {"test"},
		"longer over two frames": {"te", "st"},
		"shorter":                {"te"},
	} {
		fr, c := rawH2C(t, addr)
		writeRequest(t, fr, 1, false, append(append([][2]string(nil), post...), [2]string{"content-length", "3"}), http2.PriorityParam{})
		for i, d := range data {
			fr.WriteData(1, i == len(data)-1, []byte(d))
		}
		if kind, code := streamError(t, fr, c, 1); kind != "RST_STREAM" || code != http2.ErrCodeProtocol {
			t.Errorf("%s: %s %v, want RST_STREAM PROTOCOL_ERROR", name, kind, code)
		}
		select {
		case err := <-readErr:
			if err == nil {
				t.Errorf("%s: the handler read the body without error", name)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: the body read did not end", name)
		}
	}
}

// The connection's window bounds what all of its streams buffer: a client
// that sends more than 1 MiB that no handler reads commits a connection
// error FLOW_CONTROL_ERROR. The preceding server granted 1 GiB per
// connection.
func TestConnectionWindowBoundsBuffering(t *testing.T) {
	addr, _ := blocking(t)
	fr, c := rawH2C(t, addr)
	go func() {
		chunk := make([]byte, 16<<10)
		for _, id := range []uint32{1, 3} {
			writeRequest(t, fr, id, false, post, http2.PriorityParam{})
			for range (1 << 20) / len(chunk) {
				if fr.WriteData(id, false, chunk) != nil {
					return
				}
			}
		}
	}()
	if code := goAwayCode(t, fr, c); code != http2.ErrCodeFlowControl {
		t.Fatalf("GOAWAY %v, want FLOW_CONTROL_ERROR", code)
	}
}

// A client that resets its stream in the middle of a body makes the
// handler's read fail with an error that says "stream reset": what the
// proxy counts as the client's abort (499). The preceding server's said
// "client reset the stream", which the proxy counted as a malformed body.
func TestClientResetIsAnAbort(t *testing.T) {
	addr, readErr := bodyReader(t)
	fr, _ := rawH2C(t, addr)
	writeRequest(t, fr, 1, false, post, http2.PriorityParam{})
	fr.WriteData(1, false, []byte("half"))
	time.Sleep(50 * time.Millisecond)
	fr.WriteRSTStream(1, http2.ErrCodeCancel)
	select {
	case err := <-readErr:
		if err == nil || !strings.Contains(err.Error(), "stream reset") {
			t.Fatalf("body read after the client's reset: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the body read did not fail")
	}
}

// "Expect: 100-continue" is answered with 100 Continue when the handler
// first reads the body, and not passed on (as x/net's server).
func TestExpectContinue(t *testing.T) {
	var expect atomic.Value
	addr, _ := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		expect.Store(r.Header.Get("Expect"))
		io.Copy(io.Discard, r.Body)
	}))
	fr, c := rawH2C(t, addr)
	writeRequest(t, fr, 1, false, append(append([][2]string(nil), post...), [2]string{"expect", "100-continue"}), http2.PriorityParam{})
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("no 100 Continue: %v", err)
		}
		if h, ok := f.(*http2.MetaHeadersFrame); ok {
			if s := h.PseudoValue("status"); s != "100" {
				t.Fatalf("status %s before the body, want 100", s)
			}
			break
		}
	}
	fr.WriteData(1, true, []byte("body"))
	readResponse(t, fr, c, 1)
	if got := expect.Load(); got != "" {
		t.Errorf("the handler saw Expect %q", got)
	}
}

// 6.8: a client's GOAWAY ends the connection gracefully: frames it sent
// after it are still read and answered (a PING here) before the server
// closes. The preceding server closed at once, and the client's PING met
// a TCP reset.
func TestClientGoAwayThenPing(t *testing.T) {
	addr, _ := blocking(t)
	fr, c := rawH2C(t, addr)
	fr.WriteGoAway(0, http2.ErrCodeNo, nil)
	data := [8]byte{'h', '2', 's', 'p', 'e', 'c'}
	fr.WritePing(false, data)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("no PING ACK: %v", err)
		}
		if p, ok := f.(*http2.PingFrame); ok && p.IsAck() && p.Data == data {
			return
		}
	}
}

// A gRPC request's context ends at the deadline its grpc-timeout sets (as
// in a gRPC server); a malformed grpc-timeout, or one on a request that is
// not gRPC, sets none.
func TestGRPCTimeoutDeadline(t *testing.T) {
	deadlines := make(chan time.Duration, 1)
	addr, _ := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, ok := r.Context().Deadline()
		if !ok {
			d = time.Time{}
		}
		deadlines <- time.Until(d)
	}))
	for _, tc := range []struct {
		ctype, timeout string
		want           time.Duration // 0: no deadline
	}{
		{"application/grpc", "3S", 3 * time.Second},
		{"application/grpc+proto", "1500m", 1500 * time.Millisecond},
		{"application/grpc", "99999999H", 0},
		{"application/grpc", "123456789S", 0},
		{"application/grpc", "-1S", 0},
		{"application/grpc", "5x", 0},
		{"text/plain", "3S", 0},
	} {
		req, _ := http.NewRequest("POST", "http://x/svc/M", strings.NewReader(""))
		req.Header.Set("Content-Type", tc.ctype)
		req.Header.Set("Grpc-Timeout", tc.timeout)
		resp, err := client(addr).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		left := <-deadlines
		switch {
		case tc.want == 0 && left > -time.Hour:
			t.Errorf("%s %s: a deadline %v away, want none", tc.ctype, tc.timeout, left)
		case tc.want > 0 && (left > tc.want || left < tc.want-time.Second):
			t.Errorf("%s %s: a deadline %v away, want %v", tc.ctype, tc.timeout, left, tc.want)
		}
	}
}

// Handlers of reset streams still count: a client that opens and resets
// streams in a loop, against handlers slow to notice, gets REFUSED_STREAM
// once 1,000 of them run, rather than starting handlers without end.
func TestResetStreamsBoundHandlers(t *testing.T) {
	release := make(chan struct{})
	var running atomic.Int32
	addr, _ := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		running.Add(1)
		<-release // not the request's context: a handler slow to notice
	}))
	defer close(release)
	fr, c := rawH2C(t, addr)
	id := uint32(1)
	for ; id < 2*maxHandlers; id += 2 {
		writeRequest(t, fr, id, true, get, http2.PriorityParam{})
		fr.WriteRSTStream(id, http2.ErrCodeCancel)
	}
	writeRequest(t, fr, id, true, get, http2.PriorityParam{})
	if kind, code := streamError(t, fr, c, id); kind != "RST_STREAM" || code != http2.ErrCodeRefusedStream {
		t.Fatalf("stream %d with %d handlers running: %s %v, want RST_STREAM REFUSED_STREAM", id, running.Load(), kind, code)
	}
	for deadline := time.Now().Add(5 * time.Second); running.Load() < maxHandlers && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if n := running.Load(); n != maxHandlers {
		t.Errorf("%d handlers ran, want %d", n, maxHandlers)
	}
}

// bodyReader serves a handler that reads each request's body to its end
// and sends what the read ended with (nil: the whole body) on the channel.
func bodyReader(t *testing.T) (addr string, readErr <-chan error) {
	errs := make(chan error, 1)
	addr, _ = serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := io.ReadAll(r.Body)
		errs <- err
	}))
	return addr, errs
}

// A read after the handler closed the body fails: were it io.EOF, a
// Transport still sending the body upstream would end that request as if
// the body were whole, truncated.
func TestBodyReadAfterCloseFails(t *testing.T) {
	done := make(chan error, 1)
	addr, _ := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body.Close()
		_, err := r.Body.Read(make([]byte, 10))
		done <- err
	}))
	resp, err := client(addr).Post("http://x/", "text/plain", io.LimitReader(neverEnding('x'), 1<<16))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := <-done; err == nil || err == io.EOF {
		t.Errorf("a read after Close returned %v, want an error", err)
	}
}
