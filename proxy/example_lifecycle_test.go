package proxy_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"time"

	"github.com/voiceproxy/voiceproxy/proxy"
	"github.com/voiceproxy/voiceproxy/proxy/proxytest"
)

// A conversation's life around a job: a backend's retried create
// (CreateRequest.Key) gets the same conversation; the job overruns, so
// UpdateConversation extends it; it is closed when the job is done and
// reopened for a dispute the next morning, on the numbers it had.
func ExampleService_UpdateConversation() {
	ctx := context.Background()
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	svc, err := proxy.New(proxy.Config{
		Logger:        slog.New(slog.DiscardHandler),
		Now:           func() time.Time { return now },
		Webhooks:      proxy.WebhookConfig{SignatureSecret: proxytest.SignatureSecret},
		Conversations: proxy.ConversationConfig{ReopenGrace: 24 * time.Hour},
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := svc.AddNumbers(ctx, proxy.PoolNumber{MSISDN: "447700900001", Country: "GB", Voice: true, SMS: true}); err != nil {
		log.Fatal(err)
	}
	req := proxy.CreateRequest{A: "+44 7400 123456", B: "+44 7400 654321", Key: "job-1001", TTL: time.Hour}
	conv, err := svc.CreateConversation(ctx, req)
	if err != nil {
		log.Fatal(err)
	}
	again, err := svc.CreateConversation(ctx, req) // a retry after a timeout
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("retried create, same conversation:", again.ID == conv.ID)

	conv, err = svc.UpdateConversation(ctx, conv.ID, proxy.Update{
		TTL:    48 * time.Hour,
		Labels: &proxy.Labels{A: "your guest", B: "your host"},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("extended:", conv.Status, "until", conv.ExpiresAt.Format(time.DateTime))

	if conv, err = svc.CloseConversation(ctx, conv.ID); err != nil {
		log.Fatal(err)
	}
	fmt.Println("job done:", conv.Status)

	now = now.Add(20 * time.Hour) // a dispute the next morning
	conv, err = svc.UpdateConversation(ctx, conv.ID, proxy.Update{Reopen: true, TTL: 24 * time.Hour})
	if err != nil {
		log.Fatal(err) // a *proxy.LegTakenError if its numbers were given away
	}
	fmt.Println("reopened:", conv.Status, "until", conv.ExpiresAt.Format(time.DateTime),
		"on", conv.Participants[proxy.SideA].ProxyNumber)
	// Output:
	// retried create, same conversation: true
	// extended: active until 2026-03-04 09:00:00
	// job done: closed
	// reopened: active until 2026-03-04 05:00:00 on 447700900001
}
