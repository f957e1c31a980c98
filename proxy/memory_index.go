package proxy

import (
	"slices"
	"sort"
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

// remove takes c out of the index, if it is there.
func (x *memIDIndex) remove(c *memConv) {
	b := sort.Search(len(x.blocks), func(i int) bool {
		blk := x.blocks[i]
		return blk[len(blk)-1].id >= c.id
	})
	if b == len(x.blocks) {
		return
	}
	blk := x.blocks[b]
	i := sort.Search(len(blk), func(i int) bool { return blk[i].id >= c.id })
	if i == len(blk) || blk[i] != c {
		return
	}
	blk = slices.Delete(blk, i, i+1)
	if len(blk) == 0 {
		x.blocks = slices.Delete(x.blocks, b, b+1)
		return
	}
	x.blocks[b] = blk
}
