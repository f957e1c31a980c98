package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/voiceproxy/voiceproxy/proxy"
	"github.com/voiceproxy/voiceproxy/proxy/sqlstore"
)

// An in-memory SQLite store: a conversation's legs route until its
// deadline, and a second conversation may not take a leg in use.
func ExampleOpenSQLite() {
	ctx := context.Background()
	store, err := sqlstore.OpenSQLite(ctx, ":memory:")
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	now := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	c := proxy.Conversation{
		ID:     "ride-1",
		Status: proxy.StatusActive,
		Participants: [2]proxy.Participant{
			{Number: "447700900101", ProxyNumber: "447700900001"},
			{Number: "447700900102", ProxyNumber: "447700900001"},
		},
		CreatedAt:      now,
		ExpiresAt:      now.Add(time.Hour),
		LastActivityAt: now,
	}
	if err := store.CreateConversation(ctx, c); err != nil {
		log.Fatal(err)
	}
	got, err := store.Route(ctx, "447700900102", "447700900001", now.Add(time.Minute))
	fmt.Println(got.ID, err)

	c.ID = "ride-2"
	c.Participants[1].Number = "447700900103"
	err = store.CreateConversation(ctx, c)
	fmt.Println(errors.Is(err, proxy.ErrConflict))

	_, err = store.Route(ctx, "447700900102", "447700900001", now.Add(2*time.Hour))
	fmt.Println(errors.Is(err, proxy.ErrNotFound))
	// Output:
	// ride-1 <nil>
	// true
	// true
}

// Several service instances share one PostgreSQL database; each opens its
// own Store (a connection pool) on the same schema.
func ExampleOpenPostgres() {
	ctx := context.Background()
	store, err := sqlstore.OpenPostgres(ctx, "postgres://voiceproxy@127.0.0.1:5432/app?sslmode=disable",
		sqlstore.WithSchema("voiceproxy"), sqlstore.WithMaxConns(20))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	svc, err := proxy.New(proxy.Config{Store: store})
	if err != nil {
		log.Fatal(err)
	}
	_ = svc // mount it: mux.Handle("/vonage/", http.StripPrefix("/vonage", svc))
}
