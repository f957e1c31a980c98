// Package timeheap is a min-heap of values keyed by time: the earliest
// deadline first. It is what the in-memory store queues expiries,
// retention and nonce claims in. Unlike container/heap it is typed, so
// pushing and popping box nothing.
package timeheap

import "time"

// Heap is a min-heap of values by time. The zero Heap is empty and ready
// to use. It is not safe for concurrent use.
type Heap[V any] struct {
	items []item[V]
}

type item[V any] struct {
	at time.Time
	v  V
}

// Len is the number of values queued.
func (h *Heap[V]) Len() int { return len(h.items) }

// Push queues v at time at.
func (h *Heap[V]) Push(at time.Time, v V) {
	h.items = append(h.items, item[V]{at, v})
	i := len(h.items) - 1
	for i > 0 {
		parent := (i - 1) / 2
		if !h.items[i].at.Before(h.items[parent].at) {
			return
		}
		h.items[i], h.items[parent] = h.items[parent], h.items[i]
		i = parent
	}
}

// Peek returns the earliest value and its time without removing it; ok
// is false when the heap is empty.
func (h *Heap[V]) Peek() (at time.Time, v V, ok bool) {
	if len(h.items) == 0 {
		return time.Time{}, v, false
	}
	return h.items[0].at, h.items[0].v, true
}

// PopDue removes and returns the earliest value if its time is not after
// now; ok is false, and nothing changes, otherwise.
func (h *Heap[V]) PopDue(now time.Time) (at time.Time, v V, ok bool) {
	if len(h.items) == 0 || h.items[0].at.After(now) {
		return time.Time{}, v, false
	}
	top := h.items[0]
	last := len(h.items) - 1
	h.items[0] = h.items[last]
	h.items[last] = item[V]{} // drop the reference for the collector
	h.items = h.items[:last]
	i := 0
	for {
		l := 2*i + 1
		if l >= len(h.items) {
			break
		}
		m := l
		if r := l + 1; r < len(h.items) && h.items[r].at.Before(h.items[l].at) {
			m = r
		}
		if !h.items[m].at.Before(h.items[i].at) {
			break
		}
		h.items[i], h.items[m] = h.items[m], h.items[i]
		i = m
	}
	if len(h.items) == 0 {
		h.items = nil // let a burst's backing array go
	}
	return top.at, top.v, true
}
