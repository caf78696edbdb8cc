package route

import (
	"testing"

	"gamma-conformance/referenceimpl/meshconfig"
)

// TestModifyPathPrefix is the ReplacePrefixMatch table of the Gateway API
// HTTPPathModifier documentation.
func TestModifyPathPrefix(t *testing.T) {
	for _, tc := range []struct{ path, prefix, repl, want string }{
		{"/foo/bar", "/foo", "/xyz", "/xyz/bar"},
		{"/foo/bar", "/foo", "/xyz/", "/xyz/bar"},
		{"/foo/bar", "/foo/", "/xyz", "/xyz/bar"},
		{"/foo/bar", "/foo/", "/xyz/", "/xyz/bar"},
		{"/foo", "/foo", "/xyz", "/xyz"},
		{"/foo/", "/foo", "/xyz", "/xyz/"},
		{"/foo/bar", "/", "/", "/foo/bar"},
		{"/foo/", "/", "/", "/foo/"},
		{"/foo/bar", "/foo", "/", "/bar"},
		{"/foo", "/foo", "/", "/"},
		{"/foo/bar", "/", "/xyz", "/xyz/foo/bar"},
	} {
		m := &meshconfig.HTTPMatch{Path: meshconfig.StringMatch{Type: meshconfig.MatchPathPrefix, Value: tc.prefix}}
		got := ModifyPath(&meshconfig.PathModifier{Type: meshconfig.ReplacePrefixMatch, Value: tc.repl}, m, tc.path)
		if got != tc.want {
			t.Errorf("path %s, prefix %s → %s: got %s, want %s", tc.path, tc.prefix, tc.repl, got, tc.want)
		}
	}
}

func TestHasPathPrefix(t *testing.T) {
	for _, tc := range []struct {
		path, prefix string
		want         bool
	}{
		{"/abc", "/abc", true}, {"/abc/", "/abc", true}, {"/abc/def", "/abc", true}, {"/abcd", "/abc", false},
		{"/abc", "/abc/", true}, {"/abcd", "/abc/", false}, {"/", "/", true}, {"/x", "/", true}, {"/ab", "/abc", false},
	} {
		if got := hasPathPrefix(tc.path, tc.prefix); got != tc.want {
			t.Errorf("hasPathPrefix(%q, %q) = %v, want %v", tc.path, tc.prefix, got, tc.want)
		}
	}
}
