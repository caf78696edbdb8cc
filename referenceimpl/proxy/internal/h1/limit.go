package h1

import "io"

// HeaderLimit bounds what is read for a message header, so that a header
// cannot grow without end: the server reads requests through one, the
// proxy's HTTP/1.1 client responses. Before a header, set Left to the
// bound + 1; after it, to 0 (no bound).
type HeaderLimit struct {
	R    io.Reader
	Left int64 // bytes that may still be read, plus one; 0: no bound
	Err  error // returned once the bound is reached
}

func (l *HeaderLimit) Read(p []byte) (int, error) {
	if l.Left == 0 {
		return l.R.Read(p)
	}
	if l.Left == 1 {
		return 0, l.Err
	}
	if int64(len(p)) > l.Left-1 {
		p = p[:l.Left-1]
	}
	n, err := l.R.Read(p)
	l.Left -= int64(n)
	return n, err
}
