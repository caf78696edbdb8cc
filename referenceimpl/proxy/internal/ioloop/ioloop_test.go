package ioloop

import (
	"bytes"
	"errors"
	"io"
	"net"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"
)

// pair returns a loopback connection wrapped by l and its peer.
func pair(t *testing.T, l *Loop) (*Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	peer, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); peer.Close() })
	return l.Wrap(c), peer
}

func started(t *testing.T, spin time.Duration) *Loop {
	t.Helper()
	l := New(spin)
	if err := l.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Stop)
	return l
}

// recorder records the writes a Conn makes to the connection under it.
type recorder struct {
	net.Conn
	mu     sync.Mutex
	writes []string
}

func (r *recorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	r.writes = append(r.writes, string(p))
	r.mu.Unlock()
	return r.Conn.Write(p)
}

// Writes made in one go become one write of the connection: the loop
// writes them out together once the writer blocks.
func TestWritesCoalesce(t *testing.T) {
	prev := runtime.GOMAXPROCS(1) // the writer runs until it blocks, as in the proxy
	defer runtime.GOMAXPROCS(prev)
	l := started(t, 0)
	c, peer := pair(t, l)
	rec := &recorder{Conn: c.Conn}
	c = l.Wrap(rec)
	for _, s := range []string{"HEADERS;", "DATA;", "TRAILERS"} {
		if _, err := c.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	peer.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 21)
	if _, err := io.ReadFull(peer, buf); err != nil {
		t.Fatal(err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if want := []string{"HEADERS;DATA;TRAILERS"}; !slices.Equal(rec.writes, want) {
		t.Fatalf("the connection got writes %q, want %q", rec.writes, want)
	}
}

// A peer that does not read makes writes wait, as unbuffered ones would,
// and every byte arrives in order once it reads.
func TestSlowPeerGetsEverythingInOrder(t *testing.T) {
	l := started(t, testSpin)
	c, peer := pair(t, l)
	const total = 8 << 20
	src := make([]byte, total)
	for i := range src {
		src[i] = byte(i * 7)
	}
	written := make(chan error, 1)
	go func() {
		for off := 0; off < total; off += 1000 {
			if _, err := c.Write(src[off:min(off+1000, total)]); err != nil {
				written <- err
				return
			}
		}
		written <- c.Close()
	}()
	time.Sleep(200 * time.Millisecond) // let the socket buffers fill
	select {
	case err := <-written:
		t.Fatalf("8 MiB written to a peer that reads nothing (err %v): writes do not wait", err)
	default:
	}
	got, err := io.ReadAll(peer)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-written; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, src) {
		t.Fatalf("peer got %d bytes, not the %d written in order", len(got), total)
	}
}

// Close writes what is buffered before it closes.
func TestCloseWritesTheBuffer(t *testing.T) {
	l := started(t, 0)
	c, peer := pair(t, l)
	c.Write([]byte("last words"))
	c.Close()
	got, err := io.ReadAll(peer)
	if err != nil || string(got) != "last words" {
		t.Fatalf("peer got %q, %v", got, err)
	}
}

// A write that fails after Write returned closes the connection and the
// next Write reports it.
func TestLaterWriteErrorIsReported(t *testing.T) {
	l := started(t, 0)
	c, peer := pair(t, l)
	peer.(*net.TCPConn).SetLinger(0)
	peer.Close() // RST
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := c.Write([]byte("x")); err != nil {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("writes to a reset connection kept succeeding")
}

// Reads are served from one buffer: small reads see the stream in order.
func TestBufferedReads(t *testing.T) {
	l := started(t, 0)
	c, peer := pair(t, l)
	msg := []byte("0123456789abcdefghij")
	peer.Write(msg)
	peer.Close()
	var got []byte
	buf := make([]byte, 3)
	for {
		n, err := c.Read(buf)
		got = append(got, buf[:n]...)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(got, msg) {
		t.Fatalf("read %q, want %q", got, msg)
	}
}

// With polling on, a reply that arrives while the loop spins ends the
// spin, a wakeup saved, and the loop counts it. The reply is left unread
// until then, so that only the loop's poll can notice it: a reader racing
// the poll would win whenever the loop has yielded the CPU, as it does
// between polls, on a machine busy with other tests.
func TestSpinSeesReplies(t *testing.T) {
	l := started(t, 10*time.Second)
	c, peer := pair(t, l)
	go io.Copy(peer, peer)  // echo
	c.Write([]byte("ping")) // the loop writes it out, then spins
	for deadline := time.Now().Add(10 * time.Second); l.Polled() == 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	if l.Polled() == 0 {
		t.Fatal("the spin did not end with the reply: the loop did not see the socket readable")
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("reply %q, %v", buf, err)
	}
}

// Without a running loop a Conn writes directly.
func TestStoppedLoopWritesDirectly(t *testing.T) {
	l := New(testSpin)
	c, peer := pair(t, l)
	c.Write([]byte("direct"))
	buf := make([]byte, 16)
	peer.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := peer.Read(buf)
	if err != nil || string(buf[:n]) != "direct" {
		t.Fatalf("peer got %q, %v", buf[:n], err)
	}
}

// testSpin is the spin time of tests that do not test spinning.
const testSpin = 100 * time.Microsecond

// Reads, which go to the socket without the runtime's syscall wrapper,
// still report what net.Conn reports: a deadline as a timeout, the peer's
// close as io.EOF, a read after Close as net.ErrClosed.
func TestReadErrorsAsNetConn(t *testing.T) {
	l := started(t, testSpin)
	c, peer := pair(t, l)
	buf := make([]byte, 8)
	c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	var ne net.Error
	if _, err := c.Read(buf); !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("read past the deadline: %v, want a timeout", err)
	}
	c.SetReadDeadline(time.Time{})
	peer.Write([]byte("hi"))
	if n, err := c.Read(buf); n != 2 || err != nil {
		t.Fatalf("read = %d, %v; want 2, nil", n, err)
	}
	peer.Close()
	if _, err := c.Read(buf); err != io.EOF {
		t.Fatalf("read after the peer closed: %v, want io.EOF", err)
	}
	c.Close()
	if _, err := c.Read(buf); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("read after Close: %v, want net.ErrClosed", err)
	}
}
