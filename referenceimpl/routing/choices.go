package routing

import (
	"fmt"
	"net/http"
	"time"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// Choices are the answers the routing model gives where the specification
// (Gateway API v1.6.3: the API field docs, GEP-1294, GEP-713, GEP-1619)
// leaves a choice. The zero value is Reference, the reference mesh's
// answers; Alternate takes the other legal answer wherever there is one, so
// that a suite that passes on both asserts only what the specification
// requires. Each field names the sentence that allows both answers, its
// source and its level.
type Choices struct {
	// OmitUnboundParentStatus: a parentRef to a Service that does not
	// exist, is headless or is of type ExternalName gets no status entry
	// (true) rather than Accepted=False, reason NoMatchingParent (false).
	//
	// RouteStatus.Parents (API, Core): "Note that parent references that
	// cannot be resolved by an implementation of this API will not be added
	// to this list." Reason NoMatchingParent: "used with the "Accepted"
	// condition when there are no matching Parents."
	OmitUnboundParentStatus bool

	// UnboundPortReason is the Accepted=False reason of a parentRef to an
	// existing ClusterIP Service that binds no port (a port or sectionName
	// the Service lacks, or only ports of another protocol). Empty means
	// NoMatchingParent.
	//
	// RouteConditionAccepted (API, Core): "Controllers may raise this
	// condition with other reasons, but should prefer to use the reasons
	// listed above to improve interoperability." (lowercase should).
	UnboundPortReason gatewayv1.RouteConditionReason

	// RejectCoreGroupAlias: group "core" is not the core group (true), so a
	// parentRef with it is not a Service parent (no status entry), a
	// backendRef with it is InvalidKind and a policy targetRef with it is
	// TargetNotFound; false accepts "core" as an alias of "".
	//
	// ParentReference.Group (API, Core): "To set the core API group (such
	// as for a "Service" kind referent), Group must be explicitly set to ""
	// (empty string)." The mesh docs' examples write "core"; Linkerd accepts
	// it, Istio refuses it.
	RejectCoreGroupAlias bool

	// MergeHTTPAndGRPC: HTTPRoutes and GRPCRoutes on one Service port are
	// both applied (true): gRPC requests (content-type application/grpc)
	// go to the GRPCRoute rules first, everything else to the HTTPRoute
	// rules, and neither is Conflicted. False: the GRPCRoutes win and the
	// HTTPRoutes are Conflicted.
	//
	// GEP-1294 (Route types): "If multiple routes with different types both
	// bind to the same Service and Port pair, only a single route type
	// should be applied." (lowercase should; Istio merges them.)
	MergeHTTPAndGRPC bool

	// ConflictReason is the Accepted=False reason of a route that lost a
	// route-type conflict (or, unless MergeTCPRoutes, the TCPRoute
	// conflict) on every port. Empty means ReasonConflicted ("Conflicted").
	//
	// GEP-1294: "The rejected routes should be ignored and have the
	// RouteConditionAccepted status set to the (new) reason
	// RouteReasonConflicted." No constant exists in v1.6.3, so both the
	// name and the value "Conflicted" are readings of that sentence.
	ConflictReason gatewayv1.RouteConditionReason

	// MergeTCPRoutes: several TCPRoutes on one port merge into one weighted
	// backend set (true); false: the oldest is applied and the others are
	// Conflicted.
	//
	// GEP-1294: "Multiple routes of the same type are valid, and merge
	// according to the route-specific merging semantics." TCPRoute defines
	// none (TCPRouteRule.BackendRefs, Extended, weighs backends only).
	MergeTCPRoutes bool

	// IgnorePortNames: only a port's appProtocol says its protocol (true);
	// false also reads the port name's prefix ("http-alt", "grpc", "tcp"),
	// the naming convention meshes have long used. A port with no hint takes
	// a route only through a parentRef that names it.
	//
	// GEP-1294 defines no port protocol. ServicePort.AppProtocol (Kubernetes)
	// is "The application protocol for this port. This is used as a hint for
	// implementations to offer richer behavior for protocols that they
	// understand."; port names are a convention only.
	IgnorePortNames bool

	// RegexAfterPrefixes ranks RegularExpression path matches after every
	// path prefix (true); false ranks them between exact paths and
	// prefixes.
	//
	// HTTPPathMatch (API): RegularExpression is "Support:
	// Implementation-specific"; HTTPRouteRule.Matches' precedence list
	// names only "Exact" and "Prefix" paths.
	RegexAfterPrefixes bool

	// NoEndpointsStatus is the status of a request whose backend Service has
	// no ready endpoints. 0 means 503.
	//
	// HTTPRouteRule.BackendRefs (API, Core): "When a HTTPBackendRef refers
	// to a Service that has no ready endpoints, implementations SHOULD
	// return a 503 for requests to that backend instead." (SHOULD: the 500
	// of an invalid backend is the other answer.)
	NoEndpointsStatus int

	// CrossNamespaceBackendsNeedGrant: a backendRef to a Service in
	// another namespace than the route's, other than a Service the route
	// names as its parent, needs a ReferenceGrant in the backend's
	// namespace (true); without one the route gets ResolvedRefs=False,
	// reason RefNotPermitted, and that backend's share answers 500. False:
	// no grant is needed.
	//
	// GEP-1294 (backendRefs): "a ReferenceGrant is not required in most
	// mesh implementations ... if a mesh implementation does expose the
	// ability to access a broader scope than would otherwise be reachable,
	// then ReferenceGrant must be used for cross namespaces references."
	// Sending a client to the Service it already called widens nothing, so
	// a backendRef to the route's own parent Service needs no grant.
	CrossNamespaceBackendsNeedGrant bool

	// DefaultRetryAttempts and DefaultRetryBackoff apply to a retry stanza
	// without attempts or backoff. 0 means 1 attempt and 25 ms.
	//
	// HTTPRouteRetry.Attempts (API, Extended): "When this field is
	// unspecified, the number of times to attempt to retry a backend
	// request is implementation-specific." Backoff: likewise "the time to
	// wait between retry attempts is implementation-specific."
	DefaultRetryAttempts int
	DefaultRetryBackoff  time.Duration

	// NoRetryOnBackendTimeout: an attempt that runs out of
	// timeouts.backendRequest ends the request with 504 (true); false
	// retries it like a connection error.
	//
	// HTTPRouteRetry (API, Extended): "Implementations SHOULD retry on
	// connection errors (disconnect, reset, timeout, TCP failure) if a
	// retry stanza is configured."
	NoRetryOnBackendTimeout bool

	// FixedSessionName, when set, is the cookie or header name of every
	// persistent session, whatever sessionName says; empty uses
	// sessionName, else a generated name unique to where the session is
	// configured.
	//
	// SessionPersistence.SessionName (API): "Support:
	// Implementation-specific". GEP-1619: "Some implementations have a
	// fixed cookie name, and therefore SessionName may be reflected in the
	// value of the cookie."
	FixedSessionName string

	// AcceptPolicyChallengers: of several XBackendTrafficPolicies on one
	// Service the oldest is in force either way (GEP-713 MUST); the others
	// get Accepted=True, reason Accepted, with a message saying they are
	// not in effect (true), or Accepted=False, reason Conflicted (false).
	// No entry at all is not an answer: PolicyStatus.Ancestors "MUST add an
	// entry to this list when the controller first sees the policy".
	//
	// GEP-713 (merge strategy None): "For all policies rejected due the
	// application of the None merge strategy, the Accepted status condition
	// of the policy SHOULD be set to false."
	AcceptPolicyChallengers bool
}

// Reference is the reference mesh's answers: the zero Choices.
var Reference = Choices{}

// Alternate takes the other legal answer wherever the specification leaves
// a choice (see Choices). Its names and values are the alternate mesh's.
var Alternate = Choices{
	OmitUnboundParentStatus:         true,
	UnboundPortReason:               "NoMatchingPort",
	RejectCoreGroupAlias:            true,
	MergeHTTPAndGRPC:                true,
	ConflictReason:                  "RouteReasonConflicted",
	MergeTCPRoutes:                  true,
	IgnorePortNames:                 true,
	RegexAfterPrefixes:              true,
	NoEndpointsStatus:               http.StatusInternalServerError,
	CrossNamespaceBackendsNeedGrant: true,
	DefaultRetryAttempts:            2,
	DefaultRetryBackoff:             100 * time.Millisecond,
	NoRetryOnBackendTimeout:         true,
	FixedSessionName:                "gamma-affinity",
	AcceptPolicyChallengers:         true,
}

// The names of the two choice sets, as the controller's --choices flag
// takes them.
const (
	ChoicesReference = "reference"
	ChoicesAlternate = "alternate"
)

// ChoicesByName returns the named choice set; the error of an unknown name
// names the valid ones.
func ChoicesByName(name string) (Choices, error) {
	switch name {
	case ChoicesReference:
		return Reference, nil
	case ChoicesAlternate:
		return Alternate, nil
	}
	return Choices{}, fmt.Errorf("%q is not a choice set; the valid values are %s and %s", name, ChoicesReference, ChoicesAlternate)
}

// coreGroup says whether g names the core API group: "" always, "core"
// unless RejectCoreGroupAlias.
func (c *Choices) coreGroup(g string) bool {
	return g == "" || (g == "core" && !c.RejectCoreGroupAlias)
}

func (c *Choices) unboundPortReason() gatewayv1.RouteConditionReason {
	if c.UnboundPortReason == "" {
		return gatewayv1.RouteReasonNoMatchingParent
	}
	return c.UnboundPortReason
}

func (c *Choices) conflictReason() gatewayv1.RouteConditionReason {
	if c.ConflictReason == "" {
		return ReasonConflicted
	}
	return c.ConflictReason
}

func (c *Choices) retryDefaults() (attempts int, backoff time.Duration) {
	attempts, backoff = 1, 25*time.Millisecond
	if c.DefaultRetryAttempts > 0 {
		attempts = c.DefaultRetryAttempts
	}
	if c.DefaultRetryBackoff > 0 {
		backoff = c.DefaultRetryBackoff
	}
	return attempts, backoff
}
