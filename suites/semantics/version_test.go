package semantics

import (
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	xv1alpha1 "sigs.k8s.io/gateway-api/apisx/v1alpha1"
)

func TestSessionToV17(t *testing.T) {
	// v1.7.0 SessionPersistence: "cookie must be specified for Cookie type",
	// "header must be specified for Header type"; sessionName and
	// cookieConfig are gone.
	for _, c := range []struct {
		name     string
		in, want map[string]any
	}{{
		name: "named permanent cookie",
		in:   map[string]any{"type": "Cookie", "sessionName": "c", "absoluteTimeout": "1h", "cookieConfig": map[string]any{"lifetimeType": "Permanent"}},
		want: map[string]any{"type": "Cookie", "absoluteTimeout": "1h", "cookie": map[string]any{"name": "c", "lifetimeType": "Permanent"}},
	}, {
		name: "cookie by default, with no name",
		in:   map[string]any{},
		want: map[string]any{"cookie": map[string]any{}},
	}, {
		name: "header",
		in:   map[string]any{"type": "Header", "sessionName": "x-s"},
		want: map[string]any{"type": "Header", "header": map[string]any{"name": "x-s"}},
	}} {
		t.Run(c.name, func(t *testing.T) {
			sessionToV17(c.in)
			if !reflect.DeepEqual(c.in, c.want) {
				t.Fatalf("got %v, want %v", c.in, c.want)
			}
		})
	}
}

func TestForRelease(t *testing.T) {
	rule := gatewayv1.HTTPRouteRule{SessionPersistence: sticky("s")}
	route := &gatewayv1.HTTPRoute{Spec: gatewayv1.HTTPRouteSpec{Rules: []gatewayv1.HTTPRouteRule{{}, rule}}}
	route.Name = "r"
	if got, err := forRelease(route, "v1.6.3"); err != nil || got != route {
		t.Fatalf("v1.6.3: %v %v, want the object itself", got, err)
	}
	plain := &gatewayv1.HTTPRoute{}
	if got, _ := forRelease(plain, "v1.7.0"); got != plain {
		t.Fatalf("a route without sessions is created as it is")
	}
	got, err := forRelease(route, "v1.7.0")
	u, ok := got.(*unstructured.Unstructured)
	if err != nil || !ok || u.GetKind() != "HTTPRoute" || u.GetAPIVersion() != "gateway.networking.k8s.io/v1" || u.GetName() != "r" {
		t.Fatalf("v1.7.0: %#v %v", got, err)
	}
	name, _, _ := unstructured.NestedString(u.Object["spec"].(map[string]any)["rules"].([]any)[1].(map[string]any), "sessionPersistence", "cookie", "name")
	if name != "s" {
		t.Fatalf("v1.7.0 rule session: %v", u.Object["spec"])
	}
	pol := trafficPolicy("ns", "p", "svc")
	pol.Spec.SessionPersistence = &gatewayv1.SessionPersistence{Type: ptr.To(gatewayv1.HeaderBasedSessionPersistence), SessionName: ptr.To("x")}
	got, err = forRelease(pol, "v1.7.1")
	if u, ok := got.(*unstructured.Unstructured); err != nil || !ok || u.GetKind() != "XBackendTrafficPolicy" || u.GetAPIVersion() != xv1alpha1.GroupVersion.String() {
		t.Fatalf("policy: %#v %v", got, err)
	} else if h, _, _ := unstructured.NestedString(u.Object, "spec", "sessionPersistence", "header", "name"); h != "x" {
		t.Fatalf("policy session: %v", u.Object["spec"])
	}
}

func TestNotInRelease(t *testing.T) {
	sp := Spec{since: v17}
	if why := notInRelease(sp, "v1.7.0"); why != "" {
		t.Fatalf("v1.7.0: %q", why)
	}
	for installed, shown := range map[string]string{"v1.6.3": "v1.6.3", "": "unknown"} {
		why := notInRelease(sp, installed)
		if !strings.HasPrefix(why, notSupportedPrefix) || !strings.Contains(why, "Gateway API v1.7.0 or later (installed: "+shown+")") {
			t.Fatalf("%q: %q", installed, why)
		}
	}
	if why := notInRelease(Spec{}, "v1.6.3"); why != "" {
		t.Fatalf("a spec for every release: %q", why)
	}
}
