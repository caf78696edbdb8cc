package controller

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crcontroller "sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	xv1alpha1 "sigs.k8s.io/gateway-api/apisx/v1alpha1"

	"gamma-conformance/referenceimpl/routing"
)

// meshKey is the one work item: any change recompiles the whole mesh. The
// work queue folds a burst of changes into one compile.
var meshKey = reconcile.Request{NamespacedName: types.NamespacedName{Name: "mesh"}}

// meshReconciler compiles the cluster state, publishes the tables and
// writes route status.
type meshReconciler struct {
	client     client.Client
	controller gatewayv1.GatewayController
	kinds      []routeKind
	// policies: the XBackendTrafficPolicy CRD is installed (experimental
	// channel); without it the mesh runs with no policies.
	policies bool
	// grants: ReferenceGrants are read (the choices need them for
	// cross-namespace backendRefs and the CRD is installed).
	grants  bool
	choices routing.Choices
	pub     *Publisher
}

func (r *meshReconciler) setup(mgr ctrl.Manager) error {
	all := handler.EnqueueRequestsFromMapFunc(func(context.Context, client.Object) []reconcile.Request {
		return []reconcile.Request{meshKey}
	})
	// One "mesh" controller per manager; a process (the tests) may run the
	// control plane more than once, which the global name check forbids.
	b := ctrl.NewControllerManagedBy(mgr).Named("mesh").WithOptions(crcontroller.Options{SkipNameValidation: ptr.To(true)}).
		Watches(&corev1.Service{}, all).
		Watches(&discoveryv1.EndpointSlice{}, all)
	for _, k := range r.kinds {
		b = b.Watches(k.newObj(), all)
	}
	if r.policies {
		b = b.Watches(unstructuredOf(xv1alpha1.GroupVersion, "XBackendTrafficPolicy"), all)
	}
	if r.grants {
		b = b.Watches(&gatewayv1.ReferenceGrant{}, all)
	}
	return b.Complete(r)
}

func (r *meshReconciler) Reconcile(ctx context.Context, _ reconcile.Request) (reconcile.Result, error) {
	start := time.Now()
	in := routing.Input{ControllerName: r.controller, Choices: r.choices}
	var svcs corev1.ServiceList
	if err := r.client.List(ctx, &svcs); err != nil {
		return reconcile.Result{}, err
	}
	in.Services = svcs.Items
	var slices discoveryv1.EndpointSliceList
	if err := r.client.List(ctx, &slices); err != nil {
		return reconcile.Result{}, err
	}
	in.EndpointSlices = slices.Items
	for _, k := range r.kinds {
		if err := k.list(ctx, r.client, &in); err != nil {
			return reconcile.Result{}, err
		}
	}
	if r.policies {
		if err := listTrafficPolicies(ctx, r.client, &in); err != nil {
			return reconcile.Result{}, err
		}
	}
	if r.grants {
		var l gatewayv1.ReferenceGrantList
		if err := r.client.List(ctx, &l); err != nil {
			return reconcile.Result{}, err
		}
		in.ReferenceGrants = l.Items
	}
	out := routing.Compile(in)
	changed := r.pub.Publish(out.Tables)
	err := errors.Join(r.writeStatuses(ctx, &in, out.Statuses), r.writePolicyStatuses(ctx, &in, out.PolicyStatuses))
	snap, _ := r.pub.Current()
	log.FromContext(ctx).V(1).Info("compiled", "tables", len(out.Tables), "changed", changed, "version", snap.Version, "took", time.Since(start))
	return reconcile.Result{}, err
}

// writeStatuses writes every route's parent statuses, and removes ours from
// routes that no longer have a Service parent. The routes are the ones just
// compiled (the client hands out copies, so they may be modified).
func (r *meshReconciler) writeStatuses(ctx context.Context, in *routing.Input, statuses []routing.RouteStatus) error {
	want := map[string]routing.RouteStatus{}
	for _, s := range statuses {
		want[s.Kind+"/"+s.Namespace+"/"+s.Name] = s
	}
	now := metav1.Now()
	var errs []error
	for _, obj := range routeObjects(in) {
		kind, parents := statusParents(obj)
		st := want[kind+"/"+obj.GetNamespace()+"/"+obj.GetName()]
		merged, changed := mergeParents(*parents, st.Parents, r.controller, now)
		if !changed {
			continue
		}
		*parents = merged
		if err := r.client.Status().Update(ctx, obj); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("status of %s %s/%s: %w", kind, obj.GetNamespace(), obj.GetName(), err))
		}
	}
	return errors.Join(errs...)
}

func routeObjects(in *routing.Input) []client.Object {
	var out []client.Object
	for i := range in.HTTPRoutes {
		out = append(out, &in.HTTPRoutes[i])
	}
	for i := range in.GRPCRoutes {
		out = append(out, &in.GRPCRoutes[i])
	}
	for i := range in.TCPRoutes {
		out = append(out, &in.TCPRoutes[i])
	}
	for i := range in.TLSRoutes {
		out = append(out, &in.TLSRoutes[i])
	}
	return out
}
