// Package controller is the reference mesh's control plane.
//
// It watches Services, EndpointSlices and the HTTP, GRPC, TCP and TLS
// routes, compiles them with the routing model on every change, writes the
// route status the model computes, pushes route tables to the sidecar
// proxies over the meshconfig stream, keeps the XMesh object's status, and
// injects the sidecar into pods of enrolled namespaces through a mutating
// admission webhook.
//
// Wiring lives in Run; every piece is small and most logic is pure (status
// merging, sidecar injection) so it can be tested without a cluster.
package controller
