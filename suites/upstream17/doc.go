// Package upstream17 is the Gateway API v1.7.0 upstream mesh conformance
// runner: the test binary of its own Go module (go test -c), because
// sigs.k8s.io/gateway-api/conformance v1.7.0 needs Go 1.27 while the root
// module stays at Go 1.26 and gateway-api v1.6.3.
//
// It runs the 23 upstream v1.7.0 mesh tests (meshtests.MeshConformanceTests),
// unmodified, through the same runner library as the root suite binary
// (gamma-conformance/suites/upstream, compiled here against v1.7.0), takes
// the same command line (the upstream runner's flags and package config's),
// and writes the same outputs: the upstream ConformanceReport exactly as the
// v1.7.0 suite makes it and results.json (schema reportgen/results). It has
// no semantics suite: that one runs from the root suite binary against
// either version's CRDs.
//
// The module's go.mod pins go 1.27.0 and toolchain go1.27.3, replaces
// gamma-conformance with this repository (../..) and replaces
// sigs.k8s.io/gateway-api-conformance-images v0.2.0 (required by
// conformance v1.7.0; the module proxy refuses its zip) with v0.1.0: the
// only package of it the build uses is the gRPC echo stubs
// (echo-basic/grpcechoserver) that utils/grpc links for the Gateway gRPC
// client; no mesh test calls it, they exec the echo client inside the
// fixture's pods, so the mesh tests behave the same. Build it with
// `make upstream17-bin` (GOTOOLCHAIN=go1.27.3).
package upstream17
