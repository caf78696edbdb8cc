package h2c

import (
	"net/http"
	"strings"
)

// commonHeaders are header names whose HTTP/2 (lower case) and canonical
// forms are looked up instead of converted: converting allocates. Server
// and Transport both use them.
var commonHeaders = []string{
	"Accept", "Accept-Encoding", "Accept-Language", "Authorization", "Cache-Control",
	"Content-Encoding", "Content-Length", "Content-Type", "Cookie", "Date", "Etag",
	"Grpc-Accept-Encoding", "Grpc-Encoding", "Grpc-Message", "Grpc-Status", "Grpc-Timeout",
	"Host", "If-Modified-Since", "If-None-Match", "Last-Modified", "Location", "Server",
	"Set-Cookie", "Te", "Trailer", "User-Agent", "Vary", "Via", "X-Forwarded-For",
	"X-Forwarded-Proto", "X-Request-Id",
}

var (
	lowerOf     = make(map[string]string, len(commonHeaders))
	canonicalOf = make(map[string]string, len(commonHeaders))
)

func init() {
	for _, k := range commonHeaders {
		l := strings.ToLower(k)
		lowerOf[k] = l
		canonicalOf[l] = k
	}
}

// lower returns a canonical header name as HTTP/2 sends it.
func lower(k string) string {
	if l, ok := lowerOf[k]; ok {
		return l
	}
	return strings.ToLower(k)
}

// canonical returns an HTTP/2 header name in Go's canonical form.
func canonical(name string) string {
	if k, ok := canonicalOf[name]; ok {
		return k
	}
	return http.CanonicalHeaderKey(name)
}
