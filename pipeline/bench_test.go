package pipeline

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"testing"
	"time"

	"gamma-conformance/harness"
	"gamma-conformance/harness/crds"
	"gamma-conformance/harness/local"
	"gamma-conformance/harness/mesh"
)

// fixtureReady is the semantics suite's progress line saying when its
// fixtures were Ready, and how many pods they are.
var fixtureReady = regexp.MustCompile(`fixtures ready: (\d+) pods .*fixture_ready_s=([0-9.]+)`)

// BenchmarkClusterDownAfterSuite brings a local cluster up, installs the
// experimental-channel CRDs and the reference mesh, runs the whole
// semantics suite against it and brings the cluster down, measuring:
//
//   - semantics_suite_s: the semantics run (suite binary start to exit);
//   - semantics_pods: the pods the suite's fixtures started, and
//     fixture_ready_s: run start to all of them Ready (from the suite's
//     progress line);
//   - cluster_down_after_suite_s: cluster down right after that run (the
//     suite's namespaces are still terminating), beside cluster_down_s of
//     an empty cluster (package harness/local).
//
// Like BenchmarkClusterUpWarm it needs Linux and root and skips when a
// local cluster is already up (one runs per host).
func BenchmarkClusterDownAfterSuite(b *testing.B) {
	skipUnlessLocalClusterFree(b)
	ctx := context.Background()
	dir := b.TempDir()
	bin := filepath.Join(dir, "suites.test")
	if err := BuildSuite(ctx, bin, os.Stderr); err != nil {
		b.Fatal(err)
	}
	var suiteS, readyS, pods, downS float64
	for range b.N {
		p := local.New(local.Options{Dir: filepath.Join(dir, "cluster"), Out: os.Stderr, VerifyClean: true})
		s, err := semanticsOnFreshCluster(ctx, p, bin, dir)
		begin := time.Now()
		derr := p.Down(ctx)
		downS += time.Since(begin).Seconds()
		if err != nil {
			b.Fatal(err)
		}
		if derr != nil {
			b.Fatal(derr)
		}
		suiteS += s.suiteS
		readyS += s.readyS
		pods += s.pods
	}
	n := float64(b.N)
	b.ReportMetric(suiteS/n, "semantics_suite_s")
	b.ReportMetric(pods/n, "semantics_pods")
	b.ReportMetric(readyS/n, "fixture_ready_s")
	b.ReportMetric(downS/n, "cluster_down_after_suite_s")
}

// skipUnlessLocalClusterFree skips a benchmark that brings a local cluster
// up itself where it cannot: not Linux and root, or a local cluster is
// already up (one runs per host).
func skipUnlessLocalClusterFree(b *testing.B) {
	b.Helper()
	if runtime.GOOS != "linux" || os.Geteuid() != 0 {
		b.Skip("the local provider needs Linux and root")
	}
	if _, err := local.New(local.Options{Dir: local.DefaultDir, Out: io.Discard}).Status(context.Background()); err == nil || os.Getenv(harness.KubeconfigEnv) != "" {
		b.Skipf("a local cluster is already up (%s, %s=%q): only one runs per host; bring it down first (make cluster-down)",
			local.DefaultDir, harness.KubeconfigEnv, os.Getenv(harness.KubeconfigEnv))
	}
}

// semanticsRun is what one semantics run measured.
type semanticsRun struct{ suiteS, readyS, pods float64 }

// semanticsOnFreshCluster brings p's cluster up with the CRDs and the
// reference mesh and runs the semantics suite on it (the caller brings it
// down).
func semanticsOnFreshCluster(ctx context.Context, p harness.Provider, bin, dir string) (semanticsRun, error) {
	var m semanticsRun
	c, err := p.Up(ctx)
	if err != nil {
		return m, err
	}
	rc, err := c.RESTConfig()
	if err != nil {
		return m, err
	}
	if _, err := crds.Install(ctx, rc, crds.Experimental); err != nil {
		return m, err
	}
	if err := mesh.Install(ctx, c, mesh.Options{WorkDir: filepath.Join(dir, "mesh"), Log: os.Stderr}); err != nil {
		return m, err
	}
	s := Suite{Binary: bin, Kubeconfig: c.Kubeconfig, OutputDir: filepath.Join(dir, "suites"),
		Flags: append([]string{"-test.run=^TestSemantics$"}, ReferenceMeshFlags()...)}
	var progress bytes.Buffer
	begin := time.Now()
	err = s.Run(ctx, io.Discard, io.MultiWriter(os.Stderr, &progress))
	m.suiteS = time.Since(begin).Seconds()
	if err != nil {
		return m, err
	}
	match := fixtureReady.FindSubmatch(progress.Bytes())
	if match == nil {
		return m, fmt.Errorf("the semantics run printed no line matching %q", fixtureReady)
	}
	m.pods, _ = strconv.ParseFloat(string(match[1]), 64)
	m.readyS, _ = strconv.ParseFloat(string(match[2]), 64)
	return m, nil
}

// conformanceWall is the main job's closing line.
var conformanceWall = regexp.MustCompile(`(?m)^conformance_wall_s=(\d+)$`)

// BenchmarkConformance runs the main job as `make conformance` does (the
// default Gateway API release, a local cluster with its binaries and images
// cached, every step from cluster up to cluster down) and reports its
// closing figure, conformance_wall_s. It needs Linux and root and skips
// when a local cluster is already up.
func BenchmarkConformance(b *testing.B) {
	skipUnlessLocalClusterFree(b)
	var wall float64
	for range b.N {
		dir := b.TempDir()
		var log bytes.Buffer
		err := Conformance(context.Background(), Options{
			Provider: local.New(local.Options{Dir: filepath.Join(dir, "cluster"), Out: os.Stderr, VerifyClean: true}),
			OutDir:   filepath.Join(dir, "out"), PruneCRDs: true, Log: io.MultiWriter(os.Stderr, &log),
		})
		if err != nil {
			b.Fatal(err)
		}
		m := conformanceWall.FindSubmatch(log.Bytes())
		if m == nil {
			b.Fatalf("the main job printed no line matching %q", conformanceWall)
		}
		s, _ := strconv.ParseFloat(string(m[1]), 64)
		wall += s
	}
	b.ReportMetric(wall/float64(b.N), "conformance_wall_s")
}
