package routing

import (
	"fmt"
	"net/netip"
	"slices"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"gamma-conformance/referenceimpl/meshconfig"
)

type nsName struct{ namespace, name string }

// refProblem is why a backendRef does not resolve.
type refProblem struct {
	reason gatewayv1.RouteConditionReason
	msg    string
}

// world is the indexed cluster state the compiler reads.
type world struct {
	services map[nsName]*corev1.Service
	slices   map[nsName][]*discoveryv1.EndpointSlice
	// policies are the XBackendTrafficPolicies in force, per Service.
	policies map[nsName]servicePolicy
	choices  *Choices
	// grants are the ReferenceGrants, per namespace.
	grants map[string][]*gatewayv1.ReferenceGrant
	// cookiePaths are Input.CookiePaths.
	cookiePaths map[SessionRef]string
}

func newWorld(in *Input) *world {
	w := &world{services: map[nsName]*corev1.Service{}, slices: map[nsName][]*discoveryv1.EndpointSlice{},
		policies: map[nsName]servicePolicy{}, choices: &in.Choices, grants: map[string][]*gatewayv1.ReferenceGrant{},
		cookiePaths: in.CookiePaths}
	for i := range in.ReferenceGrants {
		g := &in.ReferenceGrants[i]
		w.grants[g.Namespace] = append(w.grants[g.Namespace], g)
	}
	for i := range in.Services {
		s := &in.Services[i]
		w.services[nsName{s.Namespace, s.Name}] = s
	}
	for i := range in.EndpointSlices {
		es := &in.EndpointSlices[i]
		svc := es.Labels[discoveryv1.LabelServiceName]
		if svc == "" {
			continue
		}
		k := nsName{es.Namespace, svc}
		w.slices[k] = append(w.slices[k], es)
	}
	return w
}

// backend resolves one backendRef of route cr. A backend whose weight is 0
// is checked (for status) but not returned (keep is false). In a mesh a
// cross-namespace backendRef needs no ReferenceGrant (GEP-1294) unless
// Choices.CrossNamespaceBackendsNeedGrant.
func (w *world) backend(cr *compiledRoute, ref gatewayv1.BackendObjectReference, weight *int32) (b meshconfig.Backend, keep bool, problem *refProblem) {
	routeNS := cr.key.Namespace
	wt := int32(1)
	if weight != nil {
		wt = *weight
	}
	keep = wt > 0
	ns := routeNS
	if ref.Namespace != nil {
		ns = string(*ref.Namespace)
	}
	port := "?"
	if ref.Port != nil {
		port = fmt.Sprint(*ref.Port)
	}
	b = meshconfig.Backend{Name: fmt.Sprintf("%s/%s:%s", ns, ref.Name, port), Weight: wt, Invalid: true}

	group, kind := "", "Service"
	if ref.Group != nil {
		group = string(*ref.Group)
	}
	if ref.Kind != nil {
		kind = string(*ref.Kind)
	}
	if !w.choices.coreGroup(group) || kind != "Service" {
		return b, keep, &refProblem{gatewayv1.RouteReasonInvalidKind,
			fmt.Sprintf("backendRef %s/%s has group %q kind %q; this mesh supports only core Services", ns, ref.Name, group, kind)}
	}
	if ns != routeNS && w.choices.CrossNamespaceBackendsNeedGrant && !cr.hasParentService(ns, string(ref.Name)) &&
		!w.granted(cr.key.Kind, routeNS, ns, string(ref.Name)) {
		return b, keep, &refProblem{gatewayv1.RouteReasonRefNotPermitted,
			fmt.Sprintf("backendRef to Service %s/%s from namespace %s needs a ReferenceGrant in %s", ns, ref.Name, routeNS, ns)}
	}
	svc := w.services[nsName{ns, string(ref.Name)}]
	if svc == nil {
		return b, keep, &refProblem{gatewayv1.RouteReasonBackendNotFound, fmt.Sprintf("backend Service %s/%s not found", ns, ref.Name)}
	}
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		return b, keep, &refProblem{gatewayv1.RouteReasonInvalidKind,
			fmt.Sprintf("backend Service %s/%s is of type ExternalName, which GAMMA does not allow as a backend", ns, ref.Name)}
	}
	if ref.Port == nil {
		return b, keep, &refProblem{gatewayv1.RouteReasonBackendNotFound,
			fmt.Sprintf("backendRef to Service %s/%s has no port; a Service backendRef needs one", ns, ref.Name)}
	}
	var sp *corev1.ServicePort
	for i := range svc.Spec.Ports {
		p := &svc.Spec.Ports[i]
		if p.Port == *ref.Port && (p.Protocol == "" || p.Protocol == corev1.ProtocolTCP) {
			sp = p
		}
	}
	if sp == nil {
		return b, keep, &refProblem{gatewayv1.RouteReasonBackendNotFound,
			fmt.Sprintf("backend Service %s/%s has no TCP port %d", ns, ref.Name, *ref.Port)}
	}
	b.Invalid = false
	b.Endpoints = w.endpoints(nsName{ns, svc.Name}, sp.Name)
	pol := w.policies[nsName{ns, svc.Name}]
	b.RetryBudget, b.Session = pol.budget, pol.session
	return b, keep, nil
}

// endpoints returns the ready "ip:port" addresses of a Service port, sorted.
func (w *world) endpoints(svc nsName, portName string) []string {
	seen := map[string]bool{}
	var out []string
	for _, es := range w.slices[svc] {
		if es.AddressType != discoveryv1.AddressTypeIPv4 && es.AddressType != discoveryv1.AddressTypeIPv6 {
			continue
		}
		var port int32 = -1
		for _, p := range es.Ports {
			name := ""
			if p.Name != nil {
				name = *p.Name
			}
			proto := corev1.ProtocolTCP
			if p.Protocol != nil {
				proto = *p.Protocol
			}
			if name == portName && proto == corev1.ProtocolTCP && p.Port != nil {
				port = *p.Port
			}
		}
		if port < 1 || port > 65535 {
			continue
		}
		for _, ep := range es.Endpoints {
			if ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
				continue
			}
			for _, a := range ep.Addresses {
				ip, err := netip.ParseAddr(a)
				if err != nil || ip.Zone() != "" {
					continue
				}
				s := netip.AddrPortFrom(ip.Unmap(), uint16(port)).String()
				if !seen[s] {
					seen[s] = true
					out = append(out, s)
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

// granted says whether a ReferenceGrant in namespace ns lets routes of
// routeKind in routeNS refer to the Service ns/name. ReferenceGrantFrom
// and ReferenceGrantTo: an empty "to" name allows every Service.
func (w *world) granted(routeKind, routeNS, ns, name string) bool {
	for _, g := range w.grants[ns] {
		from := slices.ContainsFunc(g.Spec.From, func(f gatewayv1.ReferenceGrantFrom) bool {
			return f.Group == gatewayv1.GroupName && string(f.Kind) == routeKind && string(f.Namespace) == routeNS
		})
		to := slices.ContainsFunc(g.Spec.To, func(t gatewayv1.ReferenceGrantTo) bool {
			return w.choices.coreGroup(string(t.Group)) && t.Kind == "Service" && (t.Name == nil || string(*t.Name) == name)
		})
		if from && to {
			return true
		}
	}
	return false
}
