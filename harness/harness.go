// Package harness describes the Kubernetes cluster that the suites run
// against. Providers (harness/local, harness/kind, harness/existing)
// implement Provider; package harness/providers chooses one by name and
// opens the cluster of a kubeconfig. Whatever provider made it, a cluster is
// described by a Cluster record written next to its kubeconfig, so tests
// that only get the kubeconfig path (GAMMA_KUBECONFIG) can still reach the
// provider that loads locally built images into it.
package harness

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// KubeconfigEnv names the environment variable through which tests receive
// the kubeconfig of the cluster that `make test` brought up.
const KubeconfigEnv = "GAMMA_KUBECONFIG"

// RecordFile is the name of the Cluster record next to the kubeconfig.
const RecordFile = "gamma-cluster.json"

// ImageLoader loads images into a cluster.
type ImageLoader interface {
	// LoadImages imports OCI image tarballs (see package images) into the
	// nodes of c, so that pods can use them without any pull.
	LoadImages(ctx context.Context, c *Cluster, tarballs ...string) error
}

// Provider makes and removes one cluster, and loads images into it.
type Provider interface {
	// Up creates the cluster, or returns it when it is already up and healthy.
	Up(ctx context.Context) (*Cluster, error)
	// Down removes everything Up made; it is not an error when nothing is up.
	Down(ctx context.Context) error
	// Status describes the cluster, or returns an error when it is not up.
	Status(ctx context.Context) (string, error)
	ImageLoader
}

// Cluster describes a running cluster: what every stage after Up needs.
type Cluster struct {
	// Provider names the provider that made the cluster (local, kind,
	// existing).
	Provider   string `json:"provider"`
	Name       string `json:"name"`
	Kubeconfig string `json:"kubeconfig"`
	// Context is the kubeconfig context; empty means its current context.
	Context string `json:"context,omitempty"`
	// Loader loads images into the cluster: the provider that made or
	// opened it. It is not part of the record.
	Loader ImageLoader `json:"-"`
}

// RESTConfig returns the client configuration of the cluster, from its
// kubeconfig and context. It is the one way the harness turns a kubeconfig
// into a rest.Config.
func (c *Cluster) RESTConfig() (*rest.Config, error) {
	if c.Kubeconfig == "" {
		return nil, Setupf("no kubeconfig given: pass --kubeconfig=<file> (and --context to pick a context)")
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		&clientcmd.ClientConfigLoadingRules{ExplicitPath: c.Kubeconfig},
		&clientcmd.ConfigOverrides{CurrentContext: c.Context}).ClientConfig()
	if err != nil {
		return nil, Setupf("kubeconfig %s (context %q): %w (fix: pass the kubeconfig of a running cluster, e.g. the one `gammaconf cluster up` printed)", c.Kubeconfig, c.Context, err)
	}
	return cfg, nil
}

// LoadImages imports OCI image tarballs (see package images) through the
// cluster's Loader, so that pods can use them without any pull.
func (c *Cluster) LoadImages(ctx context.Context, tarballs ...string) error {
	if c.Loader == nil {
		return fmt.Errorf("cluster %s (kubeconfig %s) has no image loader: get it from its provider's Up or from providers.Open(kubeconfig)", c.Name, c.Kubeconfig)
	}
	return c.Loader.LoadImages(ctx, c, tarballs...)
}

// Save writes the record next to the kubeconfig.
func (c *Cluster) Save() error {
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(filepath.Dir(c.Kubeconfig), RecordFile), data, 0o644)
}

// ReadRecord returns the record next to the kubeconfig at path, with no
// Loader (providers.Open adds it). Without a record next to it, the
// cluster is an existing one.
func ReadRecord(kubeconfig string) (*Cluster, error) {
	if _, err := os.Stat(kubeconfig); err != nil {
		return nil, Setupf("kubeconfig %s: %w (bring a cluster up with `gammaconf cluster up`, or pass the kubeconfig of a running cluster)", kubeconfig, err)
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
		return nil, fmt.Errorf("cluster record %s: %w (remove it, or bring the cluster up again with `gammaconf cluster up`)", filepath.Join(filepath.Dir(kubeconfig), RecordFile), err)
	}
	return &c, nil
}
