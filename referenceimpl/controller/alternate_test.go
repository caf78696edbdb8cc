package controller

import (
	"context"
	"fmt"
	"slices"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	xv1alpha1 "sigs.k8s.io/gateway-api/apisx/v1alpha1"
	"sigs.k8s.io/gateway-api/pkg/features"

	"gamma-conformance/profiles"
	"gamma-conformance/referenceimpl/routing"
)

func TestClaimsFollowChoices(t *testing.T) {
	ref, alt := SupportedFeatures(routing.Reference), SupportedFeatures(routing.Alternate)
	if !slices.Equal(ref, routing.Reference.UpstreamFeatures()) {
		t.Errorf("reference claims %v, want every upstream feature", ref)
	}
	if slices.Contains(alt, features.SupportHTTPRouteRetryBackendTimeout) || slices.Contains(alt, "HTTPRouteRetryConnectionError") || len(alt) != len(ref)-2 {
		t.Errorf("alternate claims %v, want all but HTTPRouteRetryBackendTimeout and HTTPRouteRetryConnectionError", alt)
	}
	if got := SemanticsFeatures(routing.Reference); !slices.Equal(got, profiles.Features()) {
		t.Errorf("reference semantics claims %v, want every feature", got)
	}
	altSem := SemanticsFeatures(routing.Alternate)
	for _, f := range []string{profiles.RouteTypeConflict, profiles.CoreGroupAlias, profiles.NoEndpoints503, profiles.RetryTimedOutAttempt,
		profiles.SessionPersistence, profiles.PolicyConflictStatus} {
		if slices.Contains(altSem, f) {
			t.Errorf("alternate claims %s", f)
		}
	}
	// Core features are never dropped: the alternate must pass them.
	for _, f := range append([]string{profiles.ConsumerRoute, profiles.TCPRouteConflict, profiles.RetryBudget, profiles.PolicyConflict, profiles.BackendRequestTimeout}, profiles.MeshSemantics.Core...) {
		if !slices.Contains(altSem, f) {
			t.Errorf("alternate does not claim %s", f)
		}
	}
	if n := len(supportedFeatures(routing.Reference)); n > 64 {
		t.Errorf("%d supported features; XMesh status holds at most 64", n)
	}
}

// TestAlternateControllerNeedsGrants runs the control plane with the
// alternate choices: a cross-namespace backendRef is RefNotPermitted until
// a ReferenceGrant allows it (the grant is watched), and the XMesh claims
// the alternate's features.
func TestAlternateControllerNeedsGrants(t *testing.T) {
	c, _ := needAPIServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	const ns, remote, system = "alt-routes", "alt-backends", "alt-system"
	mustCreate(t, c, namespace(system), namespace(ns), namespace(remote), testService(ns, "svc", port("http", 80)), testService(remote, "remote", port("http", 80)))
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{RestConfig: testConfig, ControllerName: testController, MeshName: "alt-mesh", Namespace: system,
			HealthAddr: "0", MetricsAddr: "0", StreamAddr: "127.0.0.1:0", Choices: routing.Alternate})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("controller: %v", err)
		}
	})
	b := backend("remote", 80)
	b.Namespace = ptr.To(gatewayv1.Namespace(remote))
	route := testHTTPRoute(ns, "cross", parentRef(ns, "svc", 80), b)
	mustCreate(t, c, route)
	wantStatus(t, c, route, "ResolvedRefs", metav1.ConditionFalse, string(gatewayv1.RouteReasonRefNotPermitted), 1)
	mustCreate(t, c, &gatewayv1.ReferenceGrant{ObjectMeta: metav1.ObjectMeta{Namespace: remote, Name: "allow"},
		Spec: gatewayv1.ReferenceGrantSpec{
			From: []gatewayv1.ReferenceGrantFrom{{Group: gatewayv1.GroupName, Kind: "HTTPRoute", Namespace: ns}},
			To:   []gatewayv1.ReferenceGrantTo{{Group: "", Kind: "Service"}},
		}})
	wantStatus(t, c, route, "ResolvedRefs", metav1.ConditionTrue, string(gatewayv1.RouteReasonResolvedRefs), 1)
	eventually(t, "XMesh status", func() error {
		var m xv1alpha1.XMesh
		if err := c.Get(ctx, client.ObjectKey{Name: "alt-mesh"}, &m); err != nil {
			return err
		}
		if want := supportedFeatures(routing.Alternate); !slices.Equal(m.Status.SupportedFeatures, want) {
			return fmt.Errorf("supportedFeatures %v, want %v", m.Status.SupportedFeatures, want)
		}
		return nil
	})
}
