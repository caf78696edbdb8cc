package profiles

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Implication says that claiming every upstream feature in Upstream claims
// the semantics feature: the semantics feature checks more of what those
// upstream features already promise (e.g. a consumer route's timeout needs
// both consumer routes and request timeouts).
type Implication struct {
	Upstream  []string
	Semantics string
}

// upstreamByVersion holds, per Gateway API minor version, which semantics
// features the upstream feature names a mesh claims imply. Upstream names
// differ between versions (v1.7 split HTTPRouteRetry into
// HTTPRouteRetryCodes and HTTPRouteRetryConnectionError), so the mapping is
// per version; a version missing here is refused.
var upstreamByVersion = map[string][]Implication{
	"v1.6": append(common(),
		Implication{[]string{"HTTPRouteRetry"}, RouteRetry},
		Implication{[]string{"HTTPRouteRetry", "MeshConsumerRoute"}, ConsumerRetry},
		Implication{[]string{"HTTPRouteRetryBackendTimeout"}, RetryTimedOutAttempt},
	),
	// v1.7's retry text: "Implementations SHOULD retry on connection errors
	// (disconnect, reset, timeout, TCP failure)": a timed-out attempt is a
	// connection error.
	"v1.7": append(common(),
		Implication{[]string{"HTTPRouteRetryCodes"}, RouteRetry},
		Implication{[]string{"HTTPRouteRetryCodes", "MeshConsumerRoute"}, ConsumerRetry},
		Implication{[]string{"HTTPRouteRetryConnectionError", "HTTPRouteBackendTimeout"}, RetryTimedOutAttempt},
	),
}

// common are the implications whose upstream names v1.6 and v1.7 share.
func common() []Implication {
	return []Implication{
		{[]string{"MeshConsumerRoute"}, ConsumerRoute},
		{[]string{"GRPCRoute"}, GRPCRoute},
		{[]string{"HTTPRouteParentRefPort"}, ParentRefPort},
		{[]string{"MeshHTTPRouteRewritePath"}, RewritePath},
		{[]string{"MeshHTTPRouteRedirectPath"}, RedirectPath},
		{[]string{"HTTPRouteRequestTimeout"}, RequestTimeout},
		{[]string{"HTTPRouteRequestTimeout", "MeshConsumerRoute"}, ConsumerTimeout},
		{[]string{"HTTPRouteRequestTimeout", "MeshConsumerRoute"}, PrecedenceByTimeout},
		{[]string{"HTTPRouteBackendTimeout"}, BackendRequestTimeout},
	}
}

// MinorVersion is "vX.Y" of a Gateway API version such as "v1.6.3".
func MinorVersion(version string) string {
	parts := strings.SplitN(strings.TrimPrefix(version, "v"), ".", 3)
	if len(parts) < 2 {
		return version
	}
	return "v" + parts[0] + "." + parts[1]
}

// Implications returns the mapping of one Gateway API version ("v1.6.3"
// or "v1.6"), or an error naming the versions that are known.
func Implications(version string) ([]Implication, error) {
	m, ok := upstreamByVersion[MinorVersion(version)]
	if !ok {
		var known []string
		for v := range upstreamByVersion {
			known = append(known, v)
		}
		sort.Strings(known)
		return nil, fmt.Errorf("no feature mapping for Gateway API version %q (known: %s); install the CRDs of a known version", version, strings.Join(known, ", "))
	}
	return m, nil
}

// Claimed returns the semantics features that claimed names claim in a
// Gateway API version: the semantics names among them, and those implied
// by the upstream names among them.
func Claimed(version string, claimed []string) ([]string, error) {
	var out, upstream []string
	for _, n := range claimed {
		if IsFeature(n) {
			out = append(out, n)
		} else {
			upstream = append(upstream, n)
		}
	}
	if len(upstream) == 0 {
		sort.Strings(out)
		return out, nil // semantics names need no version's mapping
	}
	imps, err := Implications(version)
	if err != nil {
		return nil, err
	}
	for _, imp := range imps {
		if !slices.Contains(out, imp.Semantics) && containsAll(claimed, imp.Upstream) {
			out = append(out, imp.Semantics)
		}
	}
	sort.Strings(out)
	return out, nil
}

func containsAll(set, want []string) bool {
	for _, w := range want {
		if !slices.Contains(set, w) {
			return false
		}
	}
	return true
}
