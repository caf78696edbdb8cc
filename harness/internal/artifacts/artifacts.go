// Package artifacts builds, offline and from the Go module proxy only, every
// binary and image a local cluster needs, and caches them by version under
// the cache directory, so that a second run rebuilds nothing:
//
//	<cache>/bin/kubernetes-v1.37.2/{kube-apiserver,...,kubectl}
//	<cache>/bin/etcd-v3.7.3/etcd
//	<cache>/bin/coredns-v1.14.6/coredns
//	<cache>/bin/istio-echo-<version>/{server,client,cert.crt,cert.key}
//	<cache>/bin/pause-<source hash>/pause
//	<cache>/images/*.tar   (OCI image tarballs)
//	<cache>/modules/*      (the throwaway Go modules the binaries are built in)
package artifacts

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"

	"gamma-conformance/gatewayapi"
	"gamma-conformance/harness/images"
	"gamma-conformance/harness/internal/progress"
)

// Versions of everything built.
const (
	KubernetesVersion = "v1.37.2"
	EtcdVersion       = "v3.7.3"
	CoreDNSVersion    = "v1.14.6"
	// IstioVersion is the only istio.io/istio version the Go module proxy serves.
	IstioVersion = "v0.0.0-20260827124520-eed52ebb66ad"
)

// Image references preloaded into every cluster. EchoImage and
// EchoImageV17 are exactly the images the upstream gateway-api v1.6.3 and
// v1.7.0 mesh manifests use.
const (
	PauseImage   = "registry.k8s.io/pause:3.10"
	Pause2Image  = "registry.k8s.io/pause:3.10.2"
	CoreDNSImage = "registry.k8s.io/coredns/coredns:" + CoreDNSVersion
	EchoImage    = gatewayapi.EchoImageV163
	EchoImageV17 = gatewayapi.EchoImageV170
)

// KubeBinaries are the Kubernetes commands built.
var KubeBinaries = []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy", "kubectl"}

//go:embed pause/main.go
var pauseSource string

// Set is the location of every cached artifact.
type Set struct {
	KubeDir string // directory holding KubeBinaries
	Etcd    string
	// Images are the image tarballs every cluster preloads.
	Images map[string]string // reference -> tarball
}

// Kube returns the path of one Kubernetes command.
func (s *Set) Kube(name string) string { return filepath.Join(s.KubeDir, name) }

// DefaultCacheDir is $GAMMA_CACHE, else $XDG_CACHE_HOME/gamma-conformance,
// else ~/.cache/gamma-conformance.
func DefaultCacheDir() string {
	if d := os.Getenv("GAMMA_CACHE"); d != "" {
		return d
	}
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "gamma-conformance")
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "gamma-conformance")
}

// Ensure builds whatever is missing from the cache and returns the set.
func Ensure(ctx context.Context, cache string, log *progress.Log) (*Set, error) {
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return nil, fmt.Errorf("cache directory %s: %w (set GAMMA_CACHE to a writable directory)", cache, err)
	}
	unlock, err := lock(filepath.Join(cache, ".lock"))
	if err != nil {
		return nil, err
	}
	defer unlock()
	b := builder{cache: cache, log: log}
	set := &Set{
		KubeDir: filepath.Join(cache, "bin", "kubernetes-"+KubernetesVersion),
		Etcd:    filepath.Join(cache, "bin", "etcd-"+EtcdVersion, "etcd"),
		Images:  map[string]string{},
	}
	coredns := filepath.Join(cache, "bin", "coredns-"+CoreDNSVersion)
	echo := filepath.Join(cache, "bin", "istio-echo-"+IstioVersion)
	sum := sha256.Sum256([]byte(pauseSource))
	pause := filepath.Join(cache, "bin", "pause-"+hex.EncodeToString(sum[:6]))
	steps := []struct {
		what, dst string
		build     func(context.Context, string) error
	}{
		{"build Kubernetes " + KubernetesVersion + " (cold: ~8 min)", set.KubeDir, b.kubernetes},
		{"build etcd " + EtcdVersion, filepath.Dir(set.Etcd), b.etcd},
		{"build CoreDNS " + CoreDNSVersion, coredns, b.coredns},
		{"build Istio echo server and client", echo, b.istioEcho},
		{"build pause", pause, b.pause},
	}
	for _, s := range steps {
		if exists(s.dst) {
			continue
		}
		if err := log.Step(s.what, func() error { return s.build(ctx, s.dst) }); err != nil {
			return nil, err
		}
	}
	imgs := []images.Image{
		{Ref: PauseImage, Entrypoint: []string{"/pause"}, Files: []images.File{{Dst: "/pause", Src: filepath.Join(pause, "pause")}}},
		{Ref: Pause2Image, Entrypoint: []string{"/pause"}, Files: []images.File{{Dst: "/pause", Src: filepath.Join(pause, "pause")}}},
		{Ref: CoreDNSImage, Entrypoint: []string{"/coredns"}, Files: []images.File{{Dst: "/coredns", Src: filepath.Join(coredns, "coredns")}}},
	}
	for _, ref := range gatewayapi.EchoImages() {
		imgs = append(imgs, echoImage(ref, echo))
	}
	for _, img := range imgs {
		out := filepath.Join(cache, "images", imageFileName(img))
		set.Images[img.Ref] = out
		if exists(out) {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return nil, err
		}
		if err := log.Step("pack image "+img.Ref, func() error { return images.Build(out, img) }); err != nil {
			return nil, err
		}
	}
	return set, nil
}

// echoImage is the echo image of an upstream mesh fixture, from the Istio
// echo binaries in dir. Upstream, both are Istio's app image
// (pkg/test/echo/docker/Dockerfile.app): v1.6.3's echo-advanced:v1.5.1 is
// FROM gcr.io/istio-release/app:1.21.2, v1.7.0's
// conformance/echo-advanced:v0.1.0 (gateway-api-conformance-images v0.1.0,
// docker/Dockerfile.echo-advanced) is FROM gcr.io/istio-release/app:1.30.3
// and adds nothing. Here both are the same files, built from the one
// istio.io/istio version the module proxy serves (IstioVersion): the
// server as entrypoint, the client, and Istio's test certificate as
// /cert.crt and /cert.key; the layer is byte-identical, so a node stores it
// once. (Istio's image also runs as uid 1338 on its base image; ours has no
// base and runs as the pod says.)
func echoImage(ref, dir string) images.Image {
	return images.Image{Ref: ref, Entrypoint: []string{"/usr/local/bin/server"}, Files: []images.File{
		{Dst: "/usr/local/bin/server", Src: filepath.Join(dir, "server")},
		{Dst: "/usr/local/bin/client", Src: filepath.Join(dir, "client")},
		{Dst: "/cert.crt", Src: filepath.Join(dir, "cert.crt")},
		{Dst: "/cert.key", Src: filepath.Join(dir, "cert.key")},
	}}
}

// imageFileName names an image tarball after its reference and the cache
// directories of its inputs, so a new input version gives a new tarball.
func imageFileName(img images.Image) string {
	h := sha256.New()
	fmt.Fprintln(h, img.Ref, img.Entrypoint)
	for _, f := range img.Files {
		fmt.Fprintln(h, f.Dst, f.Src)
	}
	safe := regexp.MustCompile(`[^a-zA-Z0-9.-]+`).ReplaceAllString(img.Ref, "_")
	return fmt.Sprintf("%s-%s.tar", safe, hex.EncodeToString(h.Sum(nil)[:4]))
}

func lock(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("locking the cache: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("locking the cache %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}

type builder struct {
	cache string
	log   *progress.Log
}

func (b builder) moduleDir(name string) string { return filepath.Join(b.cache, "modules", name) }

// kubernetes builds the Kubernetes commands in a throwaway module whose go.mod
// is k8s.io/kubernetes's own, with the ./staging replaces turned into
// versioned requirements (recipe A1 of the offline note).
func (b builder) kubernetes(ctx context.Context, dst string) error {
	dir := b.moduleDir("kubernetes-" + KubernetesVersion)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if !exists(filepath.Join(dir, "go.sum")) {
		_, goMod, err := downloadModule(ctx, dir, "k8s.io/kubernetes@"+KubernetesVersion)
		if err != nil {
			return err
		}
		raw, err := os.ReadFile(goMod)
		if err != nil {
			return err
		}
		mod := rewriteKubernetesGoMod(string(raw))
		imports := ""
		for _, c := range KubeBinaries {
			imports += "\t_ \"k8s.io/kubernetes/cmd/" + c + "\"\n"
		}
		tools := "//go:build tools\n\npackage tools\n\nimport (\n" + imports + ")\n"
		if err := writeModule(dir, mod, map[string]string{"tools.go": tools}); err != nil {
			return err
		}
		if _, err := goRun(ctx, dir, "mod", "download"); err != nil {
			return err
		}
		if _, err := goRun(ctx, dir, "mod", "tidy", "-e"); err != nil {
			return err
		}
	}
	var pkgs []string
	for _, c := range KubeBinaries {
		pkgs = append(pkgs, "k8s.io/kubernetes/cmd/"+c)
	}
	return buildInto(ctx, dir, dst, kubeLdflags(), pkgs...)
}

// kubeLdflags stamp the Kubernetes version into the binaries (unversioned
// builds say v0.0.0-master, which kubectl and kubeadm reject).
func kubeLdflags() string {
	minor := strings.Split(KubernetesVersion, ".")[1]
	ldflags := "-s -w"
	for _, pkg := range []string{"k8s.io/component-base/version", "k8s.io/client-go/pkg/version"} {
		ldflags += fmt.Sprintf(" -X %s.gitVersion=%s -X %s.gitMajor=1 -X %s.gitMinor=%s", pkg, KubernetesVersion, pkg, pkg, minor)
	}
	return ldflags + " -X k8s.io/component-base/version.gitTreeState=clean -X k8s.io/component-base/version.buildDate=2026-01-01T00:00:00Z"
}

// rewriteKubernetesGoMod turns k8s.io/kubernetes's go.mod into the go.mod of
// a module that requires it: staging replaces point at the published
// v0.<minor>.<patch> modules, except the two samples that are not published.
func rewriteKubernetesGoMod(mod string) string {
	staging := "v0" + strings.TrimPrefix(KubernetesVersion, "v1")
	var out []string
	re := regexp.MustCompile(`=> \./staging/src/(k8s\.io/[a-z-]+)`)
	for _, line := range strings.Split(mod, "\n") {
		switch {
		case strings.HasPrefix(line, "module k8s.io/kubernetes"):
			line = "module gammaconf.local/k8sbuild"
		case strings.Contains(line, "sample-cli-plugin") || strings.Contains(line, "sample-controller"):
			continue
		}
		out = append(out, re.ReplaceAllString(line, "=> $1 "+staging))
	}
	return strings.Join(out, "\n") + "\nrequire k8s.io/kubernetes " + KubernetesVersion + "\n"
}

// single builds packages of one upstream module in a throwaway module.
func (b builder) single(ctx context.Context, name, dst string, pkgs ...string) error {
	dir := b.moduleDir(name)
	if !exists(filepath.Join(dir, "go.sum")) {
		if err := writeModule(dir, "module gammaconf.local/"+name+"build\n\ngo 1.26.0\n", nil); err != nil {
			return err
		}
		if _, err := goRun(ctx, dir, append([]string{"get"}, pkgs...)...); err != nil {
			return err
		}
	}
	var paths []string
	for _, p := range pkgs {
		paths = append(paths, strings.Split(p, "@")[0])
	}
	return buildInto(ctx, dir, dst, "-s -w", paths...)
}

func (b builder) etcd(ctx context.Context, dst string) error {
	if err := b.single(ctx, "etcd", dst, "go.etcd.io/etcd/server/v3@"+EtcdVersion); err != nil {
		return err
	}
	// go build names a binary after its path without the major version suffix.
	return os.Rename(filepath.Join(dst, "server"), filepath.Join(dst, "etcd"))
}

func (b builder) coredns(ctx context.Context, dst string) error {
	return b.single(ctx, "coredns", dst, "github.com/coredns/coredns@"+CoreDNSVersion)
}

// istioEcho builds Istio's echo server and client, and copies the test
// certificate the Istio app image ships as /cert.crt and /cert.key.
func (b builder) istioEcho(ctx context.Context, dst string) error {
	tmp := dst + ".partial"
	if err := b.single(ctx, "istio", tmp,
		"istio.io/istio/pkg/test/echo/cmd/server@"+IstioVersion, "istio.io/istio/pkg/test/echo/cmd/client@"+IstioVersion); err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	modDir, _, err := downloadModule(ctx, b.moduleDir("istio"), "istio.io/istio@"+IstioVersion)
	if err != nil {
		return err
	}
	certs := filepath.Join(modDir, "tests", "testdata", "certs", "dns")
	for src, name := range map[string]string{"cert-chain.pem": "cert.crt", "key.pem": "cert.key"} {
		data, err := os.ReadFile(filepath.Join(certs, src))
		if err != nil {
			return fmt.Errorf("istio test certificate: %w", err)
		}
		if err := os.WriteFile(filepath.Join(tmp, name), data, 0o644); err != nil {
			return err
		}
	}
	return os.Rename(tmp, dst)
}

func (b builder) pause(ctx context.Context, dst string) error {
	dir := b.moduleDir("pause")
	if err := writeModule(dir, "module gammaconf.local/pause\n\ngo 1.26.0\n", map[string]string{"main.go": pauseSource}); err != nil {
		return err
	}
	return buildInto(ctx, dir, dst, "-s -w", ".")
}

// EnsureKubeadm builds kubeadm (needed only by kind node images) into the
// cache when missing and returns its path.
func EnsureKubeadm(ctx context.Context, cache string, log *progress.Log) (string, error) {
	if _, err := Ensure(ctx, cache, log); err != nil { // the module kubeadm is built in
		return "", err
	}
	unlock, err := lock(filepath.Join(cache, ".lock"))
	if err != nil {
		return "", err
	}
	defer unlock()
	dst := filepath.Join(cache, "bin", "kubeadm-"+KubernetesVersion)
	if !exists(dst) {
		b := builder{cache: cache, log: log}
		if err := log.Step("build kubeadm "+KubernetesVersion, func() error {
			return buildInto(ctx, b.moduleDir("kubernetes-"+KubernetesVersion), dst, kubeLdflags(), "k8s.io/kubernetes/cmd/kubeadm")
		}); err != nil {
			return "", err
		}
	}
	return filepath.Join(dst, "kubeadm"), nil
}

// ModuleDir downloads a module through the module proxy and returns its
// directory in the module cache.
func ModuleDir(ctx context.Context, cache, mod string) (string, error) {
	dir := filepath.Join(cache, "modules", "download")
	if err := writeModule(dir, "module gammaconf.local/download\n\ngo 1.26.0\n", nil); err != nil {
		return "", err
	}
	d, _, err := downloadModule(ctx, dir, mod)
	return d, err
}
