package mesh

import (
	"context"
	"os"
	"testing"

	"k8s.io/client-go/rest"

	"gamma-conformance/harness"
	"gamma-conformance/harness/crds"
	"gamma-conformance/harness/providers"
)

// setup installs the experimental Gateway API CRDs and the reference mesh on
// the cluster of GAMMA_KUBECONFIG (skipping when there is none), and removes
// the mesh when the test ends.
func setup(ctx context.Context, tb testing.TB) (kubeconfig string, cfg *rest.Config) {
	tb.Helper()
	kubeconfig = os.Getenv(harness.KubeconfigEnv)
	if kubeconfig == "" {
		tb.Skipf("%s is not set: run `make test` or `make bench`, which bring the local cluster up", harness.KubeconfigEnv)
	}
	c, err := providers.Open(kubeconfig)
	if err != nil {
		tb.Fatal(err)
	}
	cfg, err = c.RESTConfig()
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := crds.Install(ctx, cfg, crds.Experimental); err != nil {
		tb.Fatal(err)
	}
	if err := Install(ctx, c, Options{Log: os.Stderr}); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := Uninstall(context.Background(), c, os.Stderr); err != nil {
			tb.Errorf("uninstall: %v", err)
		}
	})
	return kubeconfig, cfg
}
