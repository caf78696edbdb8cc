package e2eprovider

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/e2e-framework/klient"
)

// controlPlaneTimeout bounds WaitForControlPlane.
const controlPlaneTimeout = 3 * time.Minute

// waitReady polls until controlPlaneReady holds or the timeout passes.
func waitReady(ctx context.Context, client klient.Client) error {
	ctx, cancel := context.WithTimeout(ctx, controlPlaneTimeout)
	defer cancel()
	for {
		err := controlPlaneReady(ctx, client)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the control plane is not ready after %s: %w (check `gammaconf cluster status` and the pods of kube-system)", controlPlaneTimeout, err)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// controlPlaneReady checks that there is a node, every node is Ready, and
// every kube-system pod that has not completed is Ready.
func controlPlaneReady(ctx context.Context, client klient.Client) error {
	var nodes corev1.NodeList
	if err := client.Resources().List(ctx, &nodes); err != nil {
		return fmt.Errorf("listing nodes: %w", err)
	}
	if len(nodes.Items) == 0 {
		return fmt.Errorf("the cluster has no node")
	}
	for _, n := range nodes.Items {
		if !nodeReady(&n) {
			return fmt.Errorf("node %s is not Ready", n.Name)
		}
	}
	var pods corev1.PodList
	if err := client.Resources("kube-system").List(ctx, &pods); err != nil {
		return fmt.Errorf("listing the pods of kube-system: %w", err)
	}
	for _, p := range pods.Items {
		if p.Status.Phase != corev1.PodSucceeded && !podReady(&p) {
			return fmt.Errorf("pod kube-system/%s is not Ready (%s)", p.Name, p.Status.Phase)
		}
	}
	return nil
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
