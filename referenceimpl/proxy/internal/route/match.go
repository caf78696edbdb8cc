package route

import (
	"net/http"
	"net/url"
	"strings"

	"gamma-conformance/referenceimpl/meshconfig"
)

// Select returns the first match of t (they are in precedence order) that
// matches r, or nil: the caller answers 404 (gRPC: UNIMPLEMENTED).
func (c *Config) Select(t *meshconfig.HTTPTable, r *http.Request) *meshconfig.HTTPMatch {
	var query url.Values
	for i := range t.Matches {
		m := &t.Matches[i]
		if !c.matchString(m.Path.Type, m.Path.Value, r.URL.Path) {
			continue
		}
		if m.Method != "" && m.Method != r.Method {
			continue
		}
		if !c.matchHeaders(m.Headers, r) {
			continue
		}
		if len(m.Query) > 0 {
			if query == nil {
				query = r.URL.Query()
			}
			if !c.matchQuery(m.Query, query) {
				continue
			}
		}
		return m
	}
	return nil
}

func (c *Config) matchHeaders(ms []meshconfig.NameMatch, r *http.Request) bool {
	for _, nm := range ms {
		var v string
		if strings.EqualFold(nm.Name, "host") {
			v = r.Host
		} else {
			vs := r.Header.Values(nm.Name)
			if len(vs) == 0 {
				return false
			}
			v = strings.Join(vs, ",")
		}
		if !c.matchString(nm.Type, nm.Value, v) {
			return false
		}
	}
	return true
}

func (c *Config) matchQuery(ms []meshconfig.NameMatch, q url.Values) bool {
	for _, nm := range ms {
		vs, ok := q[nm.Name] // query names are case-sensitive
		if !ok || len(vs) == 0 || !c.matchString(nm.Type, nm.Value, vs[0]) {
			return false
		}
	}
	return true
}

func (c *Config) matchString(t meshconfig.MatchType, want, got string) bool {
	switch t {
	case meshconfig.MatchExact:
		return got == want
	case meshconfig.MatchPathPrefix:
		return hasPathPrefix(got, want)
	case meshconfig.MatchRegex:
		return c.regex[want].MatchString(got)
	}
	return false
}

// hasPathPrefix is the element-wise prefix match: "/abc" matches "/abc",
// "/abc/" and "/abc/def" but not "/abcd"; a trailing "/" in prefix is
// ignored.
func hasPathPrefix(path, prefix string) bool {
	prefix = strings.TrimSuffix(prefix, "/")
	if prefix == "" {
		return true
	}
	return path == prefix || strings.HasPrefix(path, prefix+"/")
}
