// Package existing is the provider for a cluster the user already has: it
// checks that the kubeconfig and context reach a cluster that serves the
// Gateway API, and never changes or removes that cluster. Images are pulled
// as that cluster normally does.
package existing

import (
	"context"
	"fmt"

	"gamma-conformance/harness"
	"gamma-conformance/harness/crds"
)

// Provider is the existing-cluster provider.
type Provider struct {
	Kubeconfig string
	Context    string // empty: the kubeconfig's current context
}

var _ harness.Provider = (*Provider)(nil)

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
	return &harness.Cluster{Provider: "existing", Name: p.Context, Kubeconfig: p.Kubeconfig, Context: p.Context}, nil
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
