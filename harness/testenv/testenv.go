// Package testenv hands controller-runtime's envtest the kube-apiserver, etcd
// and kubectl that the harness builds offline into its cache, so integration
// tests run a real API server with nothing downloaded (Assets), starts one
// for a test (Start) and writes its kubeconfig (Kubeconfig).
package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"gamma-conformance/harness/internal/artifacts"
)

// Assets returns a directory holding kube-apiserver, etcd and kubectl for
// envtest.Environment.BinaryAssetsDirectory: $KUBEBUILDER_ASSETS when set,
// else a new directory of links into the harness cache, which cleanup
// removes. Without the binaries the error says how to build them.
func Assets() (dir string, cleanup func(), err error) {
	if d := os.Getenv("KUBEBUILDER_ASSETS"); d != "" {
		return d, func() {}, nil
	}
	cache := artifacts.DefaultCacheDir()
	bins := map[string]string{
		"kube-apiserver": filepath.Join(cache, "bin", "kubernetes-"+artifacts.KubernetesVersion, "kube-apiserver"),
		"kubectl":        filepath.Join(cache, "bin", "kubernetes-"+artifacts.KubernetesVersion, "kubectl"),
		"etcd":           filepath.Join(cache, "bin", "etcd-"+artifacts.EtcdVersion, "etcd"),
	}
	for _, path := range bins {
		if _, err := os.Stat(path); err != nil {
			return "", nil, fmt.Errorf("no %s: run `make test` or `gammaconf cluster up` once (they build the Kubernetes binaries offline into %s), or set KUBEBUILDER_ASSETS", path, cache)
		}
	}
	dir, err = os.MkdirTemp("", "gamma-envtest-")
	if err != nil {
		return "", nil, err
	}
	cleanup = func() { os.RemoveAll(dir) }
	for name, path := range bins {
		if err := os.Symlink(path, filepath.Join(dir, name)); err != nil {
			cleanup()
			return "", nil, err
		}
	}
	return dir, cleanup, nil
}

// Start starts an envtest API server (with etcd) for the test and stops it
// when the test ends; without the binaries the test is skipped, saying how
// to build them.
func Start(t testing.TB) *rest.Config {
	t.Helper()
	assets, cleanup, err := Assets()
	if err != nil {
		t.Skip(err)
	}
	t.Cleanup(cleanup)
	env := &envtest.Environment{BinaryAssetsDirectory: assets}
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("envtest: %v", err)
	}
	t.Cleanup(func() { env.Stop() })
	return cfg
}

// Kubeconfig writes a kubeconfig for the API server of cfg (as Start
// returns it) into the test's temporary directory and returns its path.
func Kubeconfig(tb testing.TB, cfg *rest.Config) string {
	tb.Helper()
	kc := clientcmdapi.Config{
		Clusters:       map[string]*clientcmdapi.Cluster{"envtest": {Server: cfg.Host, CertificateAuthorityData: cfg.CAData}},
		AuthInfos:      map[string]*clientcmdapi.AuthInfo{"envtest": {ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData}},
		Contexts:       map[string]*clientcmdapi.Context{"envtest": {Cluster: "envtest", AuthInfo: "envtest"}},
		CurrentContext: "envtest",
	}
	path := filepath.Join(tb.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(kc, path); err != nil {
		tb.Fatal(err)
	}
	return path
}
