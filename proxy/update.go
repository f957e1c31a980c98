package proxy

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Update changes a conversation (Service.UpdateConversation). Its zero
// value changes nothing.
type Update struct {
	// ExpiresAt sets the absolute end; TTL, when set instead, sets it to
	// now plus TTL (MinTTL to MaxTTL). The end must be after now: to end
	// a conversation now, close it.
	ExpiresAt time.Time
	TTL       time.Duration
	// IdleTimeout, when positive, sets the idle timeout; negative removes
	// it; zero leaves it.
	IdleTimeout time.Duration
	// Mode, when set, changes what the conversation carries; both proxy
	// numbers must have the features it needs.
	Mode Mode
	// Labels, when set, replace the labels.
	Labels *Labels
	// Metadata, when not nil, replaces the metadata (empty clears it).
	Metadata map[string]string
	// Record, when set, changes whether new calls are recorded.
	Record *bool
	// Reopen makes a closed or expired conversation active again, if it
	// ended at most Config.Conversations.ReopenGrace ago and both its legs (its PIN on
	// the shared number, its Key) are still free; else a *LegTakenError
	// says which is taken. It then ends at ExpiresAt, or TTL from now, or
	// Config.Conversations.DefaultTTL from now. On a conversation in use it does
	// nothing.
	Reopen bool
}

// defaultReopenGrace is Config.Conversations.ReopenGrace's default: a dispute the
// day after a job (Bolt allows calls for 24 hours after a ride).
const defaultReopenGrace = 24 * time.Hour

// UpdateConversation changes a conversation in use: extend or shorten it,
// change its idle timeout, mode, labels, metadata or recording; with
// u.Reopen, first make an ended one active again. It returns the
// conversation as it is now.
//
// Errors: ErrInvalidRequest (an end not after now or out of range, an
// unknown mode, a mode the proxy numbers lack the features for, labels
// or metadata that are not text); ErrNotFound; ErrConversationEnded (an
// ended conversation without Reopen, or one that ended more than
// Config.Conversations.ReopenGrace ago); *LegTakenError (ErrLegTaken, ErrConflict) when
// reopening finds a leg, its PIN or its Key taken, nothing changed. The
// store makes a reopen atomic across instances: of two conversations
// wanting the same leg back, one gets it.
func (s *Service) UpdateConversation(ctx context.Context, id string, u Update) (Conversation, error) {
	if !isText(id) {
		return Conversation{}, fmt.Errorf("proxy: update conversation %q: %w", cleanText(id), ErrNotFound)
	}
	if err := checkUpdate(u); err != nil {
		return Conversation{}, err
	}
	c, err := s.store.Conversation(ctx, id)
	if err != nil {
		return Conversation{}, fmt.Errorf("proxy: update conversation %s: %w", id, err)
	}
	now := s.now()
	reopened := false
	if !c.InUse(now) {
		if !u.Reopen {
			return Conversation{}, fmt.Errorf("proxy: update conversation %s: %w", id, ErrConversationEnded)
		}
		if c, err = s.reopen(ctx, c, u, now); err != nil {
			return Conversation{}, err
		}
		reopened = true
	}
	cu, err := s.conversationUpdate(ctx, c, u, now, reopened)
	if err != nil {
		return Conversation{}, err
	}
	if cu.ExpiresAt != nil || cu.IdleTimeout != nil || cu.Mode != nil || cu.Labels != nil || cu.Metadata != nil || cu.Record != nil {
		if c, err = s.store.UpdateConversation(ctx, id, cu, now); err != nil {
			if errors.Is(err, ErrConflict) {
				err = errors.Join(ErrConversationEnded, err) // it ended meanwhile
			}
			return Conversation{}, fmt.Errorf("proxy: update conversation %s: %w", id, err)
		}
	}
	s.log.InfoContext(ctx, "proxy: conversation updated", "conversation", id, "expires_at", c.ExpiresAt, "mode", c.Mode)
	c.Status = c.StatusAt(now)
	return c, nil
}

// checkUpdate checks what u asks for on its own.
func checkUpdate(u Update) error {
	if !u.ExpiresAt.IsZero() && u.TTL != 0 {
		return fmt.Errorf("%w: give ExpiresAt or TTL, not both", ErrInvalidRequest)
	}
	if err := checkDurations(u.TTL, max(u.IdleTimeout, 0)); err != nil {
		return err
	}
	switch u.Mode {
	case "", ModeBoth, ModeVoice, ModeSMS:
	default:
		return fmt.Errorf("%w: unknown mode %q", ErrInvalidRequest, cleanText(string(u.Mode)))
	}
	req := CreateRequest{Metadata: u.Metadata}
	if u.Labels != nil {
		req.Labels = *u.Labels
	}
	return checkTexts(req)
}

// reopen makes the ended conversation c active again for u.
func (s *Service) reopen(ctx context.Context, c Conversation, u Update, now time.Time) (Conversation, error) {
	ended := c.EndedAt
	if c.Status == StatusActive { // past its deadline, not swept yet
		ended = c.Deadline()
	}
	if s.cfg.Conversations.ReopenGrace < 0 || now.Sub(ended) > s.cfg.Conversations.ReopenGrace {
		return Conversation{}, fmt.Errorf("proxy: reopen conversation %s: ended at %s, more than Config.Conversations.ReopenGrace (%v) ago: %w",
			c.ID, ended.UTC().Format(time.RFC3339), max(s.cfg.Conversations.ReopenGrace, 0), ErrConversationEnded)
	}
	expires := u.ExpiresAt
	switch {
	case !expires.IsZero():
	case u.TTL > 0:
		expires = now.Add(u.TTL)
	default:
		expires = now.Add(s.cfg.Conversations.DefaultTTL)
	}
	if !expires.After(now) {
		return Conversation{}, fmt.Errorf("%w: ExpiresAt %v is not after now", ErrInvalidRequest, expires)
	}
	r, err := s.store.ReopenConversation(ctx, c.ID, now, expires)
	if err != nil {
		return Conversation{}, fmt.Errorf("proxy: reopen conversation %s: %w", c.ID, err)
	}
	s.log.InfoContext(ctx, "proxy: conversation reopened", "conversation", c.ID, "expires_at", expires)
	s.tel.count(ctx, s.tel.conversations, "event", "reopened")
	return r, nil
}

// conversationUpdate is the store's change for u on c, in use at now.
// When reopened, the reopen has set the end already.
func (s *Service) conversationUpdate(ctx context.Context, c Conversation, u Update, now time.Time, reopened bool) (ConversationUpdate, error) {
	var cu ConversationUpdate
	expires := u.ExpiresAt
	if u.TTL > 0 {
		expires = now.Add(u.TTL)
	}
	if !expires.IsZero() && !reopened {
		if !expires.After(now) {
			return cu, fmt.Errorf("%w: ExpiresAt %v is not after now: close the conversation to end it", ErrInvalidRequest, expires.UTC())
		}
		if expires.Sub(c.CreatedAt) > MaxTTL {
			return cu, fmt.Errorf("%w: ExpiresAt is more than %v after the conversation was created", ErrInvalidRequest, MaxTTL)
		}
		cu.ExpiresAt = &expires
	}
	switch {
	case u.IdleTimeout > 0:
		cu.IdleTimeout = &u.IdleTimeout
	case u.IdleTimeout < 0:
		var none time.Duration
		cu.IdleTimeout = &none
	}
	if u.Mode != "" && u.Mode != c.Mode {
		if err := s.checkFeatures(ctx, c, u.Mode); err != nil {
			return cu, err
		}
		cu.Mode = &u.Mode
	}
	if u.Labels != nil {
		cu.Labels = &[2]string{u.Labels.A, u.Labels.B}
	}
	cu.Metadata = cloneMap(u.Metadata)
	if u.Metadata != nil && cu.Metadata == nil {
		cu.Metadata = map[string]string{}
	}
	cu.Record = u.Record
	return cu, nil
}

// checkFeatures checks that c's proxy numbers can carry mode, as far as
// the pool knows them (a number taken out of the pool is not checked).
func (s *Service) checkFeatures(ctx context.Context, c Conversation, mode Mode) error {
	pool, err := s.store.Pool(ctx)
	if err != nil {
		return fmt.Errorf("proxy: list pool numbers: %w", err)
	}
	for _, n := range pool {
		for _, p := range c.Participants {
			if n.MSISDN != p.ProxyNumber {
				continue
			}
			if (mode != ModeSMS && !n.Voice) || (mode != ModeVoice && !n.SMS) {
				return fmt.Errorf("%w: proxy number %s cannot carry mode %q", ErrInvalidRequest, n.MSISDN, mode)
			}
		}
	}
	return nil
}
