package gatewayapi

import (
	"strings"
	"testing"

	"sigs.k8s.io/gateway-api/conformance"
)

func TestLookup(t *testing.T) {
	r, err := Lookup("")
	if err != nil || r.Version != Default || Default != V170 {
		t.Fatalf("default: %+v %v", r, err)
	}
	if r, err := Lookup(V163); err != nil || r.ModuleDir != "." || r.MeshTests != 22 {
		t.Fatalf("v1.6.3: %+v %v", r, err)
	}
	_, err = Lookup("v1.5.1")
	if err == nil || !strings.Contains(err.Error(), `"v1.5.1"`) || !strings.Contains(err.Error(), "this harness runs v1.7.0 or v1.6.3") {
		t.Fatalf("unknown version: %v", err)
	}
}

func TestEchoImagesDiffer(t *testing.T) {
	imgs := EchoImages()
	if len(imgs) != 2 || imgs[0] == imgs[1] {
		t.Fatalf("echo images %v", imgs)
	}
}

// TestEchoImageV163IsUpstreams: v1.6.3's mesh fixture runs EchoImageV163
// (v1.7.0's is checked in the nested module, suites/upstream17).
func TestEchoImageV163IsUpstreams(t *testing.T) {
	raw, err := conformance.Manifests.ReadFile("mesh/manifests.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(raw), "image: "+EchoImageV163+"\n"); n != strings.Count(string(raw), "image: ") || n == 0 {
		t.Errorf("v1.6.3 mesh manifests run other images than %s:\n%s", EchoImageV163, raw)
	}
}
