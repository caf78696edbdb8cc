package h2c

// The Transport's connection pool: one pool of connections per address,
// one dial at a time, requests spread over the connections with room.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// clPool holds the connections to one address.
type clPool struct {
	conns []*clConn
	dial  *clDial // in progress, or nil
}

// clDial is a connection being dialed; requests that find no room on the
// existing connections wait for it rather than dial their own.
type clDial struct {
	done chan struct{}
	err  error
	// canceled: the dial failed because its requester's context ended,
	// which says nothing about the other requests.
	canceled bool
}

// getConn returns a connection to addr, other than avoid, with a stream
// reserved on it.
func (t *Transport) getConn(ctx context.Context, addr string, avoid *clConn) (*clConn, error) {
	for {
		t.mu.Lock()
		if t.pools == nil {
			t.pools = make(map[string]*clPool)
		}
		p := t.pools[addr]
		if p == nil {
			p = &clPool{}
			t.pools[addr] = p
		}
		for _, cc := range p.conns {
			if cc != avoid && cc.reserve() {
				t.mu.Unlock()
				return cc, nil
			}
		}
		if d := p.dial; d != nil {
			t.mu.Unlock()
			select {
			case <-d.done:
			case <-ctx.Done():
				return nil, fmt.Errorf("h2c: waiting for a connection to %s: %w", addr, ctx.Err())
			}
			if d.err != nil && !d.canceled {
				return nil, d.err
			}
			continue
		}
		d := &clDial{done: make(chan struct{})}
		p.dial = d
		t.mu.Unlock()

		cc, err := t.dial(ctx, addr)
		t.mu.Lock()
		p.dial = nil
		if err == nil {
			if !cc.reserve() {
				err = fmt.Errorf("h2c: %s allows no streams", addr)
				cc.nc.Close()
			} else {
				p.conns = append(p.conns, cc)
			}
		}
		if err != nil && len(p.conns) == 0 {
			delete(t.pools, addr)
		}
		d.err, d.canceled = err, err != nil && ctx.Err() != nil
		close(d.done)
		t.mu.Unlock()
		if err != nil {
			return nil, err
		}
		return cc, nil
	}
}

// removeConn takes cc out of its pool.
func (t *Transport) removeConn(cc *clConn) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.pools[cc.addr]
	if p == nil {
		return
	}
	if i := slices.Index(p.conns, cc); i >= 0 {
		p.conns = slices.Delete(p.conns, i, i+1)
	}
	if len(p.conns) == 0 && p.dial == nil {
		delete(t.pools, cc.addr)
	}
}

// dial opens a connection to addr, sends the preface and the client's
// settings and starts its reader.
func (t *Transport) dial(ctx context.Context, addr string) (*clConn, error) {
	if t.Dial == nil {
		return nil, errors.New("h2c: Transport.Dial is nil")
	}
	nc, err := t.Dial(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("h2c: dial %s: %w", addr, err)
	}
	idle := t.IdleTimeout
	if idle <= 0 {
		idle = clDefaultIdle
	}
	cc := &clConn{
		t:          t,
		addr:       addr,
		nc:         nc,
		br:         bufio.NewReaderSize(nc, 16<<10),
		maxFrame:   clMaxReadFrame,
		streams:    make(map[uint32]*clStream),
		nextID:     1,
		maxStreams: clDefaultMaxStreams,
		initWin:    clInitialWindow,
		sendWin:    clInitialWindow,
		idle:       idle,
		idleSince:  time.Now(),
		recvAvail:  clConnWindow,
	}
	cc.flow.L = &cc.mu
	cc.fr = http2.NewFramer(&cc.wbuf, cc.br)
	cc.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	cc.fr.MaxHeaderListSize = clMaxHeaderList
	cc.fr.SetMaxReadFrameSize(clMaxReadFrame)
	cc.fr.SetReuseFrames()
	cc.enc = hpack.NewEncoder(&cc.hbuf)

	cc.wmu.Lock()
	cc.wbuf.WriteString(http2.ClientPreface)
	_ = cc.fr.WriteSettings(
		http2.Setting{ID: http2.SettingEnablePush, Val: 0},
		http2.Setting{ID: http2.SettingInitialWindowSize, Val: clStreamWindow},
		http2.Setting{ID: http2.SettingMaxHeaderListSize, Val: clMaxHeaderList},
	)
	_ = cc.fr.WriteWindowUpdate(0, clConnWindow-clInitialWindow)
	err = cc.flushLocked()
	cc.wmu.Unlock()
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("h2c: writing preface to %s: %w", addr, err)
	}
	cc.mu.Lock()
	cc.idleTimer = time.AfterFunc(idle, cc.onIdleTimer)
	cc.mu.Unlock()
	go cc.readLoop()
	return cc, nil
}
