package gotest

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

func TestCaptureAttributesLinesToTests(t *testing.T) {
	c, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	// Non-verbose go test output of a failed parent with subtests, then
	// verbose-mode headers of another test.
	fmt.Fprint(os.Stdout, `--- FAIL: TestUpstream (3.00s)
    --- FAIL: TestUpstream/MeshBasic (1.00s)
        pod.go:70: Response expectation failed: wanted status code 200, got 503
        --- FAIL: TestUpstream/MeshBasic/sub (0.50s)
            helper.go:10: inner detail
    --- PASS: TestUpstream/MeshSplit (1.00s)
=== RUN   TestOther
    other.go:1: other line
`)
	c.Stop()
	got := c.Output("TestUpstream/MeshBasic")
	for _, want := range []string{"wanted status code 200, got 503", "[sub]", "inner detail"} {
		if !strings.Contains(got, want) {
			t.Errorf("output %q lacks %q", got, want)
		}
	}
	if strings.Contains(got, "other line") || c.Output("TestUpstream/MeshSplit") != "" {
		t.Errorf("lines leaked between tests: %q / %q", got, c.Output("TestUpstream/MeshSplit"))
	}
	if c.Output("TestOther") != "other.go:1: other line" {
		t.Errorf("verbose header not followed: %q", c.Output("TestOther"))
	}
}
