package crds

import (
	"fmt"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"

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
