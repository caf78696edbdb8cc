package routing

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// isServiceParent says whether a parentRef is ours: the core group ("", and
// "core" unless Choices.RejectCoreGroupAlias: what the mesh docs and
// Linkerd write) and kind Service. ParentReference defaults group and kind
// to a Gateway, so both must be set.
func isServiceParent(ref gatewayv1.ParentReference, c *Choices) bool {
	return ref.Group != nil && c.coreGroup(string(*ref.Group)) && ref.Kind != nil && *ref.Kind == "Service"
}

// parentKey identifies a parentRef for de-duplication and status keying.
func parentKey(routeNS string, ref gatewayv1.ParentReference) string {
	ns := routeNS
	if ref.Namespace != nil {
		ns = string(*ref.Namespace)
	}
	var port, section string
	if ref.Port != nil {
		port = fmt.Sprint(*ref.Port)
	}
	if ref.SectionName != nil {
		section = string(*ref.SectionName)
	}
	return strings.Join([]string{ns, string(ref.Name), section, port}, "|")
}

// boundParent is one mesh parentRef of a route, resolved against the
// Services.
type boundParent struct {
	ref gatewayv1.ParentReference
	svc *corev1.Service
	// ports are the Service ports the route attaches to through this ref.
	ports []corev1.ServicePort
	// noMatch is set, with the reason in the message, when the ref matches
	// no usable Service port.
	noMatch string
	// noService is set with noMatch when the Service is missing, headless
	// or of type ExternalName (rather than lacking a fitting port).
	noService bool
}

// serviceVIPs returns a Service's ClusterIPs, or nil when it has none a
// mesh can match (headless, ExternalName, not yet allocated).
func serviceVIPs(svc *corev1.Service) []string {
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		return nil
	}
	ips := svc.Spec.ClusterIPs
	if len(ips) == 0 && svc.Spec.ClusterIP != "" {
		ips = []string{svc.Spec.ClusterIP}
	}
	var out []string
	for _, ip := range ips {
		if ip != "" && ip != corev1.ClusterIPNone {
			out = append(out, ip)
		}
	}
	return out
}

// bindParent resolves one Service parentRef of a route of routeKind in
// routeNS.
func bindParent(routeKind, routeNS string, ref gatewayv1.ParentReference, services map[nsName]*corev1.Service, c *Choices) boundParent {
	b := boundParent{ref: ref}
	ns := routeNS
	if ref.Namespace != nil {
		ns = string(*ref.Namespace)
	}
	svc := services[nsName{ns, string(ref.Name)}]
	b.noService = true
	switch {
	case svc == nil:
		b.noMatch = fmt.Sprintf("Service %s/%s not found", ns, ref.Name)
		return b
	case svc.Spec.Type == corev1.ServiceTypeExternalName:
		b.noMatch = fmt.Sprintf("Service %s/%s is of type ExternalName; GAMMA parents must have a ClusterIP", ns, ref.Name)
		return b
	case len(serviceVIPs(svc)) == 0:
		b.noMatch = fmt.Sprintf("Service %s/%s is headless; GAMMA parents must have a ClusterIP", ns, ref.Name)
		return b
	}
	b.svc, b.noService = svc, false
	explicit := ref.Port != nil || ref.SectionName != nil
	var selected, wrongProtocol []string
	for _, p := range svc.Spec.Ports {
		if ref.Port != nil && p.Port != *ref.Port {
			continue
		}
		if ref.SectionName != nil && p.Name != string(*ref.SectionName) {
			continue
		}
		if p.Protocol != "" && p.Protocol != corev1.ProtocolTCP {
			continue
		}
		selected = append(selected, fmt.Sprintf("%s/%d", p.Name, p.Port))
		if !attachable(routeKind, p, explicit, c) {
			kind, _ := c.portProtocol(p)
			wrongProtocol = append(wrongProtocol, fmt.Sprintf("port %d (%s) speaks %s", p.Port, p.Name, kind))
			continue
		}
		b.ports = append(b.ports, p)
	}
	if len(b.ports) == 0 {
		switch {
		case len(selected) == 0 && explicit:
			b.noMatch = fmt.Sprintf("Service %s/%s has no TCP port%s", ns, ref.Name, describeSelector(ref))
		case len(selected) == 0:
			b.noMatch = fmt.Sprintf("Service %s/%s has no TCP ports", ns, ref.Name)
		default:
			b.noMatch = fmt.Sprintf("no port of Service %s/%s fits a %s: %s; a %s attaches to %s ports",
				ns, ref.Name, routeKind, strings.Join(wrongProtocol, ", "), routeKind, routeKindOf(routeKind))
		}
	}
	return b
}

func describeSelector(ref gatewayv1.ParentReference) string {
	var parts []string
	if ref.Port != nil {
		parts = append(parts, fmt.Sprintf("port %d", *ref.Port))
	}
	if ref.SectionName != nil {
		parts = append(parts, fmt.Sprintf("name %q", *ref.SectionName))
	}
	return " with " + strings.Join(parts, " and ")
}
