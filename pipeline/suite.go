package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// SuitePackage is the Go package of the suite binary.
const SuitePackage = "gamma-conformance/suites"

// Suite is one run of the suite binary (`go test -c ./suites`) against a
// cluster. Its Args method is the one place where the binary's command
// line is made: `gammaconf run`, `gammaconf conformance`, the Make targets,
// the GitHub action and the benchmarks all run the suites through it.
type Suite struct {
	// Binary is the suite binary.
	Binary string
	// Kubeconfig of the cluster under test.
	Kubeconfig string
	// OutputDir receives results.json, the upstream report and dumps.
	OutputDir string
	// NegativeControl runs only the semantics suite, on a cluster with no
	// mesh: it passes only if every spec that tests mesh behaviour fails
	// and every control passes. Timeout is its convergence timeout.
	NegativeControl bool
	Timeout         time.Duration
	// Flags are the suite flags (the upstream runner's names and ours).
	Flags []string
	// UpstreamBinary, when set, runs the upstream mesh tests (a release's
	// own runner, e.g. suites/upstream17 for v1.7.0) and Binary only the
	// semantics suite; their results are merged (release.go). Unused by
	// the negative control. It may be Binary itself (the root binary holds
	// v1.6.3's upstream tests): the two suites then run as two processes.
	UpstreamBinary string
	// Concurrent runs the two binaries at the same time (each in its own
	// namespaces; the main job does, to save wall time).
	Concurrent bool
}

// Args is the suite binary's command line, without the binary.
func (s Suite) Args() []string {
	args := []string{"-test.timeout=60m", "--kubeconfig=" + s.Kubeconfig, "--output-dir=" + s.OutputDir}
	if s.NegativeControl {
		args = append(args, "-test.run=^TestSemantics$", "--negative-control", "--convergence-timeout="+s.Timeout.String(),
			"--dump-on-failure=false", "--all-features", "--parallel-specs=16")
	}
	return append(args, s.Flags...)
}

// SuiteError says how a suite run ended when it did not pass.
type SuiteError struct {
	// Usage: the binary refused its flags or setup (its exit code 2).
	Usage bool
	// Code is the binary's exit code (-1 when it could not be run).
	Code int
	Err  error
}

func (e *SuiteError) Error() string { return e.Err.Error() }
func (e *SuiteError) Unwrap() error { return e.Err }

// Run runs the suite binary (or binaries: UpstreamBinary), its stdout and
// stderr going to the writers.
func (s Suite) Run(ctx context.Context, stdout, stderr io.Writer) error {
	if s.UpstreamBinary != "" && !s.NegativeControl {
		return s.runTwo(ctx, stdout, stderr)
	}
	return s.exec(ctx, s.Binary, s.Args(), stdout, stderr)
}

// exec runs one binary with args and says how it ended.
func (s Suite) exec(ctx context.Context, binary string, args []string, stdout, stderr io.Writer) error {
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	// An interrupt reaches the binary as SIGTERM, so it cleans up.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 2 * time.Minute
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ee) && ee.ExitCode() == 2:
		return &SuiteError{Usage: true, Code: 2, Err: errors.New("the suite binary rejected its flags or setup (see above)")}
	case errors.As(err, &ee) && s.NegativeControl:
		return &SuiteError{Code: ee.ExitCode(), Err: errors.New("the negative control did not hold (see above)")}
	case errors.As(err, &ee):
		return &SuiteError{Code: ee.ExitCode(), Err: fmt.Errorf("conformance tests failed (see above and %s)", s.OutputDir)}
	default:
		return &SuiteError{Code: -1, Err: fmt.Errorf("running %s: %w", binary, err)}
	}
}

// BuildSuite builds the suite binary at path from this source tree.
func BuildSuite(ctx context.Context, path string, log io.Writer) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	build := exec.CommandContext(ctx, "go", "test", "-c", "-o", path, SuitePackage)
	build.Stdout, build.Stderr = log, log
	if err := build.Run(); err != nil {
		return fmt.Errorf("building the suite binary (run from the gamma-conformance source tree, or pass a prebuilt one): %w", err)
	}
	return nil
}
