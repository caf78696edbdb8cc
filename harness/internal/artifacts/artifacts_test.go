package artifacts

import (
	"strings"
	"testing"
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
