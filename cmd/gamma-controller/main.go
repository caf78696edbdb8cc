// Command gamma-controller is the reference mesh's control plane. See
// package gamma-conformance/referenceimpl/controller.
package main

import (
	"flag"
	"fmt"
	"os"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"gamma-conformance/referenceimpl/controller"
	"gamma-conformance/referenceimpl/routing"
)

func main() {
	var o controller.Options
	var controllerName string
	flag.StringVar(&controllerName, "controller-name", controller.DefaultControllerName, "controller name written into route status and the XMesh spec")
	flag.StringVar(&o.MeshName, "mesh-name", controller.DefaultMeshName, "XMesh object to create and keep the status of (empty: none)")
	flag.StringVar(&o.Namespace, "namespace", envOr("POD_NAMESPACE", controller.DefaultNamespace), "namespace of the control plane (env POD_NAMESPACE)")
	flag.StringVar(&o.ServiceName, "service-name", controller.DefaultServiceName, "the control plane's Service, for its certificate")
	flag.StringVar(&o.CASecret, "ca-secret", controller.DefaultCASecret, "Secret holding the mesh CA (created when missing)")
	flag.StringVar(&o.WebhookConfig, "webhook-config", controller.DefaultWebhookConfig, "MutatingWebhookConfiguration to keep the caBundle of (empty: no injection)")
	flag.StringVar(&o.ProxyImage, "proxy-image", os.Getenv("GAMMA_PROXY_IMAGE"), "sidecar image to inject (env GAMMA_PROXY_IMAGE)")
	flag.IntVar(&o.WebhookPort, "webhook-port", 9443, "port of the admission webhook")
	flag.StringVar(&o.StreamAddr, "stream-addr", fmt.Sprintf(":%d", controller.DefaultStreamPort), "address of the config stream server")
	flag.StringVar(&o.HealthAddr, "health-addr", ":8081", "address of /healthz and /readyz")
	flag.StringVar(&o.MetricsAddr, "metrics-addr", ":8080", "address of /metrics (0: off)")
	var choices string
	flag.StringVar(&choices, "choices", routing.ChoicesReference, fmt.Sprintf("answers to the questions the specification leaves open: %s or %s (see routing.Choices)", routing.ChoicesReference, routing.ChoicesAlternate))
	zopts := zap.Options{}
	zopts.BindFlags(flag.CommandLine)
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zopts)))
	o.ControllerName = gatewayv1.GatewayController(controllerName)
	var err error
	if o.Choices, err = routing.ChoicesByName(choices); err != nil {
		fmt.Fprintf(os.Stderr, "gamma-controller: --choices: %v\n", err)
		os.Exit(2)
	}
	if o.WebhookConfig != "" && o.ProxyImage == "" {
		fmt.Fprintln(os.Stderr, "gamma-controller: --proxy-image (or GAMMA_PROXY_IMAGE) is required when injection is on; set it, or --webhook-config= to turn injection off")
		os.Exit(2)
	}
	cfg, err := ctrl.GetConfig()
	if err != nil {
		fmt.Fprintf(os.Stderr, "gamma-controller: no cluster config: %v\n", err)
		os.Exit(2)
	}
	o.RestConfig = cfg
	if err := controller.Run(ctrl.SetupSignalHandler(), o); err != nil {
		fmt.Fprintf(os.Stderr, "gamma-controller: %v\n", err)
		os.Exit(1)
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
