package ioloop

import (
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

const (
	// readBuffer is the size of a Conn's read buffer.
	readBuffer = 16 << 10
	// directRead: reads at least this large (a bufio.Reader's) bypass the
	// buffer.
	directRead = 4 << 10
	// maxBuffered is how much a Conn buffers before a Write writes itself,
	// so that a writer faster than its peer waits as it would unbuffered.
	maxBuffered = 64 << 10
	// closeTimeout bounds Close's write of what is still buffered.
	closeTimeout = 5 * time.Second
)

var readBuffers = sync.Pool{New: func() any { return new([readBuffer]byte) }}

// Conn is a connection whose reads are buffered and whose writes the loop
// coalesces. A Write reports success once its bytes are buffered; an error
// writing them later closes the connection and is returned by the next
// Write. Close writes what is buffered first. Only one goroutine may read
// at a time, as with net.Conn's own buffered readers.
type Conn struct {
	net.Conn
	loop *Loop
	rc   syscall.RawConn // nil: not a socket, writes go through Conn.Write
	// write's and read's arguments and results (write's under mu, read's
	// the reader's), and both as method values (a closure per call would
	// be an allocation).
	rawN     int
	rawErr   error
	rawWrite func(fd uintptr) bool
	rawRead  func(fd uintptr) bool
	rdst     []byte
	rdN      int
	rdErr    error

	rbuf *[readBuffer]byte // nil when empty
	r, w int

	mu      sync.Mutex // guards the fields below
	wbuf    []byte
	queued  bool       // on the loop's flush list
	writing bool       // a goroutine is writing what the socket did not take
	done    *sync.Cond // signalled when writing ends
	err     error      // the first write error
}

// Wrap returns c with buffered reads and coalesced writes, its socket
// watched by the loop.
func (l *Loop) Wrap(c net.Conn) *Conn {
	l.Watch(c)
	bc := &Conn{Conn: c, loop: l}
	bc.done = sync.NewCond(&bc.mu)
	if sc, ok := c.(syscall.Conn); ok {
		bc.rc, _ = sc.SyscallConn()
		bc.rawWrite, bc.rawRead = bc.write, bc.read
	}
	return bc
}

// Read reads from the buffer, refilling it with one read of the socket.
func (c *Conn) Read(p []byte) (int, error) {
	if c.rbuf == nil {
		if len(p) >= directRead {
			return c.readSocket(p)
		}
		c.rbuf = readBuffers.Get().(*[readBuffer]byte)
		n, err := c.readSocket(c.rbuf[:])
		if n <= 0 {
			readBuffers.Put(c.rbuf)
			c.rbuf = nil
			return 0, err
		}
		c.r, c.w = 0, n
	}
	n := copy(p, c.rbuf[c.r:c.w])
	c.r += n
	if c.r == c.w {
		readBuffers.Put(c.rbuf)
		c.rbuf = nil
	}
	return n, nil
}

// readSocket reads from the socket once, waiting for it to be readable.
func (c *Conn) readSocket(p []byte) (int, error) {
	if c.rc == nil || len(p) == 0 {
		return c.Conn.Read(p)
	}
	c.rdst = p
	err := c.rc.Read(c.rawRead)
	n, rerr := c.rdN, c.rdErr
	c.rdst, c.rdN, c.rdErr = nil, 0, nil
	switch {
	case err != nil: // closed, or past the read deadline
		return 0, err
	case rerr != nil:
		return 0, &net.OpError{Op: "read", Net: c.LocalAddr().Network(), Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: os.NewSyscallError("read", rerr)}
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

// read is readSocket's read of the socket: false, not readable yet.
func (c *Conn) read(fd uintptr) bool {
	for {
		n, err := rawSyscall(syscall.SYS_READ, fd, c.rdst)
		switch err {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		}
		c.rdN, c.rdErr = n, err
		return true
	}
}

// Write buffers p for the loop to write.
func (c *Conn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return 0, c.err
	}
	if len(c.wbuf)+len(p) > maxBuffered {
		// The peer is slow: wait as an unbuffered connection would, after
		// what is already buffered or being written.
		for c.writing {
			c.done.Wait()
		}
		c.wbuf = append(c.wbuf, p...)
		if err := c.writeOut(); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	c.wbuf = append(c.wbuf, p...)
	if !c.queued && !c.writing {
		if c.queued = c.loop.enqueue(c); !c.queued {
			// The loop is not running.
			if err := c.writeOut(); err != nil {
				return 0, err
			}
		}
	}
	return len(p), nil
}

// writeOut writes the buffer, waiting for the socket, without holding c.mu
// meanwhile: the loop must never wait for one slow connection. c.mu is
// held and c.writing false.
func (c *Conn) writeOut() error {
	for len(c.wbuf) > 0 && c.err == nil {
		buf := c.wbuf
		c.wbuf = nil
		c.writing = true
		c.mu.Unlock()
		_, err := c.Conn.Write(buf)
		c.mu.Lock()
		c.writing = false
		c.done.Broadcast()
		if err != nil {
			c.fail(err)
		}
	}
	return c.err
}

// flush writes what the socket takes without waiting; a goroutine writes
// the rest.
func (c *Conn) flush() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.queued = false
	if c.writing || len(c.wbuf) == 0 || c.err != nil {
		return
	}
	n := 0
	if c.rc != nil {
		c.rc.Write(c.rawWrite)
		n, c.rawN = c.rawN, 0
		switch err := c.rawErr; {
		case err == syscall.EAGAIN || err == syscall.EINTR:
			n = 0
		case err != nil:
			c.fail(err)
			return
		}
	}
	if n == len(c.wbuf) {
		c.wbuf = c.wbuf[:0]
		return
	}
	c.wbuf = c.wbuf[n:]
	c.writing = true
	go func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.writing = false
		c.writeOut()
	}()
}

// write is flush's one non-blocking write of the buffer. c.mu is held.
func (c *Conn) write(fd uintptr) bool {
	c.rawN, c.rawErr = rawSyscall(syscall.SYS_WRITE, fd, c.wbuf)
	return true
}

// rawSyscall reads or writes a non-blocking socket without telling the Go
// runtime (syscall.RawSyscall): such a call never blocks, so the runtime
// has no thread to hand the P to meanwhile, and each syscall it is told of
// after an idle spell wakes its monitor thread (sysmon), which then polls
// every 20 µs, taking the CPU from the proxy and the app. See the package
// documentation.
func rawSyscall(trap, fd uintptr, p []byte) (int, error) {
	n, _, e := syscall.RawSyscall(trap, fd, uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

// flushBlocking writes what is buffered, waiting for the socket.
func (c *Conn) flushBlocking() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.queued = false
	for c.writing {
		c.done.Wait()
	}
	c.writeOut()
}

// fail records err and closes the connection, so that its reader sees the
// failure too. c.mu is held.
func (c *Conn) fail(err error) {
	if c.err == nil {
		c.err = err
	}
	c.wbuf = nil
	c.Conn.Close()
}

// Close writes what is buffered (for at most closeTimeout), then closes
// the connection.
func (c *Conn) Close() error {
	c.mu.Lock()
	pending := len(c.wbuf) > 0 || c.writing
	c.mu.Unlock()
	if pending {
		c.Conn.SetWriteDeadline(time.Now().Add(closeTimeout))
		c.flushBlocking()
	}
	return c.Conn.Close()
}

// CloseWrite writes what is buffered, then half-closes the connection when
// it can.
func (c *Conn) CloseWrite() error {
	c.flushBlocking()
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
