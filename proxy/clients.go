package proxy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/voiceproxy/voiceproxy/insight"
	"github.com/voiceproxy/voiceproxy/numbers"
	"github.com/voiceproxy/voiceproxy/sms"
	"golang.org/x/sync/errgroup"
)

// SMSSender sends SMS. *sms.Client satisfies it.
type SMSSender interface {
	Send(ctx context.Context, msg sms.Message) (*sms.Response, error)
}

// NumberChecker looks numbers up with Number Insight Basic (the free
// level: it confirms the number exists in the numbering plan).
// *insight.Client satisfies it.
type NumberChecker interface {
	Basic(ctx context.Context, req insight.Request) (*insight.BasicResponse, error)
}

// NumbersAPI lists the account's numbers and links them to the
// application. *numbers.Client satisfies it.
type NumbersAPI interface {
	ListAll(ctx context.Context, opts numbers.ListOptions) ([]numbers.OwnedNumber, error)
	Update(ctx context.Context, req numbers.UpdateRequest) error
}

// checkInsight looks both participants up in parallel when an Insight
// client is configured. An invalid number gives a *NumberError; any other
// failure (outage, credit, throttling, ctx done) an *InsightError.
func (s *Service) checkInsight(ctx context.Context, a, b string) error {
	if s.cfg.Allocation.Insight == nil {
		return nil
	}
	g, gctx := errgroup.WithContext(ctx)
	for side, number := range [...]string{SideA: a, SideB: b} {
		g.Go(func() error {
			_, err := s.cfg.Allocation.Insight.Basic(gctx, insight.Request{Number: number})
			switch {
			case err == nil:
				return nil
			case errors.Is(err, insight.ErrInvalidRequest):
				return &NumberError{Field: Side(side).String(), Input: number, Err: err}
			default:
				return &InsightError{Side: Side(side), Err: err}
			}
		})
	}
	return g.Wait()
}

// Default notification texts; {label} becomes the other participant's
// label (Config.Conversations.DefaultLabel when it has none).
const (
	defaultNotifyBoth  = "Call or text this number to reach {label}."
	defaultNotifyVoice = "Call this number to reach {label}."
	defaultNotifySMS   = "Text this number to reach {label}."
	defaultLabel       = "your contact"
	// A PIN conversation's, which must give the PIN.
	defaultNotifyPINBoth  = "Call this number and enter PIN {pin}, or text it, to reach {label}."
	defaultNotifyPINVoice = "Call this number and enter PIN {pin} to reach {label}."
)

// notifyText is the notification for the participant on side.
func (s *Service) notifyText(c Conversation, side Side) string {
	tmpl := s.cfg.Conversations.NotifyTemplate
	if c.PIN != "" {
		tmpl = s.cfg.Conversations.NotifyPINTemplate
	}
	if tmpl == "" {
		switch {
		case c.Mode == ModeSMS:
			tmpl = defaultNotifySMS
		case c.PIN != "" && c.Mode == ModeVoice:
			tmpl = defaultNotifyPINVoice
		case c.PIN != "":
			tmpl = defaultNotifyPINBoth
		case c.Mode == ModeVoice:
			tmpl = defaultNotifyVoice
		default:
			tmpl = defaultNotifyBoth
		}
	}
	label := c.Participants[side.Other()].Label
	if label == "" {
		label = s.cfg.Conversations.DefaultLabel
	}
	return strings.NewReplacer("{label}", label, "{pin}", c.PIN).Replace(tmpl)
}

// notifyOne texts the participant on side from its proxy number and
// records it as a KindNotification interaction, whose ID is the SMS's
// client-ref so that its delivery receipt lands on it. The interaction
// is best effort: a store failure is logged, and the SMS still goes. A
// participant who sent STOP to that proxy number (a sticky number of an
// earlier conversation) is not texted: an *OptedOutError, recorded as
// EventBlocked; and when the opt-out cannot be checked, nothing is sent
// either.
func (s *Service) notifyOne(ctx context.Context, c Conversation, side Side) error {
	p := c.Participants[side]
	now := s.now()
	out, err := s.optedOut(ctx, p.Number, p.ProxyNumber, now)
	if err != nil {
		return err
	}
	in := Interaction{ID: newID(now), ConversationID: c.ID, Kind: KindNotification, From: p.ProxyNumber, To: p.Number, CreatedAt: now}
	recorded := true
	if err := s.store.AddInteraction(ctx, in); err != nil {
		recorded = false
		s.log.ErrorContext(ctx, "proxy: record notification failed", "conversation", c.ID, "err", err)
	}
	var ev InteractionEvent
	if out {
		ev, err = InteractionEvent{Status: EventBlocked, Detail: "the recipient sent STOP to their number"}, optedOutError(c, side)
	} else {
		var resp *sms.Response
		resp, err = s.cfg.SMS.Sender.Send(ctx, sms.Message{From: p.ProxyNumber, To: p.Number, Text: s.notifyText(c, side), ClientRef: in.ID})
		ev = sentEvent(EventSent, resp)
		if err != nil {
			ev = InteractionEvent{Status: EventFailed, Detail: err.Error()}
		}
	}
	ev.At = s.now()
	if recorded {
		if rerr := s.addEvent(ctx, &in, ev); rerr != nil {
			s.log.ErrorContext(ctx, "proxy: record notification status failed", "conversation", c.ID, "err", rerr)
		}
	}
	return err
}

// notify texts each participant from its own proxy number. Failures are
// collected in a *NotifyError; the conversation stays.
func (s *Service) notify(ctx context.Context, c Conversation) error {
	if s.cfg.SMS.Sender == nil {
		return &NotifyError{Failed: map[Side]error{
			SideA: ErrNoSMSSender, SideB: ErrNoSMSSender,
		}}
	}
	var (
		mu     sync.Mutex
		wg     sync.WaitGroup
		failed map[Side]error
	)
	for _, side := range [...]Side{SideA, SideB} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.notifyOne(ctx, c, side); err != nil {
				s.log.WarnContext(ctx, "proxy: notification SMS failed", "conversation", c.ID, "participant", side, "err", err)
				mu.Lock()
				defer mu.Unlock()
				if failed == nil {
					failed = map[Side]error{}
				}
				failed[side] = err
			}
		}()
	}
	wg.Wait()
	if failed != nil {
		return &NotifyError{Failed: failed}
	}
	return nil
}

// SyncResult reports what SyncNumbers did. Numbers are digits only.
type SyncResult struct {
	// Kept were already linked to the application and are in the pool.
	Kept []PoolNumber
	// Linked were linked to the application by this call and added.
	Linked []PoolNumber
	// Skipped were left alone: no VOICE or SMS feature, or linked to
	// another application (SyncNumbers never takes a number from another
	// application).
	Skipped []string
	// Routed had their inbound-SMS webhook (moHttpUrl) set to
	// Config.Webhooks.InboundSMSURL by this call.
	Routed []string
}

// SyncNumbers loads the numbers the account owns (Config.Pool.Numbers), links
// to Config.ApplicationID those with the VOICE or SMS feature that are
// linked to no application, and adds them, with the ones already linked,
// to the pool (country and features from the API). Numbers whose link
// fails are left out and reported in the returned error (a join of
// errors naming each number); the rest are still added.
func (s *Service) SyncNumbers(ctx context.Context) (SyncResult, error) {
	var res SyncResult
	if s.cfg.Pool.Numbers == nil || s.cfg.ApplicationID == "" {
		return res, errors.New("proxy: SyncNumbers needs Config.Pool.Numbers and Config.ApplicationID")
	}
	owned, err := s.cfg.Pool.Numbers.ListAll(ctx, numbers.ListOptions{})
	if err != nil {
		return res, fmt.Errorf("proxy: list owned numbers: %w", err)
	}
	var errs []error
	var pool []PoolNumber
	for _, o := range owned {
		n := PoolNumber{
			MSISDN:  strings.TrimPrefix(o.MSISDN, "+"),
			Country: strings.ToUpper(o.Country),
			Voice:   o.HasFeature(numbers.FeatureVoice),
			SMS:     o.HasFeature(numbers.FeatureSMS),
		}
		// On the SMS API setting a number's inbound SMS go to its
		// moHttpUrl (else the account's default); on the Messages API
		// setting, to its application's Messages inbound URL, which the
		// link gives it.
		route := n.SMS && s.cfg.Webhooks.InboundSMSURL != "" && o.MoHTTPURL != s.cfg.Webhooks.InboundSMSURL
		switch {
		case !n.Voice && !n.SMS:
			res.Skipped = append(res.Skipped, n.MSISDN)
		case o.AppID == s.cfg.ApplicationID:
			if route {
				err := s.cfg.Pool.Numbers.Update(ctx, numbers.UpdateRequest{Country: o.Country, MSISDN: n.MSISDN, AppID: s.cfg.ApplicationID, MoHTTPURL: s.cfg.Webhooks.InboundSMSURL})
				if err != nil {
					errs = append(errs, fmt.Errorf("proxy: set the inbound-SMS URL of %s: %w", n.MSISDN, err))
				} else {
					res.Routed = append(res.Routed, n.MSISDN)
				}
			}
			res.Kept = append(res.Kept, n)
			pool = append(pool, n)
		case o.AppID != "":
			res.Skipped = append(res.Skipped, n.MSISDN)
		default:
			up := numbers.UpdateRequest{Country: o.Country, MSISDN: n.MSISDN, AppID: s.cfg.ApplicationID}
			if route {
				up.MoHTTPURL = s.cfg.Webhooks.InboundSMSURL
			}
			if err := s.cfg.Pool.Numbers.Update(ctx, up); err != nil {
				errs = append(errs, fmt.Errorf("proxy: link %s: %w", n.MSISDN, err))
				continue
			}
			if route {
				res.Routed = append(res.Routed, n.MSISDN)
			}
			res.Linked = append(res.Linked, n)
			pool = append(pool, n)
		}
	}
	if len(pool) > 0 {
		if err := s.AddNumbers(ctx, pool...); err != nil {
			errs = append(errs, err)
		}
	}
	s.log.InfoContext(ctx, "proxy: numbers synced", "kept", len(res.Kept), "linked", len(res.Linked), "skipped", len(res.Skipped),
		"sms_url_set", len(res.Routed), "failed", len(errs))
	return res, errors.Join(errs...)
}
