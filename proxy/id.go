package proxy

import (
	"crypto/rand"
	"encoding/hex"
	"sync/atomic"
	"time"
)

// lastIDMicros makes IDs from one process strictly increasing even when
// the clock stands still (tests) or steps back.
var lastIDMicros atomic.Int64

// newID returns a 32-character lower-case hex ID: 16 digits of a
// microsecond timestamp (monotonic within the process) followed by 64
// random bits. IDs sort by creation time, across instances to the
// precision of their clocks, and are unique without coordination.
func newID(now time.Time) string {
	t := now.UnixMicro()
	for {
		last := lastIDMicros.Load()
		if t <= last {
			t = last + 1
		}
		if lastIDMicros.CompareAndSwap(last, t) {
			break
		}
		t = now.UnixMicro()
	}
	var b [16]byte
	for i := 7; i >= 0; i-- {
		b[i] = byte(t)
		t >>= 8
	}
	_, _ = rand.Read(b[8:]) // crypto/rand.Read never fails (Go 1.24)
	var out [32]byte
	hex.Encode(out[:], b[:])
	return string(out[:])
}
