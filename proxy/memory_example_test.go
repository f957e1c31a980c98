package proxy_test

import (
	"context"
	"fmt"
	"time"

	"github.com/voiceproxy/voiceproxy/proxy"
)

// The memory store used directly: the Service normally drives it.
func ExampleNewMemoryStore() {
	ctx := context.Background()
	store := proxy.NewMemoryStore()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

	_ = store.AddNumbers(ctx,
		proxy.PoolNumber{MSISDN: "447700900001", Country: "GB", Voice: true, SMS: true},
		proxy.PoolNumber{MSISDN: "447700900002", Country: "GB", Voice: true, SMS: true},
	)
	cands, _ := store.Candidates(ctx, proxy.CandidateQuery{
		Participant: "447700900101", Counterpart: "447700900102",
		Country: "GB", Voice: true, Now: now, ReleasedAfter: now.Add(-time.Hour), Limit: 1,
	})
	proxyNumber := cands[0].PoolNumber.MSISDN

	err := store.CreateConversation(ctx, proxy.Conversation{
		ID:     "conv-1",
		Status: proxy.StatusActive,
		Mode:   proxy.ModeBoth,
		Participants: [2]proxy.Participant{
			{Number: "447700900101", ProxyNumber: proxyNumber},
			{Number: "447700900102", ProxyNumber: proxyNumber},
		},
		CreatedAt:      now,
		ExpiresAt:      now.Add(2 * time.Hour),
		LastActivityAt: now,
	})
	fmt.Println("created:", err == nil)

	// An inbound call from the first participant to the proxy number.
	c, err := store.Route(ctx, "447700900101", proxyNumber, now.Add(time.Minute))
	fmt.Println("routes to:", c.ID, err)
	fmt.Println("connect to:", c.Participants[1].Number)

	// After two hours the conversation no longer routes, swept or not.
	_, err = store.Route(ctx, "447700900101", proxyNumber, now.Add(2*time.Hour))
	fmt.Println(err)
	ids, _ := store.ExpireConversations(ctx, now.Add(2*time.Hour), 0)
	fmt.Println("expired:", ids)
	// Output:
	// created: true
	// routes to: conv-1 <nil>
	// connect to: 447700900102
	// proxy: not found
	// expired: [conv-1]
}
