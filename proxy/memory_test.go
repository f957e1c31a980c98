package proxy_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/voiceproxy/voiceproxy/proxy"
)

func TestMemoryStoreSmoke(t *testing.T) {
	ctx := context.Background()
	s := proxy.NewMemoryStore()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := s.AddNumbers(ctx, proxy.Number{MSISDN: "447700900001", Country: "GB", Voice: true, SMS: true}); err != nil {
		t.Fatal(err)
	}
	c := proxy.Conversation{ID: "c1", Status: proxy.StatusActive, Participants: [2]proxy.Participant{
		{Number: "447700900100", ProxyNumber: "447700900001"}, {Number: "447700900200", ProxyNumber: "447700900001"}},
		CreatedAt: t0, ExpiresAt: t0.Add(time.Hour), LastActivityAt: t0}
	if err := s.CreateConversation(ctx, c); err != nil {
		t.Fatal(err)
	}
	got, err := s.Route(ctx, "447700900100", "447700900001", t0.Add(time.Minute))
	if err != nil || got.ID != "c1" {
		t.Fatalf("Route = %v, %v", got.ID, err)
	}
	if _, err := s.Route(ctx, "447700900100", "447700900001", t0.Add(2*time.Hour)); !errors.Is(err, proxy.ErrNotFound) {
		t.Fatalf("Route after expiry: %v", err)
	}
	ids, err := s.ExpireConversations(ctx, t0.Add(2*time.Hour), 0)
	if err != nil || len(ids) != 1 {
		t.Fatalf("Expire = %v, %v", ids, err)
	}
}
