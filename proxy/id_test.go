package proxy

import "testing"

func TestNewIDSortable(t *testing.T) {
	t.Parallel()
	now := testNow
	prev := ""
	for range 100 {
		id := newID(now) // same instant: still strictly increasing
		if len(id) != 32 || id <= prev {
			t.Fatalf("id %q after %q: want 32 chars, increasing", id, prev)
		}
		prev = id
	}
}
