// Package l4 is the proxy's byte-level forwarding: splicing two connections
// with half-close, resetting a connection, and reading a TLS ClientHello's
// server name without terminating TLS.
package l4

import (
	"io"
	"net"
	"sync"
)

// Pipe copies bytes both ways between a and b until both directions end,
// passing a half-close on, then closes both.
func Pipe(a, b net.Conn) {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); copyHalf(a, b) }()
	go func() { defer wg.Done(); copyHalf(b, a) }()
	wg.Wait()
	a.Close()
	b.Close()
}

type closeWriter interface{ CloseWrite() error }

func copyHalf(dst, src net.Conn) {
	_, err := io.Copy(dst, src)
	if cw, ok := dst.(closeWriter); ok && err == nil {
		cw.CloseWrite()
		return
	}
	// An error on one side ends both: unblock the other copy.
	dst.Close()
	src.Close()
}

// Reset closes c with a TCP RST instead of an orderly FIN when it can.
func Reset(c net.Conn) {
	if tc, ok := c.(interface{ SetLinger(int) error }); ok {
		tc.SetLinger(0)
	}
	c.Close()
}
