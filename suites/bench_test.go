package suites

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/gateway-api/conformance/utils/suite"

	"gamma-conformance/gatewayapi"
	"gamma-conformance/pipeline"
	"gamma-conformance/reportgen/results"
	"gamma-conformance/suites/internal/kube"
)

// BenchmarkConformanceRun measures, in one go on the same warm cluster with
// a mesh installed:
//
//   - suite_s: the whole run of this binary (upstream + semantics);
//   - semantics_spec_median_s: the median semantics spec of that run;
//   - semantics_pods, fixture_ready_s: the pods the semantics fixtures
//     started, and the semantics run's start to all of them Ready;
//   - upstream_runner_s: the upstream runner alone (gateway-api's own
//     TestConformance, profiles MESH-HTTP,MESH-GRPC);
//   - upstream_test_median_s: the median mesh test in that upstream run.
//
// GAMMA_BENCH_GATEWAY_API_VERSION picks the release (default v1.6.3, whose
// upstream tests this binary holds); the figures of another release carry
// its name (suite_v1_7_0_s, ...), and the cluster must serve its CRDs.
//
// It needs GAMMA_BENCH_KUBECONFIG. GAMMA_BENCH_UPSTREAM_FLAGS (upstream
// runner flags: profiles, features, --namespace-labels) go to both runs;
// GAMMA_BENCH_FLAGS (our own, e.g. --controller-name) only to this binary.
// GAMMA_BENCH_REFERENCE=1 takes both from package pipeline: the flags of a
// run against the reference mesh.
func BenchmarkConformanceRun(b *testing.B) {
	kubeconfig := os.Getenv("GAMMA_BENCH_KUBECONFIG")
	if kubeconfig == "" {
		b.Skip("set GAMMA_BENCH_KUBECONFIG to a cluster with the mesh installed to measure a conformance run")
	}
	upstreamFlags := strings.Fields(os.Getenv("GAMMA_BENCH_UPSTREAM_FLAGS"))
	ownFlags := strings.Fields(os.Getenv("GAMMA_BENCH_FLAGS"))
	if os.Getenv("GAMMA_BENCH_REFERENCE") == "1" {
		upstreamFlags = pipeline.ReferenceMeshUpstreamFlags()
		ownFlags = slices.DeleteFunc(pipeline.ReferenceMeshFlags(), func(f string) bool { return slices.Contains(upstreamFlags, f) })
	}
	if len(upstreamFlags) == 0 {
		upstreamFlags = strings.Fields("--conformance-profiles=MESH-HTTP,MESH-GRPC --all-features --exempt-features=Gateway,ReferenceGrant")
	}
	out := b.TempDir()
	// The logs outlive the benchmark: GAMMA_BENCH_LOGS (default: the temp dir).
	logDir := os.Getenv("GAMMA_BENCH_LOGS")
	if logDir == "" {
		logDir = out
	}
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		b.Fatal(err)
	}
	rel, err := gatewayapi.Lookup(cmp.Or(os.Getenv("GAMMA_BENCH_GATEWAY_API_VERSION"), gatewayapi.V163))
	if err != nil {
		b.Fatal(err)
	}
	for range b.N {
		var progress bytes.Buffer
		suiteSecs, specs, suiteErr := benchSuites(b, rel, kubeconfig, out, logDir, &progress, append(upstreamFlags, ownFlags...))
		upSecs, upMedian, upErr := benchUpstreamAlone(b, rel, kubeconfig, out, logDir, upstreamFlags)
		b.ReportMetric(suiteSecs, metric("suite_s", rel))
		b.ReportMetric(upSecs, metric("upstream_runner_s", rel))
		b.ReportMetric(median(specs), metric("semantics_spec_median_s", rel))
		b.ReportMetric(upMedian, metric("upstream_test_median_s", rel))
		reportFixtures(b, rel, progress.Bytes())
		if upErr != nil || suiteErr != nil {
			b.Errorf("a run failed (upstream runner: %v; suites: %v): the figures are of a failing run", upErr, suiteErr)
		}
	}
}

// metric names a figure of the release: v1.6.3's plain (suite_s), the
// others' with the release (suite_v1_7_0_s).
func metric(name string, rel gatewayapi.Release) string {
	if rel.Version == gatewayapi.V163 {
		return name
	}
	return strings.TrimSuffix(name, "_s") + "_" + strings.NewReplacer(".", "_").Replace(rel.Version) + "_s"
}

// benchSuites times both suites of the release against the cluster (this
// binary; for v1.7.0 also the nested module's upstream runner, built
// first) and returns the run time and each semantics spec's duration; the
// progress lines go to progress too.
func benchSuites(b *testing.B, rel gatewayapi.Release, kubeconfig, out, logDir string, progress io.Writer, flags []string) (float64, []float64, error) {
	self, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	s := pipeline.Suite{Binary: self, Kubeconfig: kubeconfig, OutputDir: filepath.Join(out, "suites"),
		Flags: append([]string{"-test.run=^Test(Upstream|Semantics)$", "-test.bench=^$"}, flags...)}
	if pipeline.SeparateUpstream(rel) {
		s.UpstreamBinary = filepath.Join(out, rel.UpstreamBinary)
		if err := pipeline.BuildUpstream(context.Background(), rel, s.UpstreamBinary, os.Stderr); err != nil {
			b.Fatal(err)
		}
	}
	log, err := os.Create(filepath.Join(logDir, "suites.log"))
	if err != nil {
		b.Fatal(err)
	}
	defer log.Close()
	start := time.Now()
	suiteErr := s.Run(context.Background(), log, io.MultiWriter(os.Stderr, progress))
	secs := time.Since(start).Seconds()
	r, err := results.Read(filepath.Join(out, "suites", results.File))
	if err != nil {
		b.Fatal(err)
	}
	var specs []float64
	for _, t := range r.Tests {
		if t.Suite == results.Semantics && (t.Outcome == results.Passed || t.Outcome == results.Failed) {
			specs = append(specs, t.DurationSeconds)
		}
	}
	return secs, specs, suiteErr
}

// fixtureReady is the semantics suite's progress line saying how many pods
// its fixtures started and when, after the run started, they were Ready.
var fixtureReady = regexp.MustCompile(`fixtures ready: (\d+) pods .*fixture_ready_s=([0-9.]+)`)

// reportFixtures reports semantics_pods and fixture_ready_s from the
// semantics run's progress lines.
func reportFixtures(b *testing.B, rel gatewayapi.Release, progress []byte) {
	m := fixtureReady.FindSubmatch(progress)
	if m == nil {
		b.Errorf("the semantics run printed no line matching %q", fixtureReady)
		return
	}
	pods, _ := strconv.ParseFloat(string(m[1]), 64)
	ready, _ := strconv.ParseFloat(string(m[2]), 64)
	b.ReportMetric(pods, strings.TrimSuffix(metric("semantics_pods_s", rel), "_s"))
	b.ReportMetric(ready, metric("fixture_ready_s", rel))
}

// benchUpstreamAlone times gateway-api's own test binary of the release
// (built in the module that requires it), once the namespaces of the run
// before are gone (it cannot wait itself), and returns its median mesh test.
func benchUpstreamAlone(b *testing.B, rel gatewayapi.Release, kubeconfig, out, logDir string, upstreamFlags []string) (float64, float64, error) {
	upstreamBin, err := filepath.Abs(filepath.Join(out, "upstream-"+rel.Version+".test"))
	if err != nil {
		b.Fatal(err)
	}
	build := exec.Command("go", "test", "-c", "-o", upstreamBin, "sigs.k8s.io/gateway-api/conformance")
	// This benchmark runs in the suites folder; the release's module is
	// relative to the repository root.
	build.Dir = filepath.Join("..", rel.ModuleDir)
	build.Env = append(os.Environ(), "GOTOOLCHAIN="+rel.Toolchain)
	if msg, err := build.CombinedOutput(); err != nil {
		b.Fatalf("build the %s upstream runner: %v\n%s", rel.Version, err, msg)
	}
	if err := waitUpstreamNamespacesGone(kubeconfig); err != nil {
		b.Fatal(err)
	}
	args := append([]string{"-test.run=^TestConformance$", "-test.v", "-test.timeout=60m", "--kubeconfig=" + kubeconfig, "--report-output=" + filepath.Join(out, "upstream-alone.yaml"),
		"--organization=bench", "--project=bench", "--url=https://example.invalid", "--version=bench", "--contact=bench"}, upstreamFlags...)
	upOut, upSecs, upErr := timed(filepath.Join(logDir, "upstream-runner-"+rel.Version+".log"), upstreamBin, args...)
	return upSecs, median(upstreamDurations(upOut)), upErr
}

// line is one line of output and when it arrived.
type line struct {
	at   time.Time
	text string
}

// timed runs a command, echoing its stderr (progress lines) and saving its
// stdout to logFile, and returns its stdout lines with their arrival times
// and how long it took.
func timed(logFile, bin string, args ...string) ([]line, float64, error) {
	f, err := os.Create(logFile)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	cmd := exec.Command(bin, args...)
	cmd.Stderr = os.Stderr
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		return nil, 0, err
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, 0, err
	}
	var lines []line
	sc := bufio.NewScanner(pipe)
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	for sc.Scan() {
		lines = append(lines, line{time.Now(), sc.Text()})
		fmt.Fprintln(f, sc.Text())
	}
	err = cmd.Wait()
	if err != nil {
		err = fmt.Errorf("%w (output in %s)", err, logFile)
	}
	return lines, time.Since(start).Seconds(), err
}

var (
	upstreamStart = regexp.MustCompile(`^=== RUN\s+TestConformance/([A-Za-z0-9]+)$`)
	upstreamSkip  = regexp.MustCompile(`^\s*--- SKIP: TestConformance/([A-Za-z0-9]+) \(`)
)

// upstreamDurations measures each mesh test of the upstream runner from its
// "=== RUN" line to the next top-level test's, as the lines arrived. The
// runner runs top-level tests one after the other, and go test prints their
// result lines only at the end, with durations that leave out parallel
// subtests. Skipped tests are left out.
func upstreamDurations(lines []line) []float64 {
	type run struct {
		name string
		at   time.Time
	}
	var runs []run
	skipped := map[string]bool{}
	for _, l := range lines {
		if m := upstreamStart.FindStringSubmatch(l.text); m != nil {
			runs = append(runs, run{m[1], l.at})
		} else if m := upstreamSkip.FindStringSubmatch(l.text); m != nil {
			skipped[m[1]] = true
		}
	}
	var d []float64
	for i, r := range runs {
		if !strings.HasPrefix(r.name, "Mesh") || skipped[r.name] {
			continue
		}
		end := lines[len(lines)-1].at
		if i+1 < len(runs) {
			end = runs[i+1].at
		}
		d = append(d, end.Sub(r.at).Seconds())
	}
	return d
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// waitUpstreamNamespacesGone waits until the namespaces of an earlier run
// (the upstream fixture's and the semantics specs') are deleted, so their
// stopping pods do not slow the next run down.
func waitUpstreamNamespacesGone(kubeconfig string) error {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return err
	}
	c, err := kube.NewCluster(cfg, kube.Options{})
	if err != nil {
		return err
	}
	if _, err := c.WaitSuiteNamespacesGone(context.Background(), 3*time.Minute); err != nil {
		return err
	}
	return c.WaitNotTerminating(context.Background(), 3*time.Minute, suite.MeshNamespace, suite.MeshConsumerNamespace)
}
