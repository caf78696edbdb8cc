package artifacts

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"gamma-conformance/gatewayapi"
)

func TestRewriteKubernetesGoMod(t *testing.T) {
	in := `module k8s.io/kubernetes

go 1.26.0

replace (
	k8s.io/api => ./staging/src/k8s.io/api
	k8s.io/sample-controller => ./staging/src/k8s.io/sample-controller
	k8s.io/cri-streaming => ./staging/src/k8s.io/cri-streaming
)
`
	got := rewriteKubernetesGoMod(in)
	for _, want := range []string{"module gammaconf.local/k8sbuild", "k8s.io/api => k8s.io/api v0.37.2",
		"k8s.io/cri-streaming => k8s.io/cri-streaming v0.37.2", "require k8s.io/kubernetes v1.37.2"} {
		if !strings.Contains(got, want) {
			t.Errorf("rewritten go.mod lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "sample-controller") || strings.Contains(got, "./staging") {
		t.Errorf("rewritten go.mod still has an unpublished or local module:\n%s", got)
	}
}

// TestEchoImages: every supported release's echo image is packed, from the
// same Istio echo files, each into its own tarball.
func TestEchoImages(t *testing.T) {
	refs := gatewayapi.EchoImages()
	if !slices.Contains(refs, EchoImage) || !slices.Contains(refs, EchoImageV17) {
		t.Fatalf("echo images %v lack %s or %s", refs, EchoImage, EchoImageV17)
	}
	a, b := echoImage(EchoImage, "/cache/istio-echo"), echoImage(EchoImageV17, "/cache/istio-echo")
	if a.Ref != EchoImage || b.Ref != EchoImageV17 || !reflect.DeepEqual(a.Files, b.Files) || !reflect.DeepEqual(a.Entrypoint, b.Entrypoint) {
		t.Errorf("echo images differ beyond their names:\n%+v\n%+v", a, b)
	}
	if imageFileName(a) == imageFileName(b) {
		t.Errorf("both echo images would be packed into %s", imageFileName(a))
	}
}
