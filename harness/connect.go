package harness

import (
	"time"

	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
)

// connectTimeout bounds the first request to a cluster: a kubeconfig whose
// server does not answer fails fast instead of hanging.
const connectTimeout = 15 * time.Second

// Connect loads a kubeconfig (kubeContext "" means its current context) and
// checks that the cluster answers. It returns the client config and the
// cluster's Kubernetes version; its errors are SetupErrors that say what to
// fix.
func Connect(kubeconfig, kubeContext string) (*rest.Config, string, error) {
	c := &Cluster{Kubeconfig: kubeconfig, Context: kubeContext}
	cfg, err := c.RESTConfig()
	if err != nil {
		return nil, "", err
	}
	version, err := ServerVersion(cfg)
	if err != nil {
		return nil, "", Setupf("the cluster of kubeconfig %s (server %s) does not answer: %v (fix: check that the cluster is up, e.g. `gammaconf cluster status`, and that this host reaches its server address)", kubeconfig, cfg.Host, err)
	}
	return cfg, version, nil
}

// ServerVersion asks the cluster for its Kubernetes version (e.g.
// v1.36.1), within connectTimeout.
func ServerVersion(cfg *rest.Config) (string, error) {
	probe := rest.CopyConfig(cfg)
	probe.Timeout = connectTimeout
	dc, err := discovery.NewDiscoveryClientForConfig(probe)
	if err != nil {
		return "", err
	}
	v, err := dc.ServerVersion()
	if err != nil {
		return "", err
	}
	return v.GitVersion, nil
}
