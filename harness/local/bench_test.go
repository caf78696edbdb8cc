package local

import (
	"context"
	"os"
	"runtime"
	"testing"
	"time"

	"gamma-conformance/harness"
	"gamma-conformance/harness/internal/artifacts"
	"gamma-conformance/harness/internal/progress"
)

// BenchmarkClusterUpWarm measures cluster_up_warm_s: from `up` to every
// system pod Ready, with every binary and image already cached (the cache is
// filled before the clock starts). It skips when a local cluster is already
// up (one per host: the node address, bridges and kube-proxy chains are
// host-wide), e.g. during `make test`.
func BenchmarkClusterUpWarm(b *testing.B) {
	if runtime.GOOS != "linux" || os.Geteuid() != 0 {
		b.Skip("the local provider needs Linux and root")
	}
	if owner := bridgeOwner(); owner != "" || linkExists(nodeBridge) || os.Getenv(harness.KubeconfigEnv) != "" {
		b.Skipf("a local cluster is already up (state in %q, %s=%q): only one runs per host; bring it down first (make cluster-down)",
			owner, harness.KubeconfigEnv, os.Getenv(harness.KubeconfigEnv))
	}
	ctx := context.Background()
	if _, err := artifacts.Ensure(ctx, artifacts.DefaultCacheDir(), progress.New(os.Stderr)); err != nil {
		b.Fatal(err)
	}
	var up, down time.Duration
	for i := 0; i < b.N; i++ {
		p := New(Options{Dir: b.TempDir(), Out: os.Stderr, VerifyClean: true})
		begin := time.Now()
		_, err := p.Up(ctx)
		up += time.Since(begin)
		begin = time.Now()
		derr := p.Down(ctx)
		down += time.Since(begin)
		if err != nil {
			b.Fatal(err)
		}
		if derr != nil {
			b.Fatal(derr)
		}
	}
	b.ReportMetric(up.Seconds()/float64(b.N), "cluster_up_warm_s")
	b.ReportMetric(down.Seconds()/float64(b.N), "cluster_down_s")
}
