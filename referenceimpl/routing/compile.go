package routing

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"gamma-conformance/referenceimpl/meshconfig"
)

// Compile computes the route tables and route status for a snapshot of the
// cluster. It is pure and deterministic: the same objects in any order give
// identical output.
func Compile(in Input) Output {
	w := newWorld(&in)
	policyStatuses := resolvePolicies(w, &in)
	routes := compileRoutes(w, &in)
	tables := map[tableKey]*tableBuild{}
	for _, r := range routes {
		r.bind(w, tables)
	}
	keys := make([]tableKey, 0, len(tables))
	for k := range tables {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, tableKey.compare)
	out := Output{Tables: make([]meshconfig.Table, 0, len(keys)), PolicyStatuses: policyStatuses}
	for _, k := range keys {
		out.Tables = append(out.Tables, tables[k].build(&in.Choices))
	}
	for _, r := range routes {
		if st, ok := r.status(in.ControllerName); ok {
			out.Statuses = append(out.Statuses, st)
		}
	}
	return out
}

// compileRoutes compiles every route, sorted by kind, namespace and name.
func compileRoutes(w *world, in *Input) []*compiledRoute {
	var rs []*compiledRoute
	for i := range in.HTTPRoutes {
		rs = append(rs, compileHTTPRoute(w, &in.HTTPRoutes[i]))
	}
	for i := range in.GRPCRoutes {
		rs = append(rs, compileGRPCRoute(w, &in.GRPCRoutes[i]))
	}
	for i := range in.TCPRoutes {
		rs = append(rs, compileTCPRoute(w, &in.TCPRoutes[i]))
	}
	for i := range in.TLSRoutes {
		rs = append(rs, compileTLSRoute(w, &in.TLSRoutes[i]))
	}
	slices.SortStableFunc(rs, func(a, b *compiledRoute) int {
		return cmp.Or(strings.Compare(a.key.Kind, b.key.Kind), strings.Compare(a.key.Namespace, b.key.Namespace),
			strings.Compare(a.key.Name, b.key.Name))
	})
	return rs
}

// tableKey names one route table: a Service port, and the client namespace
// for a consumer overlay ("" for the producer table).
type tableKey struct {
	namespace, name string
	port            int32
	clientNamespace string
}

func (a tableKey) compare(b tableKey) int {
	return cmp.Or(strings.Compare(a.namespace, b.namespace), strings.Compare(a.name, b.name),
		cmp.Compare(a.port, b.port), strings.Compare(a.clientNamespace, b.clientNamespace))
}

// tableBuild collects the routes attached to one table.
type tableBuild struct {
	key     tableKey
	svc     *corev1.Service
	members []*compiledRoute
	parents map[*compiledRoute][]int
}

// bind resolves the route's Service parentRefs and attaches it to the
// tables of every port it binds to. GEP-1294: a route whose parent Service
// is in its own namespace is a producer route and applies to every client;
// one in another namespace is a consumer route, scoped to clients in the
// route's namespace.
func (r *compiledRoute) bind(w *world, tables map[tableKey]*tableBuild) {
	seen := map[string]bool{}
	for _, ref := range r.parentRefs {
		if !isServiceParent(ref, w.choices) {
			continue
		}
		k := parentKey(r.key.Namespace, ref)
		if seen[k] {
			continue
		}
		seen[k] = true
		bp := bindParent(r.key.Kind, r.key.Namespace, ref, w.services, w.choices)
		if bp.noService && w.choices.OmitUnboundParentStatus {
			continue
		}
		r.parents = append(r.parents, bp)
		if bp.noMatch != "" || !r.usable() {
			continue
		}
		pi := len(r.parents) - 1
		for _, p := range bp.ports {
			tk := tableKey{namespace: bp.svc.Namespace, name: bp.svc.Name, port: p.Port}
			if r.key.Namespace != bp.svc.Namespace {
				tk.clientNamespace = r.key.Namespace
			}
			tb := tables[tk]
			if tb == nil {
				tb = &tableBuild{key: tk, svc: bp.svc, parents: map[*compiledRoute][]int{}}
				tables[tk] = tb
			}
			if _, ok := tb.parents[r]; !ok {
				tb.members = append(tb.members, r)
			}
			tb.parents[r] = append(tb.parents[r], pi)
		}
	}
}

// build decides which routes the table applies and compiles it. GEP-1294:
// "If multiple routes with different types both bind to the same Service
// and Port pair, only a single route type should be applied", in the order
// GRPCRoute > HTTPRoute > TLSRoute > TCPRoute; the others are Conflicted.
// With Choices.MergeHTTPAndGRPC, HTTPRoutes and GRPCRoutes share a rank and
// are applied together.
func (tb *tableBuild) build(c *Choices) meshconfig.Table {
	best := 0
	for _, r := range tb.members {
		best = max(best, typeRank(r.key.Kind, c.MergeHTTPAndGRPC))
	}
	var applied []*compiledRoute
	for _, r := range tb.members {
		if typeRank(r.key.Kind, c.MergeHTTPAndGRPC) == best {
			applied = append(applied, r)
		}
	}
	slices.SortFunc(applied, func(a, b *compiledRoute) int {
		if a.olderThan(b) {
			return -1
		}
		return 1
	})
	winner := applied[0].key.Kind
	for _, r := range applied {
		if r.key.Kind == KindGRPCRoute {
			winner = KindGRPCRoute // the kind named in conflict messages
		}
	}
	for _, r := range tb.members {
		if typeRank(r.key.Kind, c.MergeHTTPAndGRPC) != best {
			tb.conflict(r, fmt.Sprintf("port %d: a %s on the same port takes precedence (GRPCRoute > HTTPRoute > TLSRoute > TCPRoute)", tb.key.port, winner))
		}
	}
	if winner == KindTCPRoute && !c.MergeTCPRoutes {
		// Nothing in a TCP connection tells TCPRoutes apart: the oldest wins.
		for _, r := range applied[1:] {
			tb.conflict(r, fmt.Sprintf("port %d: the older %s already routes it", tb.key.port, applied[0].key))
		}
		applied = applied[:1]
	}
	t := meshconfig.Table{
		Service:         meshconfig.ServiceKey{Namespace: tb.key.namespace, Name: tb.key.name},
		Port:            tb.key.port,
		VIPs:            serviceVIPs(tb.svc),
		ClientNamespace: tb.key.clientNamespace,
	}
	switch winner {
	case KindHTTPRoute, KindGRPCRoute:
		t.Protocol = meshconfig.ProtocolHTTP
		if !slices.ContainsFunc(applied, isKind(KindHTTPRoute)) {
			t.Protocol = meshconfig.ProtocolGRPC
		}
		t.HTTP = buildHTTPTable(applied)
	case KindTLSRoute:
		t.Protocol = meshconfig.ProtocolTLS
		age := map[meshconfig.RouteKey]int{}
		var rules []meshconfig.TLSRule
		for i, r := range applied {
			age[r.key] = i
			rules = append(rules, r.tls...)
		}
		t.TLS = sortTLSRules(rules, age)
	default:
		// Merged TCPRoutes (Choices.MergeTCPRoutes) share one weighted set.
		t.Protocol = meshconfig.ProtocolTCP
		var bs meshconfig.Backends
		for _, r := range applied {
			bs = append(bs, r.tcp...)
		}
		t.TCP = &bs
	}
	return t
}

func isKind(kind string) func(*compiledRoute) bool {
	return func(r *compiledRoute) bool { return r.key.Kind == kind }
}

func (tb *tableBuild) conflict(r *compiledRoute, msg string) {
	for _, pi := range tb.parents[r] {
		if r.conflicts == nil {
			r.conflicts = map[int]map[int32]string{}
		}
		if r.conflicts[pi] == nil {
			r.conflicts[pi] = map[int32]string{}
		}
		r.conflicts[pi][tb.key.port] = msg
	}
}

// buildHTTPTable merges the rules of every applied route (sorted oldest
// first) and orders their matches. HTTPRouteRule.Matches: "Across all rules
// specified on applicable Routes, precedence must be given to the match
// having" the most specific path, method, headers and query params; "If
// ties still exist across multiple Routes ... The oldest Route based on
// creation timestamp", then "{namespace}/{name}"; "If ties still exist
// within an HTTPRoute, matching precedence MUST be granted to the FIRST
// matching rule (in list order)". A stable sort by key keeps the age, name
// and rule order in which the entries were appended.
func buildHTTPTable(applied []*compiledRoute) *meshconfig.HTTPTable {
	t := &meshconfig.HTTPTable{}
	mixed := slices.ContainsFunc(applied, isKind(KindGRPCRoute)) && slices.ContainsFunc(applied, isKind(KindHTTPRoute))
	var entries []keyedMatch
	for _, r := range applied {
		for _, hr := range r.http {
			idx := len(t.Rules)
			t.Rules = append(t.Rules, hr.rule)
			for _, km := range hr.matches {
				km.match.Rule = idx
				if mixed {
					km = grpcFirst(km, r.key.Kind == KindGRPCRoute)
				}
				entries = append(entries, km)
			}
		}
	}
	slices.SortStableFunc(entries, func(a, b keyedMatch) int {
		return slices.Compare(b.key, a.key)
	})
	t.Matches = make([]meshconfig.HTTPMatch, len(entries))
	for i, e := range entries {
		t.Matches[i] = e.match
	}
	return t
}

// grpcContentType matches the content types of gRPC requests
// ("application/grpc", "application/grpc+proto", ...).
const grpcContentType = `application/grpc([+;].*)?`

// grpcFirst adapts a match of a table where HTTPRoutes and GRPCRoutes merge
// (Choices.MergeHTTPAndGRPC): a GRPCRoute match also needs a gRPC content
// type and ranks before every HTTPRoute match, so gRPC requests reach the
// GRPCRoute rules first and other requests only the HTTPRoute rules.
func grpcFirst(km keyedMatch, grpc bool) keyedMatch {
	rank := 0
	if grpc {
		rank = 1
		km.match.Headers = slices.Concat([]meshconfig.NameMatch{{Name: "Content-Type", Type: meshconfig.MatchRegex, Value: grpcContentType}}, km.match.Headers)
	}
	km.key = slices.Concat([]int{rank}, km.key)
	return km
}
