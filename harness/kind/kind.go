// Package kind is the kind provider: sigs.k8s.io/kind used as a library,
// with a node image built locally (debootstrap + kind's base files + our
// Kubernetes binaries + every image preloaded), so nothing is pulled. It
// talks to the Docker engine named by DOCKER_HOST; on the CI machines that
// engine is started by hack/kind-docker-host.sh. The provider is also an
// e2e-framework cluster provider (package harness/e2eprovider) that needs
// neither the kind nor the docker CLI for the cluster itself.
package kind

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/e2e-framework/support"
	"sigs.k8s.io/kind/pkg/cluster"
	"sigs.k8s.io/kind/pkg/cluster/nodeutils"
	kindexec "sigs.k8s.io/kind/pkg/exec"
	kindlog "sigs.k8s.io/kind/pkg/log"

	"gamma-conformance/harness"
	"gamma-conformance/harness/e2eprovider"
	"gamma-conformance/harness/internal/artifacts"
	"gamma-conformance/harness/internal/clusterdns"
	"gamma-conformance/harness/internal/progress"
)

// DefaultDir holds the kind cluster's kubeconfig and record.
const DefaultDir = "/var/lib/gamma-conformance/kind"

// Options configure the kind provider.
type Options struct {
	Name  string // kind cluster name
	Dir   string // where the kubeconfig and record go
	Cache string // artifact cache; empty means the default
	Out   io.Writer
	// Retain keeps the nodes of a failed create for debugging.
	Retain bool
}

// Provider is the kind provider. It is also an e2e-framework cluster
// provider (support.E2EClusterProviderWithImageLoader): see package
// harness/e2eprovider.
type Provider struct {
	e2eAdapter
	opts Options
	log  *progress.Log
}

// e2eAdapter is embedded under an unexported name: its methods are
// promoted, the field is not exported.
type e2eAdapter = e2eprovider.Adapter

var (
	_ harness.Provider                          = (*Provider)(nil)
	_ support.E2EClusterProviderWithImageLoader = (*Provider)(nil)
)

// New returns a kind provider.
func New(opts Options) *Provider {
	if opts.Name == "" {
		opts.Name = "gamma"
	}
	if opts.Dir == "" {
		opts.Dir = DefaultDir
	}
	if opts.Cache == "" {
		opts.Cache = artifacts.DefaultCacheDir()
	}
	p := &Provider{opts: opts, log: progress.New(opts.Out)}
	p.e2eAdapter = *e2eprovider.New(p)
	return p
}

// WithName names the kind cluster (e2e-framework calls it with the name
// given to envfuncs.CreateCluster).
func (p *Provider) WithName(name string) support.E2EClusterProvider {
	p.opts.Name = name
	p.e2eAdapter.WithName(name)
	return p
}

func (p *Provider) kubeconfig() string { return filepath.Join(p.opts.Dir, "kubeconfig") }

// kindProvider checks for a Docker engine and returns kind's provider.
func kindProvider() (*cluster.Provider, error) {
	if os.Getenv("DOCKER_HOST") == "" {
		return nil, fmt.Errorf("DOCKER_HOST is not set: start a Docker engine (on CI machines: eval $(hack/kind-docker-host.sh up)) and export DOCKER_HOST")
	}
	// Debian's docker CLI matches the engine the host script starts; a newer
	// CLI earlier in PATH may not.
	if _, err := os.Stat("/usr/bin/docker"); err == nil && !strings.HasPrefix(os.Getenv("PATH"), "/usr/bin:") {
		os.Setenv("PATH", "/usr/bin:"+os.Getenv("PATH"))
	}
	if out, err := exec.Command("docker", "version", "--format", "{{.Server.Version}}").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("the Docker engine at %s does not answer: %v: %s", os.Getenv("DOCKER_HOST"), err, out)
	}
	return cluster.NewProvider(cluster.ProviderWithDocker(), cluster.ProviderWithLogger(kindlog.NoopLogger{})), nil
}

// clusterConfig: no default CNI (kindnetd cannot be built offline; the
// node image has a bridge CNI config), cgroup v1 allowed, our etcd tag.
const clusterConfig = `kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
networking:
  disableDefaultCNI: true
  podSubnet: 10.244.0.0/16
kubeadmConfigPatches:
- |
  kind: KubeletConfiguration
  failCgroupV1: false
- |
  kind: ClusterConfiguration
  etcd:
    local:
      imageTag: ` + etcdTag + `
`

// Up creates the kind cluster, or reuses it when it exists.
func (p *Provider) Up(ctx context.Context) (*harness.Cluster, error) {
	kp, err := kindProvider()
	if err != nil {
		return nil, err
	}
	c := &harness.Cluster{Provider: "kind", Name: p.opts.Name, Kubeconfig: p.kubeconfig(), Context: "kind-" + p.opts.Name, Loader: p}
	names, err := kp.List()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(p.opts.Dir, 0o755); err != nil {
		return nil, err
	}
	if slices.Contains(names, p.opts.Name) {
		p.log.Printf("kind cluster %s exists: reusing it", p.opts.Name)
		if err := kp.ExportKubeConfig(p.opts.Name, c.Kubeconfig, false); err != nil {
			return nil, err
		}
		return c, c.Save()
	}
	ref, archive, err := nodeImage(ctx, p.opts.Cache, p.log)
	if err != nil {
		return nil, err
	}
	if exec.Command("docker", "image", "inspect", ref).Run() != nil {
		if err := p.log.Step("docker load the node image", func() error { return run(ctx, "docker", "load", "-i", archive) }); err != nil {
			return nil, err
		}
	}
	begin := time.Now()
	err = p.log.Step("kind create cluster "+p.opts.Name, func() error {
		return kp.Create(p.opts.Name, cluster.CreateWithNodeImage(ref), cluster.CreateWithRawConfig([]byte(clusterConfig)),
			cluster.CreateWithWaitForReady(3*time.Minute), cluster.CreateWithKubeconfigPath(c.Kubeconfig),
			cluster.CreateWithDisplayUsage(false), cluster.CreateWithDisplaySalutation(false), cluster.CreateWithRetain(p.opts.Retain))
	})
	if err != nil {
		if re := kindexec.RunErrorForError(err); re != nil {
			err = fmt.Errorf("%w; output:\n%s", err, lastLines(string(re.Output), 30))
		}
		if !p.opts.Retain {
			_ = kp.Delete(p.opts.Name, c.Kubeconfig)
		}
		return nil, err
	}
	if err := p.log.Step("cluster DNS without upstream forwarding, system pods Ready", func() error { return p.fixDNS(ctx, c) }); err != nil {
		_ = kp.Delete(p.opts.Name, c.Kubeconfig)
		return nil, err
	}
	p.log.Printf("kind cluster %s up in %.1fs (create + system pods Ready); kubeconfig: %s", p.opts.Name, time.Since(begin).Seconds(), c.Kubeconfig)
	return c, c.Save()
}

func (p *Provider) fixDNS(ctx context.Context, c *harness.Cluster) error {
	cfg, err := c.RESTConfig()
	if err != nil {
		return err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	cm, err := cs.CoreV1().ConfigMaps("kube-system").Get(ctx, "coredns", metav1.GetOptions{})
	if err != nil {
		return err
	}
	cm.Data["Corefile"] = clusterdns.Corefile
	if _, err := cs.CoreV1().ConfigMaps("kube-system").Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		return err
	}
	// Restart CoreDNS now rather than wait for its reload plugin.
	dns := metav1.ListOptions{LabelSelector: "k8s-app=kube-dns"}
	before, err := cs.CoreV1().Pods("kube-system").List(ctx, dns)
	if err != nil {
		return err
	}
	if err := cs.CoreV1().Pods("kube-system").DeleteCollection(ctx, metav1.DeleteOptions{}, dns); err != nil {
		return err
	}
	// Wait for as many new CoreDNS pods as the Deployment wants, all
	// Ready: right after the delete the old ones may be gone and the new
	// ones not yet listed, when every listed system pod looks Ready.
	deploy, err := cs.AppsV1().Deployments("kube-system").Get(ctx, "coredns", metav1.GetOptions{})
	if err != nil {
		return err
	}
	want := 1
	if deploy.Spec.Replicas != nil {
		want = int(*deploy.Spec.Replicas)
	}
	old := map[string]bool{}
	for _, p := range before.Items {
		old[string(p.UID)] = true
	}
	for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(250 * time.Millisecond) {
		pods, err := cs.CoreV1().Pods("kube-system").List(ctx, dns)
		fresh := 0
		if err == nil {
			for _, p := range pods.Items {
				if !old[string(p.UID)] && p.DeletionTimestamp == nil && podReady(&p) {
					fresh++
				}
			}
		}
		if fresh >= want {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("CoreDNS did not come back Ready after its Corefile changed (%d of %d new pods Ready)", fresh, want)
		}
	}
	// The ServiceAccount controller must be running before pods can be
	// created in new namespaces: wait for the default namespace's account.
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(250 * time.Millisecond) {
		if _, err := cs.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{}); err == nil {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the ServiceAccount controller did not create default/default within 2 minutes")
		}
	}
	return waitSystemPods(ctx, cs)
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// waitSystemPods waits until every kube-system pod is Ready.
func waitSystemPods(ctx context.Context, cs kubernetes.Interface) error {
	var last error
	for deadline := time.Now().Add(3 * time.Minute); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		pods, err := cs.CoreV1().Pods("kube-system").List(ctx, metav1.ListOptions{})
		if err != nil {
			last = err
			continue
		}
		last = nil
		for _, pod := range pods.Items {
			ready := pod.DeletionTimestamp == nil
			for _, c := range pod.Status.Conditions {
				if c.Type == corev1.PodReady {
					ready = ready && c.Status == corev1.ConditionTrue
				}
			}
			if !ready || len(pod.Status.Conditions) == 0 {
				last = fmt.Errorf("pod kube-system/%s is not Ready (%s)", pod.Name, pod.Status.Phase)
				break
			}
		}
		if last == nil && len(pods.Items) > 0 {
			return nil
		}
	}
	return fmt.Errorf("system pods not Ready after 3 minutes: %v", last)
}

// Down deletes the kind cluster.
func (p *Provider) Down(context.Context) error {
	kp, err := kindProvider()
	if err != nil {
		return err
	}
	if err := p.log.Step("kind delete cluster "+p.opts.Name, func() error { return kp.Delete(p.opts.Name, p.kubeconfig()) }); err != nil {
		return err
	}
	return os.RemoveAll(p.opts.Dir)
}

// Status reports whether the kind cluster exists.
func (p *Provider) Status(context.Context) (string, error) {
	kp, err := kindProvider()
	if err != nil {
		return "", err
	}
	nodes, err := kp.ListNodes(p.opts.Name)
	if err != nil {
		return "", err
	}
	if len(nodes) == 0 {
		return "", fmt.Errorf("no kind cluster %s", p.opts.Name)
	}
	return fmt.Sprintf("kind cluster %s: %d node(s), kubeconfig %s", p.opts.Name, len(nodes), p.kubeconfig()), nil
}

// LoadImages imports image tarballs into every node of the kind cluster.
func (p *Provider) LoadImages(_ context.Context, _ *harness.Cluster, tarballs ...string) error {
	kp, err := kindProvider()
	if err != nil {
		return err
	}
	nodes, err := kp.ListInternalNodes(p.opts.Name)
	if err != nil {
		return err
	}
	for _, t := range tarballs {
		data, err := os.ReadFile(t)
		if err != nil {
			return err
		}
		for _, n := range nodes {
			if err := nodeutils.LoadImageArchive(n, bytes.NewReader(data)); err != nil {
				return fmt.Errorf("loading %s into node %s: %w", t, n.String(), err)
			}
		}
	}
	return nil
}

// ExportLogs collects the logs of the kind cluster's nodes into dest.
func (p *Provider) ExportLogs(_ context.Context, dest string) error {
	kp, err := kindProvider()
	if err != nil {
		return err
	}
	return kp.CollectLogs(p.opts.Name, dest)
}
