package harness

import (
	"time"

	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// connectTimeout bounds the first request to a cluster: a kubeconfig whose
// server does not answer fails fast instead of hanging.
const connectTimeout = 15 * time.Second

// Connect loads a kubeconfig (kubeContext "" means its current context) and
// checks that the cluster answers. It returns the client config and the
// cluster's Kubernetes version; its errors are SetupErrors that say what to
// fix.
func Connect(kubeconfig, kubeContext string) (*rest.Config, string, error) {
	if kubeconfig == "" {
		return nil, "", Setupf("no kubeconfig given: pass --kubeconfig=<file> (and --context to pick a context)")
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		&clientcmd.ClientConfigLoadingRules{ExplicitPath: kubeconfig},
		&clientcmd.ConfigOverrides{CurrentContext: kubeContext}).ClientConfig()
	if err != nil {
		return nil, "", Setupf("kubeconfig %s (context %q): %w (fix: pass the kubeconfig of a running cluster, e.g. the one `gammaconf cluster up` printed)", kubeconfig, kubeContext, err)
	}
	probe := rest.CopyConfig(cfg)
	probe.Timeout = connectTimeout
	dc, err := discovery.NewDiscoveryClientForConfig(probe)
	if err != nil {
		return nil, "", Setupf("kubeconfig %s: %w", kubeconfig, err)
	}
	v, err := dc.ServerVersion()
	if err != nil {
		return nil, "", Setupf("the cluster of kubeconfig %s (server %s) does not answer: %v (fix: check that the cluster is up, e.g. `gammaconf cluster status`, and that this host reaches its server address)", kubeconfig, cfg.Host, err)
	}
	return cfg, v.GitVersion, nil
}
