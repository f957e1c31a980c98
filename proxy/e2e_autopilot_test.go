package proxy_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/voiceproxy/voiceproxy/numbers"
	"github.com/voiceproxy/voiceproxy/proxy"
	"github.com/voiceproxy/voiceproxy/proxy/proxytest"
	"github.com/voiceproxy/voiceproxy/proxy/sqlstore"
)

// changes records what the autopilot reports.
type changes struct {
	mu   sync.Mutex
	list []proxy.PoolChange
}

func (c *changes) add(_ context.Context, ch proxy.PoolChange) {
	c.mu.Lock()
	c.list = append(c.list, ch)
	c.mu.Unlock()
}

func (c *changes) kinds() []proxy.PoolChangeKind {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []proxy.PoolChangeKind
	for _, ch := range c.list {
		out = append(out, ch.Kind)
	}
	return out
}

// autopilotService is a Service on store with the autopilot buying from
// v; edit adjusts the policy.
func autopilotService(t *testing.T, store proxy.Store, v *proxytest.Vonage, clock func() time.Time, rec *changes, edit func(*proxy.Autopilot)) *proxy.Service {
	t.Helper()
	nc, err := numbers.NewClient(proxytest.APIKey, proxytest.APISecret,
		numbers.WithHTTPClient(v.Client()), numbers.WithBaseURL(proxytest.InProcessURL))
	if err != nil {
		t.Fatal(err)
	}
	ap := &proxy.Autopilot{
		Numbers: nc, ApplicationID: proxytest.ApplicationID,
		Wait: 5 * time.Second, ReleaseGrace: time.Millisecond, OnPoolChange: rec.add,
	}
	if edit != nil {
		edit(ap)
	}
	svc, err := proxy.New(proxy.Config{
		Store:      store,
		Now:        clock,
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		Pool:       proxy.PoolConfig{Autopilot: ap},
		Allocation: proxy.AllocationConfig{GeoFallback: proxy.GeoStrict},
		Webhooks:   proxy.WebhookConfig{SignatureSecret: proxytest.SignatureSecret},
	})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// gbPerson is the i-th GB participant.
func gbPerson(i int) string { return fmt.Sprintf("+4474%08d", i) }

// A participant's fifth concurrent conversation, with four numbers in the
// pool all in use by them, gets a number bought, linked to the
// application and added to the pool, and calls through it connect.
func TestE2EAutopilotBuysForAFifthConversation(t *testing.T) {
	t.Parallel()
	clock := &e2eClock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	v := proxytest.NewVonage(proxytest.WithClock(clock.Now), proxytest.WithOwnedNumbers(proxytest.SandboxNumbers()...))
	rec := &changes{}
	svc := autopilotService(t, proxy.NewMemoryStore(), v, clock.Now, rec, nil)
	for _, n := range proxytest.SandboxNumbers()[:4] { // the four GB numbers
		if err := svc.AddNumbers(t.Context(), proxy.PoolNumber{MSISDN: n.MSISDN, Voice: true, SMS: true}); err != nil {
			t.Fatal(err)
		}
	}
	driver := gbPerson(1)
	var last proxy.Conversation
	for i := range 5 {
		c, err := svc.CreateConversation(t.Context(), proxy.CreateRequest{A: driver, B: gbPerson(100 + i)})
		if err != nil {
			t.Fatalf("conversation %d: %v", i+1, err)
		}
		last = c
	}
	if n := v.Count(proxytest.APINumberBuy); n != 1 {
		t.Fatalf("%d purchases, want 1 (for the fifth conversation)", n)
	}
	bought := last.Participants[proxy.SideA].ProxyNumber
	owned := v.Owned()
	i := slices.IndexFunc(owned, func(o proxytest.OwnedNumber) bool { return o.MSISDN == bought })
	if i < 0 || owned[i].AppID != proxytest.ApplicationID {
		t.Fatalf("the fifth conversation's number %s is not owned and linked: %+v", bought, owned)
	}
	pool, err := svc.Pool(t.Context())
	if err != nil || len(pool) != 5 || pool[4].MSISDN != bought || pool[4].Bought.IsZero() || pool[4].MonthlyCost != 1.25 {
		t.Fatalf("pool %+v, %v; want the bought number last, with its cost", pool, err)
	}
	if got := rec.kinds(); !slices.Equal(got, []proxy.PoolChangeKind{proxy.PoolBought}) {
		t.Errorf("pool changes %v, want one purchase", got)
	}
	if rec.list[0].Reason != "exhausted" || rec.list[0].MSISDN != bought {
		t.Errorf("purchase reported as %+v", rec.list[0])
	}
	st, err := svc.PoolStatus(t.Context())
	if err != nil || len(st) != 1 {
		t.Fatalf("PoolStatus = %+v, %v; want GB alone", st, err)
	}
	if want := (proxy.CountryStatus{Country: "GB", Numbers: 5, Bought: 1, BoughtLastHour: 1, MonthlyCost: 1.25,
		ActiveLegs: 10, BusiestLegs: 2, Purchases: 1}); st[0] != want {
		t.Errorf("PoolStatus = %+v, want %+v", st[0], want)
	}
	sim := &proxytest.Simulator{Handler: svc, Vonage: v, Now: clock.Now}
	out, err := sim.PlaceCall(t.Context(), driver[1:], bought)
	if err != nil || out.Connected != last.Participants[proxy.SideB].Number || out.CallerID != bought {
		t.Errorf("call through the bought number: %+v, %v; want it connected to B with caller ID %s", out, err, bought)
	}
}

// Ten instances sharing one store, each creating a conversation in a
// country with no numbers at the same moment, buy one number between
// them, and every conversation is created with it: on the memory store
// (one store, ten Services) and on an SQLite file (ten Stores).
func TestE2EAutopilotTenInstancesBuyOnce(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"memory", "sqlite"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			clock := &e2eClock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
			v := proxytest.NewVonage(proxytest.WithClock(clock.Now))
			rec := &changes{}
			shared := proxy.NewMemoryStore()
			path := filepath.Join(t.TempDir(), "race.db")
			const instances = 10
			svcs := make([]*proxy.Service, instances)
			for i := range svcs {
				store := proxy.Store(shared)
				if kind == "sqlite" {
					s, err := sqlstore.OpenSQLite(t.Context(), path)
					if err != nil {
						t.Fatal(err)
					}
					t.Cleanup(func() { s.Close() })
					store = s
				}
				svcs[i] = autopilotService(t, store, v, clock.Now, rec, nil)
			}
			start := make(chan struct{})
			var wg sync.WaitGroup
			convs := make([]proxy.Conversation, instances)
			errs := make([]error, instances)
			for i, svc := range svcs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					convs[i], errs[i] = svc.CreateConversation(t.Context(), proxy.CreateRequest{A: gbPerson(2 * i), B: gbPerson(2*i + 1)})
				}()
			}
			began := time.Now()
			close(start)
			wg.Wait()
			t.Logf("%s: ten racing creates took %v", kind, time.Since(began))
			for i, err := range errs {
				if err != nil {
					t.Fatalf("instance %d: %v", i, err)
				}
			}
			if n := v.Count(proxytest.APINumberBuy); n != 1 {
				t.Errorf("%d purchases by ten racing instances, want 1", n)
			}
			bought := convs[0].Participants[0].ProxyNumber
			for i, c := range convs {
				for _, p := range c.Participants {
					if p.ProxyNumber != bought {
						t.Errorf("instance %d got %s, want the one number bought (%s)", i, p.ProxyNumber, bought)
					}
				}
			}
		})
	}
}

// A refused purchase (Vonage's 420) fails the create with the reason,
// adds nothing, is reported, and is not tried again by any instance for
// Backoff; after it, the purchase goes through. A limit reached, or a
// country with nothing for sale, fails with its own error.
func TestE2EAutopilotFailedPurchase(t *testing.T) {
	t.Parallel()
	clock := &e2eClock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	v := proxytest.NewVonage(proxytest.WithClock(clock.Now), proxytest.WithStock("FR", 0))
	rec := &changes{}
	store := proxy.NewMemoryStore()
	svc := autopilotService(t, store, v, clock.Now, rec, func(a *proxy.Autopilot) {
		a.Wait, a.Backoff, a.MaxPerCountry = 100*time.Millisecond, time.Minute, 1
	})
	other := autopilotService(t, store, v, clock.Now, rec, func(a *proxy.Autopilot) {
		a.Wait, a.Backoff, a.MaxPerCountry = 100*time.Millisecond, time.Minute, 1
	})
	req := proxy.CreateRequest{A: gbPerson(1), B: gbPerson(2)}

	v.FailNext(proxytest.APINumberBuy, 420)
	_, err := svc.CreateConversation(t.Context(), req)
	var pe *proxy.PurchaseError
	if !errors.Is(err, proxy.ErrPoolExhausted) || !errors.As(err, &pe) || !errors.Is(err, numbers.ErrMethodFailed) {
		t.Fatalf("create with the purchase refused: %v; want ErrPoolExhausted, a *PurchaseError and numbers.ErrMethodFailed", err)
	}
	if pool, _ := svc.Pool(t.Context()); len(pool) != 0 || len(v.Owned()) != 0 {
		t.Fatalf("after a refused purchase: pool %v, owned %v; want nothing", pool, v.Owned())
	}
	if got := rec.kinds(); !slices.Equal(got, []proxy.PoolChangeKind{proxy.PoolBuyFailed}) || rec.list[0].Err == nil {
		t.Errorf("pool changes %v, want the failure reported with its error", got)
	}
	// Within the backoff, no instance tries again.
	if _, err := other.CreateConversation(t.Context(), req); !errors.Is(err, proxy.ErrNumberBeingBought) {
		t.Errorf("create during the backoff on another instance: %v; want ErrNumberBeingBought", err)
	}
	if n := v.Count(proxytest.APINumberBuy); n != 1 {
		t.Errorf("%d purchase attempts during the backoff, want 1", n)
	}
	clock.Advance(time.Minute)
	if _, err := other.CreateConversation(t.Context(), req); err != nil {
		t.Fatalf("create after the backoff: %v", err)
	}
	// The country's limit (MaxPerCountry 1) is now reached.
	_, err = svc.CreateConversation(t.Context(), req) // the same two: they need another number
	var be *proxy.BudgetError
	if !errors.As(err, &be) || be.Limit != "MaxPerCountry" || !errors.Is(err, proxy.ErrPoolBudget) {
		t.Errorf("create past MaxPerCountry: %v; want a *BudgetError", err)
	}
	// Nothing for sale in France.
	_, err = svc.CreateConversation(t.Context(), proxy.CreateRequest{A: "+33 6 12 34 56 78", B: "+33 6 12 34 56 79"})
	if !errors.Is(err, proxy.ErrNoNumbersForSale) {
		t.Errorf("create in a country without stock: %v; want ErrNoNumbersForSale", err)
	}
}

// A bought number with no leg for ReleaseIdle plus the cool-off is
// cancelled and leaves the pool, down to the floor; a hand-added one,
// and one in use, stay; a failed cancel leaves it in the pool, reported.
func TestE2EAutopilotReleasesIdleNumbers(t *testing.T) {
	t.Parallel()
	clock := &e2eClock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	v := proxytest.NewVonage(proxytest.WithClock(clock.Now), proxytest.WithOwnedNumbers(proxytest.SandboxNumbers()...))
	rec := &changes{}
	svc := autopilotService(t, proxy.NewMemoryStore(), v, clock.Now, rec, func(a *proxy.Autopilot) {
		a.ReleaseIdle, a.Floor = time.Hour, 1
	})
	hand := proxytest.SandboxNumbers()[0].MSISDN
	if err := svc.AddNumbers(t.Context(), proxy.PoolNumber{MSISDN: hand, Voice: true, SMS: true}); err != nil {
		t.Fatal(err)
	}
	// The hand-added number serves the first; two more need two numbers.
	var convs []proxy.Conversation
	for i := range 3 {
		c, err := svc.CreateConversation(t.Context(), proxy.CreateRequest{A: gbPerson(1), B: gbPerson(10 + i)})
		if err != nil {
			t.Fatal(err)
		}
		convs = append(convs, c)
	}
	if n := v.Count(proxytest.APINumberBuy); n != 2 {
		t.Fatalf("%d purchases, want 2", n)
	}
	for _, c := range convs[:2] {
		if _, err := svc.CloseConversation(t.Context(), c.ID); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := svc.ReleaseIdleNumbers(t.Context()); err != nil || n != 0 {
		t.Fatalf("release before the idle period: %d, %v; want 0", n, err)
	}
	clock.Advance(2*time.Hour + time.Minute) // past ReleaseIdle and the default 1 h cool-off
	v.FailNext(proxytest.APINumberCancel, 500)
	if n, err := svc.ReleaseIdleNumbers(t.Context()); err == nil || n != 0 {
		t.Fatalf("release with the cancel failing: %d, %v; want 0 and the error", n, err)
	}
	if pool, _ := svc.Pool(t.Context()); len(pool) != 3 {
		t.Fatalf("pool after a failed release: %d numbers, want 3 (nothing lost)", len(pool))
	}
	clock.Advance(time.Minute) // the failed release's claim lapses
	n, err := svc.ReleaseIdleNumbers(t.Context())
	if err != nil || n != 1 {
		t.Fatalf("release: %d, %v; want 1 (the idle bought one; the one in use and the hand-added one stay)", n, err)
	}
	pool, _ := svc.Pool(t.Context())
	var msisdns []string
	for _, p := range pool {
		msisdns = append(msisdns, p.MSISDN)
	}
	inUse := convs[2].Participants[0].ProxyNumber
	if len(pool) != 2 || !slices.Contains(msisdns, hand) || !slices.Contains(msisdns, inUse) {
		t.Errorf("pool after release %v, want the hand-added %s and the in-use %s", msisdns, hand, inUse)
	}
	if got := rec.kinds(); !slices.Equal(got, []proxy.PoolChangeKind{proxy.PoolBought, proxy.PoolBought, proxy.PoolReleaseFailed, proxy.PoolReleased}) {
		t.Errorf("pool changes %v", got)
	}
}

// New refuses an autopilot it could not run.
func TestAutopilotConfigRefused(t *testing.T) {
	t.Parallel()
	nc, err := numbers.NewClient("k", "s")
	if err != nil {
		t.Fatal(err)
	}
	for name, ap := range map[string]proxy.Autopilot{
		"no client":         {ApplicationID: "app"},
		"no application":    {Numbers: nc},
		"negative limit":    {Numbers: nc, ApplicationID: "app", MaxNumbers: -1},
		"headroom too high": {Numbers: nc, ApplicationID: "app", Headroom: 17},
	} {
		if _, err := proxy.New(proxy.Config{Pool: proxy.PoolConfig{Autopilot: &ap}}); err == nil {
			t.Errorf("%s: New accepted %+v", name, ap)
		}
	}
}

// With Headroom, a participant given one of their last numbers gets a
// number bought in the background, so their next conversation does not
// wait for a purchase.
func TestE2EAutopilotBuysAhead(t *testing.T) {
	t.Parallel()
	clock := &e2eClock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	v := proxytest.NewVonage(proxytest.WithClock(clock.Now), proxytest.WithOwnedNumbers(proxytest.SandboxNumbers()...))
	rec := &changes{}
	svc := autopilotService(t, proxy.NewMemoryStore(), v, clock.Now, rec, func(a *proxy.Autopilot) { a.Headroom = 2 })
	for _, n := range proxytest.SandboxNumbers()[:3] {
		if err := svc.AddNumbers(t.Context(), proxy.PoolNumber{MSISDN: n.MSISDN, Voice: true, SMS: true}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := svc.CreateConversation(t.Context(), proxy.CreateRequest{A: gbPerson(1), B: gbPerson(2)}); err != nil {
		t.Fatal(err)
	}
	if n := v.Count(proxytest.APINumberBuy); n != 0 {
		t.Fatalf("%d purchases with three numbers free, want 0", n)
	}
	// Two numbers left for gbPerson(1): within the headroom.
	if _, err := svc.CreateConversation(t.Context(), proxy.CreateRequest{A: gbPerson(1), B: gbPerson(3)}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for v.Count(proxytest.APINumberBuy) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := v.Count(proxytest.APINumberBuy); n != 1 {
		t.Fatalf("%d purchases after the headroom was reached, want 1 in the background", n)
	}
	for time.Now().Before(deadline) && len(rec.kinds()) == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	if rec.list[0].Kind != proxy.PoolBought || rec.list[0].Reason != "headroom" {
		t.Errorf("change %+v, want a purchase for headroom", rec.list[0])
	}
}

// poolFailingStore fails Pool (what the autopilot reads first) when told.
type poolFailingStore struct {
	proxy.Store
	mu   sync.Mutex
	fail error
}

func (s *poolFailingStore) Pool(ctx context.Context) ([]proxy.PoolNumber, error) {
	s.mu.Lock()
	fail := s.fail
	s.mu.Unlock()
	if fail != nil {
		return nil, fail
	}
	return s.Store.Pool(ctx)
}

// The autopilot's unhappy paths lose nothing: a store that fails, a
// Numbers API that fails or times out, and a purchase whose linking fails
// (the number is cancelled again) each fail the create with the cause,
// and leave the pool and the account as they were.
func TestE2EAutopilotFailuresLeaveNothingHalfDone(t *testing.T) {
	t.Parallel()
	clock := &e2eClock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	v := proxytest.NewVonage(proxytest.WithClock(clock.Now))
	rec := &changes{}
	store := &poolFailingStore{Store: proxy.NewMemoryStore()}
	svc := autopilotService(t, store, v, clock.Now, rec, func(a *proxy.Autopilot) { a.Backoff = time.Second })
	req := proxy.CreateRequest{A: gbPerson(1), B: gbPerson(2)}
	nothing := func(what string) {
		t.Helper()
		if pool, err := store.Store.Pool(t.Context()); err != nil || len(pool) != 0 {
			t.Errorf("%s: pool %v, %v; want it empty", what, pool, err)
		}
		if owned := v.Owned(); len(owned) != 0 {
			t.Errorf("%s: the account owns %v; want nothing", what, owned)
		}
	}

	store.mu.Lock()
	store.fail = errors.New("database down")
	store.mu.Unlock()
	if _, err := svc.CreateConversation(t.Context(), req); err == nil || !strings.Contains(err.Error(), "database down") {
		t.Errorf("create with the store failing: %v; want the store's error", err)
	}
	store.mu.Lock()
	store.fail = nil
	store.mu.Unlock()
	nothing("store down")

	v.FailNext(proxytest.APINumberSearch, http.StatusInternalServerError)
	v.FailNext(proxytest.APINumberSearch, http.StatusInternalServerError)
	v.FailNext(proxytest.APINumberSearch, http.StatusInternalServerError)
	v.FailNext(proxytest.APINumberSearch, http.StatusInternalServerError)
	if _, err := svc.CreateConversation(t.Context(), req); !errors.Is(err, proxy.ErrPurchaseFailed) || !errors.Is(err, numbers.ErrServer) {
		t.Errorf("create with the search failing: %v; want ErrPurchaseFailed and numbers.ErrServer", err)
	}
	nothing("search failing")

	clock.Advance(2 * time.Second) // past the backoff
	v.FailNext(proxytest.APINumberUpdate, 420)
	_, err := svc.CreateConversation(t.Context(), req)
	var pe *proxy.PurchaseError
	if !errors.As(err, &pe) || pe.MSISDN == "" || !strings.Contains(pe.Reason, "linking") {
		t.Errorf("create with the linking failing: %v; want a *PurchaseError naming the number and the linking", err)
	}
	if n := v.Count(proxytest.APINumberCancel); n != 1 {
		t.Errorf("%d cancels after a failed link, want 1", n)
	}
	nothing("linking failing")

	clock.Advance(2 * time.Second)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	v.Slow(proxytest.APINumberSearch, time.Second)
	if _, err := svc.CreateConversation(ctx, req); !errors.Is(err, proxy.ErrPoolExhausted) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("create whose context ends during the search: %v; want ErrPoolExhausted and the deadline", err)
	}
	v.Slow(proxytest.APINumberSearch, 0)
	nothing("search too slow")
	want := []proxy.PoolChangeKind{proxy.PoolBuyFailed, proxy.PoolBuyFailed, proxy.PoolBuyFailed}
	if got := rec.kinds(); !slices.Equal(got, want) {
		t.Errorf("pool changes %v, want %v (a store failure is no purchase)", got, want)
	}
}
