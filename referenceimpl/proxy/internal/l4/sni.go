package l4

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strings"
	"time"
)

var errPeeked = errors.New("client hello read")

// PeekSNI reads c's TLS ClientHello and returns its server name ("" when the
// client sent none) and every byte read, which the caller must forward
// first. It uses crypto/tls to parse the hello and aborts the handshake
// before answering, so nothing is ever written to c.
func PeekSNI(c net.Conn, timeout time.Duration) (string, []byte, error) {
	var buf bytes.Buffer
	c.SetReadDeadline(time.Now().Add(timeout))
	defer c.SetReadDeadline(time.Time{})
	var sni string
	seen := false
	err := tls.Server(readOnlyConn{r: io.TeeReader(c, &buf), Conn: c}, &tls.Config{
		GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
			sni, seen = h.ServerName, true
			return nil, errPeeked
		},
	}).Handshake()
	if !seen {
		return "", buf.Bytes(), err
	}
	return sni, buf.Bytes(), nil
}

// readOnlyConn lets crypto/tls read through a tee and swallows its writes
// (the alert it sends when the handshake is aborted).
type readOnlyConn struct {
	r io.Reader
	net.Conn
}

func (c readOnlyConn) Read(p []byte) (int, error)  { return c.r.Read(p) }
func (c readOnlyConn) Write(p []byte) (int, error) { return len(p), nil }
func (c readOnlyConn) Close() error                { return nil }

// MatchHostname reports whether sni matches one of hostnames: exact names
// compare case-insensitively, "*.suffix" matches any name ending in
// ".suffix" with at least one more label. Empty hostnames match everything.
func MatchHostname(hostnames []string, sni string) bool {
	if len(hostnames) == 0 {
		return true
	}
	sni = strings.ToLower(strings.TrimSuffix(sni, "."))
	for _, h := range hostnames {
		h = strings.ToLower(h)
		if suffix, ok := strings.CutPrefix(h, "*"); ok {
			if strings.HasSuffix(sni, suffix) && len(sni) > len(suffix) {
				return true
			}
		} else if h == sni {
			return true
		}
	}
	return false
}
