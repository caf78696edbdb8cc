package pipeline

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"gamma-conformance/gatewayapi"
	"gamma-conformance/harness"
	"gamma-conformance/harness/crds"
	"gamma-conformance/harness/mesh"
	"gamma-conformance/reportgen"
)

// Options of the main job.
type Options struct {
	// Provider makes the cluster; the job brings it down again at the end
	// (also on failure and interrupt).
	Provider harness.Provider
	// OutDir receives negative-control/, suites/, mesh/ and bin/.
	OutDir string
	// SuiteBinary is a prebuilt suite binary; default: build it into
	// OutDir/bin/suites.test.
	SuiteBinary string
	// GatewayAPIVersion is the Gateway API release whose CRDs and upstream
	// mesh tests the job runs (default gatewayapi.Default).
	GatewayAPIVersion string
	// UpstreamBinary is a prebuilt upstream runner of that release, for a
	// release the suite binary does not hold (v1.7.0); default: build it
	// into OutDir/bin.
	UpstreamBinary string
	// PruneCRDs deletes Gateway API CRDs of another release or channel
	// before installing the release's (a cluster the job made itself);
	// without it such CRDs are an error.
	PruneCRDs bool
	// NegativeControlTimeout is the negative control's convergence timeout
	// (default 5s: with no mesh nothing converges, and every mesh spec
	// waits it out; the controls pass as soon as kube-proxy serves each
	// spec's new Services, a second or more on kind).
	NegativeControlTimeout time.Duration
	// Log receives the progress lines (default os.Stderr).
	Log io.Writer
}

// FailedError is a job that ran to its end and found failures: the
// negative control did not hold, or the reference mesh failed tests it
// claims. Its exit code is 1.
type FailedError struct{ Err error }

func (e *FailedError) Error() string { return e.Err.Error() }
func (e *FailedError) Unwrap() error { return e.Err }

// job is one run of the main job: its options, clock and the cluster each
// step hands to the next.
type job struct {
	opts    Options
	release gatewayapi.Release
	start   time.Time
	cluster *harness.Cluster
	// bin and upstreamBin are the suite binaries (upstreamBin "" when the
	// suite binary holds the release's upstream tests).
	bin, upstreamBin string
}

func (j *job) log(format string, args ...any) {
	fmt.Fprintf(j.opts.Log, "conformance: [%ds] %s\n", int(time.Since(j.start).Seconds()), fmt.Sprintf(format, args...))
}

// Conformance is the main job (`gammaconf conformance`, `make conformance`):
// cluster up → the release's Gateway API CRDs (experimental channel) →
// negative control (the semantics suite with no mesh: every mesh spec must
// fail, every control pass; the release's upstream runner and the mesh
// images build meanwhile) → reference mesh install → both suites against it →
// the mesh switched to the alternate choices (the other legal answer
// wherever the specification leaves a choice) → both suites again →
// reports → cluster down. The cluster comes down whatever happens,
// interrupts (ctx) included. It returns a *FailedError when a suite found
// failures, a harness setup error for bad input, and prints the closing
// line conformance_wall_s=N.
func Conformance(ctx context.Context, opts Options) (err error) {
	if opts.Log == nil {
		opts.Log = os.Stderr
	}
	if opts.NegativeControlTimeout == 0 {
		opts.NegativeControlTimeout = 5 * time.Second
	}
	if opts.Provider == nil {
		return harness.Setupf("no cluster provider: pass one (gammaconf conformance --provider local|kind|existing)")
	}
	rel, err := gatewayapi.Lookup(opts.GatewayAPIVersion)
	if err != nil {
		return harness.Setupf("%v (fix: pass one of them)", err)
	}
	j := &job{opts: opts, release: rel, start: time.Now()}
	defer func() {
		j.log("bringing the cluster down")
		// The cluster comes down even when ctx was interrupted.
		if derr := opts.Provider.Down(context.WithoutCancel(ctx)); derr != nil {
			err = errors.Join(err, fmt.Errorf("cluster down: %w", derr))
		}
		rc := 0
		if err != nil {
			rc = 1
		}
		j.log("done (exit %d)", rc)
		fmt.Fprintf(opts.Log, "conformance_wall_s=%d\n", int(time.Since(j.start).Seconds()))
	}()
	return j.run(ctx)
}

// run is the job's steps, each handing the cluster to the next.
func (j *job) run(ctx context.Context) error {
	out := j.opts.OutDir
	for _, d := range []string{"suites", "alternate", "negative-control"} {
		if err := os.RemoveAll(filepath.Join(out, d)); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return harness.Setupf("output folder %s: %v (fix: pass a writable folder)", out, err)
	}
	j.log("cluster up")
	c, err := j.opts.Provider.Up(ctx)
	if err != nil {
		return err
	}
	j.cluster = c
	j.log("Gateway API %s CRDs (experimental channel)", j.release.Version)
	if err := j.installCRDs(ctx); err != nil {
		return err
	}
	if err := j.buildSuite(ctx); err != nil {
		return err
	}
	// The upstream runner and the mesh images build (and the images load)
	// while the negative control runs: nothing of the mesh is installed
	// before it has ended.
	upstreamBuilt := j.buildUpstream(ctx)
	var imgs *mesh.Images
	meshBuilt := make(chan error, 1)
	j.log("building and loading the reference mesh images (beside the negative control)")
	go func() {
		var err error
		imgs, err = mesh.Build(ctx, c, filepath.Join(out, "mesh"))
		meshBuilt <- err
	}()
	ncErr := j.negativeControl(ctx, j.bin)
	if err := errors.Join(<-upstreamBuilt, <-meshBuilt, ncErr); err != nil {
		return err
	}
	bin := j.bin
	j.log("negative control held; installing the reference mesh")
	if err := mesh.Install(ctx, c, mesh.Options{WorkDir: filepath.Join(out, "mesh"), Log: j.opts.Log, Images: imgs}); err != nil {
		return err
	}
	// A failure of the reference mesh does not skip the alternate: both
	// verdicts are reported.
	refErr := j.meshRun(ctx, bin, "reference", "suites", ReferenceMeshFlags())
	var fe *FailedError
	if refErr != nil && !errors.As(refErr, &fe) {
		return refErr
	}
	j.log("switching the mesh to the alternate choices")
	if err := mesh.SwitchChoices(ctx, c, "alternate", 0, j.opts.Log); err != nil {
		return errors.Join(refErr, err)
	}
	return errors.Join(refErr, j.meshRun(ctx, bin, "alternate", "alternate", AlternateMeshFlags()))
}

// meshRun runs both suites against the installed mesh into <out>/<dir>
// and renders the reports; it fails when the mesh failed a test it claims.
func (j *job) meshRun(ctx context.Context, bin, name, dir string, flags []string) error {
	out := filepath.Join(j.opts.OutDir, dir)
	if err := os.RemoveAll(out); err != nil {
		return err
	}
	j.log("running both suites against the %s mesh", name)
	suiteErr := j.suite(bin, out, flags).Run(ctx, os.Stdout, j.opts.Log)
	if err := j.render(out); err != nil {
		return err
	}
	if suiteErr != nil {
		j.log("the %s mesh failed tests it claims: see %s", name, filepath.Join(out, "report.html"))
		return &FailedError{fmt.Errorf("%s mesh: %w", name, suiteErr)}
	}
	j.log("the %s mesh passed every test it claims; reports in %s", name, out)
	return nil
}

func (j *job) installCRDs(ctx context.Context) error {
	rc, err := j.cluster.RESTConfig()
	if err != nil {
		return err
	}
	_, err = crds.InstallVersion(ctx, rc, j.release.Version, crds.Experimental, j.opts.PruneCRDs)
	return err
}

// buildSuite builds the suite binary unless one was given.
func (j *job) buildSuite(ctx context.Context) error {
	j.bin = j.opts.SuiteBinary
	if j.bin != "" {
		return nil
	}
	j.bin = filepath.Join(j.opts.OutDir, "bin", SuiteBinaryName)
	j.log("building the suite binary %s", j.bin)
	return BuildSuite(ctx, j.bin, j.opts.Log)
}

// buildUpstream builds the release's upstream runner in the background
// when the suite binary does not hold its tests and none was given; the
// channel yields the build's error.
func (j *job) buildUpstream(ctx context.Context) <-chan error {
	done := make(chan error, 1)
	if !SeparateUpstream(j.release) {
		done <- nil
		return done
	}
	j.upstreamBin = j.opts.UpstreamBinary
	if j.upstreamBin != "" {
		done <- nil
		return done
	}
	j.upstreamBin = filepath.Join(j.opts.OutDir, "bin", j.release.UpstreamBinary)
	j.log("building the Gateway API %s upstream runner %s (beside the negative control)", j.release.Version, j.upstreamBin)
	go func() { done <- BuildUpstream(ctx, j.release, j.upstreamBin, j.opts.Log) }()
	return done
}

// suite is a run of the suite binaries against the job's cluster.
func (j *job) suite(bin, outDir string, flags []string) Suite {
	// Both suites run at once, each in its own namespaces: the release's
	// upstream runner, or the suite binary's TestUpstream in a process of
	// its own.
	return Suite{Binary: bin, UpstreamBinary: cmp.Or(j.upstreamBin, bin), Concurrent: true,
		Kubeconfig: j.cluster.Kubeconfig, OutputDir: outDir, Flags: flags}
}

// negativeControl runs the semantics suite with no mesh and renders its
// reports.
func (j *job) negativeControl(ctx context.Context, bin string) error {
	j.log("negative control: the semantics suite with no mesh")
	s := j.suite(bin, filepath.Join(j.opts.OutDir, "negative-control"), nil)
	s.NegativeControl, s.Timeout = true, j.opts.NegativeControlTimeout
	err := s.Run(ctx, os.Stdout, j.opts.Log)
	if rerr := j.render(s.OutputDir); rerr != nil && err == nil {
		return rerr
	}
	var se *SuiteError
	if errors.As(err, &se) && !se.Usage && se.Code > 0 {
		return &FailedError{err}
	}
	return err
}

// render writes the reports of a saved run next to its results.
func (j *job) render(dir string) error {
	run, err := reportgen.Load(dir)
	if err != nil {
		return fmt.Errorf("reports of %s: %w", dir, err)
	}
	files, err := reportgen.Render(run)
	if err != nil {
		return err
	}
	return reportgen.Write(dir, files)
}
