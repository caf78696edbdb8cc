package meshconfig

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Retry says when and how often a rule retries a failed backend request.
// A request is retried on a connection error (refused, reset, backend
// request timeout) and on a response whose status is in Codes.
type Retry struct {
	// Codes are the retriable response statuses (400-599).
	Codes []int `json:"codes,omitempty"`
	// Attempts is the number of retries after the first request (>= 1).
	Attempts int `json:"attempts"`
	// Backoff is the minimum wait before each retry.
	Backoff time.Duration `json:"backoff,omitempty"`
	// NoRetryOnTimeout: an attempt that ran out of its backend request
	// timeout is not retried; the client gets 504 at once.
	NoRetryOnTimeout bool `json:"noRetryOnTimeout,omitempty"`
}

// Retriable says whether a response status is in r.Codes.
func (r *Retry) Retriable(code int) bool {
	for _, c := range r.Codes {
		if c == code {
			return true
		}
	}
	return false
}

// RetryBudget bounds the retries a proxy sends to one Service: within any
// Interval, retries may make up at most Percent of the requests (first
// attempts and retries) it sent to the Service. Independently of the
// percentage, MinRetries retries per MinInterval are always allowed. A
// retry beyond both is not sent; the client gets 503.
type RetryBudget struct {
	// Service is the Service the budget counts requests to; every backend
	// of that Service, in every table, shares one budget.
	Service  ServiceKey    `json:"service"`
	Percent  int           `json:"percent"`
	Interval time.Duration `json:"interval"`
	// MinRetries per MinInterval; zero MinRetries allows no minimum.
	MinRetries  int           `json:"minRetries,omitempty"`
	MinInterval time.Duration `json:"minInterval,omitempty"`
}

// SessionType is how a session token travels.
type SessionType string

// The session types.
const (
	// SessionCookie: the proxy answers with Set-Cookie: <Name>=<token>; the
	// client sends Cookie: <Name>=<token>.
	SessionCookie SessionType = "Cookie"
	// SessionHeader: the proxy answers with the header <Name>: <token>; the
	// client sends the same header back.
	SessionHeader SessionType = "Header"
)

// SessionPersistence pins a client session to one endpoint of a backend.
// A request carrying a valid token for one of the backend's endpoints goes
// to that endpoint; any other request is balanced as usual and its response
// carries a new token.
type SessionPersistence struct {
	Type SessionType `json:"type"`
	// Name is the cookie or header name.
	Name string `json:"name"`
	// AbsoluteTimeout, when set, ends a session that long after its token
	// was issued (the token carries its issue time).
	AbsoluteTimeout time.Duration `json:"absoluteTimeout,omitempty"`
	// Permanent cookies carry Max-Age (AbsoluteTimeout); session cookies do
	// not.
	Permanent bool `json:"permanent,omitempty"`
	// Path is the cookie's Path attribute ("": "/").
	Path string `json:"path,omitempty"`
}

func (r *Retry) validate() error {
	if r == nil {
		return nil
	}
	if r.Attempts < 1 {
		return fmt.Errorf("retry attempts %d must be at least 1", r.Attempts)
	}
	if r.Backoff < 0 {
		return fmt.Errorf("negative retry backoff")
	}
	for _, c := range r.Codes {
		if c < 400 || c > 599 {
			return fmt.Errorf("retry code %d is not in 400-599", c)
		}
	}
	return nil
}

func (b *RetryBudget) validate() error {
	if b == nil {
		return nil
	}
	if b.Service.Namespace == "" || b.Service.Name == "" {
		return fmt.Errorf("retry budget needs its Service")
	}
	if b.Percent < 0 || b.Percent > 100 {
		return fmt.Errorf("retry budget percent %d is not in 0-100", b.Percent)
	}
	if b.Interval <= 0 {
		return fmt.Errorf("retry budget interval must be positive")
	}
	if b.MinRetries < 0 || (b.MinRetries > 0 && b.MinInterval <= 0) {
		return fmt.Errorf("retry budget minimum %d per %s is invalid", b.MinRetries, b.MinInterval)
	}
	return nil
}

// token is the grammar of HTTP header and cookie names (RFC 9110 token).
var token = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")

// ValidCookiePath reports whether path can be a cookie's Path attribute:
// absolute, with no attribute separator or control characters.
func ValidCookiePath(path string) bool {
	return strings.HasPrefix(path, "/") && !strings.ContainsAny(path, ";\x00\r\n")
}

func (s *SessionPersistence) validate() error {
	if s == nil {
		return nil
	}
	switch s.Type {
	case SessionCookie, SessionHeader:
	default:
		return fmt.Errorf("unknown session persistence type %q", s.Type)
	}
	if !token.MatchString(s.Name) {
		return fmt.Errorf("session name %q is not an HTTP token", s.Name)
	}
	if s.AbsoluteTimeout < 0 {
		return fmt.Errorf("negative session absolute timeout")
	}
	if s.Permanent && (s.Type != SessionCookie || s.AbsoluteTimeout == 0) {
		return fmt.Errorf("a permanent session needs type Cookie and an absolute timeout")
	}
	if s.Path != "" && (s.Type != SessionCookie || !ValidCookiePath(s.Path)) {
		return fmt.Errorf("session cookie path %q must start with / (type Cookie only)", s.Path)
	}
	return nil
}
