package proxy

import (
	"slices"
	"sort"
	"time"
)

// memIDIndex keeps conversations ordered by ID for ListConversations: a
// list of sorted blocks (a two-level B+-tree), so an insert moves at most
// one block's worth of pointers whatever the order IDs arrive in.
type memIDIndex struct {
	blocks [][]*memConv
}

const memBlockSize = 512

// insert adds c; its ID must not be in the index.
func (x *memIDIndex) insert(c *memConv) {
	if len(x.blocks) == 0 {
		x.blocks = append(x.blocks, []*memConv{c})
		return
	}
	// The first block whose last ID is greater than c's, else the last.
	b := sort.Search(len(x.blocks), func(i int) bool {
		blk := x.blocks[i]
		return blk[len(blk)-1].id > c.id
	})
	if b == len(x.blocks) {
		b--
	}
	blk := x.blocks[b]
	i := sort.Search(len(blk), func(i int) bool { return blk[i].id > c.id })
	blk = slices.Insert(blk, i, c)
	if len(blk) <= memBlockSize {
		x.blocks[b] = blk
		return
	}
	half := len(blk) / 2
	lo := slices.Clip(blk[:half])
	hi := slices.Clone(blk[half:])
	clear(blk[half:])
	x.blocks[b] = lo
	x.blocks = slices.Insert(x.blocks, b+1, hi)
}

// ascend calls visit for each conversation with an ID greater than after,
// in ID order, until visit returns false.
func (x *memIDIndex) ascend(after string, visit func(*memConv) bool) {
	b := sort.Search(len(x.blocks), func(i int) bool {
		blk := x.blocks[i]
		return blk[len(blk)-1].id > after
	})
	for ; b < len(x.blocks); b++ {
		blk := x.blocks[b]
		i := sort.Search(len(blk), func(i int) bool { return blk[i].id > after })
		for _, c := range blk[i:] {
			if !visit(c) {
				return
			}
		}
	}
}

// memExpiry is a conversation and a lower bound of its deadline (Touch
// only moves deadlines later; the sweep re-queues on a stale bound).
type memExpiry struct {
	deadline time.Time
	c        *memConv
}

// memExpiryHeap is a min-heap by deadline.
type memExpiryHeap []memExpiry

func (h *memExpiryHeap) push(e memExpiry) {
	*h = append(*h, e)
	memUp(*h, len(*h)-1, func(a, b memExpiry) bool { return a.deadline.Before(b.deadline) })
}

func (h *memExpiryHeap) pop() memExpiry {
	return memPop((*[]memExpiry)(h), func(a, b memExpiry) bool { return a.deadline.Before(b.deadline) })
}

type memNonce struct {
	expires time.Time
	key     string
}

// memNonceHeap is a min-heap by expiry.
type memNonceHeap []memNonce

func (h *memNonceHeap) push(e memNonce) {
	*h = append(*h, e)
	memUp(*h, len(*h)-1, func(a, b memNonce) bool { return a.expires.Before(b.expires) })
}

func (h *memNonceHeap) pop() memNonce {
	return memPop((*[]memNonce)(h), func(a, b memNonce) bool { return a.expires.Before(b.expires) })
}

func memUp[E any](h []E, i int, less func(a, b E) bool) {
	for i > 0 {
		parent := (i - 1) / 2
		if !less(h[i], h[parent]) {
			return
		}
		h[i], h[parent] = h[parent], h[i]
		i = parent
	}
}

func memPop[E any](hp *[]E, less func(a, b E) bool) E {
	h := *hp
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	var zero E
	h[last] = zero
	h = h[:last]
	*hp = h
	i := 0
	for {
		l := 2*i + 1
		if l >= len(h) {
			break
		}
		m := l
		if r := l + 1; r < len(h) && less(h[r], h[l]) {
			m = r
		}
		if !less(h[m], h[i]) {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	return top
}
