package e2eprovider

import (
	"context"
	"strings"
	"testing"
)

// What the adapter refuses, before any cluster exists, and what it says.
func TestRefusals(t *testing.T) {
	ctx := context.Background()
	a := &Adapter{}
	a.WithName("gamma")
	for _, tc := range []struct {
		what string
		err  error
		says string
	}{
		{"Create without a provider", func() error { _, err := a.Create(ctx); return err }(), "New function"},
		{"CreateWithConfig", func() error { _, err := a.CreateWithConfig(ctx, "kind.yaml"); return err }(), "no config file"},
		{"GenerateKubeconfig before Create", func() error { _, err := a.GenerateKubeconfig(); return err }(), "call Create first"},
		{"LoadImage", a.LoadImage(ctx, "nginx:1"), "LoadImageArchive"},
		{"LoadImageArchive before Create", a.LoadImageArchive(ctx, "x.tar"), "call Create first"},
		{"ExportLogs", a.ExportLogs(ctx, t.TempDir()), "pod logs"},
	} {
		if tc.err == nil || !strings.Contains(tc.err.Error(), tc.says) || !strings.Contains(tc.err.Error(), `"gamma"`) {
			t.Errorf("%s: err = %v, want one naming the cluster and saying %q", tc.what, tc.err, tc.says)
		}
	}
	if err := a.Destroy(ctx); err != nil {
		t.Errorf("Destroy before Create: %v", err)
	}
	if a.GetKubeconfig() != "" || a.KubernetesRestConfig() != nil || a.Adopted() {
		t.Errorf("before Create: kubeconfig %q, config %v, adopted %v", a.GetKubeconfig(), a.KubernetesRestConfig(), a.Adopted())
	}
}
