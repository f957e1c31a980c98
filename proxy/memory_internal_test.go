package proxy

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// The memory store forgets nonce claims that expired by the now of a
// later Claim or ExpireConversations, so memory stays bounded by the
// claims still live.
func TestMemoryStoreForgetsExpiredNonces(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := NewMemoryStore().(*memoryStore)
	live := func() int {
		s.mu.RLock()
		defer s.mu.RUnlock()
		return len(s.nonces)
	}
	// A claim a second, each living 5 minutes: at most 300 are live.
	now := testNow
	for i := range 1000 {
		now = testNow.Add(time.Duration(i) * time.Second)
		if err := s.Claim(ctx, fmt.Sprint("k", i), now, now.Add(5*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	if n := live(); n != 300 {
		t.Errorf("%d claims kept, want the 300 live ones", n)
	}
	if _, err := s.ExpireConversations(ctx, now.Add(5*time.Minute), 0); err != nil {
		t.Fatal(err)
	}
	if n := live(); n != 0 {
		t.Errorf("%d claims kept after all expired, want 0", n)
	}
	if n := s.nonceQueue.Len(); n != 0 {
		t.Errorf("%d heap entries kept after all expired, want 0", n)
	}
}

// retained reports what the store holds, for the retention tests.
func (s *memoryStore) retained() (convs, participants, interactions, parts, queued int) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.convs), len(s.parts), len(s.ints), len(s.msgParts), s.ended.Len() + s.anon.Len() + s.expiry.Len() + s.partsQueue.Len()
}

// An ended conversation is dropped, with its interactions and its
// participants' index entries, once the retention period has passed
// since it ended; active conversations stay.
func TestMemoryStoreRetention(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := NewMemoryStore(MemoryRetention(time.Hour)).(*memoryStore)
	const pool = "447700900001"
	if err := s.AddNumbers(ctx, PoolNumber{MSISDN: pool, Country: "GB", Voice: true, SMS: true}); err != nil {
		t.Fatal(err)
	}
	conv := func(id, a, b string) Conversation {
		return Conversation{
			ID: id, Status: StatusActive, Mode: ModeBoth,
			Participants: [2]Participant{{Number: a, ProxyNumber: pool}, {Number: b, ProxyNumber: pool}},
			CreatedAt:    testNow, ExpiresAt: testNow.Add(48 * time.Hour), LastActivityAt: testNow,
		}
	}
	ended, active := conv("c1", "447700900101", "447700900102"), conv("c2", "447700900103", "447700900104")
	for _, c := range []Conversation{ended, active} {
		if err := s.CreateConversation(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	in := Interaction{ID: "i1", ConversationID: "c1", Kind: KindCall, ExternalID: "CON-1", CreatedAt: testNow}
	if err := s.AddInteraction(ctx, in); err != nil {
		t.Fatal(err)
	}
	if err := s.AddInteractionEvent(ctx, "i1", InteractionEvent{Leg: "l1", Status: EventCompleted, At: testNow}); err != nil {
		t.Fatal(err)
	}
	closedAt := testNow.Add(time.Minute)
	if _, err := s.EndConversation(ctx, "c1", StatusClosed, closedAt); err != nil {
		t.Fatal(err)
	}

	if _, err := s.ExpireConversations(ctx, closedAt.Add(59*time.Minute), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Conversation(ctx, "c1"); err != nil {
		t.Fatalf("within retention: %v, want the ended conversation kept", err)
	}
	if _, err := s.ExpireConversations(ctx, closedAt.Add(time.Hour), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Conversation(ctx, "c1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("after retention: Conversation = %v, want ErrNotFound", err)
	}
	if _, err := s.InteractionByExternalID(ctx, KindCall, "CON-1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("after retention: InteractionByExternalID = %v, want ErrNotFound", err)
	}
	if _, err := s.Interactions(ctx, "c1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("after retention: Interactions = %v, want ErrNotFound", err)
	}
	all, _, err := s.ListConversations(ctx, ListFilter{Now: closedAt.Add(time.Hour)})
	if err != nil || len(all) != 1 || all[0].ID != "c2" {
		t.Errorf("after retention: ListConversations = %v, %v; want only c2", all, err)
	}
	if got, err := s.Route(ctx, "447700900103", pool, closedAt.Add(time.Hour)); err != nil || got.ID != "c2" {
		t.Errorf("the active conversation stopped routing: %v, %v", got.ID, err)
	}
	if convs, participants, interactions, _, _ := s.retained(); convs != 1 || participants != 2 || interactions != 0 {
		t.Errorf("store holds %d conversations, %d participants, %d interactions; want 1, 2, 0", convs, participants, interactions)
	}
}

// Under a steady stream of short conversations, each with a call, an
// unfinished multipart SMS and a nonce claim, what the store holds stays
// bounded by what is live or within retention, not by what ever was.
func TestMemoryStoreBoundedUnderSteadyTraffic(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := NewMemoryStore(MemoryRetention(time.Hour)).(*memoryStore)
	const pool = "447700900001"
	if err := s.AddNumbers(ctx, PoolNumber{MSISDN: pool, Country: "GB", Voice: true, SMS: true}); err != nil {
		t.Fatal(err)
	}
	const rounds = 3000 // a minute each: two days of traffic
	peak := 0
	for i := range rounds {
		now := testNow.Add(time.Duration(i) * time.Minute)
		a, b := fmt.Sprintf("4477009%05d", 2*i), fmt.Sprintf("4477009%05d", 2*i+1)
		id := fmt.Sprintf("c%06d", i)
		c := Conversation{
			ID: id, Status: StatusActive, Mode: ModeBoth,
			Participants: [2]Participant{{Number: a, ProxyNumber: pool}, {Number: b, ProxyNumber: pool}},
			CreatedAt:    now, ExpiresAt: now.Add(2 * time.Minute), LastActivityAt: now,
		}
		if err := s.CreateConversation(ctx, c); err != nil {
			t.Fatal(err)
		}
		if err := s.AddInteraction(ctx, Interaction{ID: "i" + id, ConversationID: id, Kind: KindCall, ExternalID: "CON-" + id, CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
		part := MessagePart{From: a, To: pool, Ref: "7", Part: 1, Total: 2, MessageID: "m" + id, Text: "half", ReceivedAt: now}
		if _, err := s.AddMessagePart(ctx, part, now.Add(-10*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := s.Claim(ctx, "n"+id, now, now.Add(5*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ExpireConversations(ctx, now, 0); err != nil {
			t.Fatal(err)
		}
		convs, participants, interactions, parts, queued := s.retained()
		peak = max(peak, convs+participants+interactions+parts+queued)
		if i == rounds-1 {
			// Live: 2 active plus 60 ended within the hour.
			if convs > 63 || participants > 2*63 || interactions > 63 || parts > 11 {
				t.Errorf("after %d rounds the store holds %d conversations, %d participants, %d interactions, %d part sets", rounds, convs, participants, interactions, parts)
			}
		}
	}
	if peak > 700 {
		t.Errorf("peak of %d records held; want it bounded by the last hour's traffic", peak)
	}
	s.mu.RLock()
	nonces := len(s.nonces)
	s.mu.RUnlock()
	if nonces > 6 {
		t.Errorf("%d nonce claims kept, want only the live ones", nonces)
	}
}

// memSticky behaves as a map through its switch from a list to a map.
func TestMemSticky(t *testing.T) {
	t.Parallel()
	var s memSticky
	model := map[string]*memConv{}
	convs := make([]*memConv, 40)
	for i := range convs {
		convs[i] = &memConv{id: fmt.Sprint(i)}
	}
	for i := range 200 {
		cp := fmt.Sprint("cp", (i*7)%23)
		switch i % 5 {
		case 4:
			s.del(cp)
			delete(model, cp)
		default:
			c := convs[i%len(convs)]
			s.set(cp, c)
			model[cp] = c
		}
		for k := range 23 {
			cp := fmt.Sprint("cp", k)
			if got, want := s.get(cp), model[cp]; got != want {
				t.Fatalf("step %d: get(%s) = %v, want %v", i, cp, got, want)
			}
		}
	}
	if s.m == nil {
		t.Error("23 counterparts and still a list: the map path went untested")
	}
}

// A conversation reopened within the retention period is not dropped
// when its first end's retention runs out, nor early after it ends again.
func TestMemoryStoreRetentionReopened(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := NewMemoryStore(MemoryRetention(time.Hour)).(*memoryStore)
	c := Conversation{
		ID: "c1", Status: StatusActive, Mode: ModeBoth,
		Participants: [2]Participant{{Number: "447700900101", ProxyNumber: "447700900001"}, {Number: "447700900102", ProxyNumber: "447700900001"}},
		CreatedAt:    testNow, ExpiresAt: testNow.Add(48 * time.Hour), LastActivityAt: testNow,
	}
	if err := s.CreateConversation(ctx, c); err != nil {
		t.Fatal(err)
	}
	if _, err := s.EndConversation(ctx, "c1", StatusClosed, testNow.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReopenConversation(ctx, "c1", testNow.Add(10*time.Minute), testNow.Add(10*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ExpireConversations(ctx, testNow.Add(2*time.Hour), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Route(ctx, "447700900101", "447700900001", testNow.Add(2*time.Hour)); err != nil {
		t.Fatalf("the reopened conversation was dropped: %v", err)
	}
	if _, err := s.EndConversation(ctx, "c1", StatusClosed, testNow.Add(3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ExpireConversations(ctx, testNow.Add(3*time.Hour+30*time.Minute), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Conversation(ctx, "c1"); err != nil {
		t.Errorf("dropped 30 minutes after its second end: %v", err)
	}
	if _, err := s.ExpireConversations(ctx, testNow.Add(4*time.Hour+time.Minute), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Conversation(ctx, "c1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("kept past its retention: %v", err)
	}
}
