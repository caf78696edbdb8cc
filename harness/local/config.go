package local

import (
	"fmt"
	"path/filepath"
	"strings"
)

// Addresses of the local cluster. Only one local cluster runs per host: the
// kube-proxy chains and the node address are host-wide.
const (
	nodeName    = "gamma-local"
	nodeIP      = "10.200.0.1"
	nodeBridge  = "gamma0"    // holds the node IP (no dummy module on these hosts)
	cniBridge   = "gammacni0" // the pods' bridge
	podCIDR     = "10.244.0.0/16"
	nodePodCIDR = "10.244.0.0/24"
	serviceCIDR = "10.96.0.0/16"
	apiServerIP = "10.96.0.1"
	dnsIP       = "10.96.0.10"
	apiPort     = 6443
	// ownChain holds this tool's own filter rules (bridge accept, egress drop).
	ownChain = "GAMMA-LOCAL"
)

// kubeconfigFile is the admin kubeconfig's name in the state directory.
const kubeconfigFile = "kubeconfig"

// paths of everything under the state directory.
type paths struct{ dir string }

func (p paths) join(elem ...string) string { return filepath.Join(append([]string{p.dir}, elem...)...) }
func (p paths) pki(name string) string     { return p.join("pki", name) }
func (p paths) kubeconfig(who string) string {
	if who == "admin" {
		return p.join(kubeconfigFile)
	}
	return p.join("kubeconfigs", who+".kubeconfig")
}
func (p paths) log(name string) string { return p.join("logs", name+".log") }
func (p paths) pid(name string) string { return p.join("run", name+".pid") }
func (p paths) containerdSocket() string {
	return p.join("containerd", "containerd.sock")
}

func (p paths) containerdConfig() string {
	return fmt.Sprintf(`version = 2
root = %q
state = %q
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.internal.v1.opt"]
[grpc]
  address = %q
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "registry.k8s.io/pause:3.10"
  # These hosts lack CAP_SYS_RESOURCE: runc must not lower oom_score_adj.
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  enable_cdi = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = %q
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = ""
`, p.join("containerd", "root"), p.join("containerd", "state"), p.containerdSocket(), p.join("cni", "net.d"))
}

// cniConfig is a bridge network without masquerading (pods never talk to
// the outside) and without port mapping.
func (p paths) cniConfig() string {
	return fmt.Sprintf(`{
  "cniVersion": "0.4.0",
  "name": "gamma-local",
  "plugins": [{
    "type": "bridge",
    "bridge": %q,
    "isGateway": true,
    "ipMasq": false,
    "hairpinMode": true,
    "ipam": {
      "type": "host-local",
      "ranges": [[{"subnet": %q}]],
      "routes": [{"dst": "0.0.0.0/0"}],
      "dataDir": %q
    }
  }]
}
`, cniBridge, nodePodCIDR, p.join("cni", "ipam"))
}

func (p paths) kubeletConfig() string {
	return fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://%[1]s
imageServiceEndpoint: unix://%[1]s
address: %[2]s
port: 10250
healthzBindAddress: 127.0.0.1
healthzPort: 10248
readOnlyPort: 0
failSwapOn: false
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
  x509: {clientCAFile: %[3]q}
authorization: {mode: AlwaysAllow}
tlsCertFile: %[4]q
tlsPrivateKeyFile: %[5]q
clusterDNS: [%[6]s]
clusterDomain: cluster.local
resolvConf: %[7]q
podLogsDirectory: %[8]q
evictionHard: {memory.available: 100Mi, nodefs.available: 1%%, imagefs.available: 1%%, nodefs.inodesFree: 1%%, imagefs.inodesFree: 1%%}
imageGCHighThresholdPercent: 100
serializeImagePulls: false
# The node's /24 pod range has 253 addresses; the semantics suite prepares
# every spec's pods (about 150) before its first spec when they fit.
maxPods: 240
`, p.containerdSocket(), nodeIP, p.pki("ca.crt"), p.pki("kubelet-serving.crt"), p.pki("kubelet-serving.key"),
		dnsIP, p.join("resolv.conf"), p.join("pod-logs"))
}

// kubeProxyConfig leaves conntrack sysctls and localhost NodePorts alone,
// and opens NodePorts on the node address only.
func (p paths) kubeProxyConfig() string {
	return fmt.Sprintf(`apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clusterCIDR: %s
hostnameOverride: %s
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
nodePortAddresses: ["%s/32"]
clientConnection:
  kubeconfig: %q
conntrack:
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
iptables:
  localhostNodePorts: false
`, podCIDR, nodeName, nodeIP, p.kubeconfig("kube-proxy"))
}

// Command lines of the cluster's processes.
func (p paths) etcdArgs() []string {
	return []string{"--name=default", "--data-dir=" + p.join("etcd"),
		"--listen-client-urls=http://127.0.0.1:2379", "--advertise-client-urls=http://127.0.0.1:2379",
		"--listen-peer-urls=http://127.0.0.1:2380", "--initial-advertise-peer-urls=http://127.0.0.1:2380",
		"--initial-cluster=default=http://127.0.0.1:2380", "--unsafe-no-fsync=true", "--log-level=warn"}
}

func (p paths) apiServerArgs() []string {
	return []string{"--etcd-servers=http://127.0.0.1:2379", "--bind-address=" + nodeIP, "--advertise-address=" + nodeIP,
		fmt.Sprintf("--secure-port=%d", apiPort),
		"--tls-cert-file=" + p.pki("apiserver.crt"), "--tls-private-key-file=" + p.pki("apiserver.key"),
		"--client-ca-file=" + p.pki("ca.crt"),
		"--kubelet-client-certificate=" + p.pki("apiserver-kubelet-client.crt"),
		"--kubelet-client-key=" + p.pki("apiserver-kubelet-client.key"),
		"--kubelet-certificate-authority=" + p.pki("ca.crt"), "--kubelet-preferred-address-types=InternalIP",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + p.pki("sa.pub"), "--service-account-signing-key-file=" + p.pki("sa.key"),
		"--service-cluster-ip-range=" + serviceCIDR, "--authorization-mode=Node,RBAC", "--allow-privileged=true",
		"--enable-priority-and-fairness=false", "--profiling=false"}
}

func (p paths) controllerManagerArgs() []string {
	kc := p.kubeconfig("kube-controller-manager")
	return []string{"--kubeconfig=" + kc, "--authentication-kubeconfig=" + kc, "--authorization-kubeconfig=" + kc,
		"--service-account-private-key-file=" + p.pki("sa.key"), "--root-ca-file=" + p.pki("ca.crt"),
		"--cluster-signing-cert-file=" + p.pki("ca.crt"), "--cluster-signing-key-file=" + p.pki("ca.key"),
		"--use-service-account-credentials=true", "--leader-elect=false", "--bind-address=127.0.0.1",
		"--allocate-node-cidrs=true", "--cluster-cidr=" + podCIDR, "--node-cidr-mask-size=24",
		"--service-cluster-ip-range=" + serviceCIDR, "--profiling=false"}
}

func (p paths) schedulerArgs() []string {
	kc := p.kubeconfig("kube-scheduler")
	return []string{"--kubeconfig=" + kc, "--authentication-kubeconfig=" + kc, "--authorization-kubeconfig=" + kc,
		"--leader-elect=false", "--bind-address=127.0.0.1", "--profiling=false"}
}

func (p paths) kubeletArgs() []string {
	return []string{"--config=" + p.join("kubelet.yaml"), "--kubeconfig=" + p.kubeconfig("kubelet"),
		"--root-dir=" + p.join("kubelet"), "--cert-dir=" + p.join("kubelet", "pki"),
		"--hostname-override=" + nodeName, "--node-ip=" + nodeIP}
}

func (p paths) kubeProxyArgs() []string {
	return []string{"--config=" + p.join("kube-proxy.yaml")}
}

// indent indents every line of s by n spaces.
func indent(s string, n int) string {
	pad := strings.Repeat(" ", n)
	return pad + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+pad)
}
