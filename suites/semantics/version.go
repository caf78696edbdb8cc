package semantics

import (
	"fmt"

	"golang.org/x/mod/semver"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	xv1alpha1 "sigs.k8s.io/gateway-api/apisx/v1alpha1"

	"gamma-conformance/reportgen/results"
)

// The suite runs against the CRDs of Gateway API v1.6.3 or v1.7.0, and is
// built with v1.6.3's Go types. Where a field the specs set differs between
// the releases, the object is built for the installed release before it is
// created, so the API server never prunes a field the spec relies on:
//
//   - SessionPersistence (HTTPRoute rules, XBackendTrafficPolicy): v1.7.0
//     replaced sessionName and cookieConfig{lifetimeType} with
//     cookie{name, path, lifetimeType} and header{name}, and requires cookie
//     for type Cookie and header for type Header.
//
// A spec that needs a field only a newer release has declares that release
// (Spec.since); on older CRDs it is not supported, with the reason.

// v17 is the first release with v1.7.0's field names.
const v17 = "v1.7.0"

// atLeast reports whether the installed release (e.g. "v1.7.0") is at least
// release; an unknown installed release counts as v1.6.3's shape.
func atLeast(installed, release string) bool {
	return semver.IsValid(installed) && semver.Compare(semver.MajorMinor(installed), semver.MajorMinor(release)) >= 0
}

// notInRelease says why a spec cannot run on the installed release ("" when
// it can).
func notInRelease(sp Spec, installed string) string {
	if sp.since == "" || atLeast(installed, sp.since) {
		return ""
	}
	shown := installed
	if shown == "" {
		shown = "unknown"
	}
	return fmt.Sprintf("%s%s or later (installed: %s)", results.NotInReleasePrefix, sp.since, shown)
}

// forRelease returns o as the installed release's CRDs expect it: o itself
// when nothing differs, else an unstructured copy.
func forRelease(o client.Object, installed string) (client.Object, error) {
	if !atLeast(installed, v17) || !hasSession(o) {
		return o, nil
	}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{Object: m}
	switch o.(type) {
	case *gatewayv1.HTTPRoute:
		u.SetAPIVersion(gatewayv1.GroupVersion.String())
		u.SetKind("HTTPRoute")
		rules, _, _ := unstructured.NestedSlice(m, "spec", "rules")
		for _, r := range rules {
			if sp, ok := r.(map[string]any)["sessionPersistence"].(map[string]any); ok {
				sessionToV17(sp)
			}
		}
		err = unstructured.SetNestedSlice(m, rules, "spec", "rules")
	case *xv1alpha1.XBackendTrafficPolicy:
		u.SetAPIVersion(xv1alpha1.GroupVersion.String())
		u.SetKind("XBackendTrafficPolicy")
		sp, _, _ := unstructured.NestedMap(m, "spec", "sessionPersistence")
		sessionToV17(sp)
		err = unstructured.SetNestedMap(m, sp, "spec", "sessionPersistence")
	}
	return u, err
}

// hasSession reports whether o sets a SessionPersistence.
func hasSession(o client.Object) bool {
	switch o := o.(type) {
	case *gatewayv1.HTTPRoute:
		for _, r := range o.Spec.Rules {
			if r.SessionPersistence != nil {
				return true
			}
		}
	case *xv1alpha1.XBackendTrafficPolicy:
		return o.Spec.SessionPersistence != nil
	}
	return false
}

// sessionToV17 rewrites a v1.6.3 SessionPersistence in place into v1.7.0's
// shape: sessionName and cookieConfig.lifetimeType move into cookie (type
// Cookie, the default) or header (type Header).
func sessionToV17(sp map[string]any) {
	name, hasName := sp["sessionName"]
	delete(sp, "sessionName")
	if t, _ := sp["type"].(string); t == string(gatewayv1.HeaderBasedSessionPersistence) {
		if hasName {
			sp["header"] = map[string]any{"name": name}
		}
		return
	}
	cookie := map[string]any{}
	if hasName {
		cookie["name"] = name
	}
	if cc, ok := sp["cookieConfig"].(map[string]any); ok {
		if lt, ok := cc["lifetimeType"]; ok {
			cookie["lifetimeType"] = lt
		}
		delete(sp, "cookieConfig")
	}
	sp["cookie"] = cookie
}

// create creates o as the installed release expects it and reads it back
// into o (uid, resource version, creation time, defaults).
func (s *S) create(o client.Object) error {
	obj, err := forRelease(o, s.r.gatewayAPI)
	if err != nil {
		return fmt.Errorf("%T %s/%s for Gateway API %s: %w", o, o.GetNamespace(), o.GetName(), s.r.gatewayAPI, err)
	}
	if err := s.c.Client.Create(s.ctx, obj); err != nil || obj == o {
		return err
	}
	return s.c.Client.Get(s.ctx, client.ObjectKeyFromObject(o), o)
}
