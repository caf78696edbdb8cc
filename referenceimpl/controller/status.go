package controller

import (
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// maxParents is the API's limit on RouteStatus.Parents.
const maxParents = 32

// mergeParents returns a route's new status.parents: the entries of other
// controllers kept as they are and where they are, ours replaced by want.
// A condition keeps its LastTransitionTime while its status is unchanged;
// new or changed ones get now. changed is false when the result equals
// existing, so the caller writes nothing.
func mergeParents(existing, want []gatewayv1.RouteParentStatus, ours gatewayv1.GatewayController, now metav1.Time) (merged []gatewayv1.RouteParentStatus, changed bool) {
	return mergeEntries(parentEntries, existing, want, ours, now)
}

var parentEntries = statusEntries[gatewayv1.RouteParentStatus]{
	max:        maxParents,
	controller: func(e *gatewayv1.RouteParentStatus) gatewayv1.GatewayController { return e.ControllerName },
	sameRef: func(a, b *gatewayv1.RouteParentStatus) bool {
		return apiequality.Semantic.DeepEqual(a.ParentRef, b.ParentRef)
	},
	bare: func(w *gatewayv1.RouteParentStatus, ours gatewayv1.GatewayController) gatewayv1.RouteParentStatus {
		return gatewayv1.RouteParentStatus{ParentRef: w.ParentRef, ControllerName: ours}
	},
	conditions: func(e *gatewayv1.RouteParentStatus) *[]metav1.Condition { return &e.Conditions },
}

// statusEntries tells mergeEntries how to read one kind of status entry
// keyed by (reference, controllerName): route parents, policy ancestors.
type statusEntries[E any] struct {
	max        int // the API's limit on the list
	controller func(*E) gatewayv1.GatewayController
	sameRef    func(a, b *E) bool
	// bare returns want's reference with our controller and no conditions.
	bare       func(want *E, ours gatewayv1.GatewayController) E
	conditions func(*E) *[]metav1.Condition
}

// mergeEntries keeps other controllers' entries where they are and replaces
// ours with want, keeping each condition's LastTransitionTime while its
// status is unchanged.
func mergeEntries[E any](k statusEntries[E], existing, want []E, ours gatewayv1.GatewayController, now metav1.Time) ([]E, bool) {
	var merged, old []E
	for i := range existing {
		if k.controller(&existing[i]) == ours {
			old = append(old, existing[i])
		} else {
			merged = append(merged, existing[i])
		}
	}
	for i := range want {
		if len(merged) == k.max {
			break
		}
		entry := k.bare(&want[i], ours)
		var prev *E
		for j := range old {
			if k.sameRef(&old[j], &want[i]) {
				prev = &old[j]
			}
		}
		for _, c := range *k.conditions(&want[i]) {
			c.LastTransitionTime = now
			if prev != nil {
				if pc := meta.FindStatusCondition(*k.conditions(prev), c.Type); pc != nil && pc.Status == c.Status {
					c.LastTransitionTime = pc.LastTransitionTime
				}
			}
			*k.conditions(&entry) = append(*k.conditions(&entry), c)
		}
		merged = append(merged, entry)
	}
	return merged, !apiequality.Semantic.DeepEqual(merged, existing)
}
