package route

import (
	"net"
	"net/http"
	"strconv"
	"strings"

	"gamma-conformance/referenceimpl/meshconfig"
)

// ModifyHeaders applies m to h: Set overwrites, Add appends to an existing
// value as "orig,added", Remove deletes. A Set or Add of "Host" goes to
// *host instead, since Go keeps the Host header out of h.
func ModifyHeaders(m *meshconfig.HeaderModifier, h http.Header, host *string) {
	if m == nil {
		return
	}
	for _, s := range m.Set {
		if host != nil && strings.EqualFold(s.Name, "host") {
			*host = s.Value
			continue
		}
		h.Set(s.Name, s.Value)
	}
	for _, a := range m.Add {
		if host != nil && strings.EqualFold(a.Name, "host") {
			*host = a.Value
			continue
		}
		if old := h.Values(a.Name); len(old) > 0 {
			h.Set(a.Name, strings.Join(old, ",")+","+a.Value)
		} else {
			h.Set(a.Name, a.Value)
		}
	}
	for _, name := range m.Remove {
		h.Del(name)
	}
}

// ModifyPath applies p to path; m is the match that selected the request,
// whose PathPrefix value a ReplacePrefixMatch replaces (a match of another
// type replaces the empty prefix).
func ModifyPath(p *meshconfig.PathModifier, m *meshconfig.HTTPMatch, path string) string {
	if p == nil {
		return path
	}
	if p.Type == meshconfig.ReplaceFullPath {
		return p.Value
	}
	prefix := ""
	if m.Path.Type == meshconfig.MatchPathPrefix {
		prefix = strings.TrimSuffix(m.Path.Value, "/")
	}
	rest := strings.TrimPrefix(path, prefix)
	out := strings.TrimSuffix(p.Value, "/") + rest
	if out == "" {
		return "/"
	}
	if out[0] != '/' {
		out = "/" + out
	}
	return out
}

// RedirectLocation builds the Location of a redirect for r, which arrived
// in cleartext on a connection to servicePort. The rules follow the Gateway
// API HTTPRequestRedirectFilter: empty fields keep the request's values; with
// no port given, a scheme change uses that scheme's well-known port, else the
// Service port; the port is left out when it is the scheme's default.
func RedirectLocation(rd *meshconfig.Redirect, m *meshconfig.HTTPMatch, r *http.Request, servicePort int32) string {
	scheme := "http"
	if rd.Scheme != "" {
		scheme = rd.Scheme
	}
	host := rd.Hostname
	if host == "" {
		host = r.Host
		if h, _, err := net.SplitHostPort(r.Host); err == nil {
			host = h
		}
		host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	}
	port := int(servicePort)
	switch {
	case rd.Port != 0:
		port = int(rd.Port)
	case rd.Scheme == "https":
		port = 443
	case rd.Scheme == "http":
		port = 80
	}
	hostport := host
	if strings.Contains(host, ":") {
		hostport = "[" + host + "]"
	}
	if !(scheme == "http" && port == 80) && !(scheme == "https" && port == 443) {
		hostport = net.JoinHostPort(host, strconv.Itoa(port))
	}
	loc := scheme + "://" + hostport + ModifyPath(rd.Path, m, r.URL.Path)
	if r.URL.RawQuery != "" {
		loc += "?" + r.URL.RawQuery
	}
	return loc
}
