package routing

import (
	"reflect"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"gamma-conformance/referenceimpl/meshconfig"
)

// The cases of this file compile with the Alternate choices: each checks
// the other legal answer, quoting the sentence that allows it. The other
// test files check the Reference answers.

// alt compiles the input with the Alternate choices.
func alt(in func() Input) func() Input {
	return func() Input {
		i := in()
		i.Choices = Alternate
		return i
	}
}

// statusOf returns the status of a route, or false when it has none.
func statusOf(out Output, kind, ns, name string) (RouteStatus, bool) {
	for _, s := range out.Statuses {
		if s.Kind == kind && s.Namespace == ns && s.Name == name {
			return s, true
		}
	}
	return RouteStatus{}, false
}

func TestChoicesSets(t *testing.T) {
	if !reflect.DeepEqual(Reference, Choices{}) {
		t.Fatalf("Reference %+v is not the zero Choices", Reference)
	}
	// Every field of Alternate differs from Reference: it takes the other
	// answer everywhere.
	v := reflect.ValueOf(Alternate)
	for i := range v.NumField() {
		if v.Field(i).IsZero() {
			t.Errorf("Alternate.%s is the reference answer", v.Type().Field(i).Name)
		}
	}
	for _, name := range []string{ChoicesReference, ChoicesAlternate} {
		if _, err := ChoicesByName(name); err != nil {
			t.Error(err)
		}
	}
	if _, err := ChoicesByName("other"); err == nil {
		t.Error("ChoicesByName(other) known")
	}
}

func TestAlternateParents(t *testing.T) {
	twoParents := func(bad gatewayv1.ParentReference) func() Input {
		return with(allV1(meshNS, "r", 0, svcParent(meshNS, "echo-v1"), bad))
	}
	noEntry := func(t *testing.T, out Output, _ *meshconfig.Index) {
		s, ok := statusOf(out, KindHTTPRoute, meshNS, "r")
		if !ok || len(s.Parents) != 1 || s.Parents[0].ParentRef.Name != "echo-v1" {
			t.Fatalf("status %+v, want one entry, for echo-v1", s)
		}
		wantCondition(t, parentStatus(t, out, KindHTTPRoute, meshNS, "r", 0), "Accepted", metav1.ConditionTrue, "Accepted")
	}
	runCases(t, []ruleCase{{
		name:  "a missing parent Service gets no status entry",
		quote: `RouteStatus.Parents: "Note that parent references that cannot be resolved by an implementation of this API will not be added to this list."`,
		input: alt(twoParents(svcParent(meshNS, "does-not-exist"))),
		check: noEntry,
	}, {
		name:  "a headless parent Service gets no status entry",
		quote: `GEP-1294: headless Services "SHOULD NOT be supported" as parents; RouteStatus.Parents: unresolved parent references "will not be added to this list."`,
		input: alt(func() Input {
			in := twoParents(svcParent(meshNS, "headless"))()
			in.Services = append(in.Services, service(meshNS, "headless", corev1.ClusterIPNone, svcPort("http", 80, 8080, "")))
			return in
		}),
		check: noEntry,
	}, {
		name:  "an ExternalName parent Service gets no status entry",
		quote: `RouteStatus.Parents: "Implementations of this API can only populate Route status for the Gateways/parent resources they are responsible for."`,
		input: alt(func() Input {
			in := twoParents(svcParent(meshNS, "external"))()
			s := service(meshNS, "external", "", svcPort("http", 80, 8080, ""))
			s.Spec.Type, s.Spec.ClusterIPs, s.Spec.ExternalName = corev1.ServiceTypeExternalName, nil, "example.invalid"
			in.Services = append(in.Services, s)
			return in
		}),
		check: noEntry,
	}, {
		name:  "a port the Service lacks gets another reason than NoMatchingParent",
		quote: `RouteConditionAccepted: "Controllers may raise this condition with other reasons, but should prefer to use the reasons listed above to improve interoperability."`,
		input: alt(with(allV1(meshNS, "r", 0, onPort(svcParent(meshNS, "echo"), 81)))),
		check: func(t *testing.T, out Output, _ *meshconfig.Index) {
			wantTables(t, out)
			wantCondition(t, parentStatus(t, out, KindHTTPRoute, meshNS, "r", 0), "Accepted", metav1.ConditionFalse, string(Alternate.UnboundPortReason))
		},
	}, {
		name:  "group core is not the core group: the parentRef is not ours",
		quote: `ParentReference.Group: "To set the core API group (such as for a "Service" kind referent), Group must be explicitly set to "" (empty string)."`,
		input: alt(func() Input {
			p := onPort(svcParent(meshNS, "echo"), 80)
			p.Group = ptr.To(gatewayv1.Group("core"))
			return with(allV1(meshNS, "r", 0, p))()
		}),
		check: func(t *testing.T, out Output, _ *meshconfig.Index) {
			wantTables(t, out)
			if s, ok := statusOf(out, KindHTTPRoute, meshNS, "r"); ok {
				t.Fatalf("status %+v, want none", s)
			}
		},
	}})
}

func TestAlternateConflicts(t *testing.T) {
	echo7070 := onPort(svcParent(meshNS, "echo"), 7070)
	grpcReq := request{path: "/grpc.Echo/Call", method: "POST", headers: map[string]string{"content-type": "application/grpc+proto"}}
	runCases(t, []ruleCase{{
		name:  "an HTTPRoute and a GRPCRoute on one port are both served",
		quote: `GEP-1294: "If multiple routes with different types both bind to the same Service and Port pair, only a single route type should be applied." (lowercase should)`,
		input: alt(with(grpcOn(meshNS, "grpc", 5, echo7070),
			httpRoute(meshNS, "http", t0, []gatewayv1.ParentReference{echo7070}, rule(nil, backendRef(meshNS, "echo-v2", 7070, 1))))),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			if len(out.Tables) != 1 || out.Tables[0].Protocol != meshconfig.ProtocolHTTP {
				t.Fatalf("tables %v", tablePorts(out))
			}
			wantCondition(t, parentStatus(t, out, KindHTTPRoute, meshNS, "http", 0), "Accepted", metav1.ConditionTrue, "Accepted")
			wantCondition(t, parentStatus(t, out, KindGRPCRoute, meshNS, "grpc", 0), "Accepted", metav1.ConditionTrue, "Accepted")
			if got := routeOf(send(t, ix, meshNS, echoIP+":7070", grpcReq)); got != meshNS+"/grpc" {
				t.Errorf("gRPC request routed by %q, want the GRPCRoute", got)
			}
			if got := routeOf(send(t, ix, meshNS, echoIP+":7070", request{path: "/grpc.Echo/Call"})); got != meshNS+"/http" {
				t.Errorf("plain request routed by %q, want the HTTPRoute", got)
			}
		},
	}, {
		name:  "a TCPRoute losing to an HTTPRoute gets the reason as GEP-1294 spells it",
		quote: `GEP-1294: "have the RouteConditionAccepted status set to the (new) reason RouteReasonConflicted."`,
		input: alt(with(allV1(meshNS, "http", 5, onPort(svcParent(meshNS, "echo"), 80)),
			tcpRoute(meshNS, "tcp", t0, []gatewayv1.ParentReference{onPort(svcParent(meshNS, "echo"), 80)}, l4Ref(meshNS, "echo-v1", 80, 1)))),
		check: func(t *testing.T, out Output, _ *meshconfig.Index) {
			if out.Tables[0].Protocol != meshconfig.ProtocolHTTP {
				t.Fatalf("protocol %s", out.Tables[0].Protocol)
			}
			wantCondition(t, parentStatus(t, out, KindTCPRoute, meshNS, "tcp", 0), "Accepted", metav1.ConditionFalse, "RouteReasonConflicted")
		},
	}, {
		name:  "two TCPRoutes on one port merge their backends",
		quote: `GEP-1294: "Multiple routes of the same type are valid, and merge according to the route-specific merging semantics." (TCPRoute defines none)`,
		input: alt(with(
			tcpRoute(meshNS, "a", t0, []gatewayv1.ParentReference{onPort(svcParent(meshNS, "echo"), 9090)}, l4Ref(meshNS, "echo-v1", 9090, 1)),
			tcpRoute(meshNS, "b", t0.Add(secs(1)), []gatewayv1.ParentReference{onPort(svcParent(meshNS, "echo"), 9090)}, l4Ref(meshNS, "echo-v2", 9090, 1)))),
		check: func(t *testing.T, out Output, _ *meshconfig.Index) {
			if len(out.Tables) != 1 || out.Tables[0].TCP == nil || len(*out.Tables[0].TCP) != 2 {
				t.Fatalf("tables %+v", out.Tables)
			}
			wantCondition(t, parentStatus(t, out, KindTCPRoute, meshNS, "b", 0), "Accepted", metav1.ConditionTrue, "Accepted")
		},
	}, {
		name:  "a port's name is no protocol hint: only appProtocol is",
		quote: `ServicePort.AppProtocol: "The application protocol for this port. This is used as a hint for implementations to offer richer behavior for protocols that they understand." (GEP-1294 defines no port protocol; port names are a convention)`,
		input: alt(with(allV1(meshNS, "r", 0, svcParent(meshNS, "echo-v1")), allV1(meshNS, "explicit", 0, onPort(svcParent(meshNS, "echo-v2"), 7070)))),
		check: func(t *testing.T, out Output, _ *meshconfig.Index) {
			// echo-v1's "grpc" port 7070 has no appProtocol: bound only when named.
			wantTables(t, out, ":echo-v1:80", ":echo-v1:8080", ":echo-v2:7070")
		},
	}, {
		name:  "a regular-expression path ranks after every prefix",
		quote: `HTTPPathMatch: RegularExpression is "Support: Implementation-specific"; HTTPRouteRule.Matches' precedence names only Exact and Prefix paths.`,
		input: alt(with(to("regex", 0, pathMatch(gatewayv1.PathMatchRegularExpression, "/a.*")), to("prefix", 5, prefix("/a")))),
		check: func(t *testing.T, _ Output, ix *meshconfig.Index) {
			wantWinner(t, ix, request{path: "/a/bc"}, meshNS+"/prefix#0")
		},
	}})
}

func TestAlternateBackends(t *testing.T) {
	remoteNS := "remote"
	withRemote := func(routes ...any) func() Input {
		return func() Input {
			in := with(routes...)()
			in.Services = append(in.Services, service(remoteNS, "svc", "10.96.1.1", svcPort("http", 80, 8080, "http")))
			in.EndpointSlices = append(in.EndpointSlices, endpointSlice(remoteNS, "svc", "a", map[string]int32{"http": 8080}, "10.244.1.1"))
			return in
		}
	}
	grant := gatewayv1.ReferenceGrant{ObjectMeta: meta(remoteNS, "allow", t0), Spec: gatewayv1.ReferenceGrantSpec{
		From: []gatewayv1.ReferenceGrantFrom{{Group: gatewayv1.GroupName, Kind: KindHTTPRoute, Namespace: meshNS}},
		To:   []gatewayv1.ReferenceGrantTo{{Kind: "Service"}},
	}}
	runCases(t, []ruleCase{{
		name:  "no ready endpoints: 500",
		quote: `HTTPRouteRule.BackendRefs: "When a HTTPBackendRef refers to a Service that has no ready endpoints, implementations SHOULD return a 503 for requests to that backend instead." (SHOULD: 500, the status of an invalid backend, is the other answer)`,
		input: alt(func() Input {
			in := with(toBackends(backendRef(meshNS, "empty", 80, 1)))()
			in.Services = append(in.Services, service(meshNS, "empty", "10.96.0.20", svcPort("http", 80, 8080, "http")))
			return in
		}),
		check: func(t *testing.T, _ Output, ix *meshconfig.Index) {
			r := firstRule(t, ix)
			if len(r.Backends) != 1 || r.Backends[0].Invalid || len(r.Backends[0].Endpoints) != 0 || r.NoEndpointsStatus != 500 {
				t.Fatalf("rule %+v", r)
			}
		},
	}, {
		name:  "a cross-namespace backendRef without a ReferenceGrant is RefNotPermitted and answers 500",
		quote: `GEP-1294: "if a mesh implementation does expose the ability to access a broader scope than would otherwise be reachable, then ReferenceGrant must be used for cross namespaces references."`,
		input: alt(withRemote(toBackends(backendRef(remoteNS, "svc", 80, 1)))),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			if r := firstRule(t, ix); !r.Backends[0].Invalid {
				t.Fatalf("backend %+v is valid", r.Backends[0])
			}
			wantCondition(t, parentStatus(t, out, KindHTTPRoute, meshNS, "r", 0), "ResolvedRefs", metav1.ConditionFalse, "RefNotPermitted")
		},
	}, {
		name:  "a ReferenceGrant permits the cross-namespace backendRef",
		quote: `ReferenceGrant: "identifies kinds of resources in other namespaces that are trusted to reference the specified kinds of resources in the same namespace as the policy."`,
		input: alt(func() Input {
			in := withRemote(toBackends(backendRef(remoteNS, "svc", 80, 1)))()
			in.ReferenceGrants = []gatewayv1.ReferenceGrant{grant}
			return in
		}),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			if r := firstRule(t, ix); r.Backends[0].Invalid || len(r.Backends[0].Endpoints) != 1 {
				t.Fatalf("backend %+v", r.Backends[0])
			}
			wantCondition(t, parentStatus(t, out, KindHTTPRoute, meshNS, "r", 0), "ResolvedRefs", metav1.ConditionTrue, "ResolvedRefs")
		},
	}, {
		name:  "a consumer route's backendRef to its own parent Service needs no grant",
		quote: `GEP-1294: a ReferenceGrant is needed to "access a broader scope than would otherwise be reachable"; the client already reaches the Service it called.`,
		input: alt(with(httpRoute(consumerNS, "c", t0, []gatewayv1.ParentReference{svcParent(meshNS, "echo-v1")}, rule(nil, backendRef(meshNS, "echo-v1", 80, 1))))),
		check: func(t *testing.T, out Output, _ *meshconfig.Index) {
			wantCondition(t, parentStatus(t, out, KindHTTPRoute, consumerNS, "c", 0), "ResolvedRefs", metav1.ConditionTrue, "ResolvedRefs")
		},
	}, {
		name:  "a backendRef with group core is InvalidKind",
		quote: `BackendObjectReference.Group: "When unspecified or empty string, core API group is inferred." ("core" is another group)`,
		input: alt(func() Input {
			ref := backendRef(meshNS, "echo-v1", 80, 1)
			ref.Group = ptr.To(gatewayv1.Group("core"))
			return with(toBackends(ref))()
		}),
		check: func(t *testing.T, out Output, _ *meshconfig.Index) {
			wantCondition(t, parentStatus(t, out, KindHTTPRoute, meshNS, "r", 0), "ResolvedRefs", metav1.ConditionFalse, "InvalidKind")
		},
	}})
}

func TestAlternatePolicy(t *testing.T) {
	runCases(t, []ruleCase{{
		name:  "retry defaults and a timed-out attempt that is not retried",
		quote: `HTTPRouteRetry: "When this field is unspecified, the number of times to attempt to retry a backend request is implementation-specific."; "Implementations SHOULD retry on connection errors (disconnect, reset, timeout, TCP failure)".`,
		input: alt(with(oneRule(func() gatewayv1.HTTPRouteRule {
			r := v1Rule
			r.Retry = &gatewayv1.HTTPRouteRetry{}
			return r
		}()))),
		check: func(t *testing.T, _ Output, ix *meshconfig.Index) {
			r := firstRule(t, ix).Retry
			if r == nil || r.Attempts != 2 || r.Backoff != 100*time.Millisecond || !r.NoRetryOnTimeout {
				t.Fatalf("retry %+v", r)
			}
		},
	}, {
		name:  "every session has the fixed name, whatever sessionName says",
		quote: `GEP-1619: "Some implementations have a fixed cookie name, and therefore SessionName may be reflected in the value of the cookie."; SessionName is "Support: Implementation-specific".`,
		input: alt(with(oneRule(v1v2Rule), withSession(policy(meshNS, "p", t0, "echo-v1"), gatewayv1.CookieBasedSessionPersistence, "mine"))),
		check: func(t *testing.T, _ Output, ix *meshconfig.Index) {
			if s := backendNamed(t, firstRule(t, ix), "echo-v1").Session; s == nil || s.Name != Alternate.FixedSessionName {
				t.Fatalf("session %+v, want name %s", s, Alternate.FixedSessionName)
			}
		},
	}, {
		name:  "the older of two policies is in force and the newer stays Accepted",
		quote: `GEP-713: "For all policies rejected due the application of the None merge strategy, the Accepted status condition of the policy SHOULD be set to false." (SHOULD); PolicyStatus.Ancestors: the controller "MUST add an entry to this list".`,
		input: alt(with(oneRule(v1Rule),
			withBudget(policy(meshNS, "old", t0, "echo-v1"), 30, "10s"), withBudget(policy(meshNS, "new", t0.Add(secs(1)), "echo-v1"), 40, "10s"))),
		check: func(t *testing.T, out Output, ix *meshconfig.Index) {
			wantPolicy(t, policyCondition(t, out, meshNS, "old", "echo-v1"), metav1.ConditionTrue, gatewayv1.PolicyReasonAccepted)
			wantPolicy(t, policyCondition(t, out, meshNS, "new", "echo-v1"), metav1.ConditionTrue, gatewayv1.PolicyReasonAccepted)
			if b := backendNamed(t, firstRule(t, ix), "echo-v1").RetryBudget; b == nil || b.Percent != 30 {
				t.Fatalf("budget %+v, want the older policy's 30%%", b)
			}
		},
	}, {
		name:  "a policy targetRef with group core is TargetNotFound",
		quote: `ParentReference.Group: the core API group is "" (empty string); "core" names no group this mesh serves.`,
		input: alt(func() Input {
			p := withBudget(policy(meshNS, "p", t0, "echo-v1"), 30, "10s")
			p.Spec.TargetRefs[0].Group = "core"
			return with(p)()
		}),
		check: func(t *testing.T, out Output, _ *meshconfig.Index) {
			wantPolicy(t, policyCondition(t, out, meshNS, "p", "echo-v1"), metav1.ConditionFalse, gatewayv1.PolicyReasonTargetNotFound)
		},
	}})
}

// TestReferenceAnswersDiffer checks that the cases above fail with the
// Reference choices: each alternate answer is observable.
func TestReferenceAnswersDiffer(t *testing.T) {
	in := with(allV1(meshNS, "r", 0, svcParent(meshNS, "echo-v1"), svcParent(meshNS, "does-not-exist")))()
	if s, _ := statusOf(Compile(in), KindHTTPRoute, meshNS, "r"); len(s.Parents) != 2 {
		t.Errorf("reference: %d parent entries, want 2 (NoMatchingParent for the missing one)", len(s.Parents))
	}
	in.Choices = Alternate
	if s, _ := statusOf(Compile(in), KindHTTPRoute, meshNS, "r"); len(s.Parents) != 1 {
		t.Errorf("alternate: %d parent entries, want 1", len(s.Parents))
	}
	empty := with(toBackends(backendRef(meshNS, "echo-v1", 80, 1)))()
	empty.EndpointSlices = slices.DeleteFunc(empty.EndpointSlices, func(es discoveryv1.EndpointSlice) bool { return true })
	for _, c := range []struct {
		choices Choices
		want    int
	}{{Reference, 0}, {Alternate, 500}} {
		empty.Choices = c.choices
		out := Compile(empty)
		if got := out.Tables[0].HTTP.Rules[0].NoEndpointsStatus; got != c.want {
			t.Errorf("NoEndpointsStatus %d, want %d", got, c.want)
		}
	}
}
