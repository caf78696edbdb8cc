package kube

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// ParentStatuses returns the route's status entries for ref, keeping only
// those written by the configured controller (any controller when none is
// configured). The route is read fresh from the API.
func (c *Cluster) ParentStatuses(ctx context.Context, route client.Object, ref gatewayv1.ParentReference) ([]gatewayv1.RouteParentStatus, error) {
	if err := c.Client.Get(ctx, client.ObjectKeyFromObject(route), route); err != nil {
		return nil, err
	}
	var parents []gatewayv1.RouteParentStatus
	switch r := route.(type) {
	case *gatewayv1.HTTPRoute:
		parents = r.Status.Parents
	case *gatewayv1.GRPCRoute:
		parents = r.Status.Parents
	case *gatewayv1.TCPRoute:
		parents = r.Status.Parents
	default:
		return nil, fmt.Errorf("no route status on %T", route)
	}
	var out []gatewayv1.RouteParentStatus
	for _, p := range parents {
		if c.Options.ControllerName != "" && string(p.ControllerName) != c.Options.ControllerName {
			continue
		}
		if sameParent(p.ParentRef, ref, route.GetNamespace()) {
			out = append(out, p)
		}
	}
	return out, nil
}

// StatusControllers lists the controllers that wrote a status entry for
// ref, whatever --controller-name says (for error messages).
func (c *Cluster) StatusControllers(ctx context.Context, route client.Object, ref gatewayv1.ParentReference) []string {
	all := *c
	all.Options.ControllerName = ""
	entries, err := all.ParentStatuses(ctx, route, ref)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		out = append(out, string(e.ControllerName))
	}
	return out
}

// sameParent compares parentRefs with their defaults applied; the core
// group may be spelled "" or "core".
func sameParent(a, b gatewayv1.ParentReference, routeNS string) bool {
	group := func(g *gatewayv1.Group) string {
		s := string(ptr.Deref(g, gatewayv1.GroupName))
		if s == "core" {
			return ""
		}
		return s
	}
	ns := func(n *gatewayv1.Namespace) string { return string(ptr.Deref(n, gatewayv1.Namespace(routeNS))) }
	return group(a.Group) == group(b.Group) &&
		ptr.Deref(a.Kind, "Gateway") == ptr.Deref(b.Kind, "Gateway") &&
		a.Name == b.Name && ns(a.Namespace) == ns(b.Namespace) &&
		ptr.Deref(a.Port, 0) == ptr.Deref(b.Port, 0) &&
		ptr.Deref(a.SectionName, "") == ptr.Deref(b.SectionName, "")
}

// Want is an expected route condition; any of Reasons is accepted (none
// listed: any reason).
type Want struct {
	Type    string
	Status  metav1.ConditionStatus
	Reasons []string
}

// Check returns nil when some entry satisfies every want, else an error
// describing the entries seen.
func Check(entries []gatewayv1.RouteParentStatus, wants ...Want) error {
	if len(entries) == 0 {
		return fmt.Errorf("no status entry for the parentRef yet")
	}
	var seen []string
	for _, e := range entries {
		ok := true
		for _, w := range wants {
			cond := meta.FindStatusCondition(e.Conditions, w.Type)
			if cond == nil || cond.Status != w.Status || (len(w.Reasons) > 0 && !slices.Contains(w.Reasons, cond.Reason)) {
				ok = false
			}
		}
		if ok {
			return nil
		}
		seen = append(seen, describe(e))
	}
	return fmt.Errorf("want %s; have %s", describeWants(wants), strings.Join(seen, "; "))
}

func describe(e gatewayv1.RouteParentStatus) string {
	var conds []string
	for _, c := range e.Conditions {
		conds = append(conds, fmt.Sprintf("%s=%s/%s", c.Type, c.Status, c.Reason))
	}
	return fmt.Sprintf("controller %s: %s", e.ControllerName, strings.Join(conds, ","))
}

func describeWants(wants []Want) string {
	var out []string
	for _, w := range wants {
		s := fmt.Sprintf("%s=%s", w.Type, w.Status)
		if len(w.Reasons) > 0 {
			s += "/" + strings.Join(w.Reasons, "|")
		}
		out = append(out, s)
	}
	return strings.Join(out, ",")
}

// InstalledGatewayAPI reads the bundle version and channel of the installed
// HTTPRoute CRD; both are "" when it cannot be read.
func InstalledGatewayAPI(ctx context.Context, c client.Client) (version, channel string) {
	crd := &unstructured.Unstructured{}
	crd.SetGroupVersionKind(schema.GroupVersionKind{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition"})
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := c.Get(ctx, client.ObjectKey{Name: "httproutes.gateway.networking.k8s.io"}, crd); err != nil {
		return "", ""
	}
	a := crd.GetAnnotations()
	return a["gateway.networking.k8s.io/bundle-version"], a["gateway.networking.k8s.io/channel"]
}
