// Package gatewayapi names the Gateway API releases the harness runs and
// what differs between them: which Go module of this repository requires
// the release (and so supplies its CRDs and its upstream mesh tests), the Go
// toolchain that module needs, the echo image of the upstream mesh fixture,
// and how many upstream mesh tests the release has.
//
// The root module requires v1.6.3 and builds with the machine's Go 1.26;
// v1.7.0 needs Go 1.27, so its upstream runner is the nested module
// suites/upstream17 (go 1.27.0, toolchain go1.27.3), built only by its Make
// target. The package depends on nothing, so both modules import it.
package gatewayapi

import (
	"fmt"
	"strings"
)

// Release is one Gateway API release the harness runs.
type Release struct {
	// Version is the release tag, e.g. "v1.7.0".
	Version string
	// ModuleDir is the folder, relative to the repository root, of the Go
	// module that requires sigs.k8s.io/gateway-api and /conformance at
	// Version: its module cache holds the release's CRDs.
	ModuleDir string
	// Toolchain is the GOTOOLCHAIN that module needs ("local": the
	// machine's Go).
	Toolchain string
	// EchoImage is the image the upstream mesh fixture (conformance/mesh/
	// manifests.yaml) runs; the harness builds it offline from Istio's echo
	// server at the one istio.io/istio version the module proxy serves.
	EchoImage string
	// MeshTests is len(meshtests.MeshConformanceTests).
	MeshTests int
	// UpstreamBinary is the file name of the test binary that runs the
	// release's upstream mesh tests (in $(OUT)/bin).
	UpstreamBinary string
}

// Supported releases.
const (
	V163 = "v1.6.3"
	V170 = "v1.7.0"
	// Default is the release `gammaconf run` and `make conformance` use.
	Default = V170
)

// The echo images of the upstream mesh fixtures (Release.EchoImage).
const (
	EchoImageV163 = "registry.k8s.io/gateway-api/echo-advanced:v1.5.1"
	EchoImageV170 = "registry.k8s.io/gateway-api/conformance/echo-advanced:v0.1.0"
)

// Releases are the supported releases, newest first.
var Releases = []Release{
	{
		Version: V170, ModuleDir: "suites/upstream17", Toolchain: "go1.27.3",
		EchoImage: EchoImageV170,
		MeshTests: 23, UpstreamBinary: "upstream17.test",
	},
	{
		Version: V163, ModuleDir: ".", Toolchain: "local",
		EchoImage: EchoImageV163,
		MeshTests: 22, UpstreamBinary: "suites.test",
	},
}

// Versions lists the supported release tags, newest first.
func Versions() []string {
	out := make([]string, 0, len(Releases))
	for _, r := range Releases {
		out = append(out, r.Version)
	}
	return out
}

// Lookup returns the release of a version tag ("" means Default).
func Lookup(version string) (Release, error) {
	if version == "" {
		version = Default
	}
	for _, r := range Releases {
		if r.Version == version {
			return r, nil
		}
	}
	return Release{}, fmt.Errorf("unknown Gateway API version %q: this harness runs %s", version, strings.Join(Versions(), " or "))
}

// EchoImages are the echo images of every supported release.
func EchoImages() []string {
	out := make([]string, 0, len(Releases))
	for _, r := range Releases {
		out = append(out, r.EchoImage)
	}
	return out
}
