package semantics

import (
	"fmt"
	"net/url"
	"strings"

	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"gamma-conformance/profiles"
	"gamma-conformance/suites/internal/kube"
)

// Path rewrite and redirect, checked on what the backend or the client sees:
// the path the backend received, the Location the client got (upstream's
// mesh comparator checks neither).
var _ = describe("Path rewrite and redirect", func() {
	fx := func() kube.Fixture { return fixture("p", app("p", "echo-v1"), app("p", "echo-v2"), clientApp("p")) }

	meshIt("a URLRewrite ReplacePrefixMatch changes the path the backend receives", []string{profiles.RewritePath}, fx(),
		func(s *S) {
			parent := s.parent("p", "echo-v1")
			rule := prefixTo("/foo", s.backend("p", "echo-v2", 8080, 1))
			rule.Filters = []gatewayv1.HTTPRouteFilter{{Type: gatewayv1.HTTPRouteFilterURLRewrite, URLRewrite: &gatewayv1.HTTPURLRewriteFilter{
				Path: &gatewayv1.HTTPPathModifier{Type: gatewayv1.PrefixMatchHTTPPathModifier, ReplacePrefixMatch: ptr.To("/xyz")},
			}}}
			r := s.httpRoute("p", "rewrite", []gatewayv1.ParentReference{parent}, rule)
			s.Create(r)
			s.Accepted(r, parent)
			base := "http://" + s.host("p", "echo-v1", 80)
			s.Traffic(flow{s.Pod("p", "client"), get(base + "/foo/bar"), both(servedBy("echo-v2"), receivedPath("/xyz/bar"))},
				flow{s.Pod("p", "client"), get(base + "/foo"), both(servedBy("echo-v2"), receivedPath("/xyz"))})
		})

	meshIt("a RequestRedirect ReplaceFullPath puts the new path in the Location header", []string{profiles.RedirectPath}, fx(),
		func(s *S) {
			parent := s.parent("p", "echo-v1")
			rule := prefixTo("/old")
			rule.Filters = []gatewayv1.HTTPRouteFilter{{Type: gatewayv1.HTTPRouteFilterRequestRedirect, RequestRedirect: &gatewayv1.HTTPRequestRedirectFilter{
				Path:       &gatewayv1.HTTPPathModifier{Type: gatewayv1.FullPathHTTPPathModifier, ReplaceFullPath: ptr.To("/new/place")},
				StatusCode: ptr.To(302),
			}}}
			r := s.httpRoute("p", "redirect", []gatewayv1.ParentReference{parent}, rule)
			s.Create(r)
			s.Accepted(r, parent)
			s.Traffic(flow{s.Pod("p", "client"), get("http://" + s.host("p", "echo-v1", 80) + "/old/page"), both(status(302), locationPath("/new/place"))})
		})
})

// receivedPath: the backend saw this request path (the echo server's URL
// field, query aside).
func receivedPath(want string) check {
	return all(func(i int, _, _ string, r kube.Result) error {
		got, _, _ := strings.Cut(r.Responses[i].URL, "?")
		if got != want {
			return fmt.Errorf("the backend received path %q, want %q", got, want)
		}
		return nil
	})
}

// locationPath: every response's Location header has this path.
func locationPath(want string) check {
	return all(func(i int, _, _ string, r kube.Result) error {
		loc := r.Responses[i].ResponseHeaders.Get("Location")
		u, err := url.Parse(loc)
		if err != nil || loc == "" {
			return fmt.Errorf("the Location header %q is no URL", loc)
		}
		if u.Path != want {
			return fmt.Errorf("the Location header %q has path %q, want %q", loc, u.Path, want)
		}
		return nil
	})
}
