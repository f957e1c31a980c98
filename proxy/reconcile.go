package proxy

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"time"
)

// This file is the reconciliation of calls whose last event never came:
// an event Vonage delivered that the store could not take waits in the
// spool (eventspool.go), which does not survive the process; and Vonage
// itself may give up on an event URL. Where call control is configured,
// Run's sweep asks the Voice API how such calls' open legs ended (GET
// /v1/calls/{uuid}; Voice API reference, ../shared/vonage-api/voice.yml,
// operation getCall, "Get detail of a specific call", whose
// GetCallResponse has status, direction, rate, price, duration,
// start_time, end_time and network, the last six once the call is
// completed) and records each leg's final status as an event.

// ReconciledDetail is the Detail of the events the reconciliation records
// (Service.ReconcileCalls): the leg's final status from the Voice API's
// call detail, or EventLost when the Voice API no longer knows the leg.
const ReconciledDetail = "reconciled from the Voice API: the leg's event never came"

// Bounds of the reconciliation.
const (
	// reconcileBatch is the most calls one sweep asks about (one request
	// per open leg: one or two a call).
	reconcileBatch = 100
	// reconcileMargin is added to a call's longest possible life (the
	// rings and the time limit) before it is reconciled: the greeting,
	// a PIN's entry, and Vonage's retries of the last events.
	reconcileMargin = 10 * time.Minute
	// reconcileQuiet is how long a call must have had no event at all:
	// an event that is late, retried or spooled is not raced. It is also
	// how long a leg is claimed by the instance asking about it.
	reconcileQuiet = 5 * time.Minute
	// reconcileWindow is how far back calls are reconciled: the
	// sweep's query reads the calls created within it, so it bounds that
	// query's cost. A call older than this with an open leg stays open.
	reconcileWindow = 24 * time.Hour
	// vonageDefaultTimeLimit and vonageDefaultRinging are Vonage's
	// defaults of a connect's limit and timeout (NCCO reference,
	// connect: limit 7200 s, timeout 60 s), used when Config.Calls does
	// not set them.
	vonageDefaultTimeLimit = 2 * time.Hour
	vonageDefaultRinging   = 60 * time.Second
	// maxReconciledDuration bounds a duration taken from the Voice API
	// (a click-to-call's length_timer goes up to 24 hours).
	maxReconciledDuration = 24 * 60 * 60
)

// reconcileState is the reconciliation's cursor: the last call ID a
// sweep got through, so that calls the Voice API still reports live do
// not take every sweep's batch.
type reconcileState struct {
	mu    sync.Mutex
	after string
}

// reconcileAge is how old a call must be to be reconciled: its two
// rings (a click-to-call rings both parties in turn), its time limit
// and reconcileMargin.
func (s *Service) reconcileAge() time.Duration {
	limit, ring := s.cfg.Calls.TimeLimit, s.cfg.Calls.ConnectTimeout
	if limit <= 0 {
		limit = vonageDefaultTimeLimit
	}
	if ring <= 0 {
		ring = vonageDefaultRinging
	}
	return limit + 2*ring + reconcileMargin
}

// ReconcileCalls repairs calls whose last event never came, when call
// control is configured (without it, it does nothing and returns 0).
// It lists the calls with an open leg (Store.OpenCalls) created within
// the last 24 hours but longer ago than the longest a call can last
// (Config.Calls.TimeLimit, default 2 hours, plus twice
// Config.Calls.ConnectTimeout, default 60 s, plus 10 minutes), that have
// had no event for 5 minutes: at most 100 of them, continuing from where
// the previous call left off. For each open leg it asks the Voice API
// (GET /v1/calls/{uuid}) and records the leg's final status with its
// duration, price, rate, network and times, Detail ReconciledDetail; a
// leg the Voice API no longer knows (404) is recorded as EventLost, so it
// is not asked about again; a leg it still reports in progress is left
// for a later sweep. Instances sharing a store claim each leg before
// asking (Store.Claim), so a leg is asked about once per 5 minutes.
//
// Spooled events are flushed first (FlushEvents): while the store cannot
// take them, nothing is reconciled. It returns how many legs it
// recorded; it stops at a store error, and at a Voice API error that
// is not the leg's own (authentication, throttling, a 5xx, the context),
// returning it. Run calls it every Config.Conversations.SweepInterval.
func (s *Service) ReconcileCalls(ctx context.Context) (int, error) {
	if s.voice == nil {
		return 0, nil
	}
	if s.events.len() > 0 {
		if _, err := s.FlushEvents(ctx); err != nil {
			return 0, fmt.Errorf("proxy: reconcile calls: spooled events not written yet: %w", err)
		}
	}
	s.reconcile.mu.Lock()
	defer s.reconcile.mu.Unlock()
	now := s.now()
	ins, err := s.store.OpenCalls(ctx, OpenCallQuery{
		CreatedAfter: now.Add(-reconcileWindow), CreatedBefore: now.Add(-s.reconcileAge()),
		QuietBefore: now.Add(-reconcileQuiet), After: s.reconcile.after, Limit: reconcileBatch,
	})
	if err != nil {
		return 0, fmt.Errorf("proxy: reconcile calls: %w", err)
	}
	if len(ins) < reconcileBatch {
		s.reconcile.after = "" // the next sweep starts over
	}
	n := 0
	for _, in := range ins {
		for _, l := range liveLegs([]Interaction{in}) {
			done, err := s.reconcileLeg(ctx, l, now)
			if err != nil {
				return n, fmt.Errorf("proxy: reconcile call %s: %w", in.ID, err)
			}
			if done {
				n++
			}
		}
		if len(ins) == reconcileBatch {
			s.reconcile.after = in.ID
		}
	}
	return n, nil
}

// runReconcile is Run's sweep of ReconcileCalls; errors are logged.
func (s *Service) runReconcile(ctx context.Context) {
	if _, err := s.ReconcileCalls(ctx); err != nil && ctx.Err() == nil {
		s.log.ErrorContext(ctx, "proxy: call reconciliation failed", "err", err)
	}
}

// reconcileLeg asks the Voice API about one open leg and records its
// end; it reports whether it recorded one. The error stops the sweep: a
// store error, or a Voice API error that is not about this leg.
func (s *Service) reconcileLeg(ctx context.Context, l liveLeg, now time.Time) (bool, error) {
	switch err := s.store.Claim(ctx, "reconcile:"+l.leg, now, now.Add(reconcileQuiet)); {
	case errors.Is(err, ErrConflict):
		return false, nil // another instance is asking
	case err != nil:
		return false, err
	}
	d, err := s.voice.Call(ctx, CallRef{UUID: l.leg, ConversationUUID: l.in.ExternalID, Region: l.in.Region})
	ev := InteractionEvent{Leg: l.leg, At: now, Detail: ReconciledDetail, Direction: legDirection(l)}
	switch {
	case errors.Is(err, ErrCallNotFound):
		ev.Status = EventLost
		s.log.WarnContext(ctx, "proxy: call leg unknown to the Voice API; recorded as lost", "conversation", l.in.ConversationID, "call", l.leg)
	case err != nil && (ctx.Err() != nil || errors.Is(err, ErrVoiceAuth) || errors.Is(err, ErrVoiceForbidden) ||
		errors.Is(err, ErrVoiceThrottled) || errors.Is(err, ErrVoiceServer)):
		return false, err
	case err != nil:
		// This leg's own trouble (a region refused, an answer not
		// understood): the others are still asked about.
		s.log.ErrorContext(ctx, "proxy: reconcile call leg failed", "conversation", l.in.ConversationID, "call", l.leg, "err", err)
		return false, nil
	default:
		var ok bool
		if ev, ok = reconciledEvent(ev, d, now); !ok {
			s.log.InfoContext(ctx, "proxy: the Voice API reports the call leg not ended; asked again later",
				"conversation", l.in.ConversationID, "call", l.leg, "status", webhookStatus(string(d.Status)))
			return false, nil
		}
		s.log.InfoContext(ctx, "proxy: call leg reconciled", "conversation", l.in.ConversationID, "call", l.leg, "status", ev.Status)
	}
	in := l.in
	if err := s.addEvent(ctx, &in, ev); err != nil && !errors.Is(err, ErrNotFound) {
		return false, err
	}
	return true, nil
}

// legDirection is the direction the leg's events gave.
func legDirection(l liveLeg) string {
	for _, ev := range l.in.Events {
		if ev.Leg == l.leg && ev.Direction != "" {
			return ev.Direction
		}
	}
	return ""
}

// Shapes of the Voice API's figures: a decimal amount ("0.00360000",
// "23.40") and an MCCMNC ("65512").
var (
	amountPattern  = regexp.MustCompile(`^[0-9]{1,12}(\.[0-9]{1,12})?$`)
	networkPattern = regexp.MustCompile(`^[0-9]{5,6}$`)
)

// reconciledEvent fills ev from the Voice API's detail of a leg, checking
// every field (a figure not shaped as Vonage gives it is left out); false
// when the detail's status is not a final one (the leg is still in
// progress, or a status this package does not know).
func reconciledEvent(ev InteractionEvent, d CallDetail, now time.Time) (InteractionEvent, bool) {
	st := webhookStatus(string(d.Status))
	if !legEnded(st) || st == EventBlocked || st == EventHungUp || st == EventLost {
		return ev, false // only Vonage's own final statuses
	}
	ev.Status = st
	if d.Direction == "inbound" || d.Direction == "outbound" {
		ev.Direction = d.Direction
	}
	if amountPattern.MatchString(d.Price) {
		ev.Price = d.Price
	}
	if amountPattern.MatchString(d.Rate) {
		ev.Rate = d.Rate
	}
	if networkPattern.MatchString(d.Network) {
		ev.Network = d.Network
	}
	if st == EventCompleted && d.Duration > 0 && d.Duration <= maxReconciledDuration {
		ev.Duration = d.Duration
	}
	// Times in the future, or before the Unix epoch, are not Vonage's.
	sane := func(t time.Time) bool { return t.Unix() > 0 && !t.After(now) }
	if sane(d.StartTime) {
		ev.StartTime = d.StartTime
	}
	if sane(d.EndTime) && !d.EndTime.Before(ev.StartTime) {
		ev.EndTime = d.EndTime
		ev.At = d.EndTime // when it ended, as a completed event's timestamp says
	}
	return ev, true
}
