package mesh

import (
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"gamma-conformance/manifests"
)

// TestManifestsCarryChoices: the controller Deployment gets --choices from
// Options.Choices.
func TestManifestsCarryChoices(t *testing.T) {
	objs, err := renderManifests(map[string]string{manifests.ControllerImage: "c", manifests.ProxyImage: "p", manifests.Choices: "alternate"})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range objs {
		if u.GetKind() != "Deployment" || u.GetName() != Deployment {
			continue
		}
		containers, _, _ := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "containers")
		args, _, _ := unstructured.NestedStringSlice(containers[0].(map[string]any), "args")
		if !slices.Contains(args, "--choices=alternate") {
			t.Fatalf("controller args %v lack --choices=alternate", args)
		}
		return
	}
	t.Fatal("no controller Deployment in the manifests")
}
