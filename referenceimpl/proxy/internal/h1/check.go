package h1

import (
	"fmt"
	"net/http"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// statusError is a request the server refuses before its handler sees it:
// the status to answer and why.
type statusError struct {
	code int
	text string // empty: the status alone, as net/http answers a parse error
}

func (e statusError) Error() string { return fmt.Sprintf("%d %s", e.code, e.text) }

// readError maps an error of http.ReadRequest to the answer net/http's
// server gives it: 501 for a transfer coding it does not know (RFC 9112
// 6.1), 400 for the rest.
func readError(err error) statusError {
	if msg := err.Error(); strings.Contains(msg, "unsupported transfer encoding") || strings.Contains(msg, "too many transfer encodings") {
		return statusError{code: http.StatusNotImplemented}
	}
	return statusError{code: http.StatusBadRequest}
}

// checkRequest makes the checks net/http's server makes on a parsed request
// that http.ReadRequest leaves out (RFC 9112 3.2, 5.1; RFC 9110 5.1, 5.5),
// and one it does not make: the request target's form (RFC 9112 3.2).
// It removes the Host field, as net/http's server does: r.Host holds it.
func checkRequest(r *http.Request) error {
	if r.ProtoMajor != 1 {
		return statusError{http.StatusHTTPVersionNotSupported, "unsupported protocol version"}
	}
	hosts, haveHost := r.Header["Host"]
	switch {
	case r.ProtoAtLeast(1, 1) && (!haveHost || len(hosts) == 0) && r.Method != http.MethodConnect:
		return statusError{http.StatusBadRequest, "missing required Host header"}
	case len(hosts) == 1 && !httpguts.ValidHostHeader(hosts[0]):
		return statusError{http.StatusBadRequest, "malformed Host header"}
	}
	for k, vs := range r.Header {
		if !httpguts.ValidHeaderFieldName(k) {
			// A space before the colon lands here (RFC 9112 5.1).
			return statusError{http.StatusBadRequest, "invalid header name"}
		}
		for _, v := range vs {
			if !httpguts.ValidHeaderFieldValue(v) {
				return statusError{http.StatusBadRequest, "invalid header value"}
			}
		}
	}
	if err := checkTarget(r); err != nil {
		return err
	}
	delete(r.Header, "Host")
	return nil
}

var errTarget = statusError{http.StatusBadRequest, "invalid request target"}

// checkTarget accepts the request target forms of RFC 9112 3.2: origin
// form ("/path"), absolute form with an http(s) URI and a host, authority
// form for CONNECT only, asterisk form for OPTIONS only. net/http's server
// takes "other.example:80" as a URI of scheme "other.example"; a proxy
// that forwarded it would send "GET 80".
func checkTarget(r *http.Request) error {
	t := r.RequestURI
	switch {
	case r.Method == http.MethodConnect:
		return nil // http.ReadRequest has parsed an authority
	case t == "*":
		if r.Method != http.MethodOptions {
			return errTarget
		}
		return nil
	case strings.HasPrefix(t, "/"):
		return nil
	case (r.URL.Scheme == "http" || r.URL.Scheme == "https") && r.URL.Host != "" && r.URL.Opaque == "":
		return nil
	}
	return errTarget
}
