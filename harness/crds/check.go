package crds

import (
	"context"
	"fmt"
	"slices"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"gamma-conformance/harness"
)

// Required are the Gateway API resources (group gateway.networking.k8s.io,
// version v1) that the mesh suites use.
var Required = []string{"httproutes", "grpcroutes"}

// Check fails with a harness.SetupError that says how to install them when
// the cluster does not serve every Required resource.
func Check(cfg *rest.Config) error {
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return err
	}
	served := map[string]bool{}
	list, err := dc.ServerResourcesForGroupVersion("gateway.networking.k8s.io/v1")
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return fmt.Errorf("asking the cluster which Gateway API resources it serves: %w", err)
	default:
		for _, r := range list.APIResources {
			served[r.Name] = true
		}
	}
	missing := slices.DeleteFunc(slices.Clone(Required), func(r string) bool { return served[r] })
	if len(missing) == 0 {
		return nil
	}
	return harness.Setupf("the cluster does not serve the Gateway API resources %s (group gateway.networking.k8s.io/v1): "+
		"install the Gateway API CRDs with `gammaconf crds install --kubeconfig=<same kubeconfig>` (the experimental channel; --channel=standard for the standard one), "+
		"or as your mesh's documentation says", strings.Join(missing, ", "))
}

// Installed reads the release and channel of the cluster's Gateway API CRDs
// (the bundle-version and channel annotations of the HTTPRoute CRD).
func Installed(ctx context.Context, cfg *rest.Config) (version, channel string, err error) {
	cl, err := client.New(cfg, client.Options{Scheme: clientScheme()})
	if err != nil {
		return "", "", err
	}
	var crd apiextensionsv1.CustomResourceDefinition
	if err := cl.Get(ctx, client.ObjectKey{Name: "httproutes.gateway.networking.k8s.io"}, &crd); err != nil {
		return "", "", fmt.Errorf("reading the HTTPRoute CRD: %w", err)
	}
	return crd.Annotations[bundleVersion], crd.Annotations["gateway.networking.k8s.io/channel"], nil
}

// CheckVersion fails with a harness.SetupError that says the fix when the
// cluster's Gateway API CRDs are not of the release version.
func CheckVersion(ctx context.Context, cfg *rest.Config, version string) error {
	installed, _, err := Installed(ctx, cfg)
	if err != nil {
		return err
	}
	if installed == version {
		return nil
	}
	return harness.Setupf("the cluster serves the CRDs of Gateway API %q, not %s: install them with `gammaconf crds install --version %s --prune` "+
		"(--prune replaces the CRDs of another release, deleting their objects), or run the suites of the installed release with --gateway-api-version",
		installed, version, version)
}
