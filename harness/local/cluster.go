package local

import (
	"context"
	"fmt"
	"io"
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
// kube-apiserver, kubelet, ...) into dest.
func (p *Provider) ExportLogs(_ context.Context, dest string) error {
	logs, err := filepath.Glob(p.p.log("*"))
	if err != nil {
		return err
	}
	if len(logs) == 0 {
		return fmt.Errorf("no logs in %s: is a local cluster up there?", filepath.Dir(p.p.log("x")))
	}
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return err
	}
	for _, l := range logs {
		if err := copyFile(l, filepath.Join(dest, filepath.Base(l))); err != nil {
			return fmt.Errorf("exporting %s: %w", l, err)
		}
	}
	return nil
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
