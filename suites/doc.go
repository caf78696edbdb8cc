// Package suites is the conformance test binary of gamma-conformance and
// the glue between its two suites: build the binary with
// `go test -c ./suites` and run it against any cluster with a mesh
// installed (the csi-sanity model), or import the suites themselves:
//
//   - package upstream: the unmodified upstream gateway-api v1.6.3 mesh
//     tests (meshtests.MeshConformanceTests), profiles MESH-HTTP and
//     MESH-GRPC, driven by the upstream suite package under a real
//     *testing.T; the upstream ConformanceReport YAML is written exactly as
//     the upstream suite makes it.
//   - package semantics: the GAMMA semantics suite, profile MESH-SEMANTICS
//     (see package profiles), as a library with Run(t, Config) and a Ginkgo
//     entry (GinkgoTest).
//
// The binary's TestUpstream and TestSemantics only map its flags (the
// upstream runner's, Ginkgo's selection flags and our own, package
// suites/internal/config) to the two Configs; Combine makes the one results
// file (package reportgen/results) it writes into --output-dir.
package suites
