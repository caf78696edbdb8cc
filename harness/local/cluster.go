package local

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"gamma-conformance/harness"
)

// record describes the cluster of this state directory.
func (p *Provider) record() *harness.Cluster {
	return &harness.Cluster{Provider: "local", Name: nodeName, Kubeconfig: p.p.kubeconfig("admin"), Context: "gamma-local", Loader: p}
}

// LoadImages imports image tarballs into the cluster's containerd with
// ctr, in the namespace the kubelet uses.
func (p *Provider) LoadImages(ctx context.Context, _ *harness.Cluster, tarballs ...string) error {
	for _, t := range tarballs {
		cmd := exec.CommandContext(ctx, lookPath("ctr"), "--address", p.p.containerdSocket(), "--namespace", "k8s.io", "images", "import", t)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("importing image %s into the local cluster's containerd (%s): %w: %s (check `gammaconf cluster status`)", t, p.p.containerdSocket(), err, out)
		}
	}
	return nil
}

// ExportLogs copies the logs of the cluster's processes (etcd,
// kube-apiserver, kubelet, ...) into dest, which must not hold logs of the
// same names yet.
func (p *Provider) ExportLogs(_ context.Context, dest string) error {
	logs := filepath.Dir(p.p.log("x"))
	if _, err := os.Stat(logs); err != nil {
		return fmt.Errorf("no logs in %s: is a local cluster up there? (%w)", logs, err)
	}
	if err := os.CopyFS(dest, os.DirFS(logs)); err != nil {
		return fmt.Errorf("exporting the logs of %s: %w (pass an empty or new folder)", logs, err)
	}
	return nil
}
