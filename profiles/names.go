package profiles

import (
	"fmt"
	"slices"
	"strings"

	"sigs.k8s.io/gateway-api/pkg/features"
)

// CheckFeatureNames fails when a name in a feature flag's value is neither an
// upstream gateway-api feature nor a semantics feature: upstream ignores
// names it does not know, so a typo would silently claim (or exempt) nothing.
// flag names the flag in the error, e.g. "--supported-features".
func CheckFeatureNames(flag string, names []string) error {
	known := Features()
	for f := range features.AllFeatures {
		known = append(known, string(f.Name))
	}
	for _, n := range names {
		if slices.Contains(known, n) {
			continue
		}
		hint := "the names are those of sigs.k8s.io/gateway-api/pkg/features (e.g. HTTPRouteQueryParamMatching) and the semantics features (listed by `gammaconf run --help`)"
		if near := nearest(n, known); near != "" {
			hint = fmt.Sprintf("did you mean %s?", near)
		}
		return fmt.Errorf("unknown feature name %q in %s: %s", n, flag, hint)
	}
	return nil
}

// nearest returns the known name closest to n when it is close enough to be
// a typo (case aside, at most two edits), else "".
func nearest(n string, known []string) string {
	best, bestD := "", 3
	for _, k := range known {
		if d := distance(strings.ToLower(n), strings.ToLower(k)); d < bestD || (d == bestD && k < best) {
			best, bestD = k, d
		}
	}
	return best
}

// distance is the Levenshtein distance of a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
