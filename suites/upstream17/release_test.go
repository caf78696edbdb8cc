package upstream17

import (
	"runtime/debug"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/gateway-api/conformance"
	meshtests "sigs.k8s.io/gateway-api/conformance/tests/mesh"

	"gamma-conformance/gatewayapi"
)

// TestRelease: the binary holds the v1.7.0 mesh tests (needs no cluster).
func TestRelease(t *testing.T) {
	rel, err := gatewayapi.Lookup(gatewayapi.V170)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range meshtests.MeshConformanceTests {
		names = append(names, c.ShortName)
	}
	if len(names) != rel.MeshTests || !slices.Contains(names, "MeshGRPCRouteRequestHeaderModifier") {
		t.Errorf("%d mesh tests %v, want v1.7.0's %d with MeshGRPCRouteRequestHeaderModifier", len(names), names, rel.MeshTests)
	}
	raw, err := conformance.Manifests.ReadFile("mesh/manifests.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(raw), "image: "+rel.EchoImage+"\n"); n != strings.Count(string(raw), "image: ") || n == 0 {
		t.Errorf("v1.7.0 mesh manifests run other images than %s:\n%s", rel.EchoImage, raw)
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		t.Fatal("no build info")
	}
	for _, d := range info.Deps {
		if d.Path == "sigs.k8s.io/gateway-api/conformance" && d.Version != rel.Version {
			t.Errorf("built with %s %s, want %s", d.Path, d.Version, rel.Version)
		}
	}
}
