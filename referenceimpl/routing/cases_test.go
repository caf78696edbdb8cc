package routing

import (
	"testing"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayxv1a1 "sigs.k8s.io/gateway-api/apisx/v1alpha1"

	"gamma-conformance/referenceimpl/meshconfig"
)

// ruleCase is one rule of the specification, checked on one snapshot. The
// quote is the sentence of the Gateway API, a GEP or the mesh docs that the
// case checks (or, for choices the spec leaves open, the choice made).
type ruleCase struct {
	name  string
	quote string
	input func() Input
	check func(t *testing.T, out Output, ix *meshconfig.Index)
}

func runCases(t *testing.T, cases []ruleCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.quote == "" {
				t.Fatal("every case quotes the rule it checks")
			}
			out, ix := compile(t, c.input())
			c.check(t, out, ix)
		})
	}
}

// with returns the fixture plus the given routes.
func with(routes ...any) func() Input {
	return func() Input {
		in := fixture()
		for _, r := range routes {
			switch r := r.(type) {
			case gatewayv1.HTTPRoute:
				in.HTTPRoutes = append(in.HTTPRoutes, r)
			case gatewayv1.GRPCRoute:
				in.GRPCRoutes = append(in.GRPCRoutes, r)
			case gatewayv1.TCPRoute:
				in.TCPRoutes = append(in.TCPRoutes, r)
			case gatewayv1.TLSRoute:
				in.TLSRoutes = append(in.TLSRoutes, r)
			case gatewayxv1a1.XBackendTrafficPolicy:
				in.BackendTrafficPolicies = append(in.BackendTrafficPolicies, r)
			default:
				panic("unknown route type")
			}
		}
		return in
	}
}
