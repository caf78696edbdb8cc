package proxy

import (
	"context"
	"time"

	"gamma-conformance/referenceimpl/proxy/internal/configstream"
)

// StreamOptions say where the control plane's config stream is.
type StreamOptions struct {
	// URL is the control plane's base URL (https).
	URL string
	// CAFile is the PEM CA that signed the control plane's certificate.
	CAFile string
	// CAPEM, when set, is the CA bundle itself (CAFile is then unused).
	CAPEM []byte
	// TokenFile is the pod's ServiceAccount token, sent as a bearer token.
	TokenFile string
	// IdleTimeout and MaxBackoff default to three keepalive intervals and
	// 10s; tests shorten them.
	IdleTimeout, MaxBackoff time.Duration
}

// StreamConfig follows the control plane's config stream until ctx ends,
// applying each snapshot and reconnecting with backoff whenever the stream
// fails or sends an invalid snapshot. The proxy serves with its last good
// configuration all along.
func (p *Proxy) StreamConfig(ctx context.Context, o StreamOptions) {
	configstream.Run(ctx, configstream.Options{
		URL:         o.URL,
		CAFile:      o.CAFile,
		CAPEM:       o.CAPEM,
		TokenFile:   o.TokenFile,
		Apply:       p.Apply,
		IdleTimeout: o.IdleTimeout,
		MaxBackoff:  o.MaxBackoff,
		Logger:      p.log,
	})
}
