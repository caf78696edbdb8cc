// Package existing is the provider for a cluster the user already has: it
// checks that the kubeconfig and context reach a cluster and never changes
// or removes that cluster. Images are pulled as that cluster normally does.
package existing

import (
	"context"
	"fmt"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"gamma-conformance/harness"
)

// Provider is the existing-cluster provider.
type Provider struct {
	Kubeconfig string
	Context    string // empty: the kubeconfig's current context
}

var _ harness.Provider = (*Provider)(nil)

func (p *Provider) clientset() (*kubernetes.Clientset, error) {
	if p.Kubeconfig == "" {
		return nil, fmt.Errorf("the existing provider needs a kubeconfig: pass --kubeconfig (and --context to pick a context)")
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		&clientcmd.ClientConfigLoadingRules{ExplicitPath: p.Kubeconfig},
		&clientcmd.ConfigOverrides{CurrentContext: p.Context}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig %s (context %q): %w", p.Kubeconfig, p.Context, err)
	}
	return kubernetes.NewForConfig(cfg)
}

// Up checks that the cluster answers.
func (p *Provider) Up(ctx context.Context) (*harness.Cluster, error) {
	if _, err := p.Status(ctx); err != nil {
		return nil, err
	}
	return &harness.Cluster{Provider: "existing", Name: p.Context, Kubeconfig: p.Kubeconfig, Context: p.Context}, nil
}

// Down does nothing: an existing cluster belongs to its user.
func (p *Provider) Down(context.Context) error { return nil }

// Status reports the server version.
func (p *Provider) Status(ctx context.Context) (string, error) {
	cs, err := p.clientset()
	if err != nil {
		return "", err
	}
	v, err := cs.Discovery().ServerVersion()
	if err != nil {
		return "", fmt.Errorf("cluster of kubeconfig %s (context %q) does not answer: %w", p.Kubeconfig, p.Context, err)
	}
	return fmt.Sprintf("existing cluster: Kubernetes %s, kubeconfig %s, context %q", v.GitVersion, p.Kubeconfig, p.Context), nil
}
