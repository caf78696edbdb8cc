package kube

import (
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	xv1alpha1 "sigs.k8s.io/gateway-api/apisx/v1alpha1"
)

// Options are the knobs a vendor passes to the semantics suite.
type Options struct {
	// ControllerName selects whose route status entries count; empty: any.
	ControllerName string
	// PolicyControllerName selects whose policy ancestor entries count;
	// empty: any.
	PolicyControllerName string
	// NamespaceLabels and NamespaceAnnotations go on every namespace a spec
	// creates (this is how a mesh is told to inject its proxies).
	NamespaceLabels      map[string]string
	NamespaceAnnotations map[string]string
	EchoImage            string
	ConvergenceTimeout   time.Duration
	ReadyTimeout         time.Duration
}

// Cluster is the API access shared by all specs.
type Cluster struct {
	Client    client.Client
	Clientset kubernetes.Interface
	Config    *rest.Config
	Options   Options
}

// NewCluster builds the clients for cfg.
func NewCluster(cfg *rest.Config, o Options) (*Cluster, error) {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, appsv1.AddToScheme, discoveryv1.AddToScheme, gatewayv1.Install, xv1alpha1.Install} {
		if err := add(scheme); err != nil {
			return nil, err
		}
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w (fix: pass a reachable cluster with --kubeconfig)", err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes clientset: %w", err)
	}
	return &Cluster{Client: c, Clientset: cs, Config: cfg, Options: o}, nil
}
