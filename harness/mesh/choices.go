package mesh

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"gamma-conformance/harness"
	"gamma-conformance/harness/internal/progress"
	"gamma-conformance/manifests"
	"gamma-conformance/referenceimpl/routing"
)

// SwitchChoices switches an installed mesh between the reference and the
// alternate choices (Options.Choices) without rebuilding anything: it sets
// the controller Deployment's --choices flag, waits for the rollout (only
// the new controller left running) and then for the XMesh status to claim
// the new choice set's features, so that a suite started afterwards infers
// them. Running proxies follow the new controller's tables through their
// config stream; give them a moment before sending traffic (the suites wait
// for route status, which the new controller rewrites).
func SwitchChoices(ctx context.Context, c *harness.Cluster, choices string, timeout time.Duration, logw io.Writer) error {
	if _, err := routing.ChoicesByName(choices); err != nil {
		return err
	}
	if timeout == 0 {
		timeout = 3 * time.Minute
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	log := progress.New(logw)
	if err := log.Step("setting --choices="+choices+" on the controller", func() error {
		return setChoicesArg(ctx, cl, choices)
	}); err != nil {
		return err
	}
	return log.Step("waiting for the controller rollout and its XMesh claims", func() error {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		if err := waitReady(ctx, cl); err != nil {
			return err
		}
		return waitClaims(ctx, cl, choices)
	})
}

// setChoicesArg replaces (or adds) the controller container's --choices
// flag.
func setChoicesArg(ctx context.Context, cl client.Client, choices string) error {
	var d appsv1.Deployment
	if err := cl.Get(ctx, client.ObjectKey{Namespace: Namespace, Name: Deployment}, &d); err != nil {
		return fmt.Errorf("the mesh is not installed: %w", err)
	}
	patch := client.MergeFrom(d.DeepCopy())
	ct := &d.Spec.Template.Spec.Containers[0]
	ct.Args = append(slices.DeleteFunc(ct.Args, func(a string) bool { return strings.HasPrefix(a, "--choices=") }), "--choices="+choices)
	return cl.Patch(ctx, &d, patch)
}

// waitClaims waits until the XMesh lists exactly the features of choices.
func waitClaims(ctx context.Context, cl client.Client, choices string) error {
	cs, err := routing.ChoicesByName(choices)
	if err != nil {
		return err
	}
	var want []string
	for _, f := range cs.UpstreamFeatures() {
		want = append(want, string(f))
	}
	want = append(want, cs.SemanticsFeatures()...)
	slices.Sort(want)
	return poll(ctx, func() error {
		m := &unstructured.Unstructured{}
		m.SetAPIVersion("gateway.networking.x-k8s.io/v1alpha1")
		m.SetKind("XMesh")
		if err := cl.Get(ctx, client.ObjectKey{Name: manifests.MeshName}, m); err != nil {
			return err
		}
		list, _, _ := unstructured.NestedSlice(m.Object, "status", "supportedFeatures")
		var got []string
		for _, f := range list {
			if name, ok := f.(map[string]any)["name"].(string); ok {
				got = append(got, name)
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			return fmt.Errorf("XMesh %s claims %d features, not yet the %d of the %s choices", manifests.MeshName, len(got), len(want), choices)
		}
		return nil
	})
}
