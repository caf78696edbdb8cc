package controller

import (
	"context"
	"errors"
	"fmt"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"gamma-conformance/referenceimpl/routing"
)

// maxAncestors is the API's limit on PolicyStatus.Ancestors.
const maxAncestors = 16

// servesKind reports whether the API server serves group/kind (a CRD of the
// experimental channel may be missing).
func servesKind(mapper meta.RESTMapper, group, kind string) (bool, error) {
	_, err := mapper.RESTMapping(schema.GroupKind{Group: group, Kind: kind})
	switch {
	case err == nil:
		return true, nil
	case meta.IsNoMatchError(err):
		return false, nil
	default:
		return false, fmt.Errorf("looking up %s: %w", kind, err)
	}
}

// writePolicyStatuses writes every XBackendTrafficPolicy's ancestor
// statuses. The policies are the ones just compiled (copies).
func (r *meshReconciler) writePolicyStatuses(ctx context.Context, in *routing.Input, statuses []routing.PolicyStatus) error {
	want := map[string]routing.PolicyStatus{}
	for _, s := range statuses {
		want[s.Namespace+"/"+s.Name] = s
	}
	now := metav1.Now()
	var errs []error
	for i := range in.BackendTrafficPolicies {
		p := &in.BackendTrafficPolicies[i]
		merged, changed := mergeAncestors(p.Status.Ancestors, want[p.Namespace+"/"+p.Name].Ancestors, r.controller, now)
		if !changed {
			continue
		}
		p.Status.Ancestors = merged
		if err := r.client.Status().Update(ctx, p); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("status of XBackendTrafficPolicy %s/%s: %w", p.Namespace, p.Name, err))
		}
	}
	return errors.Join(errs...)
}

// mergeAncestors is mergeParents for policy status: other controllers'
// entries stay, ours are replaced by want, and a condition keeps its
// LastTransitionTime while its status is unchanged.
func mergeAncestors(existing, want []gatewayv1.PolicyAncestorStatus, ours gatewayv1.GatewayController, now metav1.Time) ([]gatewayv1.PolicyAncestorStatus, bool) {
	return mergeEntries(statusEntries[gatewayv1.PolicyAncestorStatus]{
		max:        maxAncestors,
		controller: func(e *gatewayv1.PolicyAncestorStatus) gatewayv1.GatewayController { return e.ControllerName },
		sameRef: func(a, b *gatewayv1.PolicyAncestorStatus) bool {
			return apiequality.Semantic.DeepEqual(a.AncestorRef, b.AncestorRef)
		},
		bare: func(w *gatewayv1.PolicyAncestorStatus, ours gatewayv1.GatewayController) gatewayv1.PolicyAncestorStatus {
			return gatewayv1.PolicyAncestorStatus{AncestorRef: w.AncestorRef, ControllerName: ours}
		},
		conditions: func(e *gatewayv1.PolicyAncestorStatus) *[]metav1.Condition { return &e.Conditions },
	}, existing, want, ours, now)
}
