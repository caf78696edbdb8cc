package local

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"gamma-conformance/harness"
	"gamma-conformance/harness/internal/artifacts"
	"gamma-conformance/harness/internal/progress"
)

// TestUpDownCycles brings a cluster up and down GAMMA_CLUSTER_CYCLES times
// (make protocol: 10) and checks, right after each down, that no process
// of the cluster runs (none of its binaries, no containerd shim of its
// socket): down returns only when every process it stopped has exited.
// It needs root and no cluster up (one runs per host): it skips otherwise,
// so it never tears down the cluster that make test shares between
// packages.
func TestUpDownCycles(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("GAMMA_CLUSTER_CYCLES"))
	switch {
	case n <= 0:
		t.Skip("GAMMA_CLUSTER_CYCLES is not set: make protocol sets it (10 cycles, about 3 minutes)")
	case runtime.GOOS != "linux" || os.Geteuid() != 0:
		t.Skip("the local provider needs Linux and root")
	}
	if owner := bridgeOwner(); owner != "" || linkExists(nodeBridge) || os.Getenv(harness.KubeconfigEnv) != "" {
		t.Skipf("a local cluster is already up (state in %q, %s=%q): only one runs per host; bring it down first (make cluster-down)",
			owner, harness.KubeconfigEnv, os.Getenv(harness.KubeconfigEnv))
	}
	ctx := context.Background()
	if _, err := artifacts.Ensure(ctx, artifacts.DefaultCacheDir(), progress.New(os.Stderr)); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		// Not VerifyClean: its host snapshot counts every etcd and
		// kube-apiserver on the host, and other work here (envtest, kind)
		// starts some; clusterProcesses looks for this cluster's alone.
		p := New(Options{Dir: t.TempDir(), Out: os.Stderr})
		if _, err := p.Up(ctx); err != nil {
			p.Down(ctx)
			t.Fatalf("cycle %d: up: %v", i+1, err)
		}
		var st state
		data, err := os.ReadFile(p.stateFile())
		if err == nil {
			err = json.Unmarshal(data, &st)
		}
		if err != nil {
			p.Down(ctx)
			t.Fatalf("cycle %d: state: %v", i+1, err)
		}
		if err := p.Down(ctx); err != nil {
			t.Fatalf("cycle %d: down: %v", i+1, err)
		}
		if left := clusterProcesses(st, p.p.containerdSocket()); len(left) > 0 {
			t.Fatalf("cycle %d: down returned while these still ran:\n%s", i+1, strings.Join(left, "\n"))
		}
	}
	fmt.Printf("cluster_up_down_cycles_clean=%d\n", n)
}

// clusterProcesses lists the processes (not zombies whose threads are all
// gone) running one of the cluster's binaries or a shim of its containerd.
func clusterProcesses(st state, socket string) []string {
	bins := make(map[string]string) // by path, and by name as /proc/<pid>/comm shows it
	for name, bin := range st.Bins {
		bins[bin] = name
		bins[comm(filepath.Base(bin))] = name
	}
	var left []string
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, dir := range procs {
		pid, err := strconv.Atoi(filepath.Base(dir))
		if err != nil || !isRunning(pid, "") {
			continue
		}
		exe, err := os.Readlink(dir + "/exe")
		if err != nil {
			// Exiting: its memory is gone, its files may not be.
			c, _ := os.ReadFile(dir + "/comm")
			exe = comm(strings.TrimSpace(string(c)))
		}
		cmdline, _ := os.ReadFile(dir + "/cmdline")
		stat, _ := os.ReadFile(dir + "/stat")
		if name, ok := bins[strings.TrimSuffix(exe, " (deleted)")]; ok {
			left = append(left, fmt.Sprintf("%d %s (%d live threads; stat %.60s; %.200s)", pid, name, liveThreads(pid), stat, bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '})))
		} else if strings.Contains(string(cmdline), "containerd-shim") && strings.Contains(string(cmdline), socket) {
			left = append(left, fmt.Sprintf("%d containerd-shim", pid))
		}
	}
	return left
}

// comm is a program name as the kernel keeps it: 15 bytes at most, with a
// prefix so that it never equals a path.
func comm(name string) string { return "comm:" + name[:min(len(name), 15)] }
