// Package routing is the reference mesh's GAMMA routing model: a pure
// function from a snapshot of cluster state (Services, EndpointSlices and
// the HTTP, GRPC, TCP and TLS routes, XBackendTrafficPolicies) to the route
// tables every proxy applies and the route and policy status the mesh must
// write.
//
// It does no I/O and holds no client. The rules it implements, and the
// sentence of the Gateway API or GEP each one comes from, are listed in the
// tests. The choices the specification leaves open are the fields of
// Choices (Input.Choices), each documented with the sentence that allows
// both answers. The zero value, Reference, is the reference mesh's answers
// below; Alternate takes the other legal answer wherever there is one (no
// status entry for an unbound parent, HTTPRoutes and GRPCRoutes merged,
// 500 for no endpoints, ReferenceGrants for cross-namespace backends, ...).
// The reference answers:
//
//   - A parentRef to a Service that does not exist, is headless or is of type
//     ExternalName gets Accepted=False with reason NoMatchingParent (the API
//     also allows writing no entry).
//   - A route that loses a route-type conflict on every port it targets gets
//     Accepted=False with reason ReasonConflicted ("Conflicted"; no upstream
//     constant exists in v1.6.3). Conflicts are decided per route table:
//     producer routes against producer routes, and per consumer namespace.
//   - HTTPRoutes and GRPCRoutes attach to HTTP ports, TLSRoutes to TLS ports,
//     TCPRoutes to TCP ports; a parentRef that names a port explicitly may
//     also attach to a port with no protocol hint, and a TCPRoute may attach
//     to any port it names explicitly (every protocol here runs over TCP).
//   - Regular-expression paths rank between exact paths and path prefixes.
//   - Of several TCPRoutes on one table the oldest wins; the others are
//     Conflicted. TLSRoutes merge by hostname.
//   - XBackendTrafficPolicy (retry budget, session persistence) acts on every
//     HTTP and gRPC backendRef to the Service it targets, for clients in
//     every namespace; a consumer route's timeouts and retry apply to its
//     own namespace only and the producer's budget still bounds its retries.
//     Of several policies on one Service the oldest wins (GEP-713, merge
//     strategy None); the others are Conflicted. Policy status has one
//     PolicyAncestorStatus per targetRef whose ancestorRef is the targeted
//     Service: the object the policy acts on in a mesh, where there is no
//     Gateway.
//   - A retry stanza without attempts retries once, after 25 ms, on
//     connection errors and the listed codes only.
//   - Status conditions carry no LastTransitionTime; the controller fills
//     it in when it writes them.
package routing
