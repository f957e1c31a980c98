package sqlstore_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/voiceproxy/voiceproxy/proxy"
)

// AddInteractions stores a batch in one statement, skipping what exists
// (in the store or earlier in the batch), and refuses a batch naming a
// missing conversation.
func TestAddInteractions(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			s := openKind(t, kind)
			ctx := t.Context()
			now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
			if err := s.AddNumbers(ctx, poolNumbers(1)...); err != nil {
				t.Fatal(err)
			}
			c := proxy.Conversation{ID: "c1", Status: proxy.StatusActive, Mode: proxy.ModeBoth,
				Participants: [2]proxy.Participant{{Number: person(1), ProxyNumber: poolNumbers(1)[0].MSISDN}, {Number: person(2), ProxyNumber: poolNumbers(1)[0].MSISDN}},
				CreatedAt:    now, ExpiresAt: now.Add(time.Hour), LastActivityAt: now}
			if err := s.CreateConversation(ctx, c); err != nil {
				t.Fatal(err)
			}
			call := func(id, ext string) proxy.Interaction {
				return proxy.Interaction{ID: id, ConversationID: "c1", Kind: proxy.KindCall, ExternalID: ext, From: person(1), To: c.Participants[0].ProxyNumber, CreatedAt: now}
			}
			if err := s.AddInteraction(ctx, call("i0", "CON-0")); err != nil {
				t.Fatal(err)
			}
			stored, err := s.AddInteractions(ctx, []proxy.Interaction{call("i1", "CON-1"), call("i2", "CON-0"), call("i3", "CON-3"), call("i4", "CON-1")})
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, in := range stored {
				ids = append(ids, in.ID)
			}
			if len(ids) != 2 || ids[0] != "i1" || ids[1] != "i3" {
				t.Errorf("stored %v, want [i1 i3]", ids)
			}
			ins, err := s.Interactions(ctx, "c1")
			if err != nil || len(ins) != 3 {
				t.Errorf("interactions %d, %v; want 3", len(ins), err)
			}
			missing := call("i9", "CON-9")
			missing.ConversationID = "nope"
			if _, err := s.AddInteractions(ctx, []proxy.Interaction{missing}); !errors.Is(err, proxy.ErrNotFound) {
				t.Errorf("batch with a missing conversation: %v, want ErrNotFound", err)
			}
		})
	}
}

// ClaimNonces decides each claim as ClaimNonce would: fresh once, a
// replay while live, fresh again once expired, and a key repeated in the
// batch fresh only the first time.
func TestClaimNonces(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			s := openKind(t, kind)
			ctx := t.Context()
			t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
			claim := func(key string, at time.Time) proxy.NonceClaim {
				return proxy.NonceClaim{Key: key, Now: at, Expires: at.Add(time.Minute)}
			}
			if err := s.ClaimNonce(ctx, "old", t0.Add(-2*time.Minute), t0.Add(-time.Minute)); err != nil {
				t.Fatal(err)
			}
			fresh, err := s.ClaimNonces(ctx, []proxy.NonceClaim{claim("a", t0), claim("b", t0), claim("a", t0), claim("old", t0)})
			if err != nil {
				t.Fatal(err)
			}
			if want := []bool{true, true, false, true}; !slices.Equal(fresh, want) {
				t.Errorf("first batch %v, want %v", fresh, want)
			}
			fresh, err = s.ClaimNonces(ctx, []proxy.NonceClaim{claim("a", t0.Add(30*time.Second)), claim("c", t0.Add(30*time.Second))})
			if err != nil || !slices.Equal(fresh, []bool{false, true}) {
				t.Errorf("second batch %v, %v; want a replayed, c fresh", fresh, err)
			}
			fresh, err = s.ClaimNonces(ctx, []proxy.NonceClaim{claim("a", t0.Add(2*time.Minute))})
			if err != nil || !slices.Equal(fresh, []bool{true}) {
				t.Errorf("after expiry %v, %v; want fresh again", fresh, err)
			}
			if err := s.ClaimNonce(ctx, "c", t0.Add(31*time.Second), t0.Add(time.Hour)); !errors.Is(err, proxy.ErrConflict) {
				t.Errorf("ClaimNonce of a key ClaimNonces took: %v, want ErrConflict", err)
			}
		})
	}
}
