package httpproxy

import (
	"cmp"
	"encoding/base64"
	"encoding/binary"
	"hash/fnv"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"gamma-conformance/referenceimpl/meshconfig"
)

// A session token names the endpoint a session is pinned to, the rule that
// issued it and when: base64url (no padding) of an 8-byte hash of the rule,
// the 8-byte issue time in Unix seconds, the IP address and the 2-byte port.
// Its alphabet is [A-Za-z0-9_-], so it survives headers, cookies and clients
// that split values on "," or ":". A token from another rule is ignored:
// GEP-1619 "Route rules referencing the same service MUST NOT share
// persistent sessions".

func ruleHash(r *meshconfig.HTTPRule) uint64 {
	h := fnv.New64a()
	h.Write([]byte(r.Route.String() + "#" + strconv.Itoa(r.Index)))
	return h.Sum64()
}

func newToken(r *meshconfig.HTTPRule, ep netip.AddrPort, now time.Time) string {
	b := binary.BigEndian.AppendUint64(nil, ruleHash(r))
	b = binary.BigEndian.AppendUint64(b, uint64(now.Unix()))
	b = append(b, ep.Addr().AsSlice()...)
	b = binary.BigEndian.AppendUint16(b, ep.Port())
	return base64.RawURLEncoding.EncodeToString(b)
}

// parseToken returns the endpoint of a token issued by rule r that has not
// outlived maxAge (zero: no limit).
func parseToken(tok string, r *meshconfig.HTTPRule, maxAge time.Duration, now time.Time) (netip.AddrPort, bool) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || (len(b) != 16+4+2 && len(b) != 16+16+2) || binary.BigEndian.Uint64(b) != ruleHash(r) {
		return netip.AddrPort{}, false
	}
	issued := time.Unix(int64(binary.BigEndian.Uint64(b[8:])), 0)
	if maxAge > 0 && now.Sub(issued) > maxAge {
		return netip.AddrPort{}, false
	}
	ip, _ := netip.AddrFromSlice(b[16 : len(b)-2])
	return netip.AddrPortFrom(ip, binary.BigEndian.Uint16(b[len(b)-2:])), true
}

func sessionToken(r *http.Request, s *meshconfig.SessionPersistence) string {
	if s.Type == meshconfig.SessionHeader {
		return r.Header.Get(s.Name)
	}
	if c, err := r.Cookie(s.Name); err == nil {
		return c.Value
	}
	return ""
}

// stickyTarget finds a backend of rule r whose session token in the request
// names one of its current endpoints. A persistent session takes precedence
// over the traffic split (GEP-1619).
func stickyTarget(r *meshconfig.HTTPRule, req *http.Request, now time.Time) (*meshconfig.Backend, netip.AddrPort, bool) {
	for i := range r.Backends {
		b := &r.Backends[i]
		if b.Session == nil {
			continue
		}
		tok := sessionToken(req, b.Session)
		if tok == "" {
			continue
		}
		ep, ok := parseToken(tok, r, b.Session.AbsoluteTimeout, now)
		if ok && slices.Contains(b.Endpoints, ep.String()) {
			return b, ep, true
		}
	}
	return nil, netip.AddrPort{}, false
}

// startSession sets the token of a new session on a response header.
func startSession(h http.Header, r *meshconfig.HTTPRule, s *meshconfig.SessionPersistence, ep netip.AddrPort, now time.Time) {
	tok := newToken(r, ep, now)
	if s.Type == meshconfig.SessionHeader {
		h.Set(s.Name, tok)
		return
	}
	c := &http.Cookie{Name: s.Name, Value: tok, Path: cmp.Or(s.Path, "/"), HttpOnly: true}
	if s.Permanent {
		c.MaxAge = int(s.AbsoluteTimeout / time.Second)
	}
	h.Add("Set-Cookie", c.String())
}
