// Package dump writes what a person needs to debug a failed semantics spec
// into the run's output folder: the routes with their status, the proxy
// configuration of every pod that serves 127.0.0.1:15000/config_dump (the
// reference mesh's admin endpoint), every container's log, and the events of
// the namespaces the spec used (shared with other specs: their pods' logs
// hold the other specs' requests too).
package dump

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/yaml"

	"gamma-conformance/suites/internal/kube"
)

// ConfigDumpURL is the admin endpoint a sidecar may serve on the pod's
// loopback.
const ConfigDumpURL = "http://127.0.0.1:15000/config_dump"

// Namespaces dumps each namespace into dir/<namespace>/ and returns the
// errors met (a dump is best effort: one failure does not stop the rest).
func Namespaces(ctx context.Context, c *kube.Cluster, dir string, namespaces []string) error {
	var errs []error
	for _, ns := range namespaces {
		if err := namespace(ctx, c, filepath.Join(dir, ns), ns); err != nil {
			errs = append(errs, fmt.Errorf("namespace %s: %w", ns, err))
		}
	}
	return errors.Join(errs...)
}

func namespace(ctx context.Context, c *kube.Cluster, dir, ns string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var errs []error
	lists := map[string]client.ObjectList{
		"httproutes.yaml": &gatewayv1.HTTPRouteList{},
		"grpcroutes.yaml": &gatewayv1.GRPCRouteList{},
		"tcproutes.yaml":  &gatewayv1.TCPRouteList{},
		"services.yaml":   &corev1.ServiceList{},
		"pods.yaml":       &corev1.PodList{},
		"events.yaml":     &corev1.EventList{},
	}
	for file, list := range lists {
		if err := c.Client.List(ctx, list, client.InNamespace(ns)); err != nil {
			errs = append(errs, fmt.Errorf("list for %s: %w", file, err))
			continue
		}
		errs = append(errs, writeYAML(filepath.Join(dir, file), list))
	}
	pods := lists["pods.yaml"].(*corev1.PodList)
	for _, p := range pods.Items {
		errs = append(errs, pod(ctx, c, dir, p))
	}
	return errors.Join(errs...)
}

func pod(ctx context.Context, c *kube.Cluster, dir string, p corev1.Pod) error {
	var errs []error
	containers := append(append([]corev1.Container{}, p.Spec.InitContainers...), p.Spec.Containers...)
	for _, ct := range containers {
		raw, err := c.Clientset.CoreV1().Pods(p.Namespace).GetLogs(p.Name, &corev1.PodLogOptions{Container: ct.Name}).DoRaw(ctx)
		if err != nil {
			raw = []byte("cannot read log: " + err.Error() + "\n")
		}
		errs = append(errs, os.WriteFile(filepath.Join(dir, p.Name+"."+ct.Name+".log"), raw, 0o644))
	}
	if cfg, ok := configDump(ctx, c, p); ok {
		errs = append(errs, os.WriteFile(filepath.Join(dir, p.Name+".config_dump.json"), []byte(cfg), 0o644))
	}
	return errors.Join(errs...)
}

// configDump fetches a sidecar's config dump from the pod's loopback,
// exec'ing the echo client in the pod's "echo" container (containers of a pod
// share its loopback, and proxy images often have no HTTP client). ok is
// false when the pod has no echo container or nothing serves the endpoint.
func configDump(ctx context.Context, c *kube.Cluster, p corev1.Pod) (string, bool) {
	hasEcho := false
	for _, ct := range p.Spec.Containers {
		hasEcho = hasEcho || ct.Name == "echo"
	}
	if !hasEcho || p.Status.Phase != corev1.PodRunning {
		return "", false
	}
	stdout, _, err := c.Exec(ctx, kube.Pod{Namespace: p.Namespace, Name: p.Name}, "echo", []string{"client", ConfigDumpURL})
	if err != nil {
		return "", false
	}
	var body []string
	for line := range strings.SplitSeq(stdout, "\n") {
		if _, rest, ok := strings.Cut(line, "body] "); ok {
			body = append(body, rest)
		}
	}
	return strings.Join(body, "\n") + "\n", true
}

func writeYAML(path string, obj any) error {
	data, err := yaml.Marshal(obj)
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}
