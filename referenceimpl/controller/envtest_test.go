package controller

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"gamma-conformance/harness/testenv"
)

// The integration tests run against a real kube-apiserver and etcd started
// by envtest, from the binaries the harness builds offline (or from
// KUBEBUILDER_ASSETS). Without them they skip and say how to get them.

var (
	testEnv    *envtest.Environment
	testConfig *rest.Config
	envSkip    string
)

func TestMain(m *testing.M) {
	code := func() int {
		assets, cleanup, err := testenv.Assets()
		if err != nil {
			envSkip = err.Error()
			return m.Run()
		}
		defer cleanup()
		crds, err := gatewayCRDs()
		if err != nil {
			fmt.Fprintln(os.Stderr, "envtest:", err)
			return 1
		}
		testEnv = &envtest.Environment{BinaryAssetsDirectory: assets, CRDInstallOptions: envtest.CRDInstallOptions{Paths: crds, ErrorIfPathMissing: true}}
		testConfig, err = testEnv.Start()
		if err != nil {
			fmt.Fprintln(os.Stderr, "envtest start:", err)
			return 1
		}
		defer testEnv.Stop()
		return m.Run()
	}()
	os.Exit(code)
}

// gatewayCRDs lists the experimental-channel Gateway API CRDs (XMesh is
// experimental only) from the module cache.
func gatewayCRDs() ([]string, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "sigs.k8s.io/gateway-api").Output()
	if err != nil {
		return nil, fmt.Errorf("locating the gateway-api module: %w", err)
	}
	files, err := filepath.Glob(filepath.Join(strings.TrimSpace(string(out)), "config", "crd", "experimental", "gateway.networking*.yaml"))
	if err != nil {
		return nil, err
	}
	var crds []string
	for _, f := range files {
		if !strings.Contains(f, "_vap_") {
			crds = append(crds, f)
		}
	}
	return crds, nil
}

// needAPIServer skips a test when envtest could not start, saying why.
func needAPIServer(t *testing.T) (client.Client, kubernetes.Interface) {
	t.Helper()
	if testConfig == nil {
		t.Skip("no API server for integration tests: " + envSkip)
	}
	c, err := client.New(testConfig, client.Options{Scheme: Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	return c, kubernetes.NewForConfigOrDie(testConfig)
}
