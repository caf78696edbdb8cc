package pipeline

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"gamma-conformance/harness"
	"gamma-conformance/harness/existing"
)

func TestSuiteArgsAreMadeInOnePlace(t *testing.T) {
	s := Suite{Binary: "suites.test", Kubeconfig: "/k", OutputDir: "/o", Flags: []string{"--x"}}
	if got, want := s.Args(), []string{"-test.timeout=60m", "--kubeconfig=/k", "--output-dir=/o", "--x"}; !slices.Equal(got, want) {
		t.Errorf("args %q, want %q", got, want)
	}
	s.NegativeControl, s.Timeout = true, time.Second
	got := s.Args()
	for _, want := range []string{"-test.run=^TestSemantics$", "--negative-control", "--convergence-timeout=1s", "--all-features"} {
		if !slices.Contains(got, want) {
			t.Errorf("negative control args %q lack %q", got, want)
		}
	}
	if got[len(got)-1] != "--x" {
		t.Errorf("the caller's flags come last (they win): %q", got)
	}
}

func TestBothMeshesRunUnderTheirOwnProject(t *testing.T) {
	ref, alt := ReferenceMeshFlags(), AlternateMeshFlags()
	for _, want := range []string{"--mesh-name=gamma-reference", "--controller-name=gamma-conformance.dev/reference-mesh"} {
		if !slices.Contains(ref, want) || !slices.Contains(alt, want) {
			t.Errorf("%q missing: reference %q alternate %q", want, ref, alt)
		}
	}
	if !slices.Contains(ref, "--project=gamma-conformance-reference") || !slices.Contains(alt, "--project=gamma-conformance-alternate") {
		t.Errorf("projects: %q / %q", ref, alt)
	}
	if slices.Contains(ReferenceMeshUpstreamFlags(), "--controller-name=gamma-conformance.dev/reference-mesh") {
		t.Error("the upstream runner's flags hold one of ours")
	}
}

// downCounter is a provider whose Up fails like a real one on bad input.
type downCounter struct {
	harness.Provider
	downs int
}

func (d *downCounter) Down(ctx context.Context) error { d.downs++; return d.Provider.Down(ctx) }

func TestAFailedUpStillBringsTheClusterDownAndReportsWallTime(t *testing.T) {
	p := &downCounter{Provider: &existing.Provider{Kubeconfig: filepath.Join(t.TempDir(), "missing")}}
	var log bytes.Buffer
	out := t.TempDir()
	os.MkdirAll(filepath.Join(out, "suites"), 0o755)
	err := Conformance(context.Background(), Options{Provider: p, OutDir: out, Log: &log})
	if err == nil || !harness.IsSetup(err) {
		t.Fatalf("err %v, want a setup error", err)
	}
	if p.downs != 1 {
		t.Errorf("down called %d times, want 1", p.downs)
	}
	if !strings.Contains(log.String(), "conformance_wall_s=") || !strings.Contains(log.String(), "done (exit 1)") {
		t.Errorf("log:\n%s", log.String())
	}
	if _, err := os.Stat(filepath.Join(out, "suites")); !os.IsNotExist(err) {
		t.Error("the previous run's results were not cleared")
	}
}

func TestNoProviderIsBadInput(t *testing.T) {
	err := Conformance(context.Background(), Options{OutDir: t.TempDir(), Log: &bytes.Buffer{}})
	if err == nil || !harness.IsSetup(err) || !strings.Contains(err.Error(), "--provider local|kind|existing") {
		t.Errorf("err %v", err)
	}
}
