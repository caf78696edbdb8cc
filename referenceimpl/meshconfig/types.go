// Package meshconfig is the contract between the reference mesh's control
// plane and its sidecar proxy: the route tables the routing model compiles
// and the wire protocol that carries them.
//
// It is deliberately small and free of Kubernetes and Gateway API types, so
// that the proxy can import it without importing the controller, the routing
// model or the upstream API. Everything here is plain data plus the pure
// lookup and validation logic both sides must agree on.
//
// A Snapshot holds two kinds of Table:
//
//   - producer tables, one per Service port that has routes attached from the
//     Service's own namespace (ClientNamespace is empty); they apply to clients
//     in every namespace;
//   - consumer overlays, one per (client namespace, Service port) that has
//     consumer routes (ClientNamespace is set); for clients in that namespace
//     they replace the producer table of the same Service port.
//
// A connection to an address that no table claims is "not routed": the proxy
// passes it through to its original destination unchanged.
package meshconfig

import "time"

// Protocol is the protocol a table speaks, decided by the route type that won
// the Service port.
type Protocol string

// The table protocols.
const (
	// ProtocolHTTP tables come from HTTPRoutes (HTTP/1.1 or h2c downstream).
	ProtocolHTTP Protocol = "HTTP"
	// ProtocolGRPC tables come from GRPCRoutes (h2c downstream); local
	// answers are sent as gRPC statuses.
	ProtocolGRPC Protocol = "GRPC"
	// ProtocolTCP tables come from TCPRoutes: weighted TCP forwarding.
	ProtocolTCP Protocol = "TCP"
	// ProtocolTLS tables come from TLSRoutes: passthrough routed by the
	// ClientHello's server name (SNI).
	ProtocolTLS Protocol = "TLS"
)

// Snapshot is one complete, versioned configuration. A proxy replaces its
// whole configuration with a snapshot or keeps the old one; it never merges.
type Snapshot struct {
	// Version increases with every snapshot the control plane publishes.
	Version uint64 `json:"version"`
	// Tables are sorted by ServiceKey, Port, then ClientNamespace.
	Tables []Table `json:"tables,omitempty"`
}

// ServiceKey names a Service.
type ServiceKey struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

func (k ServiceKey) String() string { return k.Namespace + "/" + k.Name }

// RouteKey names a route object, for metrics, logs and config dumps.
type RouteKey struct {
	// Kind is HTTPRoute, GRPCRoute, TCPRoute or TLSRoute.
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

func (k RouteKey) String() string { return k.Kind + "/" + k.Namespace + "/" + k.Name }

// Table is the route table of one Service port, either the producer table
// (ClientNamespace empty) or the overlay of one consumer namespace.
type Table struct {
	Service ServiceKey `json:"service"`
	// Port is the Service port (not the target port).
	Port int32 `json:"port"`
	// VIPs are the Service's ClusterIPs (one per IP family).
	VIPs []string `json:"vips"`
	// ClientNamespace is empty for a producer table, else the namespace
	// whose clients this overlay serves.
	ClientNamespace string   `json:"clientNamespace,omitempty"`
	Protocol        Protocol `json:"protocol"`

	// HTTP is set for ProtocolHTTP and ProtocolGRPC.
	HTTP *HTTPTable `json:"http,omitempty"`
	// TCP is set for ProtocolTCP: the merged weighted backends.
	TCP *Backends `json:"tcp,omitempty"`
	// TLS is set for ProtocolTLS, first match wins.
	TLS []TLSRule `json:"tls,omitempty"`
}

// HTTPTable is the compiled form of every HTTPRoute or GRPCRoute merged on a
// Service port: the rules, and their matches flattened and sorted into
// precedence order.
type HTTPTable struct {
	// Rules are the actions; Matches point into this slice.
	Rules []HTTPRule `json:"rules"`
	// Matches are in precedence order: the first one that matches a request
	// selects its rule. No match means 404 (gRPC: UNIMPLEMENTED).
	Matches []HTTPMatch `json:"matches"`
}

// MatchType says how a value is compared.
type MatchType string

// The match types.
const (
	MatchExact      MatchType = "Exact"
	MatchPathPrefix MatchType = "PathPrefix"
	MatchRegex      MatchType = "RegularExpression"
)

// StringMatch matches one string.
type StringMatch struct {
	Type  MatchType `json:"type"`
	Value string    `json:"value"`
}

// NameMatch matches a named value (a header or query parameter).
type NameMatch struct {
	// Name of the header (canonical case is not required; headers compare
	// case-insensitively) or query parameter (case-sensitive).
	Name  string    `json:"name"`
	Type  MatchType `json:"type"`
	Value string    `json:"value"`
}

// HTTPMatch is one match condition; all of its parts must hold.
type HTTPMatch struct {
	// Rule is the index of the rule in HTTPTable.Rules.
	Rule int `json:"rule"`
	// Path is always set (Exact, PathPrefix or RegularExpression). gRPC
	// service/method matches are compiled into paths.
	Path StringMatch `json:"path"`
	// Method, when set, must equal the request method.
	Method  string      `json:"method,omitempty"`
	Headers []NameMatch `json:"headers,omitempty"`
	Query   []NameMatch `json:"query,omitempty"`
}

// HTTPRule is what happens to a request once one of its matches selected it.
// Filters run in this order: request header modifier, then redirect or
// rewrite, then the backend's own filters.
type HTTPRule struct {
	Route RouteKey `json:"route"`
	// Index is the rule's position in its route, Name its optional name.
	Index int    `json:"index"`
	Name  string `json:"name,omitempty"`

	RequestHeaders  *HeaderModifier `json:"requestHeaders,omitempty"`
	ResponseHeaders *HeaderModifier `json:"responseHeaders,omitempty"`
	// Redirect answers locally; a rule with a redirect has no backends.
	Redirect *Redirect `json:"redirect,omitempty"`
	Rewrite  *Rewrite  `json:"rewrite,omitempty"`

	// Backends get the request. Empty with no redirect means every request
	// gets DirectStatus.
	Backends Backends `json:"backends,omitempty"`
	// DirectStatus is the HTTP status answered locally when the rule has no
	// usable backend (500 when every backendRef is invalid or none exists).
	DirectStatus int `json:"directStatus,omitempty"`
	// NoEndpointsStatus is the HTTP status answered when the chosen backend
	// is valid but has no ready endpoints; zero means 503.
	NoEndpointsStatus int `json:"noEndpointsStatus,omitempty"`

	Timeouts Timeouts `json:"timeouts,omitempty"`
	// Retry, when set, retries failed backend requests (see Retry).
	Retry *Retry `json:"retry,omitempty"`
}

// Timeouts bound a request. Zero means no timeout.
type Timeouts struct {
	// Request bounds the whole transaction, retries included (answer 504).
	Request time.Duration `json:"request,omitempty"`
	// BackendRequest bounds each attempt to a backend, from sending the
	// request to receiving the whole response; an attempt that runs out
	// is retried like a connection error (unless Retry.NoRetryOnTimeout),
	// and answered 504 if none is left.
	BackendRequest time.Duration `json:"backendRequest,omitempty"`
}

// Header is one header name and value.
type Header struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// HeaderModifier edits headers: Set overwrites, Add appends, Remove deletes.
type HeaderModifier struct {
	Set    []Header `json:"set,omitempty"`
	Add    []Header `json:"add,omitempty"`
	Remove []string `json:"remove,omitempty"`
}

// PathModifierType says how a path is replaced.
type PathModifierType string

// The path modifiers.
const (
	// ReplaceFullPath replaces the whole path with Value.
	ReplaceFullPath PathModifierType = "ReplaceFullPath"
	// ReplacePrefixMatch replaces the prefix the matching HTTPMatch's
	// PathPrefix matched with Value.
	ReplacePrefixMatch PathModifierType = "ReplacePrefixMatch"
)

// PathModifier replaces a request path.
type PathModifier struct {
	Type  PathModifierType `json:"type"`
	Value string           `json:"value"`
}

// Redirect answers the request with a redirect. Empty fields keep the
// request's value.
type Redirect struct {
	Scheme   string        `json:"scheme,omitempty"`
	Hostname string        `json:"hostname,omitempty"`
	Port     int32         `json:"port,omitempty"`
	Path     *PathModifier `json:"path,omitempty"`
	// StatusCode is 301, 302, 303, 307 or 308.
	StatusCode int `json:"statusCode"`
}

// Rewrite changes the request before it is forwarded.
type Rewrite struct {
	Hostname string        `json:"hostname,omitempty"`
	Path     *PathModifier `json:"path,omitempty"`
}

// Backends is a weighted set of backends; weight-0 backends are left out by
// the compiler.
type Backends []Backend

// TotalWeight is the sum of all weights.
func (bs Backends) TotalWeight() int64 {
	var t int64
	for _, b := range bs {
		t += int64(b.Weight)
	}
	return t
}

// Backend is one weighted backendRef resolved to endpoint addresses.
type Backend struct {
	// Name is "namespace/service:port" for metrics and dumps.
	Name   string `json:"name"`
	Weight int32  `json:"weight"`
	// Invalid backends (not found, wrong kind, bad port) answer their share
	// of requests with 500 (gRPC: UNAVAILABLE); TCP and TLS reset the
	// connection.
	Invalid bool `json:"invalid,omitempty"`
	// Endpoints are ready "ip:port" addresses (target ports resolved).
	// Empty and valid means "no endpoints": the rule's NoEndpointsStatus,
	// 503 by default (gRPC: UNAVAILABLE).
	Endpoints []string `json:"endpoints,omitempty"`

	RequestHeaders  *HeaderModifier `json:"requestHeaders,omitempty"`
	ResponseHeaders *HeaderModifier `json:"responseHeaders,omitempty"`

	// RetryBudget, when set, bounds the retries sent to this backend's
	// Service (from the Service's XBackendTrafficPolicy).
	RetryBudget *RetryBudget `json:"retryBudget,omitempty"`
	// Session, when set, pins sessions to endpoints of this backend.
	Session *SessionPersistence `json:"session,omitempty"`
}

// TLSRule routes a TLS connection by the ClientHello's server name.
type TLSRule struct {
	Route RouteKey `json:"route"`
	// Hostnames are exact names or "*.suffix" wildcards; empty matches all.
	Hostnames []string `json:"hostnames,omitempty"`
	Backends  Backends `json:"backends"`
}
