package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReportCheck runs `report --check` on the committed reference report
// (accepted, exit 0) and on a copy with a relative URL declared v1.7
// (rejected with a url line, exit 2).
func TestReportCheck(t *testing.T) {
	committed := "../../reports/v1.6/gamma-conformance-reference/experimental-v0.1.0-default-report.yaml"
	out, errOut, code := gammaconf(t, "report", "--check", committed)
	if code != 0 || !strings.Contains(out, "ok, ready to submit") || !strings.Contains(out, "verdict: mesh success, gateway not tested") {
		t.Fatalf("committed report: exit %d\n%s%s", code, out, errOut)
	}

	raw, err := os.ReadFile(committed)
	if err != nil {
		t.Fatal(err)
	}
	broken := strings.NewReplacer("gatewayAPIVersion: v1.6.3", "gatewayAPIVersion: v1.7.0",
		"url: https://github.com/gamma-conformance/gamma-conformance", "url: github.com/gamma-conformance").Replace(string(raw))
	p := filepath.Join(t.TempDir(), "report.yaml")
	if err := os.WriteFile(p, []byte(broken), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, code = gammaconf(t, "report", "--check", committed, "--check", p)
	if code != exitUsage {
		t.Fatalf("broken copy: exit %d, want %d\n%s%s", code, exitUsage, out, errOut)
	}
	var ruleLines []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "url: ") {
			ruleLines = append(ruleLines, l)
		}
	}
	if len(ruleLines) != 1 || !strings.Contains(ruleLines[0], "missing scheme") || !strings.Contains(out, p+": 1 rule(s) broken") {
		t.Errorf("want one url line for the copy:\n%s", out)
	}
	checkOneError(t, errOut, code, exitUsage, "1 rule(s) broken")
}

func TestReportCheckBadInput(t *testing.T) {
	oneError(t, exitUsage, "fix:", "report", "--check", filepath.Join(t.TempDir(), "missing.yaml"))
	oneError(t, exitUsage, "without --results", "report", "--check", "x.yaml", "--results", "out")
}
