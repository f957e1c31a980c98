package sqlstore_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/voiceproxy/voiceproxy/proxy"
	"github.com/voiceproxy/voiceproxy/proxy/sqlstore"
)

// eachSQL runs f, in parallel, on a fresh SQLite and PostgreSQL store.
func eachSQL(t *testing.T, f func(t *testing.T, s *sqlstore.Store)) {
	t.Parallel()
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			f(t, openKind(t, kind))
		})
	}
}

// AddInteractions stores a batch in one statement, skipping what exists
// (in the store or earlier in the batch), and refuses a batch naming a
// missing conversation.
func TestAddInteractions(t *testing.T) {
	eachSQL(t, func(t *testing.T, s *sqlstore.Store) {
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

// Claims decides each claim as Claim would: fresh once, a
// replay while live, fresh again once expired, and a key repeated in the
// batch fresh only the first time.
func TestClaimNonces(t *testing.T) {
	eachSQL(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := t.Context()
		t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
		claim := func(key string, at time.Time) proxy.ClaimRequest {
			return proxy.ClaimRequest{Key: key, Now: at, Expires: at.Add(time.Minute)}
		}
		if err := s.Claim(ctx, "old", t0.Add(-2*time.Minute), t0.Add(-time.Minute)); err != nil {
			t.Fatal(err)
		}
		fresh, err := s.Claims(ctx, []proxy.ClaimRequest{claim("a", t0), claim("b", t0), claim("a", t0), claim("old", t0)})
		if err != nil {
			t.Fatal(err)
		}
		if want := []bool{true, true, false, true}; !slices.Equal(fresh, want) {
			t.Errorf("first batch %v, want %v", fresh, want)
		}
		fresh, err = s.Claims(ctx, []proxy.ClaimRequest{claim("a", t0.Add(30*time.Second)), claim("c", t0.Add(30*time.Second))})
		if err != nil || !slices.Equal(fresh, []bool{false, true}) {
			t.Errorf("second batch %v, %v; want a replayed, c fresh", fresh, err)
		}
		fresh, err = s.Claims(ctx, []proxy.ClaimRequest{claim("a", t0.Add(2*time.Minute))})
		if err != nil || !slices.Equal(fresh, []bool{true}) {
			t.Errorf("after expiry %v, %v; want fresh again", fresh, err)
		}
		if err := s.Claim(ctx, "c", t0.Add(31*time.Second), t0.Add(time.Hour)); !errors.Is(err, proxy.ErrConflict) {
			t.Errorf("Claim of a key Claims took: %v, want ErrConflict", err)
		}
	})
}

// ClaimRoutes answers each request as Claims and Route would, in one
// call: fresh or replayed, routed or not (no leg, an expired
// conversation, a request with no participant), the nonce claimed either
// way; and a batch with no nonce, or no route, works alone.
func TestClaimRoutes(t *testing.T) {
	eachSQL(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := t.Context()
		t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
		nums := poolNumbers(2)
		if err := s.AddNumbers(ctx, nums...); err != nil {
			t.Fatal(err)
		}
		conv := func(id string, a, b int, proxyNum string, expires time.Time) proxy.Conversation {
			return proxy.Conversation{ID: id, Status: proxy.StatusActive, Mode: proxy.ModeBoth,
				Participants: [2]proxy.Participant{{Number: person(a), ProxyNumber: proxyNum}, {Number: person(b), ProxyNumber: proxyNum}},
				CreatedAt:    t0, ExpiresAt: expires, LastActivityAt: t0}
		}
		for _, c := range []proxy.Conversation{
			conv("live", 1, 2, nums[0].MSISDN, t0.Add(time.Hour)),
			conv("expiring", 3, 4, nums[1].MSISDN, t0.Add(time.Minute)),
		} {
			if err := s.CreateConversation(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		req := func(key string, who int, proxyNum string, at time.Time) proxy.RouteClaim {
			r := proxy.RouteClaim{ProxyNumber: proxyNum, Now: at}
			if key != "" {
				r.Nonce = proxy.ClaimRequest{Key: key, Now: at, Expires: at.Add(time.Minute)}
			}
			if who > 0 {
				r.Participant = person(who)
			}
			return r
		}
		type got struct {
			fresh, found bool
			id           string
		}
		check := func(name string, reqs []proxy.RouteClaim, want []got) {
			t.Helper()
			res, err := s.ClaimRoutes(ctx, reqs)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			var g []got
			for _, r := range res {
				g = append(g, got{r.Fresh, r.Found, r.Conversation.ID})
			}
			if !slices.Equal(g, want) {
				t.Errorf("%s: %+v, want %+v", name, g, want)
			}
		}
		later := t0.Add(2 * time.Minute) // "expiring" has expired
		check("first", []proxy.RouteClaim{
			req("a", 1, nums[0].MSISDN, t0),    // routes
			req("b", 2, nums[0].MSISDN, t0),    // the other side routes
			req("a", 1, nums[0].MSISDN, t0),    // repeated in the batch
			req("c", 9, nums[0].MSISDN, t0),    // no such leg
			req("d", 3, nums[1].MSISDN, later), // conversation expired
			req("e", 0, "", t0),                // claim only
			req("", 4, nums[1].MSISDN, t0),     // route only
		}, []got{{true, true, "live"}, {true, true, "live"}, {false, true, "live"}, {true, false, ""}, {true, false, ""}, {true, false, ""}, {true, true, "expiring"}})
		check("replays", []proxy.RouteClaim{req("c", 1, nums[0].MSISDN, t0), req("e", 0, "", t0)},
			[]got{{false, true, "live"}, {false, false, ""}})
		check("no nonce", []proxy.RouteClaim{req("", 2, nums[0].MSISDN, t0)}, []got{{true, true, "live"}})
		check("no route", []proxy.RouteClaim{req("f", 0, "", t0)}, []got{{true, false, ""}})
		if err := s.Claim(ctx, "d", t0, t0.Add(time.Hour)); !errors.Is(err, proxy.ErrConflict) {
			t.Errorf("Claim of a key ClaimRoutes took for an unrouted call: %v, want ErrConflict", err)
		}
		res, err := s.ClaimRoutes(ctx, []proxy.RouteClaim{req("g", 1, nums[0].MSISDN, t0)})
		if err != nil || !res[0].Found {
			t.Fatal(res, err)
		}
		if c := res[0].Conversation; c.Participants[0].Number != person(1) || c.Participants[1].ProxyNumber != nums[0].MSISDN || !c.ExpiresAt.Equal(t0.Add(time.Hour)) {
			t.Errorf("routed conversation %+v, want it whole", c)
		}
	})
}
