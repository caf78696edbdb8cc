// Package suites is the conformance test binary of gamma-conformance: build
// it with `go test -c ./suites` and run it against any cluster with a mesh
// installed (the csi-sanity model).
//
// One binary runs two suites:
//
//   - TestUpstream: the unmodified upstream gateway-api v1.6.3 mesh tests
//     (meshtests.MeshConformanceTests), profiles MESH-HTTP and MESH-GRPC,
//     driven by the upstream suite package under a real *testing.T, with
//     the upstream runner's flags (same names and meanings). The upstream
//     ConformanceReport YAML is written exactly as the upstream suite makes
//     it.
//   - TestSemantics: the GAMMA semantics suite (Ginkgo v2), profile
//     MESH-SEMANTICS (see package profiles): specs that create their own
//     namespaces, echo Deployments, Services and routes, and check traffic
//     and route status.
//
// Both write one results file (package reportgen/results) into --output-dir.
// The package has no non-test code besides this comment; the helpers live
// in suites/internal.
package suites
