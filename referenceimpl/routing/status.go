package routing

import (
	"fmt"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// status builds one RouteParentStatus per Service parentRef. GEP-1294: the
// mesh "MUST set a status field on `xRoute` to show if the routing
// configuration has been applied to the mesh."
func (r *compiledRoute) status(controller gatewayv1.GatewayController) (RouteStatus, bool) {
	if len(r.parents) == 0 {
		return RouteStatus{}, false
	}
	st := RouteStatus{Kind: r.key.Kind, Namespace: r.key.Namespace, Name: r.key.Name, Generation: r.generation}
	resolved := r.resolvedRefs()
	for pi, bp := range r.parents {
		conds := []metav1.Condition{r.accepted(pi, bp), resolved}
		if r.usable() && len(r.invalidRules) > 0 {
			// HTTPRouteRule.Filters: "If only a portion of Route Rules are
			// invalid, implementations MUST set the "PartiallyInvalid"
			// condition for the Route."
			conds = append(conds, r.condition(gatewayv1.RouteConditionPartiallyInvalid, true,
				r.invalidRules[0].reason, fmt.Sprintf("%d of %d rules dropped: %s", len(r.invalidRules), r.totalRules, joinProblems(r.invalidRules))))
		}
		st.Parents = append(st.Parents, gatewayv1.RouteParentStatus{
			ParentRef:      bp.ref,
			ControllerName: controller,
			Conditions:     conds,
		})
	}
	return st, true
}

func (r *compiledRoute) accepted(pi int, bp boundParent) metav1.Condition {
	const t = gatewayv1.RouteConditionAccepted
	switch {
	case bp.noService:
		return r.condition(t, false, gatewayv1.RouteReasonNoMatchingParent, bp.noMatch)
	case bp.noMatch != "":
		return r.condition(t, false, r.choices.unboundPortReason(), bp.noMatch)
	case !r.usable():
		return r.condition(t, false, r.invalidRules[0].reason, "every rule is invalid: "+joinProblems(r.invalidRules))
	}
	var won []string
	for _, p := range bp.ports {
		if _, lost := r.conflicts[pi][p.Port]; !lost {
			won = append(won, fmt.Sprint(p.Port))
		}
	}
	lost := conflictMessages(r.conflicts[pi])
	if len(won) == 0 {
		return r.condition(t, false, r.choices.conflictReason(), "conflicted on every port: "+lost)
	}
	msg := "Route is applied to port " + strings.Join(won, ", ")
	if lost != "" {
		msg += "; conflicted on " + lost
	}
	return r.condition(t, true, gatewayv1.RouteReasonAccepted, msg)
}

func conflictMessages(m map[int32]string) string {
	ports := make([]int32, 0, len(m))
	for p := range m {
		ports = append(ports, p)
	}
	slices.Sort(ports)
	msgs := make([]string, len(ports))
	for i, p := range ports {
		msgs[i] = m[p]
	}
	return strings.Join(msgs, "; ")
}

func (r *compiledRoute) resolvedRefs() metav1.Condition {
	const t = gatewayv1.RouteConditionResolvedRefs
	if len(r.refProblems) == 0 {
		return r.condition(t, true, gatewayv1.RouteReasonResolvedRefs, "All references resolved")
	}
	return r.condition(t, false, r.refProblems[0].reason, joinProblems(r.refProblems))
}

func (r *compiledRoute) condition(t gatewayv1.RouteConditionType, ok bool, reason gatewayv1.RouteConditionReason, msg string) metav1.Condition {
	s := metav1.ConditionFalse
	if ok {
		s = metav1.ConditionTrue
	}
	const maxMessage = 32768 // metav1.Condition's validation limit
	if len(msg) > maxMessage {
		msg = msg[:maxMessage-3] + "..."
	}
	return metav1.Condition{
		Type:               string(t),
		Status:             s,
		Reason:             string(reason),
		Message:            msg,
		ObservedGeneration: r.generation,
	}
}
