// Package manifests holds the reference mesh's install manifests, embedded
// so that `gammaconf mesh install` carries them. The images are named by
// placeholders the installer replaces with the locally built, preloaded
// images (see harness/mesh).
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
