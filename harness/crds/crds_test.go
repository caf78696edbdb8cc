package crds

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gamma-conformance/gatewayapi"
	"gamma-conformance/harness"
	"gamma-conformance/harness/testenv"
)

func TestUnknownChannel(t *testing.T) {
	_, err := Dir(gatewayapi.V163, "beta")
	if err == nil || !strings.Contains(err.Error(), "use standard or experimental") {
		t.Fatalf("err = %v", err)
	}
}

func TestUnknownVersion(t *testing.T) {
	_, err := Dir("v1.5.1", Experimental)
	if err == nil || !strings.Contains(err.Error(), `unknown Gateway API version "v1.5.1": this harness runs v1.7.0 or v1.6.3`) {
		t.Fatalf("err = %v", err)
	}
}

// TestDirOfEachRelease: each release's CRDs come from its own module (no
// cluster needed); v1.7.0's through the nested module and Go 1.27.3.
func TestDirOfEachRelease(t *testing.T) {
	for _, rel := range gatewayapi.Releases {
		t.Run(rel.Version, func(t *testing.T) {
			dir, err := Dir(rel.Version, Experimental)
			if err != nil && rel.Toolchain != "local" && strings.Contains(err.Error(), "downloading "+rel.Toolchain) {
				t.Skipf("the Go toolchain %s cannot be fetched from the module proxy: %v", rel.Toolchain, err)
			}
			if err != nil {
				t.Fatal(err)
			}
			raw, err := os.ReadFile(filepath.Join(dir, "gateway.networking.k8s.io_httproutes.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(raw), "gateway.networking.k8s.io/bundle-version: "+rel.Version+"\n") {
				t.Errorf("%s: the HTTPRoute CRD is not of %s", dir, rel.Version)
			}
		})
	}
}

// TestInstallExperimental applies v1.6.3's experimental channel to the
// cluster `make test` brought up (idempotent: the same CRDs every time, so
// the tests running beside it are not disturbed).
func TestInstallExperimental(t *testing.T) {
	kubeconfig := os.Getenv(harness.KubeconfigEnv)
	if kubeconfig == "" {
		t.Skipf("%s is not set: run `make test`, which brings the local cluster up", harness.KubeconfigEnv)
	}
	cfg, err := (&harness.Cluster{Kubeconfig: kubeconfig}).RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	if n, err := Install(context.Background(), cfg, Experimental); err != nil || n != 13 {
		t.Fatalf("%d CRDs established, the experimental channel of v1.6.3 has 13: %v", n, err)
	}
}

// TestInstallVersions switches one API server (envtest: its own, so no
// other test sees the switch) between the releases. v1.7.0 has a CRD
// v1.6.3 lacks (XTelemetryPolicy): going back is refused without prune,
// naming it, before anything is applied.
func TestInstallVersions(t *testing.T) {
	cfg := testenv.Start(t)
	ctx := context.Background()
	if n, err := InstallVersion(ctx, cfg, gatewayapi.V170, Experimental, false); err != nil || n != 14 {
		t.Fatalf("v1.7.0: %d CRDs established, want 14: %v", n, err)
	}
	_, err := Install(ctx, cfg, Experimental)
	if err == nil || !strings.Contains(err.Error(), "xtelemetrypolicies.gateway.networking.x-k8s.io (v1.7.0 experimental)") || !strings.Contains(err.Error(), "--prune") {
		t.Fatalf("v1.6.3 over v1.7.0 without prune: %v", err)
	}
	if n, err := InstallVersion(ctx, cfg, gatewayapi.V163, Experimental, true); err != nil || n != 13 {
		t.Fatalf("v1.6.3 with prune: %d CRDs established, want 13: %v", n, err)
	}
	if _, err := InstallVersion(ctx, cfg, gatewayapi.V163, Standard, false); err == nil || !strings.Contains(err.Error(), "xmeshes") {
		t.Fatalf("standard over experimental without prune: %v", err)
	}
}
