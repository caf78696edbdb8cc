package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gamma-conformance/gatewayapi"
	"gamma-conformance/reportgen/results"
)

// fakeBinary writes a script that records its arguments, writes part as
// <--output-dir>/results.json and exits with code.
func fakeBinary(t *testing.T, name string, part *results.Results, code int) (bin, argsFile string) {
	t.Helper()
	dir := t.TempDir()
	fixture, argsFile := filepath.Join(dir, "part.json"), filepath.Join(dir, "args")
	if err := results.Write(fixture, part); err != nil {
		t.Fatal(err)
	}
	bin = filepath.Join(dir, name)
	script := fmt.Sprintf("#!/bin/sh\nfor a; do case $a in --output-dir=*) out=${a#--output-dir=};; esac; done\n"+
		"echo \"$@\" > %s\nmkdir -p \"$out\" && cp %s \"$out/results.json\"\nexit %d\n", argsFile, fixture, code)
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return bin, argsFile
}

func part(suite results.Suite, id string, outcome results.Outcome) *results.Results {
	start := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	r := &results.Results{
		SchemaVersion: results.SchemaVersion, SuiteVersion: "v0.1.0",
		GatewayAPI: results.GatewayAPI{Version: "v1.7.0", Channel: "experimental"},
		Run:        results.Run{Start: start, End: start.Add(time.Minute), Mode: "default"},
		Tests:      []results.Test{{ID: id, Suite: suite, Outcome: outcome, Rerun: "rerun " + id}},
	}
	if outcome == results.Failed {
		r.Tests[0].Failure = "boom"
	}
	return r
}

func readArgs(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the binary did not run: %v", err)
	}
	return string(b)
}

func TestV170RunsTheNestedUpstreamRunnerAndMergesResults(t *testing.T) {
	rel, _ := gatewayapi.Lookup(gatewayapi.V170)
	if !SeparateUpstream(rel) {
		t.Fatal("v1.7.0's upstream tests are in the suite binary?")
	}
	if v163, _ := gatewayapi.Lookup(gatewayapi.V163); SeparateUpstream(v163) {
		t.Fatal("v1.6.3's upstream tests are in the suite binary")
	}
	up, upArgs := fakeBinary(t, "upstream17.test", part(results.Upstream, "MeshGRPCRouteRequestHeaderModifier", results.Passed), 0)
	sem, semArgs := fakeBinary(t, "suites.test", part(results.Semantics, "a spec", results.Failed), 1)
	out := t.TempDir()
	s := Suite{Binary: sem, UpstreamBinary: up, Kubeconfig: "/k", OutputDir: out, Flags: []string{"--mesh-name=m", "--ginkgo.focus=x"}}
	err := s.Run(context.Background(), io.Discard, io.Discard)
	var se *SuiteError
	if !errors.As(err, &se) || se.Code != 1 {
		t.Fatalf("a failing semantics part: %v, want the failure", err)
	}
	if a := readArgs(t, upArgs); !strings.Contains(a, "--output-dir="+out+" ") || !strings.Contains(a, "--mesh-name=m") || strings.Contains(a, "ginkgo") {
		t.Errorf("upstream runner args %q: want the run's folder and flags, no Ginkgo flags", a)
	}
	if a := readArgs(t, semArgs); !strings.Contains(a, "--output-dir="+filepath.Join(out, "semantics")) || !strings.HasSuffix(strings.TrimSpace(a), "-test.run=^TestSemantics$") {
		t.Errorf("semantics args %q: want its own folder and only TestSemantics", a)
	}
	merged, err := results.Read(filepath.Join(out, results.File))
	if err != nil || len(merged.Tests) != 2 || merged.GatewayAPI.Version != "v1.7.0" {
		t.Fatalf("merged results: %+v %v", merged, err)
	}
}

func TestV170RunOfOneSuiteRunsOneBinary(t *testing.T) {
	up, upArgs := fakeBinary(t, "upstream17.test", part(results.Upstream, "MeshBasic", results.Passed), 0)
	sem, semArgs := fakeBinary(t, "suites.test", part(results.Semantics, "a spec", results.Passed), 0)
	out := t.TempDir()
	s := Suite{Binary: sem, UpstreamBinary: up, Kubeconfig: "/k", OutputDir: out, Flags: []string{"-test.run=^TestSemantics$"}}
	if err := s.Run(context.Background(), io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(upArgs); err == nil {
		t.Error("-test.run=^TestSemantics$ ran the upstream runner")
	}
	if a := readArgs(t, semArgs); !strings.Contains(a, "--output-dir="+out+" ") {
		t.Errorf("semantics only: args %q, want the run's own folder", a)
	}
}

func TestUnknownReleaseIsBadInput(t *testing.T) {
	p := &downCounter{}
	err := Conformance(context.Background(), Options{Provider: p, OutDir: t.TempDir(), GatewayAPIVersion: "v1.5.1", Log: io.Discard})
	if err == nil || !strings.Contains(err.Error(), `unknown Gateway API version "v1.5.1"`) || !strings.Contains(err.Error(), "v1.7.0 or v1.6.3") || p.downs != 0 {
		t.Fatalf("unknown release: %v (downs %d), want a setup error before the cluster is touched", err, p.downs)
	}
}

// meetingBinary is a fake binary that writes part like fakeBinary, but only
// after the other binary (peer) has started too: run one after the other,
// the first gives up after 10 s and exits 1.
func meetingBinary(t *testing.T, dir, name, peer string, p *results.Results) string {
	t.Helper()
	fixture := filepath.Join(dir, name+".json")
	if err := results.Write(fixture, p); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, name)
	script := fmt.Sprintf("#!/bin/sh\nfor a; do case $a in --output-dir=*) out=${a#--output-dir=};; esac; done\n"+
		"touch %[1]s/%[2]s.started\ni=0\nwhile [ ! -e %[1]s/%[3]s.started ]; do i=$((i+1)); [ $i -gt 100 ] && exit 1; sleep 0.1; done\n"+
		"mkdir -p \"$out\" && cp %[4]s \"$out/results.json\"\n", dir, name, peer, fixture)
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

func TestConcurrentSuitesRunAtOnce(t *testing.T) {
	dir := t.TempDir()
	up := meetingBinary(t, dir, "up", "sem", part(results.Upstream, "MeshBasic", results.Passed))
	sem := meetingBinary(t, dir, "sem", "up", part(results.Semantics, "a spec", results.Passed))
	out := t.TempDir()
	var log strings.Builder
	s := Suite{Binary: sem, UpstreamBinary: up, Concurrent: true, Kubeconfig: "/k", OutputDir: out}
	if err := s.Run(context.Background(), &log, &log); err != nil {
		t.Fatalf("the two suites did not run at once: %v", err)
	}
	if merged, err := results.Read(filepath.Join(out, results.File)); err != nil || len(merged.Tests) != 2 {
		t.Fatalf("merged results: %+v %v", merged, err)
	}
}

func TestRunFlagSelectsTheSuites(t *testing.T) {
	for flags, want := range map[string][2]bool{
		"":                                     {true, true},
		"-test.run=^Test(Upstream|Semantics)$": {true, true},
		"-test.run=^TestSemantics$":            {false, true},
		"--test.run=^TestUpstream$":            {true, false},
		"-test.run=Upstream":                   {true, false},
	} {
		s := Suite{Flags: strings.Fields(flags)}
		if up, sem := s.selects(); up != want[0] || sem != want[1] {
			t.Errorf("%q selects upstream %v semantics %v, want %v", flags, up, sem, want)
		}
	}
}
