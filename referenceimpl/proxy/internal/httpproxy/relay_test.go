package httpproxy

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

// closedBody fails every read once closed, as a server's request body does.
type closedBody struct {
	io.Reader
	closed bool
}

func (b *closedBody) Read(p []byte) (int, error) {
	if b.closed {
		return 0, http.ErrBodyReadAfterClose
	}
	return b.Reader.Read(p)
}

func (b *closedBody) Close() error { b.closed = true; return nil }

// failingBody fails its reads as a client that sent a bad chunk does.
type failingBody struct{}

var errBadChunk = errors.New("invalid byte in chunk length")

func (failingBody) Read([]byte) (int, error) { return 0, errBadChunk }
func (failingBody) Close() error             { return nil }

// A read that fails because the proxy's side closed the body (a Transport
// still sending it after an early answer or a cancel) is not the client's
// fault; a read that fails before is.
func TestClientBodyBlamesTheClientOnlyForItsOwnFailures(t *testing.T) {
	b := &clientBody{ReadCloser: &closedBody{Reader: strings.NewReader("abc")}}
	if _, err := io.ReadAll(b); err != nil || b.failed() != nil {
		t.Fatalf("a whole body: read error %v, failed %v", err, b.failed())
	}
	b.Close()
	if _, err := b.Read(make([]byte, 1)); err == nil {
		t.Fatal("a read after Close succeeded")
	}
	if err := b.failed(); err != nil {
		t.Errorf("a read after the proxy closed the body blamed the client: %v", err)
	}

	bad := &clientBody{ReadCloser: failingBody{}}
	bad.Read(make([]byte, 1))
	bad.Close()
	if err := bad.failed(); !errors.Is(err, errBadChunk) {
		t.Errorf("failed() = %v, want the client's %v", err, errBadChunk)
	}
	var none *clientBody
	if err := none.failed(); err != nil {
		t.Errorf("a request without a body failed: %v", err)
	}
}
