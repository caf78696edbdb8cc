package semantics

import (
	"net/http"
	"os"
	"strings"
	"testing"

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
