package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"gamma-conformance/gatewayapi"
	"gamma-conformance/reportgen/results"
)

// A Gateway API release whose upstream mesh tests the root suite binary
// does not hold (v1.7.0: the nested Go 1.27 module suites/upstream17) runs
// as two binaries against one cluster: the release's upstream runner writes
// <OutputDir>/results.json and the upstream report, the root binary runs
// only the semantics suite into <OutputDir>/semantics, and the two results
// files are merged into <OutputDir>/results.json (results.Merge).

// semanticsPart is the folder, under a run's OutputDir, of the semantics
// half of a two-binary run.
const semanticsPart = "semantics"

// SeparateUpstream reports whether the release's upstream mesh tests run
// from their own binary, not the root suite binary.
func SeparateUpstream(rel gatewayapi.Release) bool {
	return rel.UpstreamBinary != filepath.Base(SuiteBinaryName)
}

// SuiteBinaryName is the file name of the root suite binary.
const SuiteBinaryName = "suites.test"

// BuildUpstream builds the release's upstream runner at path from its
// nested module, with the Go toolchain that module needs (the go command
// fetches it from the module proxy the first time).
func BuildUpstream(ctx context.Context, rel gatewayapi.Release, path string, log io.Writer) error {
	root, err := moduleRoot(ctx)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	build := exec.CommandContext(ctx, "go", "test", "-c", "-o", abs, ".")
	build.Dir = filepath.Join(root, rel.ModuleDir)
	build.Env = append(os.Environ(), "GOTOOLCHAIN="+rel.Toolchain)
	build.Stdout, build.Stderr = log, log
	if err := build.Run(); err != nil {
		return fmt.Errorf("building the Gateway API %s upstream runner in %s with GOTOOLCHAIN=%s (run from the gamma-conformance source tree, or pass a prebuilt one): %w",
			rel.Version, build.Dir, rel.Toolchain, err)
	}
	return nil
}

// moduleRoot is the folder of the root module's go.mod.
func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	gomod := strings.TrimSpace(string(out))
	if err != nil || gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("not in the gamma-conformance source tree (go env GOMOD: %q, %v): run from it, or pass prebuilt suite binaries", gomod, err)
	}
	return filepath.Dir(gomod), nil
}

// upstreamArgs is the upstream runner's command line: the run's flags
// without the semantics suite's Ginkgo selection, and only TestUpstream
// (the runner may be the root binary, which holds both).
func (s Suite) upstreamArgs() []string {
	args := []string{"-test.timeout=60m", "--kubeconfig=" + s.Kubeconfig, "--output-dir=" + s.OutputDir}
	for _, f := range s.Flags {
		name := strings.TrimLeft(f, "-")
		if strings.HasPrefix(name, "ginkgo.") || strings.HasPrefix(name, "test.run") {
			continue
		}
		args = append(args, f)
	}
	return append(args, "-test.run=^TestUpstream$")
}

// semanticsArgs is the root binary's command line in a two-binary run.
func (s Suite) semanticsArgs() []string {
	t := s
	t.OutputDir = filepath.Join(s.OutputDir, semanticsPart)
	return append(t.Args(), "-test.run=^TestSemantics$")
}

// selects reports which suites the run's -test.run flag selects (both when
// there is none).
func (s Suite) selects() (upstream, semantics bool) {
	upstream, semantics = true, true
	for _, f := range s.Flags {
		name, value, _ := strings.Cut(strings.TrimLeft(f, "-"), "=")
		if name != "test.run" {
			continue
		}
		// go test matches -test.run against the top-level test names; a
		// pattern it cannot compile is left to the binary to refuse.
		if re, err := regexp.Compile(value); err == nil {
			upstream, semantics = re.MatchString("TestUpstream"), re.MatchString("TestSemantics")
		}
	}
	return upstream, semantics
}

// runTwo is Run for a two-binary run: the upstream runner, then the
// semantics suite (or both at once: Concurrent), then the merge. Both
// suites run whatever the first found; bad flags or setup stop at once. A
// -test.run that selects one suite runs only its binary, into OutputDir.
func (s Suite) runTwo(ctx context.Context, stdout, stderr io.Writer) error {
	upstream, semantics := s.selects()
	switch {
	case !upstream:
		return s.exec(ctx, s.Binary, s.Args(), stdout, stderr)
	case !semantics:
		return s.exec(ctx, s.UpstreamBinary, s.upstreamArgs(), stdout, stderr)
	}
	var upErr, semErr error
	if s.Concurrent {
		stdout, stderr = lockedWriter(stdout), lockedWriter(stderr)
		var wg sync.WaitGroup
		wg.Go(func() { upErr = s.exec(ctx, s.UpstreamBinary, s.upstreamArgs(), stdout, stderr) })
		wg.Go(func() { semErr = s.exec(ctx, s.Binary, s.semanticsArgs(), stdout, stderr) })
		wg.Wait()
		if stop(upErr) || stop(semErr) {
			return errors.Join(upErr, semErr)
		}
	} else {
		if upErr = s.exec(ctx, s.UpstreamBinary, s.upstreamArgs(), stdout, stderr); stop(upErr) {
			return upErr
		}
		if semErr = s.exec(ctx, s.Binary, s.semanticsArgs(), stdout, stderr); stop(semErr) {
			return semErr
		}
	}
	if err := mergeParts(s.OutputDir, stderr); err != nil {
		return errors.Join(upErr, semErr, err)
	}
	return errors.Join(upErr, semErr)
}

// lockedWriter lets two commands share w: an *os.File is shared as it is
// (each child writes its own lines to the descriptor), any other writer
// gets a lock, since exec copies each child's output from its own
// goroutine.
func lockedWriter(w io.Writer) io.Writer {
	if f, ok := w.(*os.File); ok {
		return f
	}
	return &syncWriter{w: w}
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// stop: the run cannot go on (bad usage or setup, or the binary did not run).
func stop(err error) bool {
	var se *SuiteError
	return err != nil && (!errors.As(err, &se) || se.Usage || se.Code < 0)
}

// mergeParts merges the semantics part's results into dir's results.json
// and says what it holds.
func mergeParts(dir string, log io.Writer) error {
	up, err := results.Read(filepath.Join(dir, results.File))
	if err != nil {
		return fmt.Errorf("the upstream runner wrote no results: %w", err)
	}
	sem, err := results.Read(filepath.Join(dir, semanticsPart, results.File))
	if err != nil {
		return fmt.Errorf("the semantics suite wrote no results: %w", err)
	}
	merged, err := results.Merge(up, sem)
	if err != nil {
		return err
	}
	path := filepath.Join(dir, results.File)
	if err := results.Write(path, merged); err != nil {
		return err
	}
	u, m := merged.Count(results.Upstream), merged.Count(results.Semantics)
	fmt.Fprintf(log, "results merged into %s (Gateway API %s): upstream %d passed %d failed %d skipped %d not-supported; semantics %d passed %d failed %d skipped %d not-supported\n",
		path, merged.GatewayAPI.Version, u.Passed, u.Failed, u.Skipped, u.NotSupported, m.Passed, m.Failed, m.Skipped, m.NotSupported)
	return nil
}
