package webhook

import (
	"errors"
	"fmt"
	"io"
	"sync/atomic"
)

// What a request may cost before its signature is checked. Anyone on the
// internet can send one, so nothing is allocated from what the request
// announces (its Content-Length), only from what it actually sent, and
// both the number of such requests and the bytes they hold at once are
// bounded.
const (
	// DefaultMaxUnverified is how many requests may be between their
	// headers and their signature check at once (GitHub and Slack
	// together): a slow sender holds its place until the server's read
	// timeout cuts it off.
	DefaultMaxUnverified = 512
	// DefaultMaxUnverifiedBytes is how many body bytes those requests may
	// hold at once, all together.
	DefaultMaxUnverifiedBytes = 32 << 20
)

// firstRead is the buffer a body starts with; it doubles as bytes arrive.
const firstRead = 4 << 10

// Errors of reading an unverified body.
var (
	// errOverloaded: too many unverified requests, or too many of their
	// bytes, at once; 503, nothing was buffered.
	errOverloaded = errors.New("too many unverified requests at once")
)

// tooLargeError: the body (or its Content-Length) is over the limit; 413.
type tooLargeError struct{ limit int64 }

func (e *tooLargeError) Error() string { return fmt.Sprintf("body larger than %d bytes", e.limit) }

// Gate bounds the requests whose signature is not checked yet: how many
// at once, and how many body bytes they buffer together. One Gate is
// shared by the handlers of a server; it is safe for concurrent use.
type Gate struct {
	slots    chan struct{}
	maxBytes int64
	held     atomic.Int64
}

// NewGate admits at most maxRequests unverified requests at once, holding
// at most maxBytes of body together; 0 takes the default.
func NewGate(maxRequests int, maxBytes int64) *Gate {
	if maxRequests <= 0 {
		maxRequests = DefaultMaxUnverified
	}
	if maxBytes <= 0 {
		maxBytes = DefaultMaxUnverifiedBytes
	}
	return &Gate{slots: make(chan struct{}, maxRequests), maxBytes: maxBytes}
}

// Held is how many body bytes unverified requests hold now.
func (g *Gate) Held() int64 { return g.held.Load() }

// enter takes a place without waiting: false when every place is taken.
func (g *Gate) enter() bool {
	select {
	case g.slots <- struct{}{}:
		return true
	default:
		return false
	}
}

func (g *Gate) leave() { <-g.slots }

// unverifiedBody is a request body being read before its signature is
// checked.
type unverifiedBody struct {
	gate    *Gate
	charged int64
	bytes   []byte
}

// read reads r to its end, at most limit bytes, writing every byte to mac
// as it arrives. The buffer starts small and grows with what was read:
// a Content-Length of 25 MB with 10 bytes behind it costs 4 KB. Each
// growth is charged to the gate first; release gives it back.
func (b *unverifiedBody) read(r io.Reader, contentLength, limit int64, mac io.Writer) error {
	if contentLength > limit {
		return &tooLargeError{limit}
	}
	for {
		if len(b.bytes) == cap(b.bytes) {
			if int64(len(b.bytes)) > limit {
				return &tooLargeError{limit}
			}
			// Double, but never past limit+1 (the byte that tells the
			// body is over the limit).
			size := max(firstRead, 2*cap(b.bytes))
			size = int(min(int64(size), limit+1))
			if err := b.charge(int64(size - cap(b.bytes))); err != nil {
				return err
			}
			grown := make([]byte, len(b.bytes), size)
			copy(grown, b.bytes)
			b.bytes = grown
		}
		n, err := r.Read(b.bytes[len(b.bytes):cap(b.bytes)])
		if n > 0 {
			if int64(len(b.bytes)+n) > limit {
				return &tooLargeError{limit}
			}
			mac.Write(b.bytes[len(b.bytes) : len(b.bytes)+n])
			b.bytes = b.bytes[:len(b.bytes)+n]
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// charge takes n bytes from the gate's budget, or none.
func (b *unverifiedBody) charge(n int64) error {
	if b.gate.held.Add(n) > b.gate.maxBytes {
		b.gate.held.Add(-n)
		return errOverloaded
	}
	b.charged += n
	return nil
}

// release gives the bytes charged back to the gate: the body is verified
// (or refused) and no longer an outsider's.
func (b *unverifiedBody) release() {
	b.gate.held.Add(-b.charged)
	b.charged = 0
}
