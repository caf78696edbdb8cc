package suites

import (
	"flag"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/gateway-api/conformance/utils/echo"

	"gamma-conformance/suites/internal/kube"
)

// Tests of the suite's own helpers; they need no cluster.

func TestRerunCommandReplacesSelection(t *testing.T) {
	saved := os.Args
	defer func() { os.Args = saved }()
	os.Args = []string{"/bin/suites.test", "-test.run", "Test.*", "--kubeconfig=/k", "--ginkgo.focus=old", "--skip-tests", "A,B", "--all-features", "--namespace-labels=a=b c"}
	got := rerunCommand("TestSemantics", "--ginkgo.focus=^x y$")
	want := `/bin/suites.test '-test.run=^TestSemantics$' --kubeconfig=/k --all-features '--namespace-labels=a=b c' '--ginkgo.focus=^x y$'`
	if got != want {
		t.Errorf("rerun\n got %s\nwant %s", got, want)
	}
}

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

func TestUpstreamDurationsFromVerboseOutput(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(sec float64, text string) line {
		return line{t0.Add(time.Duration(sec * float64(time.Second))), text}
	}
	lines := []line{
		at(0, "=== RUN   TestConformance/MeshBasic"),
		at(0.5, "=== RUN   TestConformance/MeshPorts"),
		at(1.2, "=== RUN   TestConformance/MeshPorts/sub"),
		at(4, "=== RUN   TestConformance/MeshFrontend"),
		at(4, "=== RUN   TestConformance/HTTPRouteSimple"),
		at(9, "--- PASS: TestConformance (9.00s)"),
		at(9, "    --- PASS: TestConformance/MeshBasic (0.01s)"),
		at(9, "    --- SKIP: TestConformance/MeshFrontend (0.00s)"),
	}
	d := upstreamDurations(lines)
	if len(d) != 2 || d[0] != 0.5 || d[1] != 3.5 {
		t.Fatalf("durations %v, want [0.5 3.5]", d)
	}
	if m := median([]float64{3, 1, 2, 10}); m != 2.5 {
		t.Errorf("median %v, want 2.5", m)
	}
}

func TestUnknownFeatureFlagIsRefused(t *testing.T) {
	f := flag.Lookup("supported-features")
	saved := f.Value.String()
	defer f.Value.Set(saved)
	if err := f.Value.Set("Mesh,SemanticsProducerRoute"); err != nil {
		t.Fatal(err)
	}
	if err := checkFeatureFlags(); err != nil {
		t.Errorf("known names refused: %v", err)
	}
	f.Value.Set("Mesh,SemanticsProducerRoutes")
	if err := checkFeatureFlags(); err == nil || !strings.Contains(err.Error(), `unknown feature name "SemanticsProducerRoutes" in --supported-features: did you mean SemanticsProducerRoute?`) {
		t.Errorf("got %v", err)
	}
}
