package kube

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// SuiteLabel marks every namespace the semantics suite creates.
const SuiteLabel = "gamma-conformance/suite"

// App is one echo Deployment in one of a spec's namespaces, with a Service of
// the same name unless NoService is set. Pods are labelled app=<Name>, the
// container is named "echo", and pod names start with the Deployment name,
// so a response's Hostname tells which App answered.
type App struct {
	Namespace string // logical namespace key of the fixture
	Name      string
	// NoService: a client-only app.
	NoService bool
	// Headless makes the Service headless (clusterIP: None).
	Headless bool
	// NoEndpoints makes the Service select no pod.
	NoEndpoints bool
	// ServiceOnly creates the Service (selecting nothing) and no Deployment.
	ServiceOnly bool
}

// Fixture is what a spec needs before it starts: logical namespaces (each
// becomes a fresh namespace with a generated name) and apps in them.
type Fixture struct {
	Namespaces []string
	Apps       []App
}

// Ports of every echo Service: the upstream mesh fixture's, minus TLS.
var (
	PortHTTP    = int32(80)
	PortHTTPAlt = int32(8080)
	PortTCP     = int32(9090)
	PortGRPC    = int32(7070)
)

// Prepared is a fixture created in the cluster.
type Prepared struct {
	// NS maps logical namespace keys to real namespace names.
	NS map[string]string
	// Took is how long creating it and waiting for readiness took.
	Took time.Duration
}

// Prepare creates the fixture's namespaces, Deployments and Services and
// waits until every pod is Ready. prefix names the namespaces. On error
// the namespaces already created are returned so the caller can clean up.
func (c *Cluster) Prepare(ctx context.Context, prefix string, fx Fixture) (*Prepared, error) {
	start := time.Now()
	p := &Prepared{NS: map[string]string{}}
	for _, key := range fx.Namespaces {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
			GenerateName: prefix + "-" + key + "-",
			Labels:       map[string]string{SuiteLabel: "semantics"},
			Annotations:  map[string]string{},
		}}
		maps.Copy(ns.Labels, c.Options.NamespaceLabels)
		maps.Copy(ns.Annotations, c.Options.NamespaceAnnotations)
		if err := c.Client.Create(ctx, ns); err != nil {
			return p, fmt.Errorf("create namespace %s: %w", key, err)
		}
		p.NS[key] = ns.Name
	}
	for _, a := range fx.Apps {
		ns, ok := p.NS[a.Namespace]
		if !ok {
			return p, fmt.Errorf("app %s: fixture has no namespace %q", a.Name, a.Namespace)
		}
		for _, obj := range c.appObjects(ns, a) {
			if err := c.Client.Create(ctx, obj); err != nil {
				return p, fmt.Errorf("create %T %s/%s: %w", obj, ns, obj.GetName(), err)
			}
		}
	}
	if err := c.waitReady(ctx, p); err != nil {
		return p, err
	}
	p.Took = time.Since(start)
	return p, nil
}

func (c *Cluster) appObjects(ns string, a App) []client.Object {
	var objs []client.Object
	if !a.NoService {
		objs = append(objs, ServiceOf(ns, a.Name, a))
	}
	if a.ServiceOnly {
		return objs
	}
	return append(objs, c.deployment(ns, a))
}

// ServiceOf is a Service named name in namespace ns for app a: it selects
// a's pods (label app=<a.Name>), or none when a has NoEndpoints or
// ServiceOnly, and is headless when a is. Several Services may select the
// pods of one app: a response's Hostname still names the app.
func ServiceOf(ns, name string, a App) *corev1.Service {
	selector := map[string]string{"app": a.Name}
	if a.NoEndpoints || a.ServiceOnly {
		selector = map[string]string{"app": a.Name + "-nothing"}
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: corev1.ServiceSpec{Selector: selector, Ports: []corev1.ServicePort{
			{Name: "http", Port: PortHTTP, TargetPort: intstr.FromInt32(8080), AppProtocol: ptr.To("http")},
			{Name: "http-alt", Port: PortHTTPAlt, AppProtocol: ptr.To("http")},
			{Name: "tcp", Port: PortTCP},
			{Name: "grpc", Port: PortGRPC, AppProtocol: ptr.To("kubernetes.io/h2c")},
		}},
	}
	if a.Headless {
		svc.Spec.ClusterIP = corev1.ClusterIPNone
	}
	return svc
}

// deployment is the echo Deployment of app a (one replica).
func (c *Cluster) deployment(ns string, a App) *appsv1.Deployment {
	labels := map[string]string{"app": a.Name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: a.Name, Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(int32(1)),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					TerminationGracePeriodSeconds: ptr.To(int64(0)),
					Containers: []corev1.Container{{
						Name:            "echo",
						Image:           c.Options.EchoImage,
						ImagePullPolicy: corev1.PullIfNotPresent,
						Args:            []string{"--tcp=9090", "--port=8080", "--grpc=7070"},
						Env: []corev1.EnvVar{
							{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
							{Name: "NAMESPACE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}},
						},
					}},
				},
			},
		},
	}
}

// WaitEndpoints waits until every Service of svcs that selects pods has a
// ready endpoint in its EndpointSlices, so traffic to a Service created
// beside running pods starts once Kubernetes itself would deliver it.
func (c *Cluster) WaitEndpoints(ctx context.Context, svcs ...*corev1.Service) error {
	var last string
	err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, c.Options.ReadyTimeout, true, func(ctx context.Context) (bool, error) {
		for _, svc := range svcs {
			if svc.Spec.ClusterIP == corev1.ClusterIPNone || strings.HasSuffix(svc.Spec.Selector["app"], "-nothing") {
				continue
			}
			var list discoveryv1.EndpointSliceList
			if err := c.Client.List(ctx, &list, client.InNamespace(svc.Namespace), client.MatchingLabels{discoveryv1.LabelServiceName: svc.Name}); err != nil {
				last = err.Error()
				return false, nil
			}
			if !hasReadyEndpoint(list.Items) {
				last = fmt.Sprintf("service %s/%s has no ready endpoint", svc.Namespace, svc.Name)
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("endpoints not ready after %v: %s", c.Options.ReadyTimeout, last)
	}
	return nil
}

func hasReadyEndpoint(list []discoveryv1.EndpointSlice) bool {
	for _, s := range list {
		for _, e := range s.Endpoints {
			if ptr.Deref(e.Conditions.Ready, false) {
				return true
			}
		}
	}
	return false
}

// waitReady waits until every Deployment of the prepared namespaces has all
// its replicas Ready (every container, sidecars included).
func (c *Cluster) waitReady(ctx context.Context, p *Prepared) error {
	var last string
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, c.Options.ReadyTimeout, true, func(ctx context.Context) (bool, error) {
		for _, ns := range p.NS {
			var deps appsv1.DeploymentList
			if err := c.Client.List(ctx, &deps, client.InNamespace(ns)); err != nil {
				last = err.Error()
				return false, nil
			}
			for _, d := range deps.Items {
				if d.Status.ReadyReplicas < ptr.Deref(d.Spec.Replicas, 1) || d.Status.ObservedGeneration < d.Generation {
					last = fmt.Sprintf("deployment %s/%s has %d/%d ready replicas", ns, d.Name, d.Status.ReadyReplicas, ptr.Deref(d.Spec.Replicas, 1))
					return false, nil
				}
			}
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("pods not ready after %v: %s (fix: check the echo image is preloaded and the mesh's injection works; see the dump)", c.Options.ReadyTimeout, last)
	}
	return nil
}

// Delete removes the namespaces (and everything in them) without waiting.
func (c *Cluster) Delete(ctx context.Context, p *Prepared) error {
	var names []string
	for _, ns := range p.NS {
		names = append(names, ns)
	}
	sort.Strings(names)
	for _, ns := range names {
		err := c.Client.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete namespace %s: %w", ns, err)
		}
	}
	return nil
}

// WaitSuiteNamespacesGone waits until no namespace of an earlier run of the
// suite (label SuiteLabel) is terminating, so a run does not start its pods
// beside another run's stopping ones. It returns how long it waited.
func (c *Cluster) WaitSuiteNamespacesGone(ctx context.Context, timeout time.Duration) (time.Duration, error) {
	start := time.Now()
	var busy string
	err := wait.PollUntilContextTimeout(ctx, time.Second, timeout, true, func(ctx context.Context) (bool, error) {
		var list corev1.NamespaceList
		if err := c.Client.List(ctx, &list, client.HasLabels{SuiteLabel}); err != nil {
			busy = err.Error()
			return false, nil
		}
		for _, ns := range list.Items {
			if ns.DeletionTimestamp != nil {
				busy = ns.Name
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return time.Since(start), fmt.Errorf("namespace %s of an earlier run is still terminating after %v (fix: wait for it, or see its events and finalizers)", busy, timeout)
	}
	return time.Since(start), nil
}

// WaitNotTerminating waits until none of the namespaces is being deleted
// (a previous run's cleanup), so they can be created again.
func (c *Cluster) WaitNotTerminating(ctx context.Context, timeout time.Duration, names ...string) error {
	var busy string
	err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		for _, n := range names {
			ns := &corev1.Namespace{}
			err := c.Client.Get(ctx, client.ObjectKey{Name: n}, ns)
			if err == nil && ns.DeletionTimestamp != nil {
				busy = n
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("namespace %s is still terminating after %v (a previous run's cleanup; fix: wait for it or remove its finalizers)", busy, timeout)
	}
	return nil
}

// Pods is how many pods the fixture runs.
func (fx Fixture) Pods() int {
	n := 0
	for _, a := range fx.Apps {
		if !a.ServiceOnly {
			n++
		}
	}
	return n
}

// FreePods is how many more pods the cluster admits: the allocatable pods
// of its schedulable nodes minus the pods that are not finished.
func (c *Cluster) FreePods(ctx context.Context) (int, error) {
	var nodes corev1.NodeList
	if err := c.Client.List(ctx, &nodes); err != nil {
		return 0, err
	}
	capacity := 0
	for _, n := range nodes.Items {
		if n.Spec.Unschedulable || slices.ContainsFunc(n.Spec.Taints, func(t corev1.Taint) bool { return t.Effect == corev1.TaintEffectNoSchedule }) {
			continue
		}
		capacity += int(n.Status.Allocatable.Pods().Value())
	}
	var pods corev1.PodList
	if err := c.Client.List(ctx, &pods); err != nil {
		return 0, err
	}
	used := 0
	for _, p := range pods.Items {
		if p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
			used++
		}
	}
	return capacity - used, nil
}

// DeleteNamespace deletes a namespace; one that does not exist is no error.
func (c *Cluster) DeleteNamespace(ctx context.Context, name string) error {
	err := c.Client.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete namespace %s: %w", name, err)
	}
	return nil
}
