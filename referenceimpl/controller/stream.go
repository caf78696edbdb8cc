package controller

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/authentication/serviceaccount"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"gamma-conformance/referenceimpl/meshconfig"
)

// TokenAudience is the audience of the projected ServiceAccount token a
// proxy presents; the injector mounts such a token into every sidecar.
const TokenAudience = "gamma-reference-mesh"

// Authenticator maps a proxy's ServiceAccount token to its namespace with
// a TokenReview. Answers are cached briefly: a proxy reconnecting in a loop
// must not flood the API server.
type Authenticator struct {
	Clientset kubernetes.Interface
	Audience  string

	mu    sync.Mutex
	cache map[string]cachedReview
}

type cachedReview struct {
	namespace string
	expires   time.Time
}

const reviewCacheTTL = time.Minute

// Namespace returns the namespace of the token's ServiceAccount, or an
// error when the API server does not vouch for the token.
func (a *Authenticator) Namespace(ctx context.Context, token string) (string, error) {
	if token == "" {
		return "", fmt.Errorf("no bearer token")
	}
	a.mu.Lock()
	if c, ok := a.cache[token]; ok && time.Now().Before(c.expires) {
		a.mu.Unlock()
		return c.namespace, nil
	}
	a.mu.Unlock()
	review := &authnv1.TokenReview{Spec: authnv1.TokenReviewSpec{Token: token, Audiences: []string{a.Audience}}}
	res, err := a.Clientset.AuthenticationV1().TokenReviews().Create(ctx, review, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("token review: %w", err)
	}
	if !res.Status.Authenticated {
		return "", fmt.Errorf("token not authenticated: %s", res.Status.Error)
	}
	ns, _, err := serviceaccount.SplitUsername(res.Status.User.Username)
	if err != nil {
		return "", fmt.Errorf("token of %q is not a ServiceAccount token", res.Status.User.Username)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cache == nil || len(a.cache) > 10000 {
		a.cache = map[string]cachedReview{}
	}
	a.cache[token] = cachedReview{namespace: ns, expires: time.Now().Add(reviewCacheTTL)}
	return ns, nil
}

// StreamHandler serves meshconfig.StreamPath: every authenticated proxy
// gets the producer tables and its own namespace's overlays, at once and on
// every change, repeated every keepalive.
type StreamHandler struct {
	Publisher *Publisher
	Auth      interface {
		Namespace(ctx context.Context, token string) (string, error)
	}
	// Keepalive defaults to meshconfig.KeepaliveInterval.
	Keepalive time.Duration
}

func (h *StreamHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != meshconfig.StreamPath || r.Method != http.MethodGet {
		http.NotFound(w, r)
		return
	}
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		http.Error(w, "Authorization: Bearer <ServiceAccount token> is required", http.StatusUnauthorized)
		return
	}
	ns, err := h.Auth.Namespace(r.Context(), token)
	if err != nil {
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	select {
	case <-h.Publisher.Ready():
	case <-r.Context().Done():
		return
	}
	keepalive := h.Keepalive
	if keepalive == 0 {
		keepalive = meshconfig.KeepaliveInterval
	}
	w.Header().Set("Content-Type", meshconfig.ContentType)
	w.WriteHeader(http.StatusOK)
	ticker := time.NewTicker(keepalive)
	defer ticker.Stop()
	l := log.FromContext(r.Context()).WithValues("namespace", ns, "peer", r.RemoteAddr)
	for {
		snap, changed := h.Publisher.Current()
		if err := meshconfig.WriteFrame(w, snap.ForNamespace(ns)); err != nil {
			l.V(1).Info("stream closed", "error", err)
			return
		}
		flusher.Flush()
		select {
		case <-changed:
		case <-ticker.C:
		case <-r.Context().Done():
			return
		}
	}
}
