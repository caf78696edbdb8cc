package controller

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"gamma-conformance/referenceimpl/routing"
)

// routeKind knows how to list one route kind into the routing model's input
// and how to reach its status parents.
type routeKind struct {
	kind   string
	newObj func() client.Object
	list   func(ctx context.Context, c client.Reader, in *routing.Input) error
}

var allRouteKinds = []routeKind{{
	// HTTPRoutes are read unstructured: compat.go.
	kind:   routing.KindHTTPRoute,
	newObj: func() client.Object { return unstructuredOf(gatewayv1.GroupVersion, routing.KindHTTPRoute) },
	list:   listHTTPRoutes,
}, {
	kind:   routing.KindGRPCRoute,
	newObj: func() client.Object { return &gatewayv1.GRPCRoute{} },
	list: func(ctx context.Context, c client.Reader, in *routing.Input) error {
		var l gatewayv1.GRPCRouteList
		err := c.List(ctx, &l)
		in.GRPCRoutes = l.Items
		return err
	},
}, {
	kind:   routing.KindTCPRoute,
	newObj: func() client.Object { return &gatewayv1.TCPRoute{} },
	list: func(ctx context.Context, c client.Reader, in *routing.Input) error {
		var l gatewayv1.TCPRouteList
		err := c.List(ctx, &l)
		in.TCPRoutes = l.Items
		return err
	},
}, {
	kind:   routing.KindTLSRoute,
	newObj: func() client.Object { return &gatewayv1.TLSRoute{} },
	list: func(ctx context.Context, c client.Reader, in *routing.Input) error {
		var l gatewayv1.TLSRouteList
		err := c.List(ctx, &l)
		in.TLSRoutes = l.Items
		return err
	},
}}

// installedRouteKinds returns the route kinds whose CRD the API server
// serves at v1; a cluster with the standard channel only may lack some.
func installedRouteKinds(mapper meta.RESTMapper) ([]routeKind, error) {
	var out []routeKind
	for _, k := range allRouteKinds {
		_, err := mapper.RESTMapping(schema.GroupKind{Group: gatewayv1.GroupName, Kind: k.kind}, gatewayv1.GroupVersion.Version)
		switch {
		case err == nil:
			out = append(out, k)
		case meta.IsNoMatchError(err):
		default:
			return nil, fmt.Errorf("looking up %s: %w", k.kind, err)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no Gateway API route CRDs (gateway.networking.k8s.io/v1 HTTPRoute, GRPCRoute, TCPRoute, TLSRoute) are installed; install the Gateway API v1.6.3 CRDs first")
	}
	return out, nil
}

// statusParents returns a route's kind and its status.parents.
func statusParents(obj client.Object) (string, *[]gatewayv1.RouteParentStatus) {
	switch o := obj.(type) {
	case *gatewayv1.HTTPRoute:
		return routing.KindHTTPRoute, &o.Status.Parents
	case *gatewayv1.GRPCRoute:
		return routing.KindGRPCRoute, &o.Status.Parents
	case *gatewayv1.TCPRoute:
		return routing.KindTCPRoute, &o.Status.Parents
	default:
		return routing.KindTLSRoute, &obj.(*gatewayv1.TLSRoute).Status.Parents
	}
}
