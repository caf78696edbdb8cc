package local

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"gamma-conformance/harness/internal/artifacts"
	"gamma-conformance/harness/internal/pki"
)

// writeConfig writes the PKI, the kubeconfigs and the component configs.
func (p *Provider) writeConfig() error {
	ca, err := pki.NewCA("gamma-local-ca")
	if err != nil {
		return err
	}
	dir := p.p.join("pki")
	if err := ca.WriteCA(dir); err != nil {
		return err
	}
	if err := pki.WriteServiceAccountKeys(dir); err != nil {
		return err
	}
	ip := net.ParseIP
	certs := map[string]pki.Request{
		"apiserver": {CommonName: "kube-apiserver", Server: true,
			DNSNames: []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"},
			IPs:      []net.IP{ip("127.0.0.1"), ip(apiServerIP), ip(nodeIP)}},
		"apiserver-kubelet-client": {CommonName: "kube-apiserver-kubelet-client", Organizations: []string{"system:masters"}},
		"kubelet-serving":          {CommonName: nodeName, Server: true, DNSNames: []string{nodeName}, IPs: []net.IP{ip(nodeIP)}},
	}
	for name, req := range certs {
		pair, err := ca.Issue(req)
		if err != nil {
			return err
		}
		if err := pair.Write(dir, name); err != nil {
			return err
		}
	}
	server := fmt.Sprintf("https://%s:%d", nodeIP, apiPort)
	users := map[string]pki.Request{
		"admin":                   {CommonName: "gamma-admin", Organizations: []string{"system:masters"}},
		"kube-controller-manager": {CommonName: "system:kube-controller-manager"},
		"kube-scheduler":          {CommonName: "system:kube-scheduler"},
		"kubelet":                 {CommonName: "system:node:" + nodeName, Organizations: []string{"system:nodes"}},
		"kube-proxy":              {CommonName: "system:kube-proxy"},
	}
	for who, req := range users {
		pair, err := ca.Issue(req)
		if err != nil {
			return err
		}
		if err := pki.WriteKubeconfig(p.p.kubeconfig(who), "gamma-local", server, ca.CertPEM(), pair); err != nil {
			return err
		}
	}
	files := map[string]string{
		p.p.join("containerd", "config.toml"):               p.p.containerdConfig(),
		p.p.join("cni", "net.d", "10-gamma-local.conflist"): p.p.cniConfig(),
		p.p.join("kubelet.yaml"):                            p.p.kubeletConfig(),
		p.p.join("kube-proxy.yaml"):                         p.p.kubeProxyConfig(),
		// Pods with dnsPolicy Default get no upstream resolver: nothing to leak to.
		p.p.join("resolv.conf"): "# gamma-conformance local cluster: no upstream resolver\n",
	}
	for path, content := range files {
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func (p *Provider) restConfig() (*rest.Config, error) {
	cfg, err := p.record().RESTConfig()
	if err != nil {
		return nil, err
	}
	cfg.Timeout = 10 * time.Second
	return cfg, nil
}

// startControlPlane starts etcd and the API server, waits for both, then
// starts the other components.
func (p *Provider) startControlPlane(ctx context.Context, byName map[string]*proc) error {
	if err := p.log.Step("start etcd", func() error {
		if err := p.p.start(byName["etcd"]); err != nil {
			return err
		}
		return p.waitFor(ctx, "etcd", byName["etcd"], func() error {
			resp, err := (&http.Client{Timeout: 2 * time.Second}).Get("http://127.0.0.1:2379/health")
			if err != nil {
				return err
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("etcd health: %s", resp.Status)
			}
			return nil
		})
	}); err != nil {
		return err
	}
	cfg, err := p.restConfig()
	if err != nil {
		return err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	if err := p.log.Step("start kube-apiserver", func() error {
		if err := p.p.start(byName["kube-apiserver"]); err != nil {
			return err
		}
		return p.waitFor(ctx, "kube-apiserver", byName["kube-apiserver"], func() error {
			return cs.Discovery().RESTClient().Get().AbsPath("/readyz").Do(ctx).Error()
		})
	}); err != nil {
		return err
	}
	return p.log.Step("start kube-controller-manager, kube-scheduler, kubelet, kube-proxy", func() error {
		for _, n := range []string{"kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy"} {
			if err := p.p.start(byName[n]); err != nil {
				return err
			}
		}
		return nil
	})
}

// finish deploys CoreDNS and waits for the node, every kube-system pod and
// the default service account.
func (p *Provider) finish(ctx context.Context, byName map[string]*proc) error {
	cfg, err := p.restConfig()
	if err != nil {
		return err
	}
	if err := apply(ctx, cfg, coreDNSManifest(artifacts.CoreDNSImage)); err != nil {
		return err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	check := func() error {
		for _, n := range []string{"kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy"} {
			if err := p.p.exited(byName[n]); err != nil {
				return err
			}
		}
		return p.ready(ctx, cs)
	}
	deadline := time.Now().Add(3 * time.Minute)
	for {
		err := check()
		if err == nil {
			return nil
		}
		if _, exited := err.(exitError); exited || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// ready checks the node, the kube-system pods and the default service account.
func (p *Provider) ready(ctx context.Context, cs kubernetes.Interface) error {
	node, err := cs.CoreV1().Nodes().Get(ctx, nodeName, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("node %s: %w", nodeName, err)
	}
	if !condition(node.Status.Conditions, corev1.NodeReady) {
		return fmt.Errorf("node %s is not Ready", nodeName)
	}
	pods, err := cs.CoreV1().Pods("kube-system").List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	if len(pods.Items) == 0 {
		return fmt.Errorf("no kube-system pod yet")
	}
	for _, pod := range pods.Items {
		ready := false
		for _, c := range pod.Status.Conditions {
			ready = ready || (c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue)
		}
		if !ready {
			return fmt.Errorf("pod kube-system/%s is not Ready (%s)", pod.Name, pod.Status.Phase)
		}
	}
	if _, err := cs.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{}); err != nil {
		return fmt.Errorf("service account default/default: %w", err)
	}
	return nil
}

func condition(conds []corev1.NodeCondition, t corev1.NodeConditionType) bool {
	for _, c := range conds {
		if c.Type == t {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
