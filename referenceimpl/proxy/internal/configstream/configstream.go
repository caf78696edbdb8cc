// Package configstream is the proxy's client of the control plane's config
// stream (meshconfig.StreamPath): one long-lived HTTP/2-over-TLS request
// authenticated with the pod's ServiceAccount token, whose frames are
// handed to an apply function. It reconnects with backoff forever; the
// proxy keeps its last good configuration meanwhile.
package configstream

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"gamma-conformance/referenceimpl/meshconfig"
)

// Options configure a stream client.
type Options struct {
	// URL is the control plane's base URL, e.g. https://ctrl.ns.svc:15010.
	URL string
	// CAFile holds the PEM CA bundle that signed the control plane's
	// certificate; re-read on every connection.
	CAFile string
	// CAPEM, when set, is the CA bundle itself and CAFile is not read.
	CAPEM []byte
	// TokenFile holds the bearer token (the pod's ServiceAccount token);
	// re-read on every connection, as the kubelet rotates it.
	TokenFile string
	// Apply validates and installs one frame; an error ends the session.
	Apply func(*meshconfig.Snapshot) error
	// IdleTimeout ends a session that sent no frame for this long
	// (default three meshconfig.KeepaliveInterval).
	IdleTimeout time.Duration
	// MinBackoff and MaxBackoff bound the wait before reconnecting
	// (defaults 200ms and 10s).
	MinBackoff, MaxBackoff time.Duration
	Logger                 *slog.Logger
}

// Run keeps a session open until ctx ends.
func Run(ctx context.Context, o Options) {
	if o.IdleTimeout == 0 {
		o.IdleTimeout = 3 * meshconfig.KeepaliveInterval
	}
	if o.MinBackoff == 0 {
		o.MinBackoff = 200 * time.Millisecond
	}
	if o.MaxBackoff == 0 {
		o.MaxBackoff = 10 * time.Second
	}
	o.MinBackoff = min(o.MinBackoff, o.MaxBackoff)
	backoff := o.MinBackoff
	for ctx.Err() == nil {
		start := time.Now()
		applied, err := session(ctx, o)
		if ctx.Err() != nil {
			return
		}
		if applied > 0 {
			backoff = o.MinBackoff
		}
		wait := backoff/2 + rand.N(backoff)
		o.Logger.Warn("config stream ended, reconnecting", "url", o.URL, "error", err,
			"frames", applied, "lasted", time.Since(start).Round(time.Millisecond), "retry_in", wait.Round(time.Millisecond))
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		backoff = min(2*backoff, o.MaxBackoff)
	}
}

// session opens one stream and applies its frames until it fails; it
// returns how many frames it applied.
func session(ctx context.Context, o Options) (int, error) {
	tr, err := transport(o.CAFile, o.CAPEM)
	if err != nil {
		return 0, err
	}
	defer tr.CloseIdleConnections()
	token, err := os.ReadFile(o.TokenFile)
	if err != nil {
		return 0, fmt.Errorf("reading the ServiceAccount token: %w", err)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	idle := time.AfterFunc(o.IdleTimeout, func() {
		cancel(fmt.Errorf("no frame for %s", o.IdleTimeout))
	})
	defer idle.Stop()

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(o.URL, "/")+meshconfig.StreamPath, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	req.Header.Set("Accept", meshconfig.ContentType)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		return 0, orCause(ctx, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return 0, fmt.Errorf("control plane answered %s: %s", resp.Status, strings.TrimSpace(string(b)))
	}
	fr := meshconfig.NewFrameReader(resp.Body)
	applied := 0
	for {
		s, err := fr.Next()
		if err != nil {
			return applied, orCause(ctx, err)
		}
		idle.Reset(o.IdleTimeout)
		if err := o.Apply(s); err != nil {
			return applied, fmt.Errorf("snapshot version %d: %w", s.Version, err)
		}
		applied++
		o.Logger.Debug("config frame applied", "version", s.Version, "tables", len(s.Tables))
	}
}

func orCause(ctx context.Context, err error) error {
	if c := context.Cause(ctx); c != nil && !errors.Is(c, context.Canceled) {
		return c
	}
	return err
}

func transport(caFile string, pem []byte) (*http.Transport, error) {
	if len(pem) == 0 {
		var err error
		if pem, err = os.ReadFile(caFile); err != nil {
			return nil, fmt.Errorf("reading the control plane CA: %w", err)
		}
	} else {
		caFile = "(inline PEM)"
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("control plane CA file %s holds no PEM certificate", caFile)
	}
	var ps http.Protocols
	ps.SetHTTP2(true)
	// A restarted control plane's old pod IP can stay behind its Service
	// for a moment and then vanish without a reset: bound the dial and the
	// wait for headers, and ping the connection so a dead peer is noticed
	// long before the idle timeout.
	dialer := &net.Dialer{Timeout: 3 * time.Second, KeepAlive: 15 * time.Second}
	return &http.Transport{
		DialContext:           dialer.DialContext,
		TLSClientConfig:       &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		Protocols:             &ps,
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: 10 * time.Second,
		HTTP2:                 &http.HTTP2Config{SendPingTimeout: 5 * time.Second, PingTimeout: 3 * time.Second},
	}, nil
}
