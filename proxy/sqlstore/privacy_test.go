package sqlstore_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/voiceproxy/voiceproxy/proxy"
	"github.com/voiceproxy/voiceproxy/proxy/proxytest"
	"github.com/voiceproxy/voiceproxy/sms"
)

// privacyStart is when privacyService's clock starts.
var privacyStart = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// clockFor is a settable clock.
type clockFor struct{ t time.Time }

func (c *clockFor) now() time.Time { return c.t }

// TestRetentionAndErasure: after Config.Privacy.Retention the sweep replaces an
// ended conversation's numbers with keyed pseudonyms (the same person,
// the same pseudonym), empties its SMS texts and drops its recordings;
// EraseParticipant does it for one person at once and reports the
// conversations in use. On the memory store, SQLite and PostgreSQL.
func TestRetentionAndErasure(t *testing.T) {
	t.Parallel()
	for _, k := range storeKinds() {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			svc, clk := privacyService(t, k, func(c *proxy.Config) {
				c.Allocation.CoolOff, c.Privacy.Retention = -1, 7*24*time.Hour
				c.SMS.StoreBodies, c.SMS.Sender = true, nopSMS{}
			})
			ctx := t.Context()
			if err := svc.AddNumbers(ctx, poolNumbers(2)...); err != nil {
				t.Fatal(err)
			}
			rider, driver, other := person(1), person(2), person(3)
			old, err := svc.CreateConversation(ctx, proxy.CreateRequest{A: "+" + rider, B: "+" + driver})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := svc.SendMessage(ctx, old.ID, proxy.SideA, "your code is 4521"); err != nil {
				t.Fatal(err)
			}
			if _, err := svc.CloseConversation(ctx, old.ID); err != nil {
				t.Fatal(err)
			}
			clk.t = clk.t.Add(8 * 24 * time.Hour)
			kept, err := svc.CreateConversation(ctx, proxy.CreateRequest{A: "+" + rider, B: "+" + other})
			if err != nil {
				t.Fatal(err)
			}
			n, err := svc.PseudonymizeNow(ctx)
			if err != nil || n != 1 {
				t.Fatalf("PseudonymizeNow = %d, %v; want 1", n, err)
			}
			got, _ := svc.Conversation(ctx, old.ID)
			if got.Participants[0].Number != svc.Pseudonym(rider) || got.Participants[1].Number != svc.Pseudonym(driver) ||
				!strings.HasPrefix(got.Participants[0].Number, proxy.PseudonymPrefix) {
				t.Errorf("after retention: %+v", got.Participants)
			}
			ins, _ := svc.Interactions(ctx, old.ID)
			for _, in := range ins {
				if in.Text != "" || strings.Contains(in.From+in.To, rider) {
					t.Errorf("interaction kept %q / %s→%s", in.Text, in.From, in.To)
				}
			}
			if p, q := svc.Pseudonym(rider), svc.Pseudonym(rider); p != q || p == svc.Pseudonym(driver) {
				t.Error("pseudonyms are not one per person")
			}

			// Erasure: the rider's conversation in use is reported, not
			// changed; once closed, erased at once, whatever the retention.
			rep, err := svc.EraseParticipant(ctx, "+"+rider)
			if !errors.Is(err, proxy.ErrParticipantActive) || len(rep.Active) != 1 || rep.Active[0] != kept.ID || len(rep.Pseudonymized) != 0 {
				t.Errorf("erase with one in use: %+v, %v", rep, err)
			}
			if _, err := svc.CloseConversation(ctx, kept.ID); err != nil {
				t.Fatal(err)
			}
			clk.t = clk.t.Add(time.Minute)
			rep, err = svc.EraseParticipant(ctx, "+"+rider)
			if err != nil || len(rep.Pseudonymized) != 1 || rep.Pseudonymized[0] != kept.ID {
				t.Errorf("erase: %+v, %v", rep, err)
			}
			if c, _ := svc.Conversation(ctx, kept.ID); c.Participants[1].Number != svc.Pseudonym(other) {
				t.Errorf("erased conversation %+v", c.Participants)
			}
			if cs, _, _ := svc.Conversations(ctx, proxy.ListFilter{Participant: "+" + rider}); len(cs) != 0 {
				t.Errorf("the erased participant still lists %d conversations", len(cs))
			}
			if _, err := svc.EraseParticipant(ctx, "not a number"); err == nil {
				t.Error("erasing a malformed number succeeded")
			}
		})
	}
}

// privacyService is a Service on a store of kind k with a settable
// clock and a pseudonym key, as edit configures it further.
func privacyService(t *testing.T, k storeKind, edit func(*proxy.Config)) (*proxy.Service, *clockFor) {
	t.Helper()
	clk := &clockFor{t: privacyStart}
	cfg := proxy.Config{
		Store: k.open(t),
		Now:   clk.now,
		// post signs with it
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		Allocation: proxy.AllocationConfig{LenientNumbers: true},
		Privacy:    proxy.PrivacyConfig{PseudonymKey: []byte("host secret")},
		Webhooks:   proxy.WebhookConfig{SignatureSecret: proxytest.SignatureSecret},
	}
	edit(&cfg)
	svc, err := proxy.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return svc, clk
}

// storeKind opens a store of one kind for a test.
type storeKind struct {
	name string
	open func(testing.TB) proxy.Store
}

// storeKinds are the memory store and every SQL backend.
func storeKinds() []storeKind {
	kinds := []storeKind{{"memory", func(testing.TB) proxy.Store { return proxy.NewMemoryStore() }}}
	for _, be := range backends {
		kinds = append(kinds, storeKind{be.name, func(t testing.TB) proxy.Store { return be.open(t) }})
	}
	return kinds
}

// TestCoolOffOutlivesRetention: with a Retention shorter than the
// CoolOff, and after an erasure, a participant's released numbers stay
// theirs for the cool-off although their real number is gone: a late
// redial from their phone's call log never reaches a new stranger.
func TestCoolOffOutlivesRetention(t *testing.T) {
	t.Parallel()
	for _, k := range storeKinds() {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			svc, clk := privacyService(t, k, func(c *proxy.Config) { c.Allocation.CoolOff, c.Privacy.Retention = time.Hour, time.Minute })
			ctx := t.Context()
			if err := svc.AddNumbers(ctx, poolNumbers(2)...); err != nil {
				t.Fatal(err)
			}
			rider := person(1)
			first, err := svc.CreateConversation(ctx, proxy.CreateRequest{A: "+" + rider, B: "+" + person(2)})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := svc.CloseConversation(ctx, first.ID); err != nil {
				t.Fatal(err)
			}
			clk.t = clk.t.Add(2 * time.Minute)
			if n, err := svc.PseudonymizeNow(ctx); err != nil || n != 1 {
				t.Fatalf("PseudonymizeNow = %d, %v; want 1", n, err)
			}
			second, err := svc.CreateConversation(ctx, proxy.CreateRequest{A: "+" + rider, B: "+" + person(3)})
			if err != nil {
				t.Fatal(err)
			}
			if x, y := first.Participants[0].ProxyNumber, second.Participants[0].ProxyNumber; x == y {
				t.Errorf("two minutes after the end, past the retention, the rider got %s again for a stranger", y)
			}
			if _, err := svc.CloseConversation(ctx, second.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := svc.EraseParticipant(ctx, "+"+rider); err != nil {
				t.Fatal(err)
			}
			// Both numbers are in the rider's cool-off, erased or not.
			if c, err := svc.CreateConversation(ctx, proxy.CreateRequest{A: "+" + rider, B: "+" + person(4)}); !errors.Is(err, proxy.ErrPoolExhausted) {
				t.Errorf("after the erasure a new stranger got %+v, %v; want ErrPoolExhausted", c.Participants, err)
			}
			// An hour on, the cool-off is over.
			clk.t = clk.t.Add(time.Hour)
			if _, err := svc.CreateConversation(ctx, proxy.CreateRequest{A: "+" + rider, B: "+" + person(4)}); err != nil {
				t.Errorf("after the cool-off: %v", err)
			}
		})
	}
}

// nopSMS accepts every SMS.
type nopSMS struct{}

func (nopSMS) Send(_ context.Context, m sms.Message) (*sms.Response, error) {
	return &sms.Response{MessageCount: 1, Messages: []sms.MessageStatus{{To: m.To, MessageID: "m1", Status: "0"}}}, nil
}
