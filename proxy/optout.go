package proxy

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// This file is the opt-out records: a STOP a participant sent to a
// proxy number (keywords.go tells the keywords), kept as a store claim
// per (participant, proxy number), and the error of a send it refuses.

// OptedOutError is the error of a send refused because its recipient
// sent STOP to the proxy number it would come from: a notification, a
// SendMessage, a goodbye. It matches ErrOptedOut (errors.Is), and says
// which side and which proxy number, never the participant's own number.
type OptedOutError struct {
	// ConversationID is the conversation the send was for.
	ConversationID string
	// Side is the recipient's side of it.
	Side Side
	// ProxyNumber is the pool number the recipient sent STOP to, and the
	// send would have come from.
	ProxyNumber string
}

// Error says whose STOP refused the send.
func (e *OptedOutError) Error() string {
	return fmt.Sprintf("proxy: conversation %s: participant %s sent STOP to %s: %v", e.ConversationID, e.Side, e.ProxyNumber, ErrOptedOut)
}

// Unwrap returns ErrOptedOut.
func (e *OptedOutError) Unwrap() error { return ErrOptedOut }

// optedOutError is the *OptedOutError of a send to c's participant on
// side.
func optedOutError(c Conversation, side Side) error {
	return &OptedOutError{ConversationID: c.ID, Side: side, ProxyNumber: c.Participants[side].ProxyNumber}
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
