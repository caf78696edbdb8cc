// Package manifests holds the reference mesh's install manifests, embedded
// so that `gammaconf mesh install` carries them, and the install names that
// the manifests, the controller (referenceimpl/controller) and the installer
// (harness/mesh) must agree on. The images are named by placeholders the
// installer replaces with the locally built, preloaded images (see
// harness/mesh). It imports nothing but the standard library, so both sides
// can import it without pulling in the other.
package manifests

import "embed"

// FS holds the manifests, applied in file-name order.
//
//go:embed *.yaml
var FS embed.FS

// Placeholders in the manifests.
const (
	ControllerImage = "__CONTROLLER_IMAGE__"
	ProxyImage      = "__PROXY_IMAGE__"
	// Choices is the controller's --choices value: reference or alternate.
	Choices = "__CHOICES__"
)

// Install names: the objects the manifests create, and the names the
// controller writes and the suites are told. TestInstallNames checks that
// the manifests use them.
const (
	// Namespace holds the control plane.
	Namespace = "gamma-system"
	// Controller names the control plane's Deployment, Service and
	// ServiceAccount.
	Controller = "gamma-controller"
	// CASecret holds the mesh CA in Namespace.
	CASecret = "gamma-ca"
	// WebhookConfig is the sidecar injector's MutatingWebhookConfiguration.
	WebhookConfig = "gamma-sidecar-injector"
	// MeshName is the XMesh object the controller creates.
	MeshName = "gamma-reference"
	// ControllerName is written into route status and the XMesh spec.
	ControllerName = "gamma-conformance.dev/reference-mesh"
	// InjectLabelKey=InjectLabelValue on a namespace enrolls it: its pods
	// get the sidecar.
	InjectLabelKey   = "mesh.gamma-conformance.dev/inject"
	InjectLabelValue = "enabled"
	// InjectLabel is the enrolling label as key=value, the form the
	// suites' --namespace-labels takes.
	InjectLabel = InjectLabelKey + "=" + InjectLabelValue
)
