package controller

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	xv1alpha1 "sigs.k8s.io/gateway-api/apisx/v1alpha1"

	"gamma-conformance/manifests"
	"gamma-conformance/referenceimpl/routing"
)

// Options configure the control plane. Zero values take the defaults the
// install manifests use.
type Options struct {
	RestConfig *rest.Config
	// ControllerName is written into route status and the XMesh spec.
	ControllerName gatewayv1.GatewayController
	// MeshName is the XMesh object to keep; empty turns that off.
	MeshName string
	// Namespace and ServiceName locate the control plane's own Service;
	// its certificate is made for that Service's DNS names.
	Namespace, ServiceName string
	// CASecret holds the CA in Namespace.
	CASecret string
	// WebhookConfig is the MutatingWebhookConfiguration whose caBundle
	// the control plane keeps; empty turns injection off.
	WebhookConfig string
	ProxyImage    string
	// Choices are the routing model's answers to the questions the
	// specification leaves open (routing.Reference, the zero value, or
	// routing.Alternate); the XMesh claims follow them.
	Choices routing.Choices

	WebhookPort int
	StreamAddr  string
	HealthAddr  string
	MetricsAddr string
}

// Defaults used by the install manifests: the install names of package
// manifests, which the installer (harness/mesh) shares.
const (
	DefaultControllerName = manifests.ControllerName
	DefaultMeshName       = manifests.MeshName
	DefaultNamespace      = manifests.Namespace
	DefaultServiceName    = manifests.Controller
	DefaultCASecret       = manifests.CASecret
	DefaultWebhookConfig  = manifests.WebhookConfig
	DefaultStreamPort     = 15012
)

func (o *Options) setDefaults() {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	if o.ControllerName == "" {
		o.ControllerName = DefaultControllerName
	}
	def(&o.Namespace, DefaultNamespace)
	def(&o.ServiceName, DefaultServiceName)
	def(&o.CASecret, DefaultCASecret)
	def(&o.StreamAddr, fmt.Sprintf(":%d", DefaultStreamPort))
	def(&o.HealthAddr, ":8081")
	def(&o.MetricsAddr, "0")
	if o.WebhookPort == 0 {
		o.WebhookPort = 9443
	}
}

// Scheme is every type the control plane reads or writes.
func Scheme() *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, gatewayv1.Install, xv1alpha1.Install} {
		if err := add(s); err != nil {
			panic(err)
		}
	}
	return s
}

// Run runs the control plane until ctx ends.
func Run(ctx context.Context, o Options) error {
	o.setDefaults()
	l := log.FromContext(ctx)
	cs, err := kubernetes.NewForConfig(o.RestConfig)
	if err != nil {
		return err
	}
	ca, caKey, caPEM, err := loadOrCreateCA(ctx, cs, o.Namespace, o.CASecret)
	if err != nil {
		return err
	}
	svc := o.ServiceName + "." + o.Namespace
	crt, err := newCerts(ca, caKey, caPEM, []string{svc + ".svc", svc + ".svc.cluster.local", svc, o.ServiceName})
	if err != nil {
		return err
	}
	certDir, err := os.MkdirTemp("", "gamma-controller-certs-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(certDir)
	if err := os.WriteFile(filepath.Join(certDir, "tls.crt"), crt.certPEM, 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(certDir, "tls.key"), crt.keyPEM, 0o600); err != nil {
		return err
	}

	mgr, err := ctrl.NewManager(o.RestConfig, ctrl.Options{
		Scheme:                 Scheme(),
		Metrics:                metricsserver.Options{BindAddress: o.MetricsAddr},
		HealthProbeBindAddress: o.HealthAddr,
		// HTTPRoutes and XBackendTrafficPolicies are read unstructured
		// (compat.go), from the cache like the rest.
		Client:        client.Options{Cache: &client.CacheOptions{Unstructured: true}},
		WebhookServer: webhook.NewServer(webhook.Options{Port: o.WebhookPort, CertDir: certDir}),
	})
	if err != nil {
		return err
	}
	kinds, err := installedRouteKinds(mgr.GetRESTMapper())
	if err != nil {
		return err
	}
	policies, err := servesKind(mgr.GetRESTMapper(), xv1alpha1.GroupName, "XBackendTrafficPolicy")
	if err != nil {
		return err
	}
	if !policies {
		l.Info("XBackendTrafficPolicy CRD not installed (standard channel); running without traffic policies")
	}
	grants, err := readsGrants(ctx, mgr.GetRESTMapper(), o.Choices)
	if err != nil {
		return err
	}
	pub := NewPublisher()
	rec := &meshReconciler{client: mgr.GetClient(), controller: o.ControllerName, kinds: kinds, policies: policies, grants: grants,
		choices: o.Choices, pub: pub}
	if err := rec.setup(mgr); err != nil {
		return err
	}
	stream := &StreamHandler{Publisher: pub, Auth: &Authenticator{Clientset: cs, Audience: TokenAudience}}
	if err := mgr.Add(streamServer(o.StreamAddr, stream, crt.serving)); err != nil {
		return err
	}
	if o.WebhookConfig != "" {
		cfg := InjectConfig{
			ProxyImage:   o.ProxyImage,
			ControlPlane: fmt.Sprintf("https://%s.svc:%d", svc, DefaultStreamPort),
			CAPEM:        string(caPEM),
		}
		mgr.GetWebhookServer().Register(InjectPath, &admission.Webhook{Handler: &injector{cfg: cfg}})
		if err := mgr.Add(&caBundlePatcher{clientset: cs, name: o.WebhookConfig, caPEM: caPEM}); err != nil {
			return err
		}
	}
	if o.MeshName != "" {
		if _, err := mgr.GetRESTMapper().RESTMapping(schema.GroupKind{Group: xv1alpha1.GroupName, Kind: "XMesh"}); meta.IsNoMatchError(err) {
			l.Info("XMesh CRD not installed (standard channel); not keeping an XMesh object")
		} else if err := mgr.Add(&xmeshKeeper{reader: mgr.GetAPIReader(), client: mgr.GetClient(), name: o.MeshName, controller: o.ControllerName, choices: o.Choices}); err != nil {
			return err
		}
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("compiled", func(*http.Request) error {
		select {
		case <-pub.Ready():
			return nil
		default:
			return errors.New("no route tables compiled yet")
		}
	}); err != nil {
		return err
	}
	l.Info("starting reference mesh control plane", "controller", o.ControllerName, "routeKinds", len(kinds), "alternateChoices", o.Choices != routing.Reference)
	return mgr.Start(ctx)
}

// readsGrants says whether the routing model reads ReferenceGrants: the
// choices need them and the API server serves the kind.
func readsGrants(ctx context.Context, mapper meta.RESTMapper, c routing.Choices) (bool, error) {
	if !c.CrossNamespaceBackendsNeedGrant {
		return false, nil
	}
	ok, err := servesKind(mapper, gatewayv1.GroupName, "ReferenceGrant")
	if err == nil && !ok {
		log.FromContext(ctx).Info("ReferenceGrant CRD not installed; no cross-namespace backendRef is permitted")
	}
	return ok, err
}

// streamServer serves the config stream over TLS (HTTP/2) until the
// manager stops.
func streamServer(addr string, h http.Handler, cert tls.Certificate) manager.Runnable {
	return manager.RunnableFunc(func(ctx context.Context) error {
		srv := &http.Server{
			Addr:              addr,
			Handler:           h,
			ReadHeaderTimeout: 10 * time.Second,
			TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, NextProtos: []string{"h2", "http/1.1"}},
			// Streams end when the manager stops, not when Shutdown gives up.
			BaseContext: func(net.Listener) context.Context { return ctx },
		}
		errc := make(chan error, 1)
		go func() { errc <- srv.ListenAndServeTLS("", "") }()
		select {
		case err := <-errc:
			return fmt.Errorf("config stream server: %w", err)
		case <-ctx.Done():
			shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return srv.Shutdown(shutdown)
		}
	})
}
