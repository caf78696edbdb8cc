package crds

import (
	"context"
	"os"
	"strings"
	"testing"

	"gamma-conformance/harness"
)

func TestUnknownChannel(t *testing.T) {
	_, err := Dir("beta")
	if err == nil || !strings.Contains(err.Error(), "use standard or experimental") {
		t.Fatalf("err = %v", err)
	}
}

// TestInstallExperimental applies the experimental channel to the cluster
// `make test` brought up (idempotent: the same CRDs every time) and checks
// the XMesh CRD, which only that channel has, is served.
func TestInstallExperimental(t *testing.T) {
	kubeconfig := os.Getenv(harness.KubeconfigEnv)
	if kubeconfig == "" {
		t.Skipf("%s is not set: run `make test`, which brings the local cluster up", harness.KubeconfigEnv)
	}
	cfg, err := (&harness.Cluster{Kubeconfig: kubeconfig}).RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	n, err := Install(context.Background(), cfg, Experimental)
	if err != nil {
		t.Fatal(err)
	}
	if n < 12 {
		t.Fatalf("%d CRDs established, the experimental channel of v1.6.3 has 14", n)
	}
}
