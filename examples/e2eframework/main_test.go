package e2eframework

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"sigs.k8s.io/e2e-framework/pkg/env"
	"sigs.k8s.io/e2e-framework/pkg/envfuncs"

	"gamma-conformance/harness"
	"gamma-conformance/harness/local"
)

// clusterName is the name e2e-framework keeps the cluster under.
const clusterName = "gamma"

var (
	// testenv is nil when there is no cluster; skipReason says why.
	testenv    env.Environment
	skipReason string
)

// TestMain creates the cluster with the local provider, which adopts the
// cluster `make test` brought up (GAMMA_KUBECONFIG); DestroyCluster then
// leaves it up for the other packages.
func TestMain(m *testing.M) {
	provider, reason, err := localProvider(os.Getenv(harness.KubeconfigEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if reason != "" {
		skipReason = reason
		os.Exit(m.Run())
	}
	testenv = env.New()
	testenv.Setup(envfuncs.CreateCluster(provider, clusterName))
	testenv.Finish(envfuncs.DestroyCluster(clusterName))
	os.Exit(testenv.Run(m))
}

// localProvider returns the local provider of the cluster of kubeconfig,
// or why the tests skip.
func localProvider(kubeconfig string) (p *local.Provider, skip string, err error) {
	if kubeconfig == "" {
		return nil, fmt.Sprintf("%s is not set, so there is no cluster: run `make test` as root, which brings the local cluster up", harness.KubeconfigEnv), nil
	}
	if os.Geteuid() != 0 {
		return nil, "not root: the local provider needs root (run `make test` as root)", nil
	}
	c, err := harness.ReadRecord(kubeconfig)
	if err != nil {
		return nil, "", fmt.Errorf("%s=%s: %w", harness.KubeconfigEnv, kubeconfig, err)
	}
	if c.Provider != "local" {
		return nil, fmt.Sprintf("%s names a cluster of the %s provider: this example adopts the local one", harness.KubeconfigEnv, c.Provider), nil
	}
	return local.New(local.Options{Dir: filepath.Dir(kubeconfig), Out: os.Stderr}), "", nil
}
