// Package harness brings up, describes and tears down the Kubernetes cluster
// that the suites run against. Providers (harness/local, harness/existing)
// implement Provider; whatever provider made it, a cluster is described by a
// Cluster record written next to its kubeconfig, so tests that only get the
// kubeconfig path (GAMMA_KUBECONFIG) can still load locally built images.
package harness

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// KubeconfigEnv names the environment variable through which tests receive
// the kubeconfig of the cluster that `make test` brought up.
const KubeconfigEnv = "GAMMA_KUBECONFIG"

// RecordFile is the name of the Cluster record next to the kubeconfig.
const RecordFile = "gamma-cluster.json"

// Provider makes and removes one cluster.
type Provider interface {
	// Up creates the cluster, or returns it when it is already up and healthy.
	Up(ctx context.Context) (*Cluster, error)
	// Down removes everything Up made; it is not an error when nothing is up.
	Down(ctx context.Context) error
	// Status describes the cluster, or returns an error when it is not up.
	Status(ctx context.Context) (string, error)
}

// Cluster describes a running cluster.
type Cluster struct {
	Provider   string `json:"provider"`
	Name       string `json:"name"`
	Kubeconfig string `json:"kubeconfig"`
	Context    string `json:"context,omitempty"`
	// ContainerdSocket and Ctr are set when images are loaded with
	// containerd's ctr (local provider).
	ContainerdSocket string `json:"containerdSocket,omitempty"`
	Ctr              string `json:"ctr,omitempty"`
}

// Save writes the record next to the kubeconfig.
func (c *Cluster) Save() error {
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(filepath.Dir(c.Kubeconfig), RecordFile), data, 0o644)
}

// Open returns the cluster whose kubeconfig is at path. Without a record
// next to it, the cluster is an existing one that images cannot be loaded into.
func Open(kubeconfig string) (*Cluster, error) {
	if _, err := os.Stat(kubeconfig); err != nil {
		return nil, fmt.Errorf("kubeconfig %s: %w (bring a cluster up with `gammaconf cluster up`)", kubeconfig, err)
	}
	data, err := os.ReadFile(filepath.Join(filepath.Dir(kubeconfig), RecordFile))
	if errors.Is(err, os.ErrNotExist) {
		return &Cluster{Provider: "existing", Kubeconfig: kubeconfig}, nil
	}
	if err != nil {
		return nil, err
	}
	var c Cluster
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("cluster record next to %s: %w", kubeconfig, err)
	}
	return &c, nil
}

// ImageLoader loads image tarballs into a cluster made by one provider.
type ImageLoader func(ctx context.Context, c *Cluster, tarballs []string) error

var loaders = map[string]ImageLoader{}

// RegisterImageLoader is called by provider packages (in init) whose
// clusters load images in their own way.
func RegisterImageLoader(provider string, l ImageLoader) { loaders[provider] = l }

// LoadImages imports OCI image tarballs (see package images) so that pods can
// use them without any pull. For a kind cluster, the caller must import
// gamma-conformance/harness/kind.
func (c *Cluster) LoadImages(ctx context.Context, tarballs ...string) error {
	if l := loaders[c.Provider]; l != nil {
		return l(ctx, c, tarballs)
	}
	if c.ContainerdSocket == "" {
		return fmt.Errorf("the %s provider cannot load local images: push them to a registry the cluster can pull from", c.Provider)
	}
	for _, t := range tarballs {
		cmd := exec.CommandContext(ctx, c.Ctr, "--address", c.ContainerdSocket, "--namespace", "k8s.io", "images", "import", t)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("importing image %s: %w: %s", t, err, out)
		}
	}
	return nil
}
