// Package e2eprovider makes a harness.Provider a cluster provider of
// sigs.k8s.io/e2e-framework (v0.7.0: support.E2EClusterProviderWithImageLoader),
// so that an e2e-framework test can write
//
//	testenv.Setup(envfuncs.CreateCluster(local.New(local.Options{}), "gamma"))
//
// The providers of this module (harness/local, harness/kind,
// harness/existing) embed an Adapter, so each satisfies that interface
// itself. Create adopts a cluster that is already up (the provider's Status
// succeeds) and Destroy of an adopted cluster does nothing: a test can run
// against a shared cluster without tearing it down under others. A cluster
// that Create brought up, Destroy brings down.
package e2eprovider

import (
	"context"
	"fmt"
	"strings"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/e2e-framework/klient"
	"sigs.k8s.io/e2e-framework/support"

	"gamma-conformance/harness"
)

// Adapter implements support.E2EClusterProviderWithImageLoader for one
// harness.Provider. Embed it (see New); a provider may shadow any method
// with its own (WithName, ExportLogs).
type Adapter struct {
	p       harness.Provider
	name    string
	version string
	cluster *harness.Cluster
	adopted bool
}

var _ support.E2EClusterProviderWithImageLoader = (*Adapter)(nil)

// New returns the adapter of p. A provider that embeds the adapter passes
// itself, so that the With* methods return the provider.
func New(p harness.Provider) *Adapter { return &Adapter{p: p} }

// self is what the With* methods return: the provider when it embeds the
// adapter, else the adapter.
func (a *Adapter) self() support.E2EClusterProvider {
	if e, ok := a.p.(support.E2EClusterProvider); ok {
		return e
	}
	return a
}

// WithName records the name e2e-framework knows the cluster by.
func (a *Adapter) WithName(name string) support.E2EClusterProvider {
	a.name = name
	return a.self()
}

// WithVersion makes Create fail unless the cluster runs this Kubernetes
// version (a prefix such as "v1.36" or "1.36.1"): the providers run the
// version the harness builds, they cannot pick another.
func (a *Adapter) WithVersion(version string) support.E2EClusterProvider {
	a.version = version
	return a.self()
}

// WithPath does nothing: no executable backs these providers (they use
// kind and Kubernetes as libraries and binaries they build themselves).
func (a *Adapter) WithPath(string) support.E2EClusterProvider { return a.self() }

// WithOpts applies each option to the provider.
func (a *Adapter) WithOpts(opts ...support.ClusterOpts) support.E2EClusterProvider {
	for _, o := range opts {
		o(a.self())
	}
	return a.self()
}

// SetDefaults does nothing: the providers set their defaults when made.
func (a *Adapter) SetDefaults() support.E2EClusterProvider { return a.self() }

// Create adopts the cluster when the provider's Status says it is up, and
// otherwise brings it up with the provider's Up. It returns the kubeconfig
// path. Arguments are refused: configure the provider with its Options.
func (a *Adapter) Create(ctx context.Context, args ...string) (string, error) {
	if a.p == nil {
		return "", fmt.Errorf("cluster %q: the provider has no adapter: make it with its package's New function", a.name)
	}
	if len(args) > 0 {
		return "", fmt.Errorf("cluster %q: Create takes no arguments (got %q): configure the provider with its Options", a.name, args)
	}
	_, err := a.p.Status(ctx)
	adopted := err == nil
	c, err := a.p.Up(ctx)
	if err != nil {
		return "", err
	}
	a.cluster, a.adopted = c, adopted
	if err := a.checkVersion(); err != nil {
		if destroyErr := a.Destroy(ctx); destroyErr != nil {
			err = fmt.Errorf("%w (and bringing the cluster down failed: %v)", err, destroyErr)
		}
		return "", err
	}
	return c.Kubeconfig, nil
}

func (a *Adapter) checkVersion() error {
	if a.version == "" {
		return nil
	}
	cfg, err := a.cluster.RESTConfig()
	if err != nil {
		return err
	}
	got, err := harness.ServerVersion(cfg)
	if err != nil {
		return fmt.Errorf("asking cluster %q for its version: %w", a.name, err)
	}
	if !strings.HasPrefix(strings.TrimPrefix(got, "v"), strings.TrimPrefix(a.version, "v")) {
		return fmt.Errorf("cluster %q runs Kubernetes %s, not %s: the %s provider runs the version the harness builds; drop WithVersion or ask for that one",
			a.name, got, a.version, a.cluster.Provider)
	}
	return nil
}

// CreateWithConfig is refused: the providers take no config file.
func (a *Adapter) CreateWithConfig(context.Context, string) (string, error) {
	return "", fmt.Errorf("cluster %q: these providers take no config file: configure the provider with its Options and use Create", a.name)
}

// Adopted reports whether Create adopted a cluster that was already up
// (and so Destroy leaves it up).
func (a *Adapter) Adopted() bool { return a.adopted }

// Cluster returns the cluster Create brought up or adopted, or nil.
func (a *Adapter) Cluster() *harness.Cluster { return a.cluster }

// GetKubeconfig returns the kubeconfig path, "" before Create.
func (a *Adapter) GetKubeconfig() string {
	if a.cluster == nil {
		return ""
	}
	return a.cluster.Kubeconfig
}

// GenerateKubeconfig returns the kubeconfig path: the providers keep the
// kubeconfig in a file. Arguments are refused.
func (a *Adapter) GenerateKubeconfig(args ...string) (string, error) {
	if a.cluster == nil {
		return "", fmt.Errorf("cluster %q is not created: call Create first", a.name)
	}
	if len(args) > 0 {
		return "", fmt.Errorf("cluster %q: GenerateKubeconfig takes no arguments (got %q)", a.name, args)
	}
	return a.cluster.Kubeconfig, nil
}

// GetKubectlContext returns the kubeconfig context ("" means its current
// context).
func (a *Adapter) GetKubectlContext() string {
	if a.cluster == nil {
		return ""
	}
	return a.cluster.Context
}

// ExportLogs is refused unless the provider has its own.
func (a *Adapter) ExportLogs(context.Context, string) error {
	return fmt.Errorf("cluster %q: this provider keeps no cluster logs of its own; collect pod logs through the API", a.name)
}

// Destroy brings down a cluster that Create brought up, and does nothing
// for an adopted one (or before Create).
func (a *Adapter) Destroy(ctx context.Context) error {
	if a.cluster == nil || a.adopted {
		return nil
	}
	if err := a.p.Down(ctx); err != nil {
		return err
	}
	a.cluster = nil
	return nil
}

// KubernetesRestConfig returns the cluster's client configuration, or nil
// before Create.
func (a *Adapter) KubernetesRestConfig() *rest.Config {
	if a.cluster == nil {
		return nil
	}
	cfg, err := a.cluster.RESTConfig()
	if err != nil {
		return nil
	}
	return cfg
}

// LoadImage is refused: there is no image store on the host to load a
// named image from.
func (a *Adapter) LoadImage(_ context.Context, image string, _ ...string) error {
	return fmt.Errorf("cluster %q: no image store on this host to load %s from: pack the image as an OCI tarball (package harness/images) and use LoadImageArchive", a.name, image)
}

// LoadImageArchive loads an OCI image tarball (package harness/images)
// into the cluster through the provider. Arguments are refused.
func (a *Adapter) LoadImageArchive(ctx context.Context, archive string, args ...string) error {
	if a.cluster == nil {
		return fmt.Errorf("cluster %q is not created: call Create first", a.name)
	}
	if len(args) > 0 {
		return fmt.Errorf("cluster %q: LoadImageArchive takes no arguments (got %q)", a.name, args)
	}
	return a.p.LoadImages(ctx, a.cluster, archive)
}

// WaitForControlPlane waits until every node and every kube-system pod is
// Ready (Up already waited; an adopted cluster is checked here).
func (a *Adapter) WaitForControlPlane(ctx context.Context, client klient.Client) error {
	return waitReady(ctx, client)
}
