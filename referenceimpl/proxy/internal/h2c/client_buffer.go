package h2c

// The response body buffer of a stream: pooled chunks.

import (
	"sync"
)

// clChunk is a piece of a response body buffer.
type clChunk struct {
	b    [16 << 10]byte
	r, w int
}

var clChunks = sync.Pool{New: func() any { return new(clChunk) }}

// clBuffer is a response body received and not yet read, in pooled
// chunks.
type clBuffer struct {
	chunks []*clChunk
	inline [2]*clChunk // chunks' first backing array
	n      int
}

func (b *clBuffer) write(p []byte) {
	b.n += len(p)
	for len(p) > 0 {
		var c *clChunk
		if k := len(b.chunks); k > 0 && b.chunks[k-1].w < len(b.chunks[k-1].b) {
			c = b.chunks[k-1]
		} else {
			c = clChunks.Get().(*clChunk)
			b.chunks = append(b.chunks, c)
		}
		n := copy(c.b[c.w:], p)
		c.w += n
		p = p[n:]
	}
}

func (b *clBuffer) read(p []byte) int {
	total := 0
	for len(p) > 0 && len(b.chunks) > 0 {
		c := b.chunks[0]
		n := copy(p, c.b[c.r:c.w])
		c.r += n
		p = p[n:]
		total += n
		if c.r == c.w {
			c.r, c.w = 0, 0
			clChunks.Put(c)
			k := copy(b.chunks, b.chunks[1:])
			b.chunks[k] = nil
			b.chunks = b.chunks[:k]
		}
	}
	b.n -= total
	return total
}

func (b *clBuffer) release() {
	for i, c := range b.chunks {
		c.r, c.w = 0, 0
		clChunks.Put(c)
		b.chunks[i] = nil
	}
	b.chunks = b.chunks[:0]
	b.n = 0
}
