package routing

import (
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"gamma-conformance/referenceimpl/meshconfig"
)

// compiledRoute is one route of any kind, compiled independently of the
// tables it will join.
type compiledRoute struct {
	key        meshconfig.RouteKey
	created    int64 // creationTimestamp in seconds, the API's resolution
	generation int64
	parentRefs []gatewayv1.ParentReference
	choices    *Choices

	// Exactly one of these is used, by kind.
	http []httpRule           // HTTPRoute, GRPCRoute
	tcp  meshconfig.Backends  // TCPRoute
	tls  []meshconfig.TLSRule // TLSRoute

	totalRules   int
	invalidRules []ruleProblem
	refProblems  []refProblem

	// parents are the route's Service parentRefs, de-duplicated, in spec
	// order; conflicts[parent index][port] says why the route lost a port.
	parents   []boundParent
	conflicts map[int]map[int32]string
}

// httpRule is a compiled HTTP or gRPC rule with its matches and their
// precedence keys.
type httpRule struct {
	rule    meshconfig.HTTPRule
	matches []keyedMatch
}

type keyedMatch struct {
	match meshconfig.HTTPMatch
	// key ranks matches across every route of a table: larger first.
	key []int
}

// ruleProblem is why a rule was left out.
type ruleProblem struct {
	index  int
	reason gatewayv1.RouteConditionReason
	msg    string
}

func (p ruleProblem) String() string { return fmt.Sprintf("rule %d: %s", p.index, p.msg) }

func newCompiledRoute(w *world, kind string, meta metav1.ObjectMeta, refs []gatewayv1.ParentReference, rules int) *compiledRoute {
	return &compiledRoute{
		choices:    w.choices,
		key:        meshconfig.RouteKey{Kind: kind, Namespace: meta.Namespace, Name: meta.Name},
		created:    meta.CreationTimestamp.Unix(),
		generation: meta.Generation,
		parentRefs: refs,
		totalRules: rules,
	}
}

// usable says whether at least one rule survived.
func (r *compiledRoute) usable() bool { return len(r.invalidRules) < r.totalRules }

// olderThan orders routes the way the API breaks ties between routes: the
// oldest first, then "{namespace}/{name}" alphabetically.
func (r *compiledRoute) olderThan(o *compiledRoute) bool {
	if r.created != o.created {
		return r.created < o.created
	}
	a, b := r.key.Namespace+"/"+r.key.Name, o.key.Namespace+"/"+o.key.Name
	if a != b {
		return a < b
	}
	return r.key.Kind < o.key.Kind
}

func (r *compiledRoute) invalid(index int, reason gatewayv1.RouteConditionReason, format string, args ...any) {
	r.invalidRules = append(r.invalidRules, ruleProblem{index, reason, fmt.Sprintf(format, args...)})
}

func (r *compiledRoute) refProblem(p *refProblem) {
	if p != nil {
		r.refProblems = append(r.refProblems, *p)
	}
}

func joinProblems[T fmt.Stringer](ps []T) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, "; ")
}

func (p refProblem) String() string { return p.msg }

// hasParentService says whether the route names the Service ns/name as a
// Service parent.
func (r *compiledRoute) hasParentService(ns, name string) bool {
	for _, ref := range r.parentRefs {
		refNS := r.key.Namespace
		if ref.Namespace != nil {
			refNS = string(*ref.Namespace)
		}
		if refNS == ns && string(ref.Name) == name && isServiceParent(ref, r.choices) {
			return true
		}
	}
	return false
}
