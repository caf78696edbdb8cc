// Package testenv hands controller-runtime's envtest the kube-apiserver, etcd
// and kubectl that the harness builds offline into its cache, so integration
// tests run a real API server with nothing downloaded (Assets), and starts
// one for a test with a kubeconfig (Start).
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

// Start starts a real API server and etcd (envtest) for the test, writes
// a kubeconfig for it and stops it when the test ends. It skips the test
// when the binaries are missing (see Assets).
func Start(tb testing.TB) (cfg *rest.Config, kubeconfig string) {
	tb.Helper()
	assets, cleanup, err := Assets()
	if err != nil {
		tb.Skip(err)
	}
	tb.Cleanup(cleanup)
	env := &envtest.Environment{BinaryAssetsDirectory: assets}
	cfg, err = env.Start()
	if err != nil {
		tb.Fatalf("envtest: %v", err)
	}
	tb.Cleanup(func() { _ = env.Stop() })
	kc := clientcmdapi.Config{
		Clusters:       map[string]*clientcmdapi.Cluster{"envtest": {Server: cfg.Host, CertificateAuthorityData: cfg.CAData}},
		AuthInfos:      map[string]*clientcmdapi.AuthInfo{"envtest": {ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData}},
		Contexts:       map[string]*clientcmdapi.Context{"envtest": {Cluster: "envtest", AuthInfo: "envtest"}},
		CurrentContext: "envtest",
	}
	kubeconfig = filepath.Join(tb.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(kc, kubeconfig); err != nil {
		tb.Fatal(err)
	}
	return cfg, kubeconfig
}
