package controller

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	xv1alpha1 "sigs.k8s.io/gateway-api/apisx/v1alpha1"

	"gamma-conformance/referenceimpl/routing"
)

// The controller is built against the Go types of Gateway API v1.6.3 and
// reads whichever release's CRDs are installed. Gateway API v1.7.0 renamed
// the fields of SessionPersistence: v1.6.3's sessionName and
// cookieConfig{lifetimeType} became cookie{name, path, lifetimeType} and
// header{name}. Typed decoding drops fields it does not know, so the two
// kinds that can carry a SessionPersistence (HTTPRoute rules and
// XBackendTrafficPolicies) are read unstructured, their sessions put in the
// v1.6.3 shape, and only then converted; the cookie path, which v1.6.3 has
// no field for, goes to routing.Input.CookiePaths. Objects of v1.6.3 pass
// through unchanged. Status writes are unaffected: a write to the status
// subresource leaves the stored spec as it is.

// unstructuredOf is an empty unstructured object (or list) of a kind.
func unstructuredOf(gv fmt.Stringer, kind string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion(gv.String())
	u.SetKind(kind)
	return u
}

func listUnstructured(ctx context.Context, c client.Reader, gv fmt.Stringer, kind string) ([]unstructured.Unstructured, error) {
	l := &unstructured.UnstructuredList{}
	l.SetAPIVersion(gv.String())
	l.SetKind(kind + "List")
	if err := c.List(ctx, l); err != nil {
		return nil, err
	}
	return l.Items, nil
}

// listHTTPRoutes reads the HTTPRoutes into in, with their sessions in the
// v1.6.3 shape and their cookie paths in in.CookiePaths.
func listHTTPRoutes(ctx context.Context, c client.Reader, in *routing.Input) error {
	items, err := listUnstructured(ctx, c, gatewayv1.GroupVersion, routing.KindHTTPRoute)
	if err != nil {
		return err
	}
	for i := range items {
		u := items[i].Object
		rules, _, _ := unstructured.NestedSlice(u, "spec", "rules")
		for ri, r := range rules {
			rule, _ := r.(map[string]any)
			if sp, ok := rule["sessionPersistence"].(map[string]any); ok {
				in.AddCookiePath(routing.RuleSessionRef(items[i].GetNamespace(), items[i].GetName(), ri), sessionToV163(sp))
			}
		}
		if rules != nil {
			if err := unstructured.SetNestedSlice(u, rules, "spec", "rules"); err != nil {
				return err
			}
		}
		var rt gatewayv1.HTTPRoute
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u, &rt); err != nil {
			return fmt.Errorf("HTTPRoute %s/%s: %w", items[i].GetNamespace(), items[i].GetName(), err)
		}
		in.HTTPRoutes = append(in.HTTPRoutes, rt)
	}
	return nil
}

// listTrafficPolicies reads the XBackendTrafficPolicies into in, as
// listHTTPRoutes does the routes.
func listTrafficPolicies(ctx context.Context, c client.Reader, in *routing.Input) error {
	items, err := listUnstructured(ctx, c, xv1alpha1.GroupVersion, "XBackendTrafficPolicy")
	if err != nil {
		return err
	}
	for i := range items {
		u := items[i].Object
		if sp, ok, _ := unstructured.NestedMap(u, "spec", "sessionPersistence"); ok {
			in.AddCookiePath(routing.PolicySessionRef(items[i].GetNamespace(), items[i].GetName()), sessionToV163(sp))
			if err := unstructured.SetNestedMap(u, sp, "spec", "sessionPersistence"); err != nil {
				return err
			}
		}
		var p xv1alpha1.XBackendTrafficPolicy
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u, &p); err != nil {
			return fmt.Errorf("XBackendTrafficPolicy %s/%s: %w", items[i].GetNamespace(), items[i].GetName(), err)
		}
		in.BackendTrafficPolicies = append(in.BackendTrafficPolicies, p)
	}
	return nil
}

// sessionToV163 rewrites a SessionPersistence of Gateway API v1.7.0 (cookie,
// header) in place into v1.6.3's shape (sessionName, cookieConfig) and
// returns the cookie path it held ("" when none). A v1.6.3 object is left
// as it is.
func sessionToV163(sp map[string]any) (cookiePath string) {
	if cookie, ok := sp["cookie"].(map[string]any); ok {
		if name, ok := cookie["name"].(string); ok {
			sp["sessionName"] = name
		}
		if lt, ok := cookie["lifetimeType"]; ok {
			sp["cookieConfig"] = map[string]any{"lifetimeType": lt}
		}
		cookiePath, _ = cookie["path"].(string)
		delete(sp, "cookie")
	}
	if header, ok := sp["header"].(map[string]any); ok {
		if name, ok := header["name"].(string); ok {
			sp["sessionName"] = name
		}
		delete(sp, "header")
	}
	return cookiePath
}
