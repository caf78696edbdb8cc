// Package existing is the provider for a cluster the user already has: it
// checks that the kubeconfig and context reach a cluster that serves the
// Gateway API, and never changes or removes that cluster. Images are pulled
// as that cluster normally does. The provider is also an e2e-framework
// cluster provider (package harness/e2eprovider) that always adopts.
package existing

import (
	"context"
	"fmt"

	"sigs.k8s.io/e2e-framework/support"

	"gamma-conformance/harness"
	"gamma-conformance/harness/crds"
	"gamma-conformance/harness/e2eprovider"
)

// Provider is the existing-cluster provider. Make it with New to use it as
// an e2e-framework cluster provider; as a harness.Provider, a literal with
// Kubeconfig (and Context) set works too.
type Provider struct {
	e2eAdapter
	Kubeconfig string
	Context    string // empty: the kubeconfig's current context
}

// e2eAdapter is embedded under an unexported name: its methods are
// promoted, the field is not exported.
type e2eAdapter = e2eprovider.Adapter

var (
	_ harness.Provider                          = (*Provider)(nil)
	_ support.E2EClusterProviderWithImageLoader = (*Provider)(nil)
)

// New returns the provider of the cluster of kubeconfig (kubeContext ""
// means its current context).
func New(kubeconfig, kubeContext string) *Provider {
	p := &Provider{Kubeconfig: kubeconfig, Context: kubeContext}
	p.e2eAdapter = *e2eprovider.New(p)
	return p
}

// Up checks that the cluster answers and serves the Gateway API CRDs the
// suites use.
func (p *Provider) Up(context.Context) (*harness.Cluster, error) {
	cfg, _, err := harness.Connect(p.Kubeconfig, p.Context)
	if err != nil {
		return nil, err
	}
	if err := crds.Check(cfg); err != nil {
		return nil, err
	}
	return &harness.Cluster{Provider: "existing", Name: p.Context, Kubeconfig: p.Kubeconfig, Context: p.Context, Loader: p}, nil
}

// Down does nothing: an existing cluster belongs to its user.
func (p *Provider) Down(context.Context) error { return nil }

// Status reports the server version.
func (p *Provider) Status(context.Context) (string, error) {
	_, version, err := harness.Connect(p.Kubeconfig, p.Context)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("existing cluster: Kubernetes %s, kubeconfig %s, context %q", version, p.Kubeconfig, p.Context), nil
}

// LoadImages is refused: an existing cluster pulls its images.
func (p *Provider) LoadImages(context.Context, *harness.Cluster, ...string) error {
	return harness.Setupf("the existing provider cannot load local images into the cluster of %s: push them to a registry the cluster can pull from", p.Kubeconfig)
}
