package httpproxy

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"strings"
	"sync"

	"golang.org/x/net/http/httpguts"
)

// relay does for every request but a protocol upgrade what
// httputil.ReverseProxy does in Rewrite mode (upgrades still go through
// it): it sends a copy of r without its hop-by-hop headers through
// RoundTrip, then copies the answer (1xx, header, body, trailers) to w.
// It skips ReverseProxy's per-request work that a sidecar does not need:
// dropping the X-Forwarded headers only to copy them back, a media type
// parse of every response's Content-Type, and removing hop-by-hop headers
// one Header.Del (and key canonicalization) at a time.
func (h *Handler) relay(w http.ResponseWriter, r *http.Request, ctx context.Context, p *plan) {
	out := r.Clone(ctx)
	if r.ContentLength == 0 {
		out.Body = nil
	}
	var body *clientBody
	if out.Body != nil {
		body = &clientBody{ReadCloser: out.Body}
		out.Body = body
		defer body.Close()
	}
	out.Close = false
	te := httpguts.HeaderValuesContainsToken(r.Header["Te"], "trailers")
	removeHopHeaders(out.Header)
	if te {
		out.Header["Te"] = teTrailers
	}
	if _, ok := out.Header["User-Agent"]; !ok {
		out.Header["User-Agent"] = noUserAgent // the Transport adds none
	}
	rewriteOut(out, r, p)
	p.got1xx = func(code int, header textproto.MIMEHeader) error {
		wh := w.Header()
		copyHeader(wh, http.Header(header))
		w.WriteHeader(code)
		clear(wh)
		return nil
	}

	res, err := h.RoundTrip(out)
	if err != nil {
		if err := body.failed(); err != nil {
			h.clientBodyFailed(w, p, err)
			return
		}
		h.errorHandler(w, out, err)
		return
	}
	removeHopHeaders(res.Header)
	h.modifyResponse(res)
	copyHeader(w.Header(), res.Header)
	announced := len(res.Trailer)
	if announced > 0 {
		keys := make([]string, 0, announced)
		for k := range res.Trailer {
			keys = append(keys, k)
		}
		w.Header().Add("Trailer", strings.Join(keys, ", "))
	}
	w.WriteHeader(res.StatusCode)
	if err := copyBody(w, res); err != nil {
		res.Body.Close()
		// As ReverseProxy: abort the response, the client must not take a
		// truncated body for a whole one.
		panic(http.ErrAbortHandler)
	}
	res.Body.Close()
	if len(res.Trailer) > 0 {
		http.NewResponseController(w).Flush()
	}
	if len(res.Trailer) == announced {
		copyHeader(w.Header(), res.Trailer)
		return
	}
	for k, vs := range res.Trailer {
		k = http.TrailerPrefix + k
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
}

var (
	teTrailers  = []string{"trailers"}
	noUserAgent = []string{""}
)

// hopHeaders are the hop-by-hop headers (RFC 9110 7.6.1), as
// ReverseProxy removes them.
var hopHeaders = map[string]bool{
	"Connection": true, "Proxy-Connection": true, "Keep-Alive": true,
	"Proxy-Authenticate": true, "Proxy-Authorization": true, "Te": true,
	"Trailer": true, "Transfer-Encoding": true, "Upgrade": true,
}

// removeHopHeaders removes the hop-by-hop headers and those the Connection
// header names.
func removeHopHeaders(h http.Header) {
	for _, v := range h["Connection"] {
		for _, name := range strings.Split(v, ",") {
			if name = textproto.TrimString(name); name != "" {
				delete(h, http.CanonicalHeaderKey(name))
			}
		}
	}
	for k := range h {
		if hopHeaders[k] {
			delete(h, k)
		}
	}
}

// copyHeader adds src's values to dst; a key new to dst shares src's
// slice (src is a response of ours, not changed after).
func copyHeader(dst, src http.Header) {
	for k, vs := range src {
		if len(dst[k]) == 0 {
			dst[k] = vs
			continue
		}
		dst[k] = append(dst[k], vs...)
	}
}

// copyBody copies the response body to w; a response of unknown length
// (a stream: gRPC, server-sent events) is flushed after every read, as
// ReverseProxy does.
func copyBody(w http.ResponseWriter, res *http.Response) error {
	buf := buffers.Get().(*[32 << 10]byte)
	defer buffers.Put(buf)
	var flush func() error
	if res.ContentLength == -1 || strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		rc := http.NewResponseController(w)
		flush = rc.Flush
	}
	for {
		n, rerr := res.Body.Read(buf[:])
		if n > 0 {
			if _, err := w.Write(buf[:n]); err != nil {
				return err
			}
			if flush != nil {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return rerr
		}
	}
}

// clientBody is a request body as read from the client; err is why
// reading it failed, if it did. A read after the proxy's side closed the
// body (a Transport still sending it when the backend answered early or
// the request was canceled) fails because of that close, not the client:
// it leaves err alone, so the Transport's own error is the one answered.
type clientBody struct {
	io.ReadCloser
	mu     sync.Mutex // the Transport may read on a goroutine of its own
	closed bool
	err    error
}

func (b *clientBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		b.mu.Lock()
		if !b.closed {
			b.err = err
		}
		b.mu.Unlock()
	}
	return n, err
}

func (b *clientBody) Close() error {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	return b.ReadCloser.Close()
}

// failed is why reading the body from the client failed, or nil.
func (b *clientBody) failed() error {
	if b == nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

// clientBodyFailed answers a request whose body could not be read from the
// client: the client's fault, not the backend's. A client that went away
// (or stalled past the body read timeout) is counted as 499 and gets
// nothing; a malformed body (a bad chunk) gets 400.
func (h *Handler) clientBodyFailed(w http.ResponseWriter, p *plan, err error) {
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		h.local(w, p, http.StatusRequestTimeout, "request body read timeout")
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) || errors.As(err, &ne) || isClientGone(err):
		rt, b := p.names()
		h.record(rt, b, 499)
		panic(http.ErrAbortHandler)
	default:
		h.local(w, p, http.StatusBadRequest, "malformed request body")
	}
}

// isClientGone reports whether err says the client closed or reset its
// connection or stream.
func isClientGone(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "client disconnected") || strings.Contains(msg, "stream reset") || strings.Contains(msg, "connection reset")
}
