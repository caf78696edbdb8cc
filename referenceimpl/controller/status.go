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
	var old []gatewayv1.RouteParentStatus
	for _, p := range existing {
		if p.ControllerName == ours {
			old = append(old, p)
		} else {
			merged = append(merged, p)
		}
	}
	for _, w := range want {
		if len(merged) == maxParents {
			break
		}
		entry := gatewayv1.RouteParentStatus{ParentRef: w.ParentRef, ControllerName: ours}
		prev := findParent(old, w.ParentRef)
		for _, c := range w.Conditions {
			c.LastTransitionTime = now
			if prev != nil {
				if pc := meta.FindStatusCondition(prev.Conditions, c.Type); pc != nil && pc.Status == c.Status {
					c.LastTransitionTime = pc.LastTransitionTime
				}
			}
			entry.Conditions = append(entry.Conditions, c)
		}
		merged = append(merged, entry)
	}
	return merged, !apiequality.Semantic.DeepEqual(merged, existing)
}

func findParent(ps []gatewayv1.RouteParentStatus, ref gatewayv1.ParentReference) *gatewayv1.RouteParentStatus {
	for i := range ps {
		if apiequality.Semantic.DeepEqual(ps[i].ParentRef, ref) {
			return &ps[i]
		}
	}
	return nil
}
