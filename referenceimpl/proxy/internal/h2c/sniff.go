package h2c

import (
	"bytes"
	"net"
	"time"

	"golang.org/x/net/http2"
)

var clientPreface = []byte(http2.ClientPreface)

// Sniff reads from c until its first bytes tell HTTP/2's client preface
// from anything else, for at most timeout. It returns whether they are
// the preface and a connection that reads them again.
func Sniff(c net.Conn, timeout time.Duration) (bool, net.Conn, error) {
	c.SetReadDeadline(time.Now().Add(timeout))
	defer c.SetReadDeadline(time.Time{})
	var got []byte
	buf := make([]byte, len(clientPreface))
	for len(got) < len(clientPreface) && bytes.HasPrefix(clientPreface, got) {
		n, err := c.Read(buf[:len(clientPreface)-len(got)])
		got = append(got, buf[:n]...)
		if err != nil {
			return false, nil, err
		}
	}
	return bytes.Equal(got, clientPreface), &replayConn{Conn: c, first: got}, nil
}

// replayConn reads first, then from its connection.
type replayConn struct {
	net.Conn
	first []byte
}

func (c *replayConn) Read(p []byte) (int, error) {
	if len(c.first) > 0 {
		n := copy(p, c.first)
		c.first = c.first[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// CloseWrite shuts down the writing side of the connection, if it can.
func (c *replayConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return c.Close()
}
