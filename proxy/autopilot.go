package proxy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/voiceproxy/voiceproxy/internal/rest"
	"github.com/voiceproxy/voiceproxy/numbers"
)

// This file is the pool autopilot: it buys a number when allocation finds
// none for a participant, and cancels bought numbers that stay idle. A
// purchase is decided once across every instance sharing the store: the
// decision to grow a country's pool from n numbers is a claim in the
// store (the same Claim that refuses webhook replays), so instances
// hitting the same exhausted country at once buy one number between them.

// NumberBuyer finds, buys, links and cancels numbers with the Numbers
// API. *numbers.Client satisfies it.
type NumberBuyer interface {
	Search(ctx context.Context, country string, opts numbers.SearchOptions) (*numbers.SearchResult, error)
	Buy(ctx context.Context, country, msisdn string, opts ...numbers.ActionOption) error
	Update(ctx context.Context, req numbers.UpdateRequest) error
	Cancel(ctx context.Context, country, msisdn string, opts ...numbers.ActionOption) error
}

// Autopilot is the pool autopilot's policy (Config.Pool.Autopilot). With it, a
// participant for whom allocation finds no number in their country gets
// one bought there (search with the features the conversation needs, buy,
// link to ApplicationID, add to the pool) and CreateConversation goes on;
// before GeoAnyCountry would give them a number from another country.
// Numbers it bought are cancelled when idle (ReleaseIdle).
type Autopilot struct {
	// Numbers buys and cancels. Required.
	Numbers NumberBuyer
	// ApplicationID is the Vonage application bought numbers are linked
	// to, so their calls and SMS reach this service. Required.
	ApplicationID string

	// MaxNumbers caps the pool's size (every number, bought or not).
	// Default 100.
	MaxNumbers int
	// MaxPerCountry caps one country's numbers. Default 20.
	MaxPerCountry int
	// MaxPurchasesPerHour caps purchases in any hour, across instances.
	// Default 10.
	MaxPurchasesPerHour int
	// MonthlyBudget caps the monthly rental (EUR, as the Numbers API's
	// search quotes it) of the numbers the autopilot holds: a number
	// whose cost would take the sum over it is not bought. Default 0: no
	// cap.
	MonthlyBudget float64

	// Headroom buys ahead: when a participant is given one of their
	// country's last Headroom usable numbers, a number is bought in the
	// background so that their next conversation finds one. At most 16.
	// Default 0: buy only when none is left.
	Headroom int
	// Wait is how long CreateConversation waits for a purchase another
	// instance (or another call) is making for the same country before
	// failing with ErrNumberBeingBought. Default 5 seconds; the call's
	// context may end it sooner.
	Wait time.Duration
	// Backoff is how long a country is not tried again after a failed or
	// refused purchase, across instances. Default 1 minute.
	Backoff time.Duration

	// ReleaseIdle cancels numbers the autopilot bought that have carried
	// no leg for this long (and for the CoolOff on top, so no
	// participant's late redial reaches a number that is gone), oldest
	// purchase first, down to Floor numbers in their country. Run checks
	// at every sweep. Default 0: bought numbers are kept.
	ReleaseIdle time.Duration
	// Floor is how many numbers per country release keeps. Default 0.
	Floor int
	// ReleaseGrace is how long release waits between taking a number out
	// of the pool and cancelling it, checking first that it carries no
	// leg: longer than an allocation takes from reading its candidates
	// to storing its conversation. Default 5 seconds.
	ReleaseGrace time.Duration

	// OnPoolChange hears of every purchase and release, made or failed,
	// with its reason. It runs synchronously; keep it short.
	OnPoolChange func(context.Context, PoolChange)
}

// PoolChangeKind says what happened to the pool.
type PoolChangeKind string

const (
	PoolBought        PoolChangeKind = "bought"
	PoolBuyFailed     PoolChangeKind = "buy-failed"
	PoolReleased      PoolChangeKind = "released"
	PoolReleaseFailed PoolChangeKind = "release-failed"
)

// PoolChange is one purchase or release by the autopilot, reported to
// Autopilot.OnPoolChange and logged.
type PoolChange struct {
	Kind        PoolChangeKind
	Country     string
	MSISDN      string  // "" when no number was chosen
	MonthlyCost float64 // EUR per month
	// Reason says why: "exhausted" (no number for a participant),
	// "headroom" (bought ahead), "idle" (release).
	Reason string
	Err    error // for the failed kinds
	At     time.Time
}

// Autopilot defaults.
const (
	defaultAutopilotMaxNumbers    = 100
	defaultAutopilotMaxPerCountry = 20
	defaultAutopilotPerHour       = 10
	defaultAutopilotWait          = 5 * time.Second
	defaultAutopilotBackoff       = time.Minute
	defaultReleaseGrace           = 5 * time.Second
	autopilotPoll                 = 50 * time.Millisecond
)

// Reasons for purchases and releases.
const (
	reasonExhausted = "exhausted"
	reasonHeadroom  = "headroom"
	reasonIdle      = "idle"
)

// autopilotConfig checks and completes cfg.
func autopilotConfig(a Autopilot) (Autopilot, error) {
	switch {
	case a.Numbers == nil:
		return a, fmt.Errorf("proxy: Config.Autopilot.Numbers is required")
	case strings.TrimSpace(a.ApplicationID) == "":
		return a, fmt.Errorf("proxy: Config.Autopilot.ApplicationID is required (bought numbers are linked to it)")
	case a.MaxNumbers < 0 || a.MaxPerCountry < 0 || a.MaxPurchasesPerHour < 0 || a.MonthlyBudget < 0 ||
		a.Headroom < 0 || a.Wait < 0 || a.Backoff < 0 || a.ReleaseIdle < 0 || a.Floor < 0 || a.ReleaseGrace < 0:
		return a, fmt.Errorf("proxy: Config.Pool.Autopilot: limits and durations must not be negative")
	case a.Headroom > candidateLimit:
		return a, fmt.Errorf("proxy: Config.Autopilot.Headroom %d is over %d", a.Headroom, candidateLimit)
	}
	setDefault(&a.MaxNumbers, defaultAutopilotMaxNumbers)
	setDefault(&a.MaxPerCountry, defaultAutopilotMaxPerCountry)
	setDefault(&a.MaxPurchasesPerHour, defaultAutopilotPerHour)
	setDefault(&a.Wait, defaultAutopilotWait)
	setDefault(&a.Backoff, defaultAutopilotBackoff)
	setDefault(&a.ReleaseGrace, defaultReleaseGrace)
	return a, nil
}

// setDefault sets *v to def when it is the zero value.
func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// features are the Numbers API features a conversation of mode needs.
func features(mode Mode) []string {
	switch mode {
	case ModeVoice:
		return []string{numbers.FeatureVoice}
	case ModeSMS:
		return []string{numbers.FeatureSMS}
	}
	return []string{numbers.FeatureVoice, numbers.FeatureSMS}
}

// countryPool sums up the pool for one country's budget checks.
type countryPool struct {
	total, inCountry int
	boughtLastHour   int
	monthlySpend     float64
	msisdns          map[string]bool
}

func summarise(pool []PoolNumber, country string, now time.Time) countryPool {
	p := countryPool{total: len(pool), msisdns: make(map[string]bool, len(pool))}
	for _, n := range pool {
		p.msisdns[n.MSISDN] = true
		if n.Country == country {
			p.inCountry++
		}
		if !n.Bought.IsZero() {
			p.monthlySpend += n.MonthlyCost
			if n.Bought.After(now.Add(-time.Hour)) {
				p.boughtLastHour++
			}
		}
	}
	return p
}

// grow buys a number for country with the features mode needs, or waits
// for the purchase another instance is making, and returns nil once the
// country's pool has grown: the caller allocates again. enough reports
// whether the pool as it is now already meets the need; it is asked after
// the pool is read, so a number another instance added after the caller
// looked for candidates, and before that read, is seen and not bought
// twice (the lease covers what is added after). Errors: *BudgetError
// (ErrPoolBudget), ErrNumberBeingBought, *PurchaseError
// (ErrPurchaseFailed), or the store's.
func (s *Service) grow(ctx context.Context, country string, mode Mode, reason string, enough func(context.Context) (bool, error)) error {
	a := s.autopilot
	if country == "" {
		return &PurchaseError{Reason: "the participant's country is not known", Err: ErrNoNumbersForSale}
	}
	now := s.now()
	pool, err := s.store.Pool(ctx)
	if err != nil {
		return fmt.Errorf("proxy: autopilot: list pool: %w", err)
	}
	p := summarise(pool, country, now)
	switch ok, err := enough(ctx); {
	case err != nil:
		return fmt.Errorf("proxy: autopilot: %w", err)
	case ok:
		return nil
	}
	switch {
	case p.total >= a.MaxNumbers:
		return &BudgetError{Country: country, Limit: "MaxNumbers", Value: float64(a.MaxNumbers)}
	case p.inCountry >= a.MaxPerCountry:
		return &BudgetError{Country: country, Limit: "MaxPerCountry", Value: float64(a.MaxPerCountry)}
	case p.boughtLastHour >= a.MaxPurchasesPerHour:
		return &BudgetError{Country: country, Limit: "MaxPurchasesPerHour", Value: float64(a.MaxPurchasesPerHour)}
	}
	// The lease: growing country's pool from p.inCountry numbers. It is
	// kept for Backoff, so a failed purchase is not tried again sooner
	// by any instance; a successful one changes the count, and the next
	// need claims the next lease at once.
	key := fmt.Sprintf("pool-buy:%s:%d", country, p.inCountry)
	switch err := s.store.Claim(ctx, key, now, now.Add(a.Backoff)); {
	case errors.Is(err, ErrConflict):
		return s.awaitGrowth(ctx, country, p.inCountry)
	case err != nil:
		return fmt.Errorf("proxy: autopilot: claim purchase: %w", err)
	}
	n, err := s.buy(ctx, country, mode, p)
	change := PoolChange{Kind: PoolBought, Country: country, MSISDN: n.MSISDN, MonthlyCost: n.MonthlyCost, Reason: reason, At: now}
	if err != nil {
		change.Kind, change.Err = PoolBuyFailed, err
	}
	s.poolChanged(ctx, change)
	return err
}

// buy searches, buys, links and adds one number. Nothing is left half
// done: a number bought but not linked is cancelled again.
func (s *Service) buy(ctx context.Context, country string, mode Mode, p countryPool) (PoolNumber, error) {
	a := s.autopilot
	res, err := a.Numbers.Search(ctx, country, numbers.SearchOptions{Features: features(mode), Size: 20})
	if err != nil {
		return PoolNumber{}, &PurchaseError{Country: country, Reason: "search failed", Err: err}
	}
	var pick numbers.AvailableNumber
	var cost float64
	overBudget := false
	for _, n := range res.Numbers {
		if p.msisdns[n.MSISDN] {
			continue
		}
		c, err := n.Cost.Float64()
		if err != nil {
			continue // a cost we cannot read cannot be budgeted
		}
		if a.MonthlyBudget > 0 && p.monthlySpend+c > a.MonthlyBudget {
			overBudget = true
			continue
		}
		pick, cost = n, c
		break
	}
	if pick.MSISDN == "" {
		if overBudget {
			return PoolNumber{}, &BudgetError{Country: country, Limit: "MonthlyBudget", Value: a.MonthlyBudget}
		}
		return PoolNumber{}, &PurchaseError{Country: country, Reason: "no number for sale with " + strings.Join(features(mode), "+"), Err: ErrNoNumbersForSale}
	}
	if err := a.Numbers.Buy(ctx, country, pick.MSISDN); err != nil {
		return PoolNumber{}, &PurchaseError{Country: country, MSISDN: pick.MSISDN, Reason: "buy refused", Err: err}
	}
	if err := a.Numbers.Update(ctx, numbers.UpdateRequest{Country: country, MSISDN: pick.MSISDN, AppID: a.ApplicationID}); err != nil {
		cerr := a.Numbers.Cancel(context.WithoutCancel(ctx), country, pick.MSISDN)
		return PoolNumber{}, &PurchaseError{Country: country, MSISDN: pick.MSISDN, Reason: "linking to the application failed", Err: errors.Join(err, cerr)}
	}
	n := PoolNumber{
		MSISDN: pick.MSISDN, Country: country,
		Voice:  slices.Contains(pick.Features, numbers.FeatureVoice),
		SMS:    slices.Contains(pick.Features, numbers.FeatureSMS),
		Bought: s.now(), MonthlyCost: cost,
	}
	if err := s.AddNumbers(context.WithoutCancel(ctx), n); err != nil {
		// Owned and linked but not in the pool: SyncNumbers adds it.
		return n, &PurchaseError{Country: country, MSISDN: n.MSISDN, Reason: "bought and linked, but not added to the pool (SyncNumbers adds it)", Err: err}
	}
	return n, nil
}

// awaitGrowth waits until country has more than had numbers, up to
// Autopilot.Wait: another instance is buying.
func (s *Service) awaitGrowth(ctx context.Context, country string, had int) error {
	deadline := time.NewTimer(s.autopilot.Wait)
	defer deadline.Stop()
	tick := time.NewTicker(autopilotPoll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (country %s): %w", ErrNumberBeingBought, country, ctx.Err())
		case <-deadline.C:
			return fmt.Errorf("%w (country %s)", ErrNumberBeingBought, country)
		case <-tick.C:
		}
		pool, err := s.store.Pool(ctx)
		if err != nil {
			return fmt.Errorf("proxy: autopilot: list pool: %w", err)
		}
		if summarise(pool, country, s.now()).inCountry > had {
			s.forgetPool()
			return nil
		}
	}
}

// buyAhead grows country's pool in the background (Autopilot.Headroom),
// one purchase at a time per country on this instance (the store's lease
// settles it between instances).
func (s *Service) buyAhead(ctx context.Context, country string, mode Mode, enough func(context.Context) (bool, error)) {
	if _, busy := s.buyingAhead.LoadOrStore(country, struct{}{}); busy {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.autopilot.Backoff)
	go func() {
		defer cancel()
		defer s.buyingAhead.Delete(country)
		if err := s.grow(ctx, country, mode, reasonHeadroom, enough); err != nil && !errors.Is(err, ErrNumberBeingBought) {
			s.log.WarnContext(ctx, "proxy: autopilot: buying ahead failed", "country", country, "err", err)
		}
	}()
}

// ReleaseIdleNumbers cancels the numbers the autopilot bought that have
// been idle for Autopilot.ReleaseIdle plus Config.Allocation.CoolOff, oldest
// purchase first, keeping Autopilot.Floor per country, and returns how
// many it released. Run calls it at every sweep. Each release is claimed
// in the store first, so two instances never cancel the same number; a
// failed cancel leaves the number in the pool, is reported, and is tried
// again at a later sweep.
func (s *Service) ReleaseIdleNumbers(ctx context.Context) (int, error) {
	a := s.autopilot
	if a == nil || a.ReleaseIdle <= 0 {
		return 0, nil
	}
	now := s.now()
	pool, err := s.store.Pool(ctx)
	if err != nil {
		return 0, fmt.Errorf("proxy: autopilot: list pool: %w", err)
	}
	idleFor := a.ReleaseIdle + max(s.cfg.Allocation.CoolOff, 0)
	perCountry := map[string]int{}
	for _, n := range pool {
		perCountry[n.Country]++
	}
	var idle []PoolNumber
	for _, n := range pool {
		last := n.LastUsed
		if n.Bought.After(last) {
			last = n.Bought
		}
		if !n.Bought.IsZero() && n.Legs == 0 && now.Sub(last) >= idleFor {
			idle = append(idle, n)
		}
	}
	slices.SortFunc(idle, func(x, y PoolNumber) int { return x.Bought.Compare(y.Bought) })
	released := 0
	var errs []error
	for _, n := range idle {
		if perCountry[n.Country] <= a.Floor {
			continue
		}
		key := "pool-release:" + n.MSISDN + ":" + n.Bought.UTC().Format(time.RFC3339Nano)
		switch err := s.store.Claim(ctx, key, now, now.Add(a.Backoff)); {
		case errors.Is(err, ErrConflict):
			continue // another instance has it
		case err != nil:
			return released, fmt.Errorf("proxy: autopilot: claim release: %w", err)
		}
		change := PoolChange{Kind: PoolReleased, Country: n.Country, MSISDN: n.MSISDN, MonthlyCost: n.MonthlyCost, Reason: reasonIdle, At: now}
		// Out of the pool first, so that no new conversation is given it;
		// then, once every allocation that read it as a candidate before
		// has had time to store its conversation, cancelled only if it
		// still carries no leg. Back in the pool if not cancelled.
		kept, err := s.drainAndCancel(ctx, n)
		if kept && err == nil {
			continue // in use again: not idle after all
		}
		if err != nil {
			change.Kind, change.Err = PoolReleaseFailed, err
			errs = append(errs, fmt.Errorf("release %s: %w", n.MSISDN, err))
		} else {
			released++
			perCountry[n.Country]--
		}
		s.poolChanged(ctx, change)
	}
	if len(errs) > 0 {
		return released, fmt.Errorf("proxy: autopilot: %w", errors.Join(errs...))
	}
	return released, nil
}

// drainAndCancel takes n out of the pool, waits Autopilot.ReleaseGrace, and
// cancels it if it carries no leg; kept says it was put back instead.
func (s *Service) drainAndCancel(ctx context.Context, n PoolNumber) (kept bool, err error) {
	if err := s.RemoveNumber(ctx, n.MSISDN); err != nil {
		return false, err
	}
	putBack := func(err error) (bool, error) {
		n.Legs, n.LastUsed = 0, time.Time{}
		return true, errors.Join(err, s.AddNumbers(context.WithoutCancel(ctx), n))
	}
	if err := rest.SleepContext(ctx, s.autopilot.ReleaseGrace); err != nil {
		return putBack(err)
	}
	legs, err := s.store.NumberLegs(ctx, n.MSISDN)
	if err != nil || legs > 0 {
		return putBack(err)
	}
	if err := s.autopilot.Numbers.Cancel(ctx, n.Country, n.MSISDN); err != nil {
		return putBack(err)
	}
	return false, nil
}

// poolChanged logs a purchase or release and reports it.
func (s *Service) poolChanged(ctx context.Context, c PoolChange) {
	if c.Err != nil {
		s.log.WarnContext(ctx, "proxy: autopilot: "+string(c.Kind), "country", c.Country, "number", c.MSISDN, "reason", c.Reason, "err", c.Err)
	} else {
		s.log.InfoContext(ctx, "proxy: autopilot: "+string(c.Kind), "country", c.Country, "number", c.MSISDN, "monthly_cost", c.MonthlyCost, "reason", c.Reason)
	}
	s.poolStats.add(c)
	s.tel.count(ctx, s.tel.purchases, "result", string(c.Kind), "country", c.Country)
	if s.autopilot.OnPoolChange != nil {
		s.autopilot.OnPoolChange(ctx, c)
	}
}

// CountryStatus is one country's part of the pool, for operators.
type CountryStatus struct {
	Country string
	Numbers int // in the pool
	// Bought are those the autopilot bought, BoughtLastHour those bought
	// in the last hour (the MaxPurchasesPerHour window), MonthlyCost
	// their monthly rental (EUR).
	Bought, BoughtLastHour int
	MonthlyCost            float64
	ActiveLegs             int // legs in use on the country's numbers
	BusiestLegs            int // legs in use on its busiest number
	IdleNumbers            int // numbers carrying no leg
	// Purchases, PurchaseFailures, Releases and ReleaseFailures are what
	// this Service's autopilot did since it started (other instances
	// count their own).
	Purchases, PurchaseFailures, Releases, ReleaseFailures int
}

// PoolStatus sums the pool up per country, in country order.
func (s *Service) PoolStatus(ctx context.Context) ([]CountryStatus, error) {
	pool, err := s.store.Pool(ctx)
	if err != nil {
		return nil, fmt.Errorf("proxy: pool status: %w", err)
	}
	now := s.now()
	by := map[string]*CountryStatus{}
	for _, n := range pool {
		c := by[n.Country]
		if c == nil {
			c = &CountryStatus{Country: n.Country}
			by[n.Country] = c
		}
		c.Numbers++
		c.ActiveLegs += n.Legs
		c.BusiestLegs = max(c.BusiestLegs, n.Legs)
		if n.Legs == 0 {
			c.IdleNumbers++
		}
		if !n.Bought.IsZero() {
			c.Bought++
			c.MonthlyCost += n.MonthlyCost
			if n.Bought.After(now.Add(-time.Hour)) {
				c.BoughtLastHour++
			}
		}
	}
	s.poolStats.mu.Lock()
	for country, k := range s.poolStats.counts {
		c := by[country]
		if c == nil {
			c = &CountryStatus{Country: country}
			by[country] = c
		}
		c.Purchases, c.PurchaseFailures = k[PoolBought], k[PoolBuyFailed]
		c.Releases, c.ReleaseFailures = k[PoolReleased], k[PoolReleaseFailed]
	}
	s.poolStats.mu.Unlock()
	out := make([]CountryStatus, 0, len(by))
	for _, c := range by {
		out = append(out, *c)
	}
	slices.SortFunc(out, func(a, b CountryStatus) int { return strings.Compare(a.Country, b.Country) })
	return out, nil
}

// poolStats counts the autopilot's changes per country and kind.
type poolStats struct {
	mu     sync.Mutex
	counts map[string]map[PoolChangeKind]int
}

func (p *poolStats) add(c PoolChange) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.counts == nil {
		p.counts = map[string]map[PoolChangeKind]int{}
	}
	if p.counts[c.Country] == nil {
		p.counts[c.Country] = map[PoolChangeKind]int{}
	}
	p.counts[c.Country][c.Kind]++
}
