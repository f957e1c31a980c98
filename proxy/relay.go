package proxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/voiceproxy/voiceproxy/internal/phone"
	"github.com/voiceproxy/voiceproxy/sms"
)

// This file sends the SMS the Service has accepted: relay jobs stored by
// the inbound-SMS webhook (webhook_sms.go). The webhook tries each job as
// soon as it has answered Vonage; Run tries again whatever is due (a
// failed try, or a job an instance took and never finished because it
// stopped). A job is leased to one instance at a time through the
// store, so however many instances share it, each message is sent by one
// of them; only a crash after the send and before the outcome is stored
// sends it a second time, once the lease runs out.

// Relay timing.
const (
	// relayLease is how long an instance holds a job it is sending;
	// longer than relaySendTimeout, so a lease ends only when its
	// holder has stopped.
	relayLease = 2 * time.Minute
	// relaySendTimeout bounds one send to the SMS API.
	relaySendTimeout = 30 * time.Second
	// relayBatch is how many due jobs Run takes at a time.
	relayBatch = 50
	// Retry backoff: the first retry waits relayBackoffMin, doubling up
	// to relayBackoffMax.
	relayBackoffMin = 2 * time.Second
	relayBackoffMax = 5 * time.Minute
)

// relayNow tries the job id, if it is still due and not held by another
// instance.
func (s *Service) relayNow(ctx context.Context, id string) {
	jobs, err := s.claimRelays(ctx, id, 0)
	if err != nil {
		s.log.ErrorContext(ctx, "proxy: claim SMS relay failed; Run will retry it", "interaction", id, "err", err)
		return
	}
	for _, j := range jobs {
		s.runRelay(ctx, j)
	}
}

// RelayNow sends every relay job that is due and held by no other
// instance, and returns how many it tried. Run calls it every
// Config.SMS.RelayInterval; call it yourself when you do not use Run.
func (s *Service) RelayNow(ctx context.Context) (int, error) {
	total := 0
	for {
		jobs, err := s.claimRelays(ctx, "", relayBatch)
		if err != nil {
			return total, err
		}
		for _, j := range jobs {
			sctx, cancel := context.WithTimeout(ctx, relaySendTimeout)
			s.runRelay(sctx, j)
			cancel()
		}
		total += len(jobs)
		if len(jobs) < relayBatch || ctx.Err() != nil {
			return total, ctx.Err()
		}
	}
}

// claimRelays leases this instance the due jobs (job id only, when set).
func (s *Service) claimRelays(ctx context.Context, id string, limit int) ([]RelayJob, error) {
	now := s.now()
	jobs, err := s.store.ClaimRelays(ctx, RelayClaim{Owner: s.owner, Now: now, LeaseUntil: now.Add(relayLease), Limit: limit, ID: id})
	if err != nil {
		return nil, fmt.Errorf("proxy: claim SMS relays: %w", err)
	}
	return jobs, nil
}

// runRelay sends one leased job and stores the outcome: done (relayed, or
// failed for good) or another try later.
func (s *Service) runRelay(ctx context.Context, j RelayJob) {
	ev, retry := s.sendRelay(ctx, j)
	ev.At = s.now()
	attempts := j.Attempts + 1
	if retry && attempts < s.cfg.SMS.RelayAttempts {
		s.tel.count(ctx, s.tel.sms, "event", string(smsRetry))
		next := ev.At.Add(relayBackoff(attempts))
		s.log.WarnContext(ctx, "proxy: SMS relay failed; will retry", "interaction", j.ID, "attempt", attempts, "next", next, "detail", phone.Redact(ev.Detail))
		if err := s.store.RetryRelay(ctx, j.ID, s.owner, next); err != nil {
			s.log.ErrorContext(ctx, "proxy: reschedule SMS relay failed; it is retried when its lease ends", "interaction", j.ID, "err", err)
		}
		return
	}
	if retry {
		ev.Detail = "gave up after " + strconv.Itoa(attempts) + " attempts: " + ev.Detail
	}
	if err := s.store.FinishRelay(ctx, j.ID, s.owner, ev); err != nil {
		s.log.ErrorContext(ctx, "proxy: record SMS relay outcome failed", "interaction", j.ID, "err", err)
		return
	}
	s.tel.count(ctx, s.tel.sms, "event", smsEvent(ev.Status))
	if ev.Status == EventRelayed {
		s.log.InfoContext(ctx, "proxy: SMS relayed", "conversation", j.ConversationID, "interaction", j.ID)
	} else {
		s.log.WarnContext(ctx, "proxy: SMS not relayed", "conversation", j.ConversationID, "interaction", j.ID, "detail", phone.Redact(ev.Detail))
	}
	if s.cfg.Hooks.OnInteraction != nil {
		s.notifyInteraction(ctx, j.ConversationID, j.ID)
	}
}

// notifyInteraction tells Config.Hooks.OnInteraction of interaction id as
// stored.
func (s *Service) notifyInteraction(ctx context.Context, conversationID, id string) {
	ins, err := s.store.Interactions(ctx, conversationID)
	if err != nil {
		return
	}
	for _, in := range ins {
		if in.ID == id {
			s.cfg.Hooks.OnInteraction(ctx, in)
			return
		}
	}
}

// sendRelay sends j and returns the event to record, and whether a
// failure is worth another try: throttling, a 5xx, a network error or a
// timeout (the SMS API keeps no idempotency key, so a 5xx or a timeout
// may have sent it; a duplicate is better than a loss). The client-ref
// is the interaction's ID, which the delivery receipt carries back.
//
// A job whose recipient sent STOP to its number since it was stored (a
// relay or message waiting for a retry, or stored by an instance that
// had not seen the STOP yet) is not sent: EventBlocked. When the
// opt-out cannot be checked, it is tried again later.
func (s *Service) sendRelay(ctx context.Context, j RelayJob) (ev InteractionEvent, retry bool) {
	switch out, err := s.optedOut(ctx, j.To, j.From, s.now()); {
	case err != nil:
		return InteractionEvent{Status: EventFailed, Detail: err.Error()}, true
	case out:
		return InteractionEvent{Status: EventBlocked, Detail: "the recipient sent STOP to their number"}, false
	}
	resp, err := s.cfg.SMS.Sender.Send(ctx, sms.Message{From: j.From, To: j.To, Text: j.Text, ClientRef: j.ID})
	if err != nil {
		return InteractionEvent{Status: EventFailed, Detail: err.Error()}, retryableSend(err)
	}
	return sentEvent(EventRelayed, resp), false
}

// sentEvent is the event of a message Vonage accepted: the message IDs in
// Detail, and the price when it was one part.
func sentEvent(status EventStatus, resp *sms.Response) InteractionEvent {
	ev := InteractionEvent{Status: status}
	if resp != nil {
		ids := make([]string, 0, len(resp.Messages))
		for _, m := range resp.Messages {
			ids = append(ids, m.MessageID)
		}
		ev.Detail = strings.Join(ids, ",")
		if len(resp.Messages) == 1 {
			ev.Price = resp.Messages[0].MessagePrice
		}
	}
	return ev
}

// retryableSend reports whether a send failure may succeed later.
func retryableSend(err error) bool {
	var se *sms.SendError
	var he *sms.HTTPError
	var me *sms.MessagesError
	var ne net.Error
	switch {
	case errors.As(err, &me):
		return me.Temporary()
	case errors.Is(err, sms.ErrValidation):
		return false
	case errors.As(err, &se):
		return se.Temporary()
	case errors.As(err, &he):
		return he.StatusCode == 429 || he.StatusCode >= 500
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne):
		return true
	case errors.Is(err, context.Canceled):
		return true // the instance is stopping; the job waits in the store
	}
	return false
}

// relayBackoff is the wait before retry n (1-based).
func relayBackoff(n int) time.Duration {
	d := relayBackoffMin
	for i := 1; i < n && d < relayBackoffMax; i++ {
		d *= 2
	}
	return min(d, relayBackoffMax)
}
