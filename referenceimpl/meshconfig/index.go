package meshconfig

import (
	"fmt"
	"net/netip"
	"regexp"
)

type lookupKey struct {
	clientNamespace string
	addr            netip.AddrPort
}

// Index answers "which table serves this connection" for one snapshot. It
// is immutable; build a new one for every snapshot.
type Index struct {
	snapshot *Snapshot
	tables   map[lookupKey]*Table
}

// NewIndex validates s and indexes its tables. An invalid snapshot yields
// an error and no index: a proxy keeps its previous configuration whole.
func NewIndex(s *Snapshot) (*Index, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	ix := &Index{snapshot: s, tables: make(map[lookupKey]*Table)}
	for i := range s.Tables {
		t := &s.Tables[i]
		for _, vip := range t.VIPs {
			a := netip.MustParseAddr(vip) // validated above
			ix.tables[lookupKey{t.ClientNamespace, netip.AddrPortFrom(a, uint16(t.Port))}] = t
		}
	}
	return ix, nil
}

// Snapshot returns the indexed snapshot.
func (ix *Index) Snapshot() *Snapshot { return ix.snapshot }

// Lookup returns the table for a client in clientNamespace connecting to
// dst: the namespace's consumer overlay if there is one, else the producer
// table, else nil ("not routed": pass the connection through).
func (ix *Index) Lookup(clientNamespace string, dst netip.AddrPort) *Table {
	dst = netip.AddrPortFrom(dst.Addr().Unmap(), dst.Port())
	if clientNamespace != "" {
		if t, ok := ix.tables[lookupKey{clientNamespace, dst}]; ok {
			return t
		}
	}
	return ix.tables[lookupKey{"", dst}]
}

// ForNamespace returns the part of s a proxy in namespace ns may see: every
// producer table and the overlays of ns only.
func (s *Snapshot) ForNamespace(ns string) *Snapshot {
	out := &Snapshot{Version: s.Version}
	for _, t := range s.Tables {
		if t.ClientNamespace == "" || t.ClientNamespace == ns {
			out.Tables = append(out.Tables, t)
		}
	}
	return out
}

// Validate checks that every table is well formed and that no two tables
// claim the same (client namespace, address, port).
func (s *Snapshot) Validate() error {
	seen := make(map[lookupKey]string)
	for i := range s.Tables {
		t := &s.Tables[i]
		where := fmt.Sprintf("table %d (%s port %d, client namespace %q)", i, t.Service, t.Port, t.ClientNamespace)
		if err := t.validate(); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		for _, vip := range t.VIPs {
			k := lookupKey{t.ClientNamespace, netip.AddrPortFrom(netip.MustParseAddr(vip), uint16(t.Port))}
			if prev, dup := seen[k]; dup {
				return fmt.Errorf("%s: address %s is already claimed by %s", where, k.addr, prev)
			}
			seen[k] = where
		}
	}
	return nil
}

func (t *Table) validate() error {
	if t.Service.Namespace == "" || t.Service.Name == "" {
		return fmt.Errorf("service namespace and name are required")
	}
	if t.Port < 1 || t.Port > 65535 {
		return fmt.Errorf("port %d is out of range 1-65535", t.Port)
	}
	if len(t.VIPs) == 0 {
		return fmt.Errorf("no VIPs")
	}
	for _, v := range t.VIPs {
		a, err := netip.ParseAddr(v)
		if err != nil || a.Zone() != "" || a.Is4In6() {
			return fmt.Errorf("VIP %q is not a plain IP address", v)
		}
	}
	bodies := 0
	if t.HTTP != nil {
		bodies++
	}
	if t.TCP != nil {
		bodies++
	}
	if t.TLS != nil {
		bodies++
	}
	if bodies != 1 {
		return fmt.Errorf("exactly one of http, tcp, tls must be set, found %d", bodies)
	}
	switch t.Protocol {
	case ProtocolHTTP, ProtocolGRPC:
		if t.HTTP == nil {
			return fmt.Errorf("protocol %s needs an http table", t.Protocol)
		}
		return t.HTTP.validate()
	case ProtocolTCP:
		if t.TCP == nil {
			return fmt.Errorf("protocol TCP needs tcp backends")
		}
		return t.TCP.validate()
	case ProtocolTLS:
		if t.TLS == nil {
			return fmt.Errorf("protocol TLS needs tls rules")
		}
		for i, r := range t.TLS {
			if err := r.Backends.validate(); err != nil {
				return fmt.Errorf("tls rule %d: %w", i, err)
			}
		}
		return nil
	default:
		return fmt.Errorf("unknown protocol %q", t.Protocol)
	}
}

func (h *HTTPTable) validate() error {
	for i, m := range h.Matches {
		if m.Rule < 0 || m.Rule >= len(h.Rules) {
			return fmt.Errorf("match %d points at rule %d of %d", i, m.Rule, len(h.Rules))
		}
		if err := m.Path.validate(true); err != nil {
			return fmt.Errorf("match %d path: %w", i, err)
		}
		for _, nm := range append(append([]NameMatch{}, m.Headers...), m.Query...) {
			if nm.Name == "" {
				return fmt.Errorf("match %d: empty header or query name", i)
			}
			if err := (StringMatch{Type: nm.Type, Value: nm.Value}).validate(false); err != nil {
				return fmt.Errorf("match %d %q: %w", i, nm.Name, err)
			}
		}
	}
	for i, r := range h.Rules {
		if err := r.validate(); err != nil {
			return fmt.Errorf("rule %d (%s rule %d): %w", i, r.Route, r.Index, err)
		}
	}
	return nil
}

func (m StringMatch) validate(path bool) error {
	switch m.Type {
	case MatchExact:
	case MatchPathPrefix:
		if !path {
			return fmt.Errorf("PathPrefix only applies to paths")
		}
	case MatchRegex:
		if _, err := regexp.Compile(m.Value); err != nil {
			return fmt.Errorf("bad regular expression: %w", err)
		}
	default:
		return fmt.Errorf("unknown match type %q", m.Type)
	}
	if path && m.Type != MatchRegex && (m.Value == "" || m.Value[0] != '/') {
		return fmt.Errorf("path %q must start with /", m.Value)
	}
	return nil
}

func (r *HTTPRule) validate() error {
	if r.Redirect != nil {
		switch r.Redirect.StatusCode {
		case 301, 302, 303, 307, 308:
		default:
			return fmt.Errorf("redirect status %d is not 301, 302, 303, 307 or 308", r.Redirect.StatusCode)
		}
		if r.Redirect.Scheme != "" && r.Redirect.Scheme != "http" && r.Redirect.Scheme != "https" {
			return fmt.Errorf("redirect scheme %q is not http or https", r.Redirect.Scheme)
		}
		if r.Redirect.Port < 0 || r.Redirect.Port > 65535 {
			return fmt.Errorf("redirect port %d is out of range", r.Redirect.Port)
		}
		if r.Rewrite != nil {
			return fmt.Errorf("a rule cannot both redirect and rewrite")
		}
		if len(r.Backends) > 0 {
			return fmt.Errorf("a redirecting rule has no backends")
		}
		if err := r.Redirect.Path.validate(); err != nil {
			return err
		}
	}
	if r.Rewrite != nil {
		if err := r.Rewrite.Path.validate(); err != nil {
			return err
		}
	}
	if r.Redirect == nil && len(r.Backends) == 0 && r.DirectStatus == 0 {
		return fmt.Errorf("a rule with no redirect and no backends needs a direct status")
	}
	if r.NoEndpointsStatus != 0 && (r.NoEndpointsStatus < 500 || r.NoEndpointsStatus > 599) {
		return fmt.Errorf("no-endpoints status %d is not a 5xx status", r.NoEndpointsStatus)
	}
	if r.DirectStatus != 0 && (r.DirectStatus < 200 || r.DirectStatus > 599) {
		return fmt.Errorf("direct status %d is not an HTTP status", r.DirectStatus)
	}
	if r.Timeouts.Request < 0 || r.Timeouts.BackendRequest < 0 {
		return fmt.Errorf("negative timeout")
	}
	if err := r.Retry.validate(); err != nil {
		return err
	}
	if len(r.Backends) > 0 {
		return r.Backends.validate()
	}
	return nil
}

func (p *PathModifier) validate() error {
	if p == nil {
		return nil
	}
	switch p.Type {
	case ReplaceFullPath, ReplacePrefixMatch:
	default:
		return fmt.Errorf("unknown path modifier %q", p.Type)
	}
	if p.Value == "" || p.Value[0] != '/' {
		return fmt.Errorf("replacement path %q must start with /", p.Value)
	}
	return nil
}

func (bs Backends) validate() error {
	if len(bs) == 0 {
		return fmt.Errorf("no backends")
	}
	for _, b := range bs {
		if b.Weight <= 0 {
			return fmt.Errorf("backend %s has weight %d; weight-0 backends must be left out", b.Name, b.Weight)
		}
		if b.Invalid && len(b.Endpoints) > 0 {
			return fmt.Errorf("invalid backend %s has endpoints", b.Name)
		}
		for _, e := range b.Endpoints {
			if _, err := netip.ParseAddrPort(e); err != nil {
				return fmt.Errorf("backend %s endpoint %q: %w", b.Name, e, err)
			}
		}
		if err := b.RetryBudget.validate(); err != nil {
			return fmt.Errorf("backend %s: %w", b.Name, err)
		}
		if err := b.Session.validate(); err != nil {
			return fmt.Errorf("backend %s: %w", b.Name, err)
		}
	}
	return nil
}
