package providers_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/e2e-framework/support"

	"gamma-conformance/harness"
	"gamma-conformance/harness/crds"
	"gamma-conformance/harness/existing"
	"gamma-conformance/harness/kind"
	"gamma-conformance/harness/local"
	"gamma-conformance/harness/providers"
	"gamma-conformance/harness/testenv"
)

func TestUnknownProvider(t *testing.T) {
	_, err := providers.New("docker", providers.Options{})
	if !harness.IsSetup(err) || !strings.Contains(err.Error(), `unknown provider "docker"`) || !strings.Contains(err.Error(), "local, kind, existing") {
		t.Fatalf("err = %v, want a SetupError that lists the valid names", err)
	}
}

// Every provider is a harness.Provider and an e2e-framework cluster
// provider with an image loader.
func TestEveryProviderIsAnE2EFrameworkProvider(t *testing.T) {
	for _, name := range providers.Names {
		p, err := providers.New(name, providers.Options{Dir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		e, ok := p.(support.E2EClusterProviderWithImageLoader)
		if !ok {
			t.Fatalf("%s: %T is not a support.E2EClusterProviderWithImageLoader", name, p)
		}
		// The With* methods return the provider itself, not the adapter.
		if got := e.SetDefaults().WithName("gamma").WithVersion("").WithOpts(); got != e {
			t.Errorf("%s: the With* methods return %T, want the provider %T", name, got, p)
		}
	}
}

// Open finds the provider from the record next to the kubeconfig.
func TestOpenUsesTheRecordedProvider(t *testing.T) {
	for _, tc := range []struct {
		record string
		check  func(harness.ImageLoader) bool
	}{
		{`{"provider": "local", "name": "gamma-local"}`, func(l harness.ImageLoader) bool { _, ok := l.(*local.Provider); return ok }},
		{`{"provider": "kind", "name": "gamma"}`, func(l harness.ImageLoader) bool { _, ok := l.(*kind.Provider); return ok }},
		{"", func(l harness.ImageLoader) bool { _, ok := l.(*existing.Provider); return ok }},
	} {
		dir := t.TempDir()
		kubeconfig := filepath.Join(dir, "kubeconfig")
		if err := os.WriteFile(kubeconfig, []byte("{}"), 0o600); err != nil {
			t.Fatal(err)
		}
		if tc.record != "" {
			if err := os.WriteFile(filepath.Join(dir, harness.RecordFile), []byte(tc.record), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		c, err := providers.Open(kubeconfig)
		if err != nil {
			t.Fatal(err)
		}
		if !tc.check(c.Loader) {
			t.Errorf("record %q: loader %T", tc.record, c.Loader)
		}
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "kubeconfig"), []byte("{}"), 0o600)
	os.WriteFile(filepath.Join(dir, harness.RecordFile), []byte(`{"provider": "docker"}`), 0o644)
	if _, err := providers.Open(filepath.Join(dir, "kubeconfig")); !harness.IsSetup(err) || !strings.Contains(err.Error(), "unknown provider") {
		t.Errorf("record of an unknown provider: err = %v", err)
	}
}

// TestExistingAdoptsARealCluster runs the existing provider as an
// e2e-framework provider against a real API server (envtest) that serves
// the Gateway API CRDs: Create adopts the cluster, Destroy leaves it
// answering, images are refused with the fix.
func TestExistingAdoptsARealCluster(t *testing.T) {
	cfg := testenv.Start(t)
	kubeconfig := testenv.Kubeconfig(t, cfg)
	ctx := context.Background()
	if _, err := crds.Install(ctx, cfg, crds.Standard); err != nil {
		t.Fatal(err)
	}
	p := existing.New(kubeconfig, "")
	if _, err := p.WithVersion("v0.0").Create(ctx); err == nil || !strings.Contains(err.Error(), "drop WithVersion") {
		t.Errorf("Create with another version: err = %v", err)
	}
	p = existing.New(kubeconfig, "")
	path, err := p.WithName("gamma").Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if path != kubeconfig || !p.Adopted() || p.KubernetesRestConfig().Host != cfg.Host {
		t.Fatalf("Create: kubeconfig %s, adopted %v, host %s; want %s, true, %s", path, p.Adopted(), p.KubernetesRestConfig().Host, kubeconfig, cfg.Host)
	}
	if err := p.LoadImageArchive(ctx, "x.tar"); !harness.IsSetup(err) || !strings.Contains(err.Error(), "registry") {
		t.Errorf("LoadImageArchive: err = %v, want a SetupError about a registry", err)
	}
	if err := p.Destroy(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, err := harness.Connect(kubeconfig, ""); err != nil {
		t.Fatalf("the adopted cluster does not answer after Destroy: %v", err)
	}
}
