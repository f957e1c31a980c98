package timeheap

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// The heap agrees with a sorted-slice model under random pushes and pops.
func TestHeapMatchesModel(t *testing.T) {
	t.Parallel()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r := rand.New(rand.NewPCG(1, 2))
	var h Heap[int]
	var model []int // seconds after base, sorted
	for range 5000 {
		if r.IntN(3) > 0 {
			s := r.IntN(1000)
			h.Push(base.Add(time.Duration(s)*time.Second), s)
			i, _ := slices.BinarySearch(model, s)
			model = slices.Insert(model, i, s)
			continue
		}
		now := r.IntN(1000)
		at, v, ok := h.PopDue(base.Add(time.Duration(now) * time.Second))
		wantOK := len(model) > 0 && model[0] <= now
		if ok != wantOK {
			t.Fatalf("PopDue(%d) ok = %v, want %v (earliest %v)", now, ok, wantOK, model[:min(1, len(model))])
		}
		if !ok {
			continue
		}
		if v != model[0] || !at.Equal(base.Add(time.Duration(v)*time.Second)) {
			t.Fatalf("PopDue(%d) = %d at %v, want %d", now, v, at, model[0])
		}
		model = model[1:]
		if h.Len() != len(model) {
			t.Fatalf("Len = %d, want %d", h.Len(), len(model))
		}
	}
	if _, _, ok := h.Peek(); ok != (len(model) > 0) {
		t.Fatalf("Peek ok = %v with %d queued", ok, len(model))
	}
}

func TestEmptyHeap(t *testing.T) {
	t.Parallel()
	var h Heap[string]
	if _, _, ok := h.Peek(); ok {
		t.Error("Peek on an empty heap reports a value")
	}
	if _, _, ok := h.PopDue(time.Now()); ok {
		t.Error("PopDue on an empty heap reports a value")
	}
	h.Push(time.Unix(10, 0), "x")
	if _, _, ok := h.PopDue(time.Unix(9, 0)); ok {
		t.Error("PopDue before the value's time popped it")
	}
	if at, v, ok := h.PopDue(time.Unix(10, 0)); !ok || v != "x" || !at.Equal(time.Unix(10, 0)) {
		t.Errorf("PopDue at the value's time = %v, %q, %v", at, v, ok)
	}
}
