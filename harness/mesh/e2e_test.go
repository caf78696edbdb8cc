package mesh

import (
	"context"
	"io/fs"
	"slices"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientset "k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	xv1alpha1 "sigs.k8s.io/gateway-api/apisx/v1alpha1"
	"sigs.k8s.io/gateway-api/conformance"
	meshtests "sigs.k8s.io/gateway-api/conformance/tests/mesh"
	"sigs.k8s.io/gateway-api/conformance/utils/suite"
	"sigs.k8s.io/gateway-api/pkg/features"

	"gamma-conformance/manifests"
)

// TestReferenceMeshPassesUpstream installs the reference mesh on the
// cluster `make test` brought up and runs upstream mesh tests through the
// real upstream suite code: MeshBasic, MeshTrafficSplit, MeshConsumerRoute.
func TestReferenceMeshPassesUpstream(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	_, cfg := setup(ctx, t)
	cl, err := client.New(cfg, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, add := range []func(*runtime.Scheme) error{gatewayv1.Install, xv1alpha1.Install, apiextensionsv1.AddToScheme} {
		if err := add(cl.Scheme()); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"MeshBasic", "MeshTrafficSplit", "MeshConsumerRoute"}
	var tests []suite.ConformanceTest
	for _, ct := range meshtests.MeshConformanceTests {
		if slices.Contains(want, ct.ShortName) {
			tests = append(tests, ct)
		}
	}
	if len(tests) != len(want) {
		t.Fatalf("found %d of the upstream tests %v", len(tests), want)
	}
	opts := suite.ConformanceOptions{
		ConfigurableOptions: suite.ConfigurableOptions{
			NamespaceLabels:      map[string]string{manifests.InjectLabelKey: manifests.InjectLabelValue},
			CleanupBaseResources: true,
			CleanupTestResources: true,
			SupportedFeatures: []features.FeatureName{features.SupportMesh, features.SupportHTTPRoute,
				features.SupportMeshConsumerRoute, features.SupportHTTPRouteResponseHeaderModification},
			Mode: "default",
		},
		Client:     cl,
		Clientset:  clientset.NewForConfigOrDie(cfg),
		RestConfig: cfg,
		ManifestFS: []fs.FS{conformance.Manifests},
	}
	s, err := suite.NewConformanceTestSuite(opts)
	if err != nil {
		t.Fatal(err)
	}
	s.Setup(t, tests)
	if err := s.Run(t, tests); err != nil {
		t.Fatal(err)
	}
}
