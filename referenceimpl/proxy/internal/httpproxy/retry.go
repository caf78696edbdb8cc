package httpproxy

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"gamma-conformance/referenceimpl/proxy/internal/route"
)

var (
	// errBackendTimeout: the last attempt ran out of its backend request
	// timeout (answered 504).
	errBackendTimeout = errors.New("backend request timeout")
	// errBudgetExhausted: a retry was due but the Service's retry budget
	// was spent. XBackendTrafficPolicy.RetryConstraint: "After the retry
	// budget has been exceeded, additional retries to the backend MUST
	// return a 503 response to the client."
	errBudgetExhausted = errors.New("retry budget exhausted")
)

// maxReplayBody is the largest request body kept for retries; a request
// with a larger body is sent once.
const maxReplayBody = 1 << 20

// RoundTrip sends a routed request to its backend: each attempt bounded by
// the rule's backend request timeout, retried as the rule's retry stanza
// and the backend's retry budget allow. HTTPRouteRetry: "Implementations
// SHOULD retry on connection errors (disconnect, reset, timeout, TCP
// failure) if a retry stanza is configured" (a backend request timeout is
// not retried when the rule says NoRetryOnTimeout); retries wait at least the
// backoff; a retry goes to an endpoint of the same backend (the same one
// when the session is pinned). The whole loop runs under the request
// timeout set by forward.
func (h *Handler) RoundTrip(r *http.Request) (*http.Response, error) {
	p := r.Context().Value(planKey{}).(*plan)
	if p.rule == nil {
		return h.send(r, p)
	}
	bud := h.budgets.Get(p.backend.RetryBudget)
	retry := p.rule.Retry
	attempts := 1
	if retry != nil && h.replayable(r) {
		attempts += retry.Attempts
	}
	if bud != nil {
		bud.Request()
	}
	for i := 1; ; i++ {
		resp, err := h.attempt(r, p)
		if r.Context().Err() != nil || i == attempts || (retry.NoRetryOnTimeout && errors.Is(err, errBackendTimeout)) {
			return resp, err
		}
		if err == nil && !retry.Retriable(resp.StatusCode) {
			return resp, nil
		}
		if bud != nil && !bud.Retry() {
			discard(resp)
			return nil, errBudgetExhausted
		}
		discard(resp)
		select {
		case <-time.After(retry.Backoff):
		case <-r.Context().Done():
			return nil, r.Context().Err()
		}
		if !p.sticky {
			if ep, ok := route.PickEndpoint(p.backend); ok {
				p.target = ep
				r.URL.Host = ep.String()
			}
		}
		if r.GetBody != nil {
			body, err := r.GetBody()
			if err != nil {
				return nil, err
			}
			r.Body = body
		}
	}
}

// attempt sends one attempt under the backend request timeout, which runs
// until the response body is closed.
func (h *Handler) attempt(r *http.Request, p *plan) (*http.Response, error) {
	bt := p.rule.Timeouts.BackendRequest
	if bt <= 0 {
		return h.send(r, p)
	}
	ctx, cancel := context.WithTimeout(r.Context(), bt)
	resp, err := h.send(r.WithContext(ctx), p)
	if err != nil {
		cancel()
		if ctx.Err() != nil && r.Context().Err() == nil {
			err = errors.Join(errBackendTimeout, err)
		}
		return nil, err
	}
	resp.Body = &cancelBody{resp.Body, cancel}
	return resp, nil
}

type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// replayable makes r's body readable again for retries, reading it into
// memory when it is small enough; false when it is too large.
func (h *Handler) replayable(r *http.Request) bool {
	if r.Body == nil || r.Body == http.NoBody || r.GetBody != nil {
		return true
	}
	buf, err := io.ReadAll(io.LimitReader(r.Body, maxReplayBody+1))
	if err != nil || len(buf) > maxReplayBody {
		r.Body = readCloser{io.MultiReader(bytes.NewReader(buf), r.Body), r.Body}
		return false
	}
	r.Body.Close()
	r.Body = io.NopCloser(bytes.NewReader(buf))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf)), nil }
	return true
}

type readCloser struct {
	io.Reader
	io.Closer
}

// discard drops a response that will not be returned, reading a little of
// its body so its connection can be reused.
func discard(resp *http.Response) {
	if resp == nil {
		return
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}
