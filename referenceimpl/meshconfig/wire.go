package meshconfig

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// The wire protocol. A proxy opens one long-lived HTTP/2 request to the
// control plane:
//
//	GET StreamPath
//	Authorization: Bearer <the pod's ServiceAccount token>
//
// The control plane authenticates the token (TokenReview), takes the client
// namespace from the token's ServiceAccount and answers 200 with a stream of
// frames, one JSON-encoded Snapshot per line, already cut down with
// ForNamespace. The first frame is sent at once; later frames follow every
// change, and the current snapshot is repeated every KeepaliveInterval so a
// proxy can tell a quiet control plane from a lost one. A proxy applies a
// frame whose Version differs from its current one (a restarted control plane
// may start counting again), validates it whole with NewIndex, and on any
// error keeps its current configuration and reconnects.
const (
	// StreamPath is the HTTP path of the config stream.
	StreamPath = "/meshconfig.v1/stream"
	// ContentType is the stream's media type.
	ContentType = "application/x-ndjson"
	// MaxFrameBytes bounds one frame, so a broken peer cannot exhaust memory.
	MaxFrameBytes = 64 << 20
)

// KeepaliveInterval is how often the control plane repeats the current
// snapshot on an otherwise idle stream.
const KeepaliveInterval = 15 * time.Second

// WriteFrame writes one snapshot frame.
func WriteFrame(w io.Writer, s *Snapshot) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// FrameReader reads snapshot frames from a stream.
type FrameReader struct {
	r *bufio.Reader
}

// NewFrameReader reads frames from r.
func NewFrameReader(r io.Reader) *FrameReader {
	return &FrameReader{r: bufio.NewReaderSize(r, 64<<10)}
}

// Next returns the next frame. It does not validate it (see NewIndex).
func (f *FrameReader) Next() (*Snapshot, error) {
	var line []byte
	for {
		chunk, isPrefix, err := f.r.ReadLine()
		if err != nil {
			return nil, err
		}
		line = append(line, chunk...)
		if len(line) > MaxFrameBytes {
			return nil, fmt.Errorf("config frame larger than %d bytes", MaxFrameBytes)
		}
		if !isPrefix {
			break
		}
	}
	var s Snapshot
	if err := json.Unmarshal(line, &s); err != nil {
		return nil, fmt.Errorf("decoding config frame: %w", err)
	}
	return &s, nil
}
