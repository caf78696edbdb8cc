package mesh

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// The echo image the upstream mesh suite uses; the harness preloads it.
const echoImage = "registry.k8s.io/gateway-api/echo-advanced:v1.5.1"

// BenchmarkControllerRestart measures the control plane's fault tolerance
// on the cluster `make bench` brings up, with the reference mesh installed:
//
//   - controller_restart_failed_requests: requests that failed during a
//     60 s stream (10 rps, from a meshed client through a routed Service)
//     while the controller pod was deleted and came back (target 0);
//   - route_change_p50_ms, route_change_p99_ms: from updating an HTTPRoute
//     to the client's proxy holding the new table, over 20 changes after
//     the controller came back (target p99 < 1000 ms).
func BenchmarkControllerRestart(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	_, cfg := setup(ctx, b)
	cl, err := client.New(cfg, client.Options{})
	if err != nil {
		b.Fatal(err)
	}
	if err := gatewayv1.Install(cl.Scheme()); err != nil {
		b.Fatal(err)
	}
	cs := kubernetes.NewForConfigOrDie(cfg)
	const ns = "gamma-bench-restart"
	if err := deployBenchApp(ctx, cl, ns); err != nil {
		b.Fatal(err)
	}
	defer cl.Delete(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	if err := waitPodsReady(ctx, cl, ns, 2); err != nil {
		b.Fatal(err)
	}
	port, stop, err := forward(cfg, cs, ns, "client", 15000)
	if err != nil {
		b.Fatal(err)
	}
	defer stop()
	dumpHas := func(s string) bool {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/config_dump", port))
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return strings.Contains(string(body), s)
	}
	if err := pollUntil(ctx, time.Minute, func() bool { return dumpHas(`"v0"`) }); err != nil {
		b.Fatalf("the client's proxy never got the route: %v", err)
	}

	b.ResetTimer()
	// 60 s of requests; the controller pod is deleted 10 s in.
	const requests = 600
	type result struct {
		out string
		err error
	}
	done := make(chan result, 1)
	go func() {
		out, err := execIn(ctx, cfg, cs, ns, "client", "echo", "client", "http://echo/", fmt.Sprintf("--count=%d", requests), "--qps=10", "--timeout=90s")
		done <- result{out, err}
	}()
	time.Sleep(10 * time.Second)
	old, err := controllerPods(ctx, cl)
	if err != nil || len(old) == 0 {
		b.Fatalf("no controller pod to delete: %v", err)
	}
	if err := cl.DeleteAllOf(ctx, &corev1.Pod{}, client.InNamespace(Namespace), client.MatchingLabels{"app": "gamma-controller"}); err != nil {
		b.Fatal(err)
	}
	restartBegin := time.Now()
	if err := pollUntil(ctx, 2*time.Minute, func() bool {
		pods, err := controllerPods(ctx, cl)
		return err == nil && len(pods) > 0 && !slices.Contains(old, pods[0])
	}); err != nil {
		b.Fatalf("the controller did not come back: %v", err)
	}
	b.Logf("controller back after %.1fs", time.Since(restartBegin).Seconds())
	r := <-done
	ok := strings.Count(r.out, "StatusCode=200")
	if r.err != nil {
		b.Logf("request stream: %v; last output: %q", r.err, tail(r.out, 400))
	}
	b.ReportMetric(float64(requests-ok), "controller_restart_failed_requests")

	// 20 route changes after the controller came back.
	var lat []float64
	for i := 1; i <= 20; i++ {
		want := fmt.Sprintf("v%d", i)
		if err := setRouteVersion(ctx, cl, ns, want); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if err := pollUntil(ctx, 30*time.Second, func() bool { return dumpHas(`"` + want + `"`) }); err != nil {
			b.Fatalf("change %d never reached the proxy: %v", i, err)
		}
		lat = append(lat, float64(time.Since(start).Microseconds())/1000)
	}
	slices.Sort(lat)
	b.ReportMetric(lat[len(lat)/2], "route_change_p50_ms")
	b.ReportMetric(lat[len(lat)-1], "route_change_p99_ms") // nearest rank of 20: the largest
}

// controllerPods returns the UIDs of the Ready controller pods.
func controllerPods(ctx context.Context, cl client.Client) ([]string, error) {
	var pods corev1.PodList
	if err := cl.List(ctx, &pods, client.InNamespace(Namespace), client.MatchingLabels{"app": "gamma-controller"}); err != nil {
		return nil, err
	}
	var uids []string
	for _, p := range pods.Items {
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue && p.DeletionTimestamp == nil {
				uids = append(uids, string(p.UID))
			}
		}
	}
	return uids, nil
}

func pollUntil(ctx context.Context, timeout time.Duration, ok func() bool) error {
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			return fmt.Errorf("not after %s", timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	return nil
}

// deployBenchApp makes an enrolled namespace with an echo Deployment, its
// Service, a client pod and a route that stamps a version header.
func deployBenchApp(ctx context.Context, cl client.Client, ns string) error {
	labels := map[string]string{"app": "echo"}
	objs := []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{"mesh.gamma-conformance.dev/inject": "enabled"}}},
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "echo"}, Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{Containers: []corev1.Container{{
				Name: "echo", Image: echoImage, ImagePullPolicy: corev1.PullIfNotPresent, Args: []string{"--port=8080"},
			}}}},
		}},
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "echo"}, Spec: corev1.ServiceSpec{Selector: labels,
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080), AppProtocol: ptr.To("http")}}}},
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "client", Labels: map[string]string{"app": "client"}}, Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "echo", Image: echoImage, ImagePullPolicy: corev1.PullIfNotPresent}},
		}},
		benchRoute(ns, "v0"),
	}
	for _, o := range objs {
		if err := cl.Create(ctx, o); err != nil {
			return fmt.Errorf("creating %s: %w", o.GetName(), err)
		}
	}
	return nil
}

func benchRoute(ns, version string) *gatewayv1.HTTPRoute {
	return &gatewayv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "bench"}, Spec: gatewayv1.HTTPRouteSpec{
		CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{{
			Group: ptr.To(gatewayv1.Group("")), Kind: ptr.To(gatewayv1.Kind("Service")), Name: "echo", Port: ptr.To[int32](80)}}},
		Rules: []gatewayv1.HTTPRouteRule{{
			Filters: []gatewayv1.HTTPRouteFilter{{Type: gatewayv1.HTTPRouteFilterResponseHeaderModifier,
				ResponseHeaderModifier: &gatewayv1.HTTPHeaderFilter{Set: []gatewayv1.HTTPHeader{{Name: "X-Route-Version", Value: version}}}}},
			BackendRefs: []gatewayv1.HTTPBackendRef{{BackendRef: gatewayv1.BackendRef{BackendObjectReference: gatewayv1.BackendObjectReference{
				Name: "echo", Port: ptr.To[int32](80)}}}},
		}},
	}}
}

// setRouteVersion updates the route, retrying when the mesh's status
// write got there first.
func setRouteVersion(ctx context.Context, cl client.Client, ns, version string) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var r gatewayv1.HTTPRoute
		if err := cl.Get(ctx, client.ObjectKey{Namespace: ns, Name: "bench"}, &r); err != nil {
			return err
		}
		r.Spec = benchRoute(ns, version).Spec
		return cl.Update(ctx, &r)
	})
}

func waitPodsReady(ctx context.Context, cl client.Client, ns string, want int) error {
	return pollUntil(ctx, 3*time.Minute, func() bool {
		var pods corev1.PodList
		if cl.List(ctx, &pods, client.InNamespace(ns)) != nil {
			return false
		}
		ready := 0
		for _, p := range pods.Items {
			for _, c := range p.Status.Conditions {
				if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
					ready++
				}
			}
		}
		return ready >= want
	})
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
