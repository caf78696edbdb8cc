package semantics

import (
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/gateway-api/conformance/utils/echo"

	"gamma-conformance/suites/internal/kube"
)

// Tests of the suite's own helpers; they need no cluster.

func TestNamespacePrefixIsAValidName(t *testing.T) {
	p := nsPrefix(`a parentRef with group core binds the Service like group ""`)
	if p != "gs-a-parentref-with-group-c" || len(p) > 30 {
		t.Errorf("prefix %q", p)
	}
}

func response(code, hostname string, headers map[string]string) echo.Response {
	h := http.Header{}
	for k, v := range headers {
		h.Set(k, v)
	}
	return echo.Response{Code: code, Hostname: hostname, ResponseHeaders: h}
}

func TestChecksFailOnAnyBadResponse(t *testing.T) {
	ok := kube.Result{Responses: []echo.Response{response("200", "echo-v2-abc-1", map[string]string{"X-A": "1"}), response("200", "echo-v2-abc-2", map[string]string{"X-A": "1"})}}
	mixed := kube.Result{Responses: []echo.Response{response("200", "echo-v2-abc-1", nil), response("200", "echo-v1-abc-2", nil)}}
	cases := []struct {
		name string
		c    check
		r    kube.Result
		fail string
	}{
		{"served by v2", servedBy("echo-v2"), ok, ""},
		{"one answer from v1", servedBy("echo-v2"), mixed, "response 2 of 2: answered by \"echo-v1-abc-2\""},
		{"prefix needs the dash", servedBy("echo-v"), ok, "want a pod of echo-v"},
		{"status", status(404), ok, "status 200"},
		{"header present", header("X-A", "1"), ok, ""},
		{"header absent wanted", header("X-A", ""), ok, `header X-A="1"`},
		{"client error", servedBy("echo-v2"), kube.Result{Err: os.ErrDeadlineExceeded}, "client failed"},
		{"nothing parsed", status(200), kube.Result{Stdout: "garbage"}, "no response parsed"},
		{"grpc unavailable", grpcFails("Unavailable"), kube.Result{Err: os.ErrClosed, Stderr: "rpc error: code = Unavailable desc = x"}, ""},
		{"grpc succeeded", grpcFails("Unavailable"), ok, "gRPC call succeeded"},
	}
	for _, c := range cases {
		err := c.c(c.r)
		switch {
		case c.fail == "" && err != nil:
			t.Errorf("%s: unexpected failure %v", c.name, err)
		case c.fail != "" && (err == nil || !strings.Contains(err.Error(), c.fail)):
			t.Errorf("%s: got %v, want an error containing %q", c.name, err, c.fail)
		}
	}
}

func TestNewChecks(t *testing.T) {
	ok := kube.Result{Responses: []echo.Response{response("503", "", nil), response("500", "", nil)}}
	if err := mostly(503, 500, 1)(ok); err != nil {
		t.Errorf("mostly: %v", err)
	}
	if err := mostly(503, 500, 2)(ok); err == nil || !strings.Contains(err.Error(), "1 of 2 responses have status 503") {
		t.Errorf("mostly: %v", err)
	}
	if err := mostly(503, 500, 0)(kube.Result{Responses: []echo.Response{response("200", "echo-v1-x", nil)}}); err == nil {
		t.Error("mostly accepted a 200")
	}
	v2 := kube.Result{Responses: []echo.Response{response("200", "echo-v2-a", nil), response("200", "echo-v2-b", nil)}}
	if err := servedByOneOf("echo-v1", "echo-v2")(v2); err != nil {
		t.Errorf("servedByOneOf: %v", err)
	}
	if err := servedByOneOf("echo-v1", "echo-v2")(kube.Result{Responses: []echo.Response{response("200", "echo-v2-a", nil), response("200", "echo-v1-b", nil)}}); err == nil {
		t.Error("servedByOneOf accepted a batch split between two apps")
	}
	path := kube.Result{Responses: []echo.Response{{Code: "200", URL: "/xyz/bar?gamma-tag=1"}}}
	if err := receivedPath("/xyz/bar")(path); err != nil {
		t.Errorf("receivedPath: %v", err)
	}
	if err := receivedPath("/foo/bar")(path); err == nil {
		t.Error("receivedPath accepted another path")
	}
	loc := kube.Result{Responses: []echo.Response{response("302", "", map[string]string{"Location": "http://echo-v1.ns/new/place"})}}
	if err := locationPath("/new/place")(loc); err != nil {
		t.Errorf("locationPath: %v", err)
	}
	if err := locationPath("/old")(loc); err == nil {
		t.Error("locationPath accepted another path")
	}
}

func TestSetCookiesReplaysEveryCookie(t *testing.T) {
	resp := echo.Response{RawContent: "[0] StatusCode=200\n[0] ResponseHeader=Set-Cookie:a=1; Path=/; HttpOnly\n[0] ResponseHeader=set-cookie:b=2\n[0] ResponseHeader=X-Other:c=3\n"}
	set := setCookieHeaders(resp)
	if len(set) != 2 || set[0] != "a=1; Path=/; HttpOnly" {
		t.Errorf("Set-Cookie headers %q", set)
	}
	if got := setCookies(set); got != "a=1; b=2" {
		t.Errorf("cookie %q, want %q", got, "a=1; b=2")
	}
}

func TestNotServedBy(t *testing.T) {
	if err := notServedBy("echo-v2")(kube.Result{Responses: []echo.Response{response("200", "echo-v1-a", nil), response("503", "", nil)}}); err != nil {
		t.Errorf("notServedBy: %v", err)
	}
	if err := notServedBy("echo-v2")(kube.Result{Responses: []echo.Response{response("200", "echo-v2-a", nil)}}); err == nil {
		t.Error("notServedBy accepted the route's backend")
	}
}

// RFC 6265 §5.2.4 and §5.3: the last Path attribute wins; one that is
// empty or does not start with "/" leaves the default path, as does none.
func TestCookiePath(t *testing.T) {
	for _, c := range []struct{ header, want string }{
		{"s=1; Path=/; HttpOnly", "/"},
		{"s=1; path = / ", "/"},
		{"s=1", "/shop"},
		{"s=1; HttpOnly", "/shop"},
		{"s=1; Path=", "/shop"},
		{"s=1; Path=shop", "/shop"},
		{"s=1; Path=/; Path=/shop/cart", "/shop/cart"},
		{"s=1; Path=/a; Path=/", "/"},
		{"s=1; Path=/a; Path=x", "/shop"},
		{"s=1; Domain=x; Path=/app", "/app"},
	} {
		if got := cookiePath(c.header, "/shop"); got != c.want {
			t.Errorf("cookiePath(%q) = %q, want %q", c.header, got, c.want)
		}
	}
}

// A control gets at least controlTrafficTimeout for its traffic, whatever
// --convergence-timeout a run sets (the negative control's 5s): its failure
// would say the cluster is broken. Other specs keep the run's timeout.
func TestControlsGetTheLeastTrafficTimeout(t *testing.T) {
	var control, other Spec
	for _, sp := range Specs() {
		if sp.Control() {
			control = sp
		} else {
			other = sp
		}
	}
	for _, tc := range []struct {
		spec        Spec
		convergence time.Duration
		want        time.Duration
	}{
		{control, 5 * time.Second, controlTrafficTimeout},
		{control, 2 * time.Minute, 2 * time.Minute},
		{other, 5 * time.Second, 5 * time.Second},
		{other, 2 * time.Minute, 2 * time.Minute},
	} {
		s := &S{spec: tc.spec, c: &kube.Cluster{Options: kube.Options{ConvergenceTimeout: tc.convergence}}}
		if got, _ := s.trafficTimeout(); got != tc.want {
			t.Errorf("%q with --convergence-timeout=%v: traffic timeout %v, want %v", tc.spec.FullText(), tc.convergence, got, tc.want)
		}
	}
}
