package controller

import (
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"gamma-conformance/manifests"
)

// Names the injector uses in pods.
const (
	// InjectLabel enrolls a namespace: its pods get the sidecar. The suites
	// pass it with --namespace-labels.
	InjectLabel = manifests.InjectLabelKey
	// InjectLabelValue is the value InjectLabel must have.
	InjectLabelValue = manifests.InjectLabelValue
	// InjectAnnotation set to "false" on a pod keeps it out of the mesh.
	InjectAnnotation = "mesh.gamma-conformance.dev/inject"

	initContainerName  = "gamma-init"
	proxyContainerName = "gamma-proxy"
	tokenVolumeName    = "gamma-token"
	tokenDir           = "/var/run/secrets/gamma"

	proxyUID     = 1337
	outboundPort = 15001
	readyPort    = 15021
)

// InjectConfig is what the injector puts into a pod.
type InjectConfig struct {
	ProxyImage string
	// ControlPlane is the https URL of the config stream server.
	ControlPlane string
	// CAPEM is the control plane's CA, given to the proxy in an env var.
	CAPEM string
}

// inject adds the interception init container and the proxy sidecar to a
// pod. It returns false, leaving the pod alone, when the pod already has
// them, runs in the host's network namespace (its rules would capture the
// node's traffic), or opts out with InjectAnnotation=false.
func inject(pod *corev1.Pod, cfg InjectConfig) bool {
	if pod.Spec.HostNetwork || pod.Annotations[InjectAnnotation] == "false" {
		return false
	}
	for _, c := range append(append([]corev1.Container{}, pod.Spec.InitContainers...), pod.Spec.Containers...) {
		if c.Name == proxyContainerName || c.Name == initContainerName {
			return false
		}
	}
	initC := corev1.Container{
		Name:            initContainerName,
		Image:           cfg.ProxyImage,
		ImagePullPolicy: corev1.PullNever,
		Args:            []string{"init", "--proxy-port=" + strconv.Itoa(outboundPort), "--proxy-uid=" + strconv.Itoa(proxyUID)},
		SecurityContext: &corev1.SecurityContext{
			RunAsUser:                ptr.To[int64](0),
			RunAsNonRoot:             ptr.To(false),
			AllowPrivilegeEscalation: ptr.To(false),
			Capabilities:             &corev1.Capabilities{Add: []corev1.Capability{"NET_ADMIN"}, Drop: []corev1.Capability{"ALL"}},
		},
	}
	probe := &corev1.Probe{
		ProbeHandler:     corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/ready", Port: intstr.FromInt32(readyPort)}},
		PeriodSeconds:    1,
		FailureThreshold: 120,
	}
	// A native sidecar (an init container that keeps running): the kubelet
	// starts the app containers only after its startup probe passes, so
	// the app's first request already meets a configured proxy.
	sidecar := corev1.Container{
		Name:            proxyContainerName,
		Image:           cfg.ProxyImage,
		ImagePullPolicy: corev1.PullNever,
		Args:            []string{"run"},
		RestartPolicy:   ptr.To(corev1.ContainerRestartPolicyAlways),
		Env: []corev1.EnvVar{
			{Name: "POD_NAMESPACE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}},
			{Name: "GAMMA_CONTROL_PLANE", Value: cfg.ControlPlane},
			{Name: "GAMMA_CA_PEM", Value: cfg.CAPEM},
			{Name: "GAMMA_TOKEN_FILE", Value: tokenDir + "/token"},
		},
		Ports:          []corev1.ContainerPort{{Name: "gamma-ready", ContainerPort: readyPort}},
		StartupProbe:   probe,
		ReadinessProbe: &corev1.Probe{ProbeHandler: probe.ProbeHandler, PeriodSeconds: 5},
		SecurityContext: &corev1.SecurityContext{
			RunAsUser:                ptr.To[int64](proxyUID),
			RunAsGroup:               ptr.To[int64](proxyUID),
			RunAsNonRoot:             ptr.To(true),
			AllowPrivilegeEscalation: ptr.To(false),
			ReadOnlyRootFilesystem:   ptr.To(true),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		},
		VolumeMounts: []corev1.VolumeMount{{Name: tokenVolumeName, MountPath: tokenDir, ReadOnly: true}},
	}
	pod.Spec.InitContainers = append([]corev1.Container{initC, sidecar}, pod.Spec.InitContainers...)
	pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{
		Name: tokenVolumeName,
		VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{{
			ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Audience: TokenAudience, ExpirationSeconds: ptr.To[int64](3600), Path: "token"},
		}}}},
	})
	return true
}
