package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/kubernetes"

	"gamma-conformance/harness/internal/hostsnap"
)

// stopOrder is the teardown order: nodes agents first, the API server
// before etcd (else it hangs in graceful shutdown), containerd last.
var stopOrder = []string{"kubelet", "kube-proxy", "kube-scheduler", "kube-controller-manager", "kube-apiserver", "etcd", "containerd"}

// Down removes the cluster and everything Up changed on the host. It is
// not an error when nothing is up.
func (p *Provider) Down(ctx context.Context) error {
	if err := preflight(); err != nil {
		return err
	}
	if _, err := os.Stat(p.stateFile()); err != nil {
		if owner := bridgeOwner(); linkExists(nodeBridge) && (owner == "" || owner == p.opts.Dir) {
			p.log.Printf("no state in %s but the node bridge %s exists: removing the host leftovers", p.opts.Dir, nodeBridge)
			return p.cleanHost(state{})
		}
		p.log.Printf("no local cluster in %s: nothing to bring down", p.opts.Dir)
		return nil
	}
	var st state
	if data, err := os.ReadFile(p.stateFile()); err == nil {
		_ = json.Unmarshal(data, &st)
	}
	var before *hostsnap.Snapshot
	if data, err := os.ReadFile(p.p.join("host-before.json")); err == nil {
		before = &hostsnap.Snapshot{}
		if err := json.Unmarshal(data, before); err != nil {
			return fmt.Errorf("%s: %w", p.p.join("host-before.json"), err)
		}
	}
	var errs []error
	err := p.log.Step("stop the cluster", func() error {
		var errs []error
		for _, name := range stopOrder {
			if name == "kube-scheduler" { // the node agents are gone: remove the pods
				if _, up := p.p.running("containerd", st.Bins["containerd"]); up {
					if err := removeSandboxes(ctx, p.p.containerdSocket()); err != nil {
						errs = append(errs, err)
					}
				}
			}
			grace := 10 * time.Second
			if name == "kube-apiserver" {
				grace = 20 * time.Second
			}
			if err := p.p.stop(name, st.Bins[name], grace); err != nil {
				errs = append(errs, err)
			}
		}
		errs = append(errs, killLeftovers(p.p.containerdSocket()))
		errs = append(errs, killStragglers(st, p.opts.Dir))
		return errors.Join(errs...)
	})
	errs = append(errs, err)
	errs = append(errs, p.log.Step("restore the host (iptables, mounts, links, sysctls)", func() error { return p.cleanHost(st) }))
	if before != nil {
		after := hostsnap.Take(sysctls, hostPaths)
		if d := hostsnap.Diff(*before, after); len(d) > 0 {
			errs = append(errs, fmt.Errorf("the host differs from before `up`:\n  %s", strings.Join(d, "\n  ")))
		} else {
			p.log.Printf("host state identical to before `up` (processes, mounts, links, netns, iptables, sysctls, paths)")
		}
	}
	return errors.Join(errs...)
}

// killLeftovers kills containerd shims of this cluster and the processes of
// any pod cgroup that survived (a killed containerd leaves them behind), and
// waits until they are gone.
func killLeftovers(socket string) error {
	var killed []int
	kill := func(pid int) {
		if syscall.Kill(pid, syscall.SIGKILL) == nil {
			killed = append(killed, pid)
		}
	}
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		cmdline, _ := os.ReadFile(p + "/cmdline")
		if strings.Contains(string(cmdline), "containerd-shim") && strings.Contains(string(cmdline), socket) {
			var pid int
			fmt.Sscanf(filepath.Base(p), "%d", &pid)
			kill(pid)
		}
	}
	roots, _ := filepath.Glob("/sys/fs/cgroup/*/kubepods")
	for _, r := range roots {
		_ = filepath.WalkDir(r, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.Name() != "cgroup.procs" {
				return nil
			}
			data, _ := os.ReadFile(path)
			for _, l := range strings.Fields(string(data)) {
				var pid int
				if _, err := fmt.Sscanf(l, "%d", &pid); err == nil && pid > 1 {
					kill(pid)
				}
			}
			return nil
		})
	}
	var errs []error
	for _, pid := range killed {
		if !waitGone(pid, "", 10*time.Second) {
			errs = append(errs, fmt.Errorf("process %d of the cluster survived SIGKILL", pid))
		}
	}
	return errors.Join(errs...)
}

// killStragglers kills, and waits for, any process that runs one of the
// cluster's binaries with its state directory on its command line: one
// whose PID file was lost or overwritten would otherwise outlive down.
func killStragglers(st state, dir string) error {
	bins := make(map[string]bool)
	for _, b := range st.Bins {
		bins[b] = true
	}
	var errs []error
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		exe, err := os.Readlink(p + "/exe")
		exe = strings.TrimSuffix(exe, " (deleted)")
		if err != nil || !bins[exe] {
			continue
		}
		cmdline, _ := os.ReadFile(p + "/cmdline")
		if !strings.Contains(string(cmdline), dir+string(filepath.Separator)) {
			continue
		}
		var pid int
		fmt.Sscanf(filepath.Base(p), "%d", &pid)
		if err := stopPID(pid, exe, 5*time.Second); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// cleanHost removes the cluster's iptables rules, mounts, links, cgroups and
// directories, and restores the sysctls.
func (p *Provider) cleanHost(st state) error {
	var errs []error
	if bin := st.Bins["kube-proxy"]; bin != "" {
		// kube-proxy removes its own rules in every mode; the sweep below
		// catches anything left.
		_ = exec.Command(bin, "--cleanup").Run()
	}
	errs = append(errs, cleanIptables())
	dirs := []string{p.opts.Dir}
	for hp, existed := range st.HostPaths {
		if !existed {
			dirs = append(dirs, hp)
		}
	}
	errs = append(errs, unmountAll(dirs...))
	for _, link := range []string{cniBridge, nodeBridge} {
		if linkExists(link) {
			errs = append(errs, run("ip", "link", "del", link))
		}
	}
	errs = append(errs, removeCgroups())
	errs = append(errs, restoreSysctls(p.p.join("sysctls.json")))
	for hp, existed := range st.HostPaths {
		if !existed {
			errs = append(errs, os.RemoveAll(hp))
		}
	}
	// Keep the logs; everything else of the state directory goes.
	entries, _ := os.ReadDir(p.opts.Dir)
	for _, e := range entries {
		if e.Name() != "logs" {
			errs = append(errs, os.RemoveAll(p.p.join(e.Name())))
		}
	}
	return errors.Join(errs...)
}

// healthy checks that every process runs and the cluster is ready.
func (p *Provider) healthy(ctx context.Context) error {
	var st state
	data, err := os.ReadFile(p.stateFile())
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, &st); err != nil {
		return err
	}
	for _, name := range stopOrder {
		if _, ok := p.p.running(name, st.Bins[name]); !ok {
			return fmt.Errorf("%s is not running", name)
		}
	}
	cfg, err := p.restConfig()
	if err != nil {
		return err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	return p.ready(ctx, cs)
}

// Status describes the cluster, or says why it is not up.
func (p *Provider) Status(ctx context.Context) (string, error) {
	if err := preflight(); err != nil {
		return "", err
	}
	c, err := p.cluster()
	if err != nil {
		return "", fmt.Errorf("no local cluster in %s", p.opts.Dir)
	}
	if err := p.healthy(ctx); err != nil {
		return "", fmt.Errorf("local cluster in %s is not healthy: %w", p.opts.Dir, err)
	}
	return fmt.Sprintf("local cluster up: node %s (%s), API https://%s:%d, kubeconfig %s", nodeName, nodeIP, nodeIP, apiPort, c.Kubeconfig), nil
}
