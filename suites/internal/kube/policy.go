package kube

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	xv1alpha1 "sigs.k8s.io/gateway-api/apisx/v1alpha1"
)

// LogLines counts the lines containing substr in the logs of the "echo"
// container of every pod of app in namespace ns, over the last since (0:
// the whole log; rounded up to seconds, measured by the node's clock): the
// echo server logs one line per request it receives ("HTTP/1.1 Request ...
// url=<path?query>"), which tells how many requests reached the backend,
// whatever the mesh.
func (c *Cluster) LogLines(ctx context.Context, ns, app, substr string, since time.Duration) (int, error) {
	var pods corev1.PodList
	if err := c.Client.List(ctx, &pods, client.InNamespace(ns), client.MatchingLabels{"app": app}); err != nil {
		return 0, err
	}
	n := 0
	for _, p := range pods.Items {
		opts := &corev1.PodLogOptions{Container: "echo"}
		if since > 0 {
			opts.SinceSeconds = ptr.To(int64(math.Ceil(since.Seconds())))
		}
		b, err := c.Clientset.CoreV1().Pods(ns).GetLogs(p.Name, opts).DoRaw(ctx)
		if err != nil {
			return 0, fmt.Errorf("logs of %s/%s: %w", ns, p.Name, err)
		}
		for line := range strings.SplitSeq(string(b), "\n") {
			if strings.Contains(line, substr) {
				n++
			}
		}
	}
	return n, nil
}

// PolicyHas returns nil once some ancestor entry of the policy (from the
// configured policy controller, or any) satisfies every want. Which ancestor a mesh
// reports (the Service, its XMesh, ...) is the mesh's choice.
func (c *Cluster) PolicyHas(ctx context.Context, p *xv1alpha1.XBackendTrafficPolicy, wants ...Want) error {
	if err := c.Client.Get(ctx, client.ObjectKeyFromObject(p), p); err != nil {
		return err
	}
	var entries []gatewayv1.RouteParentStatus
	for _, a := range p.Status.Ancestors {
		if c.Options.PolicyControllerName != "" && string(a.ControllerName) != c.Options.PolicyControllerName {
			continue
		}
		entries = append(entries, gatewayv1.RouteParentStatus{ParentRef: a.AncestorRef, ControllerName: a.ControllerName, Conditions: a.Conditions})
	}
	return Check(entries, wants...)
}
