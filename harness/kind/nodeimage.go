package kind

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"gamma-conformance/harness/images"
	"gamma-conformance/harness/internal/artifacts"
	"gamma-conformance/harness/internal/progress"
)

// KindVersion is the kind module whose node-image base files are used.
const KindVersion = "v0.33.0"

// etcdTag is the etcd image tag the node image carries; kubeadm is told to
// use it (its own default, 3.7.0-0, is not what is built).
const etcdTag = "3.7.3-0"

// recipe changes whenever the node image recipe below changes.
const recipe = "2"

// nodePackages are the Debian packages of the node root filesystem.
var nodePackages = []string{"systemd", "systemd-sysv", "dbus", "containerd", "runc", "containernetworking-plugins", "iptables",
	"nftables", "iproute2", "procps", "ca-certificates", "util-linux", "mount", "conntrack", "ethtool", "socat", "kmod",
	"jq", "curl"} // jq: kind's mount-product-files.sh hook

// nodeImage returns the reference and docker archive of the locally built
// kind node image, building it when it is not cached:
// debootstrap rootfs + kind's base files + our Kubernetes binaries + every
// image preloaded into the node's containerd.
func nodeImage(ctx context.Context, cache string, log *progress.Log) (ref, archive string, err error) {
	set, err := artifacts.Ensure(ctx, cache, log)
	if err != nil {
		return "", "", err
	}
	kubeadm, err := artifacts.EnsureKubeadm(ctx, cache, log)
	if err != nil {
		return "", "", err
	}
	pkgs := strings.Join(nodePackages, ",")
	// The preloaded image tarballs are named after their inputs, so a new
	// image (e.g. another Gateway API release's echo image) gives a new key.
	key := append([]string{artifacts.KubernetesVersion, KindVersion, recipe, set.KubeDir, set.Etcd, pkgs}, slices.Sorted(maps.Values(set.Images))...)
	sum := sha256.Sum256([]byte(strings.Join(key, "|")))
	tag := hex.EncodeToString(sum[:4])
	ref = "gamma-conformance.local/kind-node:" + artifacts.KubernetesVersion + "-" + tag
	dir := filepath.Join(cache, "kind")
	archive = filepath.Join(dir, "node-"+tag+".tar")
	if _, err := os.Stat(archive); err == nil {
		return ref, archive, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", err
	}
	pkgSum := sha256.Sum256([]byte(pkgs))
	base := filepath.Join(dir, "debootstrap-bookworm-"+hex.EncodeToString(pkgSum[:4]))
	if _, err := os.Stat(base); err != nil {
		if err := log.Step("debootstrap the node root filesystem (Debian mirror, ~90 s)", func() error { return debootstrap(ctx, base) }); err != nil {
			return "", "", err
		}
	}
	work := filepath.Join(dir, "work")
	if err := os.RemoveAll(work); err != nil {
		return "", "", err
	}
	defer os.RemoveAll(work)
	rootfs := filepath.Join(work, "rootfs")
	if err := os.MkdirAll(work, 0o755); err != nil {
		return "", "", err
	}
	if err := log.Step("assemble the node root filesystem", func() error {
		if err := run(ctx, "cp", "-a", base, rootfs); err != nil {
			return err
		}
		return assemble(ctx, cache, rootfs, set, kubeadm)
	}); err != nil {
		return "", "", err
	}
	if err := log.Step("pack and preload the node's images", func() error {
		tars, err := nodeImages(work, base, set)
		if err != nil {
			return err
		}
		return preload(ctx, work, rootfs, tars)
	}); err != nil {
		return "", "", err
	}
	err = log.Step("pack the node image "+ref, func() error {
		return images.Build(archive, images.Image{Ref: ref, Dir: rootfs, Docker: true,
			Entrypoint: []string{"/usr/local/bin/entrypoint", "/sbin/init"},
			Env:        []string{"container=docker", "PATH=" + sbinPath}})
	})
	return ref, archive, err
}

func run(ctx context.Context, name string, args ...string) error {
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, lastLines(string(out), 15))
	}
	return nil
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}

// debianMirror is the first Debian archive this host's apt uses.
func debianMirror() (string, error) {
	files, _ := filepath.Glob("/etc/apt/sources.list.d/*.sources")
	files = append([]string{"/etc/apt/sources.list"}, files...)
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(strings.NewReader(string(data)))
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			switch {
			case len(fields) >= 2 && fields[0] == "URIs:" && !strings.Contains(fields[1], "security"):
				return fields[1], nil
			case len(fields) >= 3 && fields[0] == "deb" && !strings.Contains(fields[1], "security"):
				return fields[1], nil
			}
		}
	}
	return "", errors.New("no Debian mirror in /etc/apt/sources.list*: the kind node image is bootstrapped from the host's apt mirror")
}

func debootstrap(ctx context.Context, dst string) error {
	if _, err := exec.LookPath("debootstrap"); err != nil {
		if err := run(ctx, "apt-get", "install", "-y", "--no-install-recommends", "debootstrap"); err != nil {
			return err
		}
	}
	mirror, err := debianMirror()
	if err != nil {
		return err
	}
	tmp := dst + ".tmp"
	_ = os.RemoveAll(tmp)
	if err := run(ctx, "debootstrap", "--variant=minbase", "--include="+strings.Join(nodePackages, ","), "bookworm", tmp, mirror); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	// apt caches are not needed in the image.
	_ = os.RemoveAll(filepath.Join(tmp, "var/cache/apt/archives"))
	return os.Rename(tmp, dst)
}

// assemble turns the Debian tree into a kind node (kind's base Dockerfile,
// adapted to Debian's containerd 1.6 and to hosts without CAP_SYS_RESOURCE).
func assemble(ctx context.Context, cache, rootfs string, set *artifacts.Set, kubeadm string) error {
	kindDir, err := artifacts.ModuleDir(ctx, cache, "sigs.k8s.io/kind@"+KindVersion)
	if err != nil {
		return err
	}
	files := filepath.Join(kindDir, "images/base/files")
	if err := filepath.WalkDir(files, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(files, p)
		mode := os.FileMode(0o644)
		if strings.HasPrefix(rel, "usr/local/bin/") || strings.HasPrefix(rel, "kind/bin/") {
			mode = 0o755
		}
		return copyFile(p, filepath.Join(rootfs, rel), mode)
	}); err != nil {
		return err
	}
	r := func(p string) string { return filepath.Join(rootfs, p) }
	cfg, err := os.ReadFile(r("etc/containerd/config.toml"))
	if err != nil {
		return err
	}
	// No CAP_SYS_RESOURCE on these hosts: runc must not lower oom_score_adj.
	cfg = []byte(strings.Replace(string(cfg), "restrict_oom_score_adj = false", "restrict_oom_score_adj = true", 1))
	if !strings.Contains(string(cfg), "restrict_oom_score_adj = true") {
		return errors.New("kind's containerd config no longer sets restrict_oom_score_adj: update the node image recipe")
	}
	spec, err := criBaseSpec(ctx)
	if err != nil {
		return err
	}
	writes := map[string]string{
		"etc/containerd/config.toml":          string(cfg),
		"etc/containerd/cri-base.json":        spec,
		"kind/version":                        artifacts.KubernetesVersion + "\n",
		"kind/manifests/default-cni.yaml":     "# the gamma-conformance node image uses the CNI bridge plugin (/etc/cni/net.d)\n",
		"kind/manifests/default-storage.yaml": defaultStorage,
		"etc/cni/net.d/10-bridge.conflist":    bridgeCNI,
	}
	for p, content := range writes {
		if err := os.MkdirAll(filepath.Dir(r(p)), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(r(p), []byte(content), 0o644); err != nil {
			return err
		}
	}
	for dst, src := range map[string]string{"usr/bin/kubeadm": kubeadm, "usr/bin/kubelet": set.Kube("kubelet"), "usr/bin/kubectl": set.Kube("kubectl")} {
		if err := copyFile(src, r(dst), 0o755); err != nil {
			return err
		}
	}
	_ = os.RemoveAll(r("opt/cni/bin"))
	for link, target := range map[string]string{"usr/local/bin/containerd": "/usr/bin/containerd", "opt/cni/bin": "/usr/lib/cni"} {
		if err := os.MkdirAll(filepath.Dir(r(link)), 0o755); err != nil {
			return err
		}
		_ = os.Remove(r(link))
		if err := os.Symlink(target, r(link)); err != nil {
			return err
		}
	}
	for _, glob := range []string{"lib/systemd/system/multi-user.target.wants/*", "etc/systemd/system/*.wants/*",
		"lib/systemd/system/local-fs.target.wants/*", "lib/systemd/system/sockets.target.wants/*udev*",
		"lib/systemd/system/sockets.target.wants/*initctl*", "lib/systemd/system/basic.target.wants/*",
		"lib/systemd/system/sysinit.target.wants/systemd-tmpfiles-setup.service"} {
		matches, _ := filepath.Glob(r(glob))
		for _, m := range matches {
			if err := os.Remove(m); err != nil {
				return err
			}
		}
	}
	j, err := os.OpenFile(r("etc/systemd/journald.conf"), os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	_, err = j.WriteString("ReadKMsg=no\n")
	j.Close()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(r("etc/kubernetes/manifests"), 0o755); err != nil {
		return err
	}
	if err := run(ctx, "chroot", rootfs, "systemctl", "enable", "kubelet.service", "containerd.service", "undo-mount-hacks.service"); err != nil {
		return err
	}
	return run(ctx, "chroot", rootfs, "systemctl", "mask", "systemd-binfmt.service")
}

func copyFile(src, dst string, mode os.FileMode) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	_ = os.Remove(dst)
	return os.WriteFile(dst, data, mode)
}

// criBaseSpec is containerd's default OCI spec with kind's product-files
// hook and without rlimits, as kind's base image generates it.
func criBaseSpec(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "ctr", "oci", "spec").Output()
	if err != nil {
		return "", fmt.Errorf("ctr oci spec: %w", err)
	}
	var spec map[string]any
	if err := json.Unmarshal(out, &spec); err != nil {
		return "", err
	}
	if p, ok := spec["process"].(map[string]any); ok {
		delete(p, "rlimits")
	}
	hooks, _ := spec["hooks"].(map[string]any)
	if hooks == nil {
		hooks = map[string]any{}
	}
	cc, _ := hooks["createContainer"].([]any)
	hooks["createContainer"] = append(cc, map[string]any{"path": "/kind/bin/mount-product-files.sh"})
	spec["hooks"] = hooks
	data, err := json.MarshalIndent(spec, "", "  ")
	return string(data), err
}

const bridgeCNI = `{
  "cniVersion": "0.4.0",
  "name": "kind-bridge",
  "plugins": [{
    "type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": false, "hairpinMode": true,
    "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.244.0.0/24"}]], "routes": [{"dst": "0.0.0.0/0"}]}
  }, {"type": "portmap", "capabilities": {"portMappings": true}}]
}
`

const defaultStorage = `apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: standard
  annotations: {storageclass.kubernetes.io/is-default-class: "true"}
provisioner: kubernetes.io/no-provisioner
volumeBindingMode: WaitForFirstConsumer
`

const sbinPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// nodeImages packs the images kubeadm and the suites use.
func nodeImages(work, base string, set *artifacts.Set) ([]string, error) {
	v := artifacts.KubernetesVersion
	bin := func(name, path string) images.Image {
		return images.Image{Ref: "registry.k8s.io/" + name, Files: []images.File{{Dst: "/usr/local/bin/" + filepath.Base(path), Src: path}}}
	}
	imgs := []images.Image{
		bin("kube-apiserver:"+v, set.Kube("kube-apiserver")),
		bin("kube-controller-manager:"+v, set.Kube("kube-controller-manager")),
		bin("kube-scheduler:"+v, set.Kube("kube-scheduler")),
		bin("etcd:"+etcdTag, set.Etcd),
		// kube-proxy runs iptables: its image is the Debian tree.
		{Ref: "registry.k8s.io/kube-proxy:" + v, Dir: base, Env: []string{"PATH=" + sbinPath},
			Files: []images.File{{Dst: "/usr/local/bin/kube-proxy", Src: set.Kube("kube-proxy")}}},
	}
	var tars []string
	for i, img := range imgs {
		out := filepath.Join(work, fmt.Sprintf("image-%d.tar", i))
		if err := images.Build(out, img); err != nil {
			return nil, err
		}
		tars = append(tars, out)
	}
	for _, t := range set.Images {
		tars = append(tars, t)
	}
	return tars, nil
}

// preload imports images into the node tree's containerd store with a
// temporary containerd (CRI disabled) rooted in the tree.
func preload(ctx context.Context, work, rootfs string, tars []string) error {
	sock := filepath.Join(work, "containerd.sock")
	cfg := filepath.Join(work, "containerd.toml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("version = 2\nroot = %q\nstate = %q\ndisabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n[grpc]\n  address = %q\n",
		filepath.Join(rootfs, "var/lib/containerd"), filepath.Join(work, "state"), sock)), 0o644); err != nil {
		return err
	}
	cmd := exec.Command("containerd", "--config", cfg)
	logf, err := os.Create(filepath.Join(work, "containerd.log"))
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}()
	ctr := func(args ...string) error {
		return run(ctx, "ctr", append([]string{"--address", sock}, args...)...)
	}
	for i := 0; ctr("version") != nil; i++ {
		if i > 100 {
			return fmt.Errorf("temporary containerd did not start: see %s", logf.Name())
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, t := range tars {
		if err := ctr("--namespace", "k8s.io", "images", "import", "--snapshotter", "overlayfs", t); err != nil {
			return err
		}
	}
	return nil
}
