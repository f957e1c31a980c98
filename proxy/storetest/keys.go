package storetest

import (
	"fmt"
	"sync"
	"time"

	"github.com/voiceproxy/voiceproxy/proxy"
)

// keyed is conv with an idempotency key.
func keyed(c proxy.Conversation, key string) proxy.Conversation {
	c.Key = key
	return c
}

var keyTests = []test{
	{"RoundTrip", func(f *fixture) {
		c := keyed(conv("c1", alice, gb1, bob, gb1, base, time.Hour), "order-42")
		f.create(c)
		f.wantConv(c)
		got, err := f.s.ConversationByKey(f.ctx, "order-42", at(time.Minute))
		if err != nil || got.ID != "c1" || got.Key != "order-42" {
			f.t.Errorf("ConversationByKey = %+v, %v; want c1", got, err)
		}
		if routed, err := f.s.Route(f.ctx, alice, gb1, at(time.Minute)); err != nil || routed.Key != "order-42" {
			f.t.Errorf("Route lost the key: %+v, %v", routed, err)
		}
		f.wantNotFound("ConversationByKey(unknown)", errOf(f.s.ConversationByKey(f.ctx, "order-43", at(time.Minute))))
		f.wantNotFound("ConversationByKey(\"\")", errOf(f.s.ConversationByKey(f.ctx, "", at(time.Minute))))
		f.wantNotFound("ConversationByKey past the deadline", errOf(f.s.ConversationByKey(f.ctx, "order-42", at(time.Hour))))
	}},
	{"ConflictWritesNothing", func(f *fixture) {
		f.create(keyed(conv("c1", alice, gb1, bob, gb1, base, time.Hour), "order-42"))
		f.wantConflict("a second conversation with the key", f.s.CreateConversation(f.ctx, keyed(conv("c2", carol, gb1, dave, gb1, at(time.Minute), time.Hour), "order-42")))
		f.wantNotFound("Conversation(c2)", errOf(f.s.Conversation(f.ctx, "c2")))
		// c2's legs were not taken: a conversation without the key gets them.
		f.create(conv("c3", carol, gb1, dave, gb1, at(2*time.Minute), time.Hour))
		// Conversations without a key never conflict on it.
		f.create(conv("c4", alice, gb2, bob, gb2, at(2*time.Minute), time.Hour))
	}},
	{"FreedByEnd", func(f *fixture) {
		f.create(keyed(conv("c1", alice, gb1, bob, gb1, base, time.Hour), "order-42"))
		f.end("c1", proxy.StatusClosed, at(time.Minute))
		f.wantNotFound("ConversationByKey after close", errOf(f.s.ConversationByKey(f.ctx, "order-42", at(time.Minute))))
		f.create(keyed(conv("c2", alice, gb1, bob, gb1, at(2*time.Minute), time.Hour), "order-42"))
		if got, err := f.s.ConversationByKey(f.ctx, "order-42", at(3*time.Minute)); err != nil || got.ID != "c2" {
			f.t.Errorf("ConversationByKey = %q, %v; want c2", got.ID, err)
		}
		if got := f.get("c1"); got.Key != "order-42" || got.Status != proxy.StatusClosed {
			f.t.Errorf("the ended holder: %+v", got)
		}
	}},
	{"FreedByDeadline", func(f *fixture) {
		f.create(keyed(conv("c1", alice, gb1, bob, gb1, base, time.Hour), "order-42"))
		// Not swept yet: the create expires the holder and takes its key.
		f.create(keyed(conv("c2", carol, gb2, dave, gb2, at(2*time.Hour), time.Hour), "order-42"))
		if got := f.get("c1"); got.Status != proxy.StatusExpired || !got.EndedAt.Equal(at(time.Hour)) {
			f.t.Errorf("holder past its deadline: %s ended %v; want expired at its deadline", got.Status, got.EndedAt)
		}
	}},
	{"ConcurrentCreates", func(f *fixture) {
		// Creates with one key race on different legs: exactly one wins.
		const n = 8
		parts := []string{alice, bob, carol, dave, erin, "447700900106", "447700900107", "447700900108", "447700900109"}
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := keyed(conv(fmt.Sprintf("c%d", i), parts[i], gb1, parts[i+1], gb2, base, time.Hour), "job-7")
				errs[i] = f.s.CreateConversation(f.ctx, c)
			}()
		}
		wg.Wait()
		f.wantOneWinner("creates with one key", errs)
	}},
}
