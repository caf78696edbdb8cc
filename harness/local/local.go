// Package local is the embedded cluster provider: a single-node Kubernetes
// cluster run directly on this Linux host, with no Docker. It runs etcd,
// kube-apiserver, kube-controller-manager, kube-scheduler, kubelet,
// kube-proxy (iptables) and CoreDNS on containerd + runc + the CNI bridge
// plugin, all built or installed locally; nothing is ever pulled and no
// packet leaves the machine. Down removes everything Up made. The provider
// is also an e2e-framework cluster provider (package harness/e2eprovider).
package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"sigs.k8s.io/e2e-framework/support"

	"gamma-conformance/harness"
	"gamma-conformance/harness/e2eprovider"
	"gamma-conformance/harness/internal/artifacts"
	"gamma-conformance/harness/internal/hostsnap"
	"gamma-conformance/harness/internal/progress"
)

// DefaultDir is where the local cluster keeps its state by default.
const DefaultDir = "/var/lib/gamma-conformance/local"

// DefaultKubeconfig is the kubeconfig of the local cluster in DefaultDir:
// the default --kubeconfig of every gammaconf command.
const DefaultKubeconfig = DefaultDir + "/" + kubeconfigFile

// Options configure the local provider.
type Options struct {
	// Dir is the state directory (certificates, data, logs, kubeconfig).
	Dir string
	// Cache is the artifact cache; empty means GAMMA_CACHE or its default.
	Cache string
	// Out receives progress lines.
	Out io.Writer
	// VerifyClean makes Up record the host state and Down fail when the
	// host differs from that record after the teardown.
	VerifyClean bool
}

// Provider is the local provider. It is also an e2e-framework cluster
// provider (support.E2EClusterProviderWithImageLoader): see package
// harness/e2eprovider.
type Provider struct {
	e2eAdapter
	opts Options
	p    paths
	log  *progress.Log
}

// e2eAdapter is embedded under an unexported name: its methods are
// promoted, the field is not exported.
type e2eAdapter = e2eprovider.Adapter

var (
	_ harness.Provider                          = (*Provider)(nil)
	_ support.E2EClusterProviderWithImageLoader = (*Provider)(nil)
)

// New returns a local provider.
func New(opts Options) *Provider {
	if opts.Dir == "" {
		opts.Dir = DefaultDir
	}
	if opts.Cache == "" {
		opts.Cache = artifacts.DefaultCacheDir()
	}
	abs, err := filepath.Abs(opts.Dir)
	if err == nil {
		opts.Dir = abs
	}
	p := &Provider{opts: opts, p: paths{dir: opts.Dir}, log: progress.New(opts.Out)}
	p.e2eAdapter = *e2eprovider.New(p)
	return p
}

// state is what Down needs to know about what Up did.
type state struct {
	Bins map[string]string `json:"bins"`
	// HostPaths tells which of hostPaths existed before Up.
	HostPaths map[string]bool `json:"hostPaths"`
}

func (p *Provider) stateFile() string { return p.p.join("state.json") }

func (p *Provider) procs(set *artifacts.Set) []*proc {
	return []*proc{
		{name: "containerd", bin: lookPath("containerd"), args: []string{"--config", p.p.join("containerd", "config.toml")}},
		{name: "etcd", bin: set.Etcd, args: p.p.etcdArgs()},
		{name: "kube-apiserver", bin: set.Kube("kube-apiserver"), args: p.p.apiServerArgs()},
		{name: "kube-controller-manager", bin: set.Kube("kube-controller-manager"), args: p.p.controllerManagerArgs()},
		{name: "kube-scheduler", bin: set.Kube("kube-scheduler"), args: p.p.schedulerArgs()},
		{name: "kubelet", bin: set.Kube("kubelet"), args: p.p.kubeletArgs()},
		{name: "kube-proxy", bin: set.Kube("kube-proxy"), args: p.p.kubeProxyArgs()},
	}
}

func lookPath(cmd string) string {
	if p, err := exec.LookPath(cmd); err == nil {
		return p
	}
	return cmd
}

// Up brings the cluster up, or returns it when it already runs.
func (p *Provider) Up(ctx context.Context) (*harness.Cluster, error) {
	if err := preflight(); err != nil {
		return nil, err
	}
	if c, err := p.cluster(); err == nil && p.healthy(ctx) == nil {
		p.log.Printf("local cluster already up (state in %s)", p.opts.Dir)
		return c, nil
	}
	if owner := bridgeOwner(); owner != "" && owner != p.opts.Dir {
		return nil, fmt.Errorf("another local cluster is up (state in %s); only one runs per host: bring it down with `gammaconf cluster down --provider local --dir %s`", owner, owner)
	}
	if _, err := os.Stat(p.stateFile()); err == nil || linkExists(nodeBridge) {
		p.log.Printf("a previous local cluster in %s is not healthy: removing it first", p.opts.Dir)
		if err := p.Down(ctx); err != nil {
			return nil, err
		}
	}
	if err := os.RemoveAll(p.p.join("logs")); err != nil { // logs of a previous cluster
		return nil, err
	}
	if err := checkPorts(); err != nil {
		return nil, err
	}
	if pkgs := missingPackages(); len(pkgs) > 0 {
		if err := p.log.Step("install "+strings.Join(pkgs, " ")+" (apt-get)", func() error { return installPackages(pkgs) }); err != nil {
			return nil, err
		}
	}
	set, err := artifacts.Ensure(ctx, p.opts.Cache, p.log)
	if err != nil {
		return nil, err
	}
	begin := time.Now()
	c, err := p.up(ctx, set)
	if err != nil {
		p.log.Printf("bringing the cluster up failed: removing what was made")
		if derr := p.Down(context.WithoutCancel(ctx)); derr != nil {
			err = errors.Join(err, fmt.Errorf("cleanup after the failure also failed: %w", derr))
		}
		return nil, err
	}
	p.log.Printf("local cluster up in %.1fs; kubeconfig: %s", time.Since(begin).Seconds(), c.Kubeconfig)
	return c, nil
}

func (p *Provider) cluster() (*harness.Cluster, error) {
	c, err := harness.ReadRecord(p.p.kubeconfig("admin"))
	if err != nil {
		return nil, err
	}
	if c.Provider != "local" {
		return nil, fmt.Errorf("%s holds no local cluster", p.opts.Dir)
	}
	c.Loader = p
	return c, nil
}

// bridgeOwner returns the state directory of the local cluster that owns the
// node bridge (kept as the bridge's alias), or "".
func bridgeOwner() string {
	data, err := os.ReadFile(filepath.Join("/sys/class/net", nodeBridge, "ifalias"))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(data))
}

func (p *Provider) up(ctx context.Context, set *artifacts.Set) (*harness.Cluster, error) {
	for _, d := range []string{"pki", "kubeconfigs", "logs", "run", "containerd", "cni/net.d", "cni/ipam", "kubelet", "pod-logs", "etcd"} {
		if err := os.MkdirAll(p.p.join(d), 0o755); err != nil {
			return nil, err
		}
	}
	if err := os.Chmod(p.p.join("etcd"), 0o700); err != nil {
		return nil, err
	}
	st := state{Bins: map[string]string{}, HostPaths: map[string]bool{}}
	procs := p.procs(set)
	for _, pr := range procs {
		st.Bins[pr.name] = pr.bin
	}
	for _, hp := range hostPaths {
		_, err := os.Stat(hp)
		st.HostPaths[hp] = err == nil
	}
	if err := writeJSON(p.stateFile(), st); err != nil {
		return nil, err
	}
	if err := writeJSON(p.p.join("sysctls.json"), readSysctls(sysctls)); err != nil {
		return nil, err
	}
	if p.opts.VerifyClean {
		if err := writeJSON(p.p.join("host-before.json"), hostsnap.Take(sysctls, hostPaths)); err != nil {
			return nil, err
		}
	}
	if err := p.log.Step("host network (node address "+nodeIP+", iptables)", func() error {
		if err := setupNetwork(); err != nil {
			return err
		}
		return run("ip", "link", "set", nodeBridge, "alias", p.opts.Dir)
	}); err != nil {
		return nil, err
	}
	if err := p.log.Step("certificates and configuration", p.writeConfig); err != nil {
		return nil, err
	}
	byName := map[string]*proc{}
	for _, pr := range procs {
		byName[pr.name] = pr
	}
	if err := p.log.Step("start containerd", func() error {
		if err := p.p.start(byName["containerd"]); err != nil {
			return err
		}
		return p.waitFor(ctx, "containerd", byName["containerd"], func() error {
			return exec.CommandContext(ctx, lookPath("ctr"), "--address", p.p.containerdSocket(), "version").Run()
		})
	}); err != nil {
		return nil, err
	}
	c := p.record()
	var imported sync.WaitGroup
	var importErr error
	imported.Add(1)
	go func() {
		defer imported.Done()
		importErr = p.log.Step("import images", func() error {
			var tars []string
			for _, t := range set.Images {
				tars = append(tars, t)
			}
			return p.LoadImages(ctx, c, tars...)
		})
	}()
	err := p.startControlPlane(ctx, byName)
	imported.Wait()
	if err != nil {
		return nil, err
	}
	if importErr != nil {
		return nil, importErr
	}
	if err := p.log.Step("cluster DNS and system pods Ready", func() error { return p.finish(ctx, byName) }); err != nil {
		return nil, err
	}
	return c, c.Save()
}

func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

// waitFor polls check until it succeeds, the process exits or a minute passes.
func (p *Provider) waitFor(ctx context.Context, what string, pr *proc, check func() error) error {
	deadline := time.Now().Add(time.Minute)
	for {
		err := check()
		if err == nil {
			return nil
		}
		if pr != nil {
			if exitErr := p.p.exited(pr); exitErr != nil {
				return exitErr
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after a minute: %w", what, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
