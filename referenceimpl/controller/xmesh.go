package controller

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	xv1alpha1 "sigs.k8s.io/gateway-api/apisx/v1alpha1"
	"sigs.k8s.io/gateway-api/pkg/features"

	"gamma-conformance/referenceimpl/routing"
)

// SupportedFeatures are the upstream features a mesh with choices c claims
// on its XMesh (routing.Choices.UpstreamFeatures).
func SupportedFeatures(c routing.Choices) []features.FeatureName { return c.UpstreamFeatures() }

// SemanticsFeatures are the semantics features a mesh with choices c
// claims on its XMesh (routing.Choices.SemanticsFeatures).
func SemanticsFeatures(c routing.Choices) []string { return c.SemanticsFeatures() }

// xmeshKeeper makes sure the XMesh object exists and keeps its status.
// GEP-3949: the mesh MUST create the resource at startup under a default
// name if it is absent, MUST NOT modify spec, and MUST set
// supportedFeatures.
type xmeshKeeper struct {
	// reader reads the XMesh directly from the API server: one object
	// needs no cache (and so no list/watch permission).
	reader     client.Reader
	client     client.Client
	name       string
	controller gatewayv1.GatewayController
	choices    routing.Choices
}

func (k *xmeshKeeper) Start(ctx context.Context) error {
	l := log.FromContext(ctx).WithValues("xmesh", k.name)
	for {
		if err := k.ensure(ctx); err != nil {
			l.Error(err, "keeping XMesh status; retrying")
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(10 * time.Second):
		}
	}
}

func (k *xmeshKeeper) ensure(ctx context.Context) error {
	var m xv1alpha1.XMesh
	err := k.reader.Get(ctx, client.ObjectKey{Name: k.name}, &m)
	if apierrors.IsNotFound(err) {
		m = xv1alpha1.XMesh{ObjectMeta: metav1.ObjectMeta{Name: k.name}, Spec: xv1alpha1.MeshSpec{ControllerName: k.controller}}
		if err := k.client.Create(ctx, &m); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating XMesh %s: %w", k.name, err)
		}
		if err := k.reader.Get(ctx, client.ObjectKey{Name: k.name}, &m); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	if m.Spec.ControllerName != k.controller {
		return fmt.Errorf("XMesh %s belongs to controller %q, not %q; leaving it alone", k.name, m.Spec.ControllerName, k.controller)
	}
	want := m.DeepCopy()
	want.Status.SupportedFeatures = supportedFeatures(k.choices)
	meta.SetStatusCondition(&want.Status.Conditions, metav1.Condition{
		Type: string(xv1alpha1.MeshConditionAccepted), Status: metav1.ConditionTrue,
		Reason: string(xv1alpha1.MeshReasonAccepted), Message: "reference mesh control plane is running",
		ObservedGeneration: m.Generation,
	})
	if equalStatus(m.Status, want.Status) {
		return nil
	}
	return k.client.Status().Update(ctx, want)
}

// supportedFeatures is the XMesh status list: the upstream and the
// semantics features of choices c, sorted by name as the API asks. The
// XMesh CRD takes any name (FeatureName has no validation) and the upstream
// suite's inference keeps names it does not know without using them.
func supportedFeatures(c routing.Choices) []gatewayv1.SupportedFeature {
	var out []gatewayv1.SupportedFeature
	for _, f := range SupportedFeatures(c) {
		out = append(out, gatewayv1.SupportedFeature{Name: gatewayv1.FeatureName(f)})
	}
	for _, f := range SemanticsFeatures(c) {
		out = append(out, gatewayv1.SupportedFeature{Name: gatewayv1.FeatureName(f)})
	}
	slices.SortFunc(out, func(a, b gatewayv1.SupportedFeature) int { return strings.Compare(string(a.Name), string(b.Name)) })
	return out
}

func equalStatus(a, b xv1alpha1.MeshStatus) bool {
	if !slices.Equal(a.SupportedFeatures, b.SupportedFeatures) || len(a.Conditions) != len(b.Conditions) {
		return false
	}
	for i := range a.Conditions {
		x, y := a.Conditions[i], b.Conditions[i]
		if x.Type != y.Type || x.Status != y.Status || x.Reason != y.Reason || x.Message != y.Message || x.ObservedGeneration != y.ObservedGeneration {
			return false
		}
	}
	return true
}
