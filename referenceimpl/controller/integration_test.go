package controller

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	xv1alpha1 "sigs.k8s.io/gateway-api/apisx/v1alpha1"

	"gamma-conformance/referenceimpl/meshconfig"
	"gamma-conformance/referenceimpl/routing"
)

const testController = gatewayv1.GatewayController("gamma-conformance.dev/test-mesh")

func eventually(t *testing.T, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func mustCreate(t *testing.T, c client.Client, objs ...client.Object) {
	t.Helper()
	for _, o := range objs {
		if err := c.Create(context.Background(), o); err != nil {
			t.Fatalf("creating %T %s: %v", o, o.GetName(), err)
		}
	}
}

func namespace(name string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
}

func testService(ns, name string, ports ...corev1.ServicePort) *corev1.Service {
	return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: corev1.ServiceSpec{Ports: ports}}
}

func port(name string, p int32) corev1.ServicePort {
	return corev1.ServicePort{Name: name, Port: p, Protocol: corev1.ProtocolTCP}
}

func parentRef(ns, name string, p int32) gatewayv1.ParentReference {
	return gatewayv1.ParentReference{Group: ptr.To(gatewayv1.Group("")), Kind: ptr.To(gatewayv1.Kind("Service")),
		Namespace: ptr.To(gatewayv1.Namespace(ns)), Name: gatewayv1.ObjectName(name), Port: ptr.To(p)}
}

func backend(name string, p int32) gatewayv1.BackendRef {
	return gatewayv1.BackendRef{BackendObjectReference: gatewayv1.BackendObjectReference{Name: gatewayv1.ObjectName(name), Port: ptr.To(p)}}
}

func testHTTPRoute(ns, name string, parent gatewayv1.ParentReference, b gatewayv1.BackendRef) *gatewayv1.HTTPRoute {
	return &gatewayv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: gatewayv1.HTTPRouteSpec{CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{parent}},
			Rules: []gatewayv1.HTTPRouteRule{{BackendRefs: []gatewayv1.HTTPBackendRef{{BackendRef: b}}}}}}
}

// ourCondition reads our entry's condition for a route's first parent.
func ourCondition(t *testing.T, c client.Client, route client.Object, typ string) (*metav1.Condition, error) {
	if err := c.Get(context.Background(), client.ObjectKeyFromObject(route), route); err != nil {
		return nil, err
	}
	_, parents := statusParents(route)
	for _, p := range *parents {
		if p.ControllerName == testController {
			if cond := meta.FindStatusCondition(p.Conditions, typ); cond != nil {
				return cond, nil
			}
		}
	}
	return nil, fmt.Errorf("no %s condition of ours on %s", typ, route.GetName())
}

func wantStatus(t *testing.T, c client.Client, route client.Object, typ string, status metav1.ConditionStatus, reason string, generation int64) {
	t.Helper()
	eventually(t, fmt.Sprintf("%s %s=%s/%s", route.GetName(), typ, status, reason), func() error {
		cond, err := ourCondition(t, c, route, typ)
		if err != nil {
			return err
		}
		if cond.Status != status || cond.Reason != reason || cond.ObservedGeneration != generation {
			return fmt.Errorf("got %s/%s generation %d (%s)", cond.Status, cond.Reason, cond.ObservedGeneration, cond.Message)
		}
		return nil
	})
}

func TestControllerWritesRouteStatus(t *testing.T) {
	c, _ := needAPIServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	const ns = "status-test"
	mustCreate(t, c, namespace(DefaultNamespace), namespace(ns),
		testService(ns, "svc", port("http", 80), port("grpc", 7070)),
		&discoveryv1.EndpointSlice{
			ObjectMeta:  metav1.ObjectMeta{Namespace: ns, Name: "svc-1", Labels: map[string]string{discoveryv1.LabelServiceName: "svc"}},
			AddressType: discoveryv1.AddressTypeIPv4,
			Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To[int32](8080)}},
			Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"10.244.0.5"}}},
		})
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{RestConfig: testConfig, ControllerName: testController, MeshName: "test-mesh",
			HealthAddr: "0", MetricsAddr: "0", StreamAddr: "127.0.0.1:0"})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("controller: %v", err)
		}
	})

	accepted := testHTTPRoute(ns, "accepted", parentRef(ns, "svc", 80), backend("svc", 80))
	noParent := testHTTPRoute(ns, "no-parent", parentRef(ns, "missing", 80), backend("svc", 80))
	noBackend := testHTTPRoute(ns, "no-backend", parentRef(ns, "svc", 80), backend("missing", 80))
	loser := testHTTPRoute(ns, "loser", parentRef(ns, "svc", 7070), backend("svc", 7070))
	winner := &gatewayv1.GRPCRoute{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "winner"},
		Spec: gatewayv1.GRPCRouteSpec{CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{parentRef(ns, "svc", 7070)}},
			Rules: []gatewayv1.GRPCRouteRule{{BackendRefs: []gatewayv1.GRPCBackendRef{{BackendRef: backend("svc", 7070)}}}}}}
	mustCreate(t, c, accepted, noParent, noBackend, loser, winner)

	t.Run("accepted", func(t *testing.T) {
		wantStatus(t, c, accepted, "Accepted", metav1.ConditionTrue, "Accepted", 1)
		wantStatus(t, c, accepted, "ResolvedRefs", metav1.ConditionTrue, "ResolvedRefs", 1)
	})
	t.Run("no matching parent", func(t *testing.T) {
		wantStatus(t, c, noParent, "Accepted", metav1.ConditionFalse, "NoMatchingParent", 1)
	})
	t.Run("backend not found", func(t *testing.T) {
		wantStatus(t, c, noBackend, "ResolvedRefs", metav1.ConditionFalse, "BackendNotFound", 1)
	})
	t.Run("conflicted", func(t *testing.T) {
		wantStatus(t, c, loser, "Accepted", metav1.ConditionFalse, "Conflicted", 1)
		wantStatus(t, c, winner, "Accepted", metav1.ConditionTrue, "Accepted", 1)
	})
	t.Run("observedGeneration follows spec changes", func(t *testing.T) {
		eventually(t, "updating the route", func() error {
			if err := c.Get(ctx, client.ObjectKeyFromObject(noParent), noParent); err != nil {
				return err
			}
			noParent.Spec.ParentRefs = []gatewayv1.ParentReference{parentRef(ns, "svc", 80)}
			return c.Update(ctx, noParent)
		})
		wantStatus(t, c, noParent, "Accepted", metav1.ConditionTrue, "Accepted", 2)
	})
	t.Run("conditions of other controllers are kept", func(t *testing.T) {
		foreign := gatewayv1.RouteParentStatus{ParentRef: parentRef(ns, "svc", 80), ControllerName: "example.com/other",
			Conditions: []metav1.Condition{{Type: "Accepted", Status: metav1.ConditionFalse, Reason: "Other", Message: "not mine", LastTransitionTime: metav1.Now()}}}
		eventually(t, "adding a foreign status entry", func() error {
			if err := c.Get(ctx, client.ObjectKeyFromObject(accepted), accepted); err != nil {
				return err
			}
			accepted.Status.Parents = append(accepted.Status.Parents, foreign)
			return c.Status().Update(ctx, accepted)
		})
		// Make the controller write this route again: change its spec.
		eventually(t, "updating the route", func() error {
			if err := c.Get(ctx, client.ObjectKeyFromObject(accepted), accepted); err != nil {
				return err
			}
			accepted.Spec.Rules[0].BackendRefs[0].Port = ptr.To[int32](7070)
			return c.Update(ctx, accepted)
		})
		wantStatus(t, c, accepted, "Accepted", metav1.ConditionTrue, "Accepted", 2)
		if err := c.Get(ctx, client.ObjectKeyFromObject(accepted), accepted); err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(accepted.Status.Parents, func(p gatewayv1.RouteParentStatus) bool { return p.ControllerName == "example.com/other" }) {
			t.Fatalf("foreign entry removed: %+v", accepted.Status.Parents)
		}
	})
	t.Run("no write when nothing changed", func(t *testing.T) {
		if err := c.Get(ctx, client.ObjectKeyFromObject(winner), winner); err != nil {
			t.Fatal(err)
		}
		rv := winner.ResourceVersion
		// Touch an unrelated object to trigger a recompile.
		mustCreate(t, c, testService(ns, "unrelated", port("http", 80)))
		time.Sleep(time.Second)
		if err := c.Get(ctx, client.ObjectKeyFromObject(winner), winner); err != nil {
			t.Fatal(err)
		}
		if winner.ResourceVersion != rv {
			t.Fatalf("route written again though nothing changed (resourceVersion %s → %s)", rv, winner.ResourceVersion)
		}
	})
	t.Run("XMesh is created with supportedFeatures and spec left alone", func(t *testing.T) {
		var m xv1alpha1.XMesh
		eventually(t, "XMesh status", func() error {
			if err := c.Get(ctx, client.ObjectKey{Name: "test-mesh"}, &m); err != nil {
				return err
			}
			if want := supportedFeatures(routing.Reference); !slices.Equal(m.Status.SupportedFeatures, want) {
				return fmt.Errorf("supportedFeatures %v", m.Status.SupportedFeatures)
			}
			return nil
		})
		if m.Spec.ControllerName != testController || m.Spec.Description != nil {
			t.Fatalf("spec %+v", m.Spec)
		}
	})
	t.Run("XBackendTrafficPolicy status", func(t *testing.T) {
		pol := func(name, target string) *xv1alpha1.XBackendTrafficPolicy {
			return &xv1alpha1.XBackendTrafficPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
				Spec: xv1alpha1.BackendTrafficPolicySpec{
					TargetRefs:      []gatewayv1.LocalPolicyTargetReference{{Group: "", Kind: "Service", Name: gatewayv1.ObjectName(target)}},
					RetryConstraint: &xv1alpha1.RetryConstraint{}}}
		}
		older, newer, lost := pol("a-older", "svc"), pol("b-newer", "svc"), pol("c-lost", "missing")
		mustCreate(t, c, older)
		time.Sleep(1100 * time.Millisecond) // creationTimestamp has one-second resolution
		mustCreate(t, c, newer, lost)
		for _, tc := range []struct {
			p      *xv1alpha1.XBackendTrafficPolicy
			status metav1.ConditionStatus
			reason gatewayv1.PolicyConditionReason
		}{
			{older, metav1.ConditionTrue, gatewayv1.PolicyReasonAccepted},
			{newer, metav1.ConditionFalse, gatewayv1.PolicyReasonConflicted},
			{lost, metav1.ConditionFalse, gatewayv1.PolicyReasonTargetNotFound},
		} {
			eventually(t, tc.p.Name+" Accepted="+string(tc.status)+"/"+string(tc.reason), func() error {
				if err := c.Get(ctx, client.ObjectKeyFromObject(tc.p), tc.p); err != nil {
					return err
				}
				for _, a := range tc.p.Status.Ancestors {
					cond := meta.FindStatusCondition(a.Conditions, "Accepted")
					if a.ControllerName == testController && cond != nil && cond.Status == tc.status && cond.Reason == string(tc.reason) &&
						a.AncestorRef.Kind != nil && *a.AncestorRef.Kind == "Service" {
						return nil
					}
				}
				return fmt.Errorf("ancestors %+v", tc.p.Status.Ancestors)
			})
		}
	})
}

func serviceAccountToken(t *testing.T, cs kubernetes.Interface, ns, name, audience string) string {
	t.Helper()
	ctx := context.Background()
	if _, err := cs.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	tr, err := cs.CoreV1().ServiceAccounts(ns).CreateToken(ctx, name, &authnv1.TokenRequest{Spec: authnv1.TokenRequestSpec{Audiences: []string{audience}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return tr.Status.Token
}

func TestStreamAuthentication(t *testing.T) {
	c, cs := needAPIServer(t)
	mustCreate(t, c, namespace("team-a"), namespace("team-b"))
	tokenA := serviceAccountToken(t, cs, "team-a", "client", TokenAudience)
	wrongAudience := serviceAccountToken(t, cs, "team-b", "client", "some-other-audience")

	pub := NewPublisher()
	table := func(clientNS string) meshconfig.Table {
		return meshconfig.Table{Service: meshconfig.ServiceKey{Namespace: "svc-ns", Name: "svc"}, Port: 80, VIPs: []string{"10.96.0.1"},
			ClientNamespace: clientNS, Protocol: meshconfig.ProtocolTCP, TCP: &meshconfig.Backends{{Name: "b", Weight: 1, Invalid: true}}}
	}
	pub.Publish([]meshconfig.Table{table(""), table("team-a"), table("team-b")})
	srv := httptest.NewServer(&StreamHandler{Publisher: pub, Auth: &Authenticator{Clientset: cs, Audience: TokenAudience}})
	defer srv.Close()

	get := func(token string) (*http.Response, error) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+meshconfig.StreamPath, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		return http.DefaultClient.Do(req)
	}
	for name, token := range map[string]string{"no token": "", "garbage": "not-a-token", "wrong audience": wrongAudience} {
		resp, err := get(token)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: status %d (%s), want 401", name, resp.StatusCode, body)
		}
	}
	resp, err := get(tokenA)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	snap, err := meshconfig.NewFrameReader(resp.Body).Next()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tb := range snap.Tables {
		got = append(got, "["+tb.ClientNamespace+"]")
	}
	if strings.Join(got, ",") != "[],[team-a]" {
		t.Fatalf("team-a's proxy got tables for %v; want the producer table and team-a's overlay only", got)
	}
}
