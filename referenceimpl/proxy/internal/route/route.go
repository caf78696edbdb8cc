// Package route holds the proxy's per-snapshot routing state and the pure
// HTTP routing decisions: which match selects a request, how a redirect
// Location or a rewritten path is built, how headers are modified and which
// backend and endpoint get a request.
package route

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"regexp"

	"gamma-conformance/referenceimpl/meshconfig"
)

// Config is one validated snapshot with everything compiled that requests
// need. It is immutable: a new snapshot gets a new Config.
type Config struct {
	ix    *meshconfig.Index
	regex map[string]*regexp.Regexp
}

// Compile validates s whole (meshconfig.NewIndex) and compiles its regular
// expressions as RE2 full matches.
func Compile(s *meshconfig.Snapshot) (*Config, error) {
	ix, err := meshconfig.NewIndex(s)
	if err != nil {
		return nil, err
	}
	c := &Config{ix: ix, regex: make(map[string]*regexp.Regexp)}
	add := func(t meshconfig.MatchType, v string) error {
		if t != meshconfig.MatchRegex {
			return nil
		}
		if _, ok := c.regex[v]; ok {
			return nil
		}
		re, err := regexp.Compile("^(?:" + v + ")$")
		if err != nil {
			return fmt.Errorf("regular expression %q: %w", v, err)
		}
		c.regex[v] = re
		return nil
	}
	for _, t := range s.Tables {
		if t.HTTP == nil {
			continue
		}
		for _, m := range t.HTTP.Matches {
			if err := add(m.Path.Type, m.Path.Value); err != nil {
				return nil, err
			}
			for _, nm := range append(append([]meshconfig.NameMatch{}, m.Headers...), m.Query...) {
				if err := add(nm.Type, nm.Value); err != nil {
					return nil, err
				}
			}
		}
	}
	return c, nil
}

// Snapshot returns the snapshot c was compiled from.
func (c *Config) Snapshot() *meshconfig.Snapshot { return c.ix.Snapshot() }

// Lookup returns the table serving a client in namespace ns that dialed dst,
// or nil when the destination is not routed.
func (c *Config) Lookup(ns string, dst netip.AddrPort) *meshconfig.Table {
	return c.ix.Lookup(ns, dst)
}

// PickBackend chooses a backend by weight; nil when bs is empty.
func PickBackend(bs meshconfig.Backends) *meshconfig.Backend {
	if len(bs) == 0 {
		return nil
	}
	if len(bs) == 1 {
		return &bs[0]
	}
	n := rand.Int64N(bs.TotalWeight())
	for i := range bs {
		n -= int64(bs[i].Weight)
		if n < 0 {
			return &bs[i]
		}
	}
	return &bs[len(bs)-1]
}

// PickEndpoint chooses one of b's endpoints at random; false when it has
// none or one does not parse.
func PickEndpoint(b *meshconfig.Backend) (netip.AddrPort, bool) {
	if len(b.Endpoints) == 0 {
		return netip.AddrPort{}, false
	}
	ap, err := netip.ParseAddrPort(b.Endpoints[rand.IntN(len(b.Endpoints))])
	return ap, err == nil
}
