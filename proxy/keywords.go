package proxy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// This file is what relayed SMS owe the networks and the users: STOP and
// HELP keywords handled rather than relayed (carriers require both:
// the CTIA's messaging principles for US short and long codes, the UK's
// PhonepayPlus-era practice), START and UNSTOP undoing a STOP, and, by
// policy, contact details removed (redact.go)
// from relayed text so that users cannot take the conversation off the
// platform.

// Keywords, matched against a whole SMS, trimmed and in any case.
var (
	stopWords  = map[string]bool{"STOP": true, "STOPALL": true, "UNSUBSCRIBE": true, "CANCEL": true, "END": true, "QUIT": true}
	helpWords  = map[string]bool{"HELP": true, "INFO": true}
	startWords = map[string]bool{"START": true, "UNSTOP": true}
)

// Default replies to the keywords (Config.SMS.StopReply, HelpReply,
// StartReply).
const (
	defaultStopReply  = "You are unsubscribed: you will get no more messages from this number."
	defaultHelpReply  = "Messages to this number reach your contact without showing your number. Reply STOP to get no more."
	defaultStartReply = "You are subscribed again: messages from this number reach you."
)

// Statuses of keyword handling and redaction on an SMS's interaction.
const (
	// EventOptedOut: the SMS was a STOP keyword; it was not relayed,
	// and the sender gets nothing more from that proxy number.
	EventOptedOut EventStatus = "opted-out"
	// EventHelp: the SMS was a HELP keyword, answered with
	// Config.SMS.HelpReply and not relayed.
	EventHelp EventStatus = "help"
	// EventOptedIn: the SMS was a START keyword; it was not relayed,
	// and the sender's STOP on that proxy number is lifted.
	EventOptedIn EventStatus = "opted-in"
	// EventRedacted: contact details were removed from the SMS before it
	// was relayed; Detail says what, never the details themselves.
	EventRedacted EventStatus = "redacted"
)

// keywordReply defaults the keyword reply *r: def when empty, none
// ("") when "-".
func keywordReply(r *string, def string) {
	switch *r {
	case "":
		*r = def
	case "-":
		*r = ""
	}
}

// optOutLifetime is how long a STOP holds: for good, as far as a store's
// clock goes.
const optOutLifetime = 100 * 365 * 24 * time.Hour

// optOutKey is the store claim (Claim) recording that participant
// sent STOP to proxyNumber. It holds the participant's pseudonym, never
// their number: an opt-out outlives every retention and every erasure
// (whoever erased themselves after a STOP still gets nothing), and the
// pseudonym key (Config.Privacy.PseudonymKey, else derived from the signature
// secret) keeps it the same across instances and restarts.
func (s *Service) optOutKey(participant, proxyNumber string) string {
	return "optout:" + s.Pseudonym(participant) + ":" + proxyNumber
}

// legacyOptOutKey is the claim that recorded a STOP before opt-outs were
// always kept under pseudonyms: a Service without Config.Privacy.PseudonymKey
// kept the number. "" when there can be none (the key was set, and keyed
// the opt-outs then too).
func (s *Service) legacyOptOutKey(participant, proxyNumber string) string {
	if len(s.cfg.Privacy.PseudonymKey) > 0 {
		return ""
	}
	return "optout:" + participant + ":" + proxyNumber
}

// keyword reports the keyword text is, "STOP", "HELP" or "START", or "".
func keyword(text string) string {
	w := strings.ToUpper(strings.Trim(strings.TrimSpace(text), ".!"))
	switch {
	case stopWords[w]:
		return "STOP"
	case helpWords[w]:
		return "HELP"
	case startWords[w]:
		return "START"
	}
	return ""
}

// recordOptOut records that participant sent STOP to proxyNumber, for
// every instance sharing the store.
func (s *Service) recordOptOut(ctx context.Context, participant, proxyNumber string, now time.Time) error {
	err := s.store.Claim(ctx, s.optOutKey(participant, proxyNumber), now, now.Add(optOutLifetime))
	if errors.Is(err, ErrConflict) {
		return nil // sent STOP before
	}
	return err
}

// liftOptOut forgets that participant sent STOP to proxyNumber (START),
// under its pseudonym and under its number (legacyOptOutKey).
func (s *Service) liftOptOut(ctx context.Context, participant, proxyNumber string) error {
	if err := s.store.ReleaseClaim(ctx, s.optOutKey(participant, proxyNumber)); err != nil {
		return fmt.Errorf("proxy: lift opt-out: %w", err)
	}
	if legacy := s.legacyOptOutKey(participant, proxyNumber); legacy != "" {
		if err := s.store.ReleaseClaim(ctx, legacy); err != nil {
			return fmt.Errorf("proxy: lift opt-out: %w", err)
		}
	}
	return nil
}

// optedOut reports whether participant sent STOP to proxyNumber. It
// probes with a claim that has expired already (the zero time): it
// conflicts only with the opt-out's own claim, and never blocks another
// probe, however the probes' clocks interleave.
//
// An opt-out found under the number (legacyOptOutKey) is moved under the
// pseudonym; the probe of the number, which the store would otherwise
// keep until its sweep, is deleted at once.
func (s *Service) optedOut(ctx context.Context, participant, proxyNumber string, now time.Time) (bool, error) {
	out, err := s.probeOptOut(ctx, s.optOutKey(participant, proxyNumber), now)
	legacy := s.legacyOptOutKey(participant, proxyNumber)
	if out || err != nil || legacy == "" {
		return out, err
	}
	if out, err = s.probeOptOut(ctx, legacy, now); err != nil {
		return false, err
	}
	if out {
		if err := s.recordOptOut(ctx, participant, proxyNumber, now); err != nil {
			return true, fmt.Errorf("proxy: move opt-out under its pseudonym: %w", err)
		}
	}
	if err := s.store.ReleaseClaim(ctx, legacy); err != nil {
		return out, fmt.Errorf("proxy: check opt-out: %w", err)
	}
	return out, nil
}

// probeOptOut reports whether the opt-out claim key is live at now.
func (s *Service) probeOptOut(ctx context.Context, key string, now time.Time) (bool, error) {
	switch err := s.store.Claim(ctx, key, now, time.Time{}); {
	case errors.Is(err, ErrConflict):
		return true, nil
	case err != nil:
		return false, fmt.Errorf("proxy: check opt-out: %w", err)
	}
	return false, nil
}
