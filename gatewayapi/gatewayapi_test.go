package gatewayapi

import (
	"strings"
	"testing"
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
