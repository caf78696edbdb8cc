package routing

import (
	"slices"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"gamma-conformance/referenceimpl/meshconfig"
)

const thirdNS = "third"

// headerRoute is a route on echo-v1 port 80 whose single rule sends path to
// echo-v1 (producer) or echo-v2 (marks a consumer route in tests).
func headerRoute(ns, name, path, backend string, parents ...gatewayv1.ParentReference) gatewayv1.HTTPRoute {
	return httpRoute(ns, name, t0, parents, rule([]gatewayv1.HTTPRouteMatch{prefix(path)}, backendRef(meshNS, backend, 8080, 1)))
}

func TestProducerAndConsumer(t *testing.T) {
	producer := headerRoute(meshNS, "producer", "/", "echo-v1", onPort(svcParent(meshNS, "echo-v1"), 80))
	consumer := headerRoute(consumerNS, "consumer", "/only-consumer", "echo-v2", onPort(svcParent(meshNS, "echo-v1"), 80))
	runCases(t, []ruleCase{{
		name:  "a producer route applies to clients in every namespace",
		quote: `GEP-1294: a producer route "SHOULD apply to all incoming requests to the service, including from clients in other namespaces."`,
		input: with(producer),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			for _, ns := range []string{meshNS, consumerNS, thirdNS} {
				if r := send(t, ix, ns, echoV1IP+":80", request{path: "/x"}); routeOf(r) != meshNS+"/producer" {
					t.Fatalf("client in %s: %+v", ns, r)
				}
			}
			wantTables(t, out, ":echo-v1:80")
		},
	}, {
		name:  "a consumer route applies only to clients in its namespace",
		quote: `GEP-1294: "Unlike producer routes, consumer routes are scoped only the same namespace."`,
		input: with(consumer),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			if r := send(t, ix, consumerNS, echoV1IP+":80", request{path: "/only-consumer"}); routeOf(r) != consumerNS+"/consumer" {
				t.Fatalf("consumer client: %+v", r)
			}
			for _, ns := range []string{meshNS, thirdNS} {
				if r := send(t, ix, ns, echoV1IP+":80", request{path: "/only-consumer"}); r.routed {
					t.Fatalf("client in %s must pass through, got %+v", ns, r)
				}
			}
			wantTables(t, out, consumerNS+":echo-v1:80")
		},
	}, {
		name:  "a consumer route replaces the producer routes for its namespace",
		quote: `GEP-1294: "Requests from a namespace with consumer routes will utilize the (possibly merged) set of routes in the consumer namespace"; "The merging of routes occurs only within groups of the same type of routes".`,
		input: with(producer, consumer),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			// The producer's catch-all does not reach the consumer namespace.
			if r := send(t, ix, consumerNS, echoV1IP+":80", request{path: "/x"}); r.status != 404 {
				t.Fatalf("consumer client on a producer-only path: %+v, want 404", r)
			}
			if r := send(t, ix, consumerNS, echoV1IP+":80", request{path: "/only-consumer"}); routeOf(r) != consumerNS+"/consumer" {
				t.Fatalf("consumer client: %+v", r)
			}
		},
	}, {
		name:  "other namespaces keep the producer routes when a consumer route exists",
		quote: `GEP-1294: "Requests from other namespaces will utilize the (possibly merged) set of routes in the producer namespace".`,
		input: with(producer, consumer),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			for _, ns := range []string{meshNS, thirdNS} {
				if r := send(t, ix, ns, echoV1IP+":80", request{path: "/only-consumer"}); routeOf(r) != meshNS+"/producer" {
					t.Fatalf("client in %s: %+v", ns, r)
				}
			}
		},
	}, {
		name:  "a consumer route replaces the producer routes on its port only",
		quote: `GEP-1294: "If port is set, the implementation MUST associate the route only with that port"; the consumer's other ports keep the producer routes.`,
		input: with(headerRoute(meshNS, "producer", "/", "echo-v1", svcParent(meshNS, "echo-v1")), consumer),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			if r := send(t, ix, consumerNS, echoV1IP+":8080", request{path: "/x"}); routeOf(r) != meshNS+"/producer" {
				t.Fatalf("consumer client on port 8080: %+v", r)
			}
			if r := send(t, ix, consumerNS, echoV1IP+":80", request{path: "/x"}); r.status != 404 {
				t.Fatalf("consumer client on port 80: %+v", r)
			}
		},
	}, {
		name:  "overlays exist only where consumer routes exist",
		quote: `"One producer table per Service port, plus per-namespace overlays only where consumer routes exist."`,
		input: with(producer, consumer),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			wantTables(t, out, ":echo-v1:80", consumerNS+":echo-v1:80")
		},
	}, {
		name:  "two consumer namespaces get separate overlays",
		quote: `GEP-1294: consumer routes "are scoped only the same namespace" — each namespace sees its own.`,
		input: with(consumer, headerRoute(thirdNS, "third", "/only-third", "echo-v2", onPort(svcParent(meshNS, "echo-v1"), 80))),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			if r := send(t, ix, thirdNS, echoV1IP+":80", request{path: "/only-consumer"}); r.status != 404 {
				t.Fatalf("third namespace sees the consumer namespace's route: %+v", r)
			}
			if r := send(t, ix, thirdNS, echoV1IP+":80", request{path: "/only-third"}); routeOf(r) != thirdNS+"/third" {
				t.Fatalf("third namespace: %+v", r)
			}
			sub := (&meshconfig.Snapshot{Tables: out.Tables}).ForNamespace(thirdNS)
			for _, tb := range sub.Tables {
				if tb.ClientNamespace == consumerNS {
					t.Fatal("ForNamespace leaked another namespace's overlay")
				}
			}
		},
	}, {
		name:  "a consumer route's cross-namespace backendRef needs no ReferenceGrant",
		quote: `GEP-1294: "Routes of either type can send traffic to backendRefs in any namespace. Unlike Gateway bound routes, this is allowed without a ReferenceGrant."`,
		input: with(consumer),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			wantCondition(t, parentStatus(t, out, KindHTTPRoute, consumerNS, "consumer", 0), "ResolvedRefs", metav1.ConditionTrue, "ResolvedRefs")
			r := send(t, ix, consumerNS, echoV1IP+":80", request{path: "/only-consumer"})
			if b := r.rule.Backends[0]; b.Invalid || !slices.Equal(b.Endpoints, []string{v2Pod + ":8080"}) {
				t.Fatalf("backend %+v", b)
			}
		},
	}, {
		name:  "MeshConsumerRoute: the consumer sees the header filter, the producer namespace does not",
		quote: `Upstream MeshConsumerRoute: a client in the consumer namespace gets X-Header-Set; a client in the mesh namespace does not.`,
		input: func() Input {
			r := httpRoute(consumerNS, "mesh-echo-add-header", t0, []gatewayv1.ParentReference{svcParent(meshNS, "echo-v1")},
				gatewayv1.HTTPRouteRule{
					Filters: []gatewayv1.HTTPRouteFilter{{Type: gatewayv1.HTTPRouteFilterResponseHeaderModifier,
						ResponseHeaderModifier: &gatewayv1.HTTPHeaderFilter{Set: []gatewayv1.HTTPHeader{{Name: "X-Header-Set", Value: "set"}}}}},
					BackendRefs: []gatewayv1.HTTPBackendRef{backendRef(meshNS, "echo-v1", 80, 1)},
				})
			return with(r)()
		},
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			r := send(t, ix, consumerNS, echoV1IP+":80", request{path: "/"})
			if r.rule == nil || r.rule.ResponseHeaders == nil || r.rule.ResponseHeaders.Set[0].Value != "set" {
				t.Fatalf("consumer: %+v", r)
			}
			if r := send(t, ix, meshNS, echoV1IP+":80", request{path: "/"}); r.routed {
				t.Fatal("producer namespace must pass through")
			}
		},
	}, {
		name:  "traffic to a pod IP is never routed",
		quote: `GEP-1294: "when sent to a Service backend (ex: curl pod-ip), it would not" use the Route.`,
		input: with(producer),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			if r := send(t, ix, meshNS, v1Pod+":8080", request{path: "/"}); r.routed {
				t.Fatal("pod IP routed")
			}
		},
	}, {
		name:  "a Service with no routes passes through",
		quote: `mesh-overview: "If no Routes are attached to a Service, requests to the Service simply proceed per the mesh's default behavior".`,
		input: with(producer),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			if r := send(t, ix, meshNS, echoV2IP+":80", request{path: "/"}); r.routed {
				t.Fatal("echo-v2 has no routes and must pass through")
			}
		},
	}})
}
