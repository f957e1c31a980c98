package proxy

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"time"

	"github.com/voiceproxy/voiceproxy/internal/phone/numplan"
)

// This file is privacy by default: after Config.Retention an ended
// conversation keeps no real phone number, SMS text or recording
// reference, and EraseParticipant does the same for one person at once.
// Numbers become keyed pseudonyms (HMAC-SHA256 with Config.PseudonymKey),
// so one person maps to one pseudonym and analytics still add up.

// defaultRetention is Config.Retention's default: long enough for
// disputes and chargebacks about a job, short of keeping strangers'
// numbers for good.
const defaultRetention = 30 * 24 * time.Hour

// pseudonymBatch is how many conversations a sweep pseudonymizes at a
// time.
const pseudonymBatch = 500

// Pseudonym is number's pseudonym: PseudonymPrefix and 16 hex digits of
// HMAC-SHA256(Config.PseudonymKey, number). The same number always gives
// the same pseudonym with the same key.
func (s *Service) Pseudonym(number string) string {
	m, _ := s.pseudonymMACs.Get().(hash.Hash)
	if m == nil {
		m = hmac.New(sha256.New, s.pseudonymKey)
	}
	m.Reset()
	io.WriteString(m, number)
	var sum [sha256.Size]byte
	var out [len(PseudonymPrefix) + 16]byte
	copy(out[:], PseudonymPrefix)
	hex.Encode(out[len(PseudonymPrefix):], m.Sum(sum[:0])[:8])
	s.pseudonymMACs.Put(m)
	return string(out[:])
}

// privacyConfig checks and defaults the retention settings.
func privacyConfig(cfg *Config) ([]byte, error) {
	if cfg.Retention == 0 {
		cfg.Retention = defaultRetention
	}
	if len(cfg.PseudonymKey) > 0 {
		return cfg.PseudonymKey, nil
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	return key, nil
}

// PseudonymizeNow pseudonymizes every conversation that ended more than
// Config.Retention ago, and returns how many it did. Run calls it with
// the expiry sweep.
func (s *Service) PseudonymizeNow(ctx context.Context) (int, error) {
	if s.cfg.Retention < 0 {
		return 0, nil
	}
	total := 0
	for {
		ids, err := s.store.Pseudonymize(ctx, PseudonymQuery{EndedBefore: s.now().Add(-s.cfg.Retention), Pseudonym: s.Pseudonym, Limit: pseudonymBatch})
		total += len(ids)
		if err != nil {
			return total, fmt.Errorf("proxy: pseudonymize: %w", err)
		}
		if len(ids) > 0 {
			s.log.InfoContext(ctx, "proxy: conversations pseudonymized after their retention", "count", len(ids))
		}
		if len(ids) < pseudonymBatch {
			return total, nil
		}
	}
}

// ErasureReport is what EraseParticipant did.
type ErasureReport struct {
	// Pseudonymized are the ended conversations changed.
	Pseudonymized []string
	// Active are the participant's conversations still in use, which
	// were left alone: close them, then erase again.
	Active []string
}

// EraseParticipant pseudonymizes every ended conversation of the person
// with this number at once, whatever Config.Retention, and reports the
// ones still in use (left as they are: the host must close them first).
// The number may be in any accepted form.
func (s *Service) EraseParticipant(ctx context.Context, number string) (ErasureReport, error) {
	var rep ErasureReport
	n, _, err := numplan.Parse(number, true)
	if err != nil {
		return rep, &NumberError{Field: "Participant", Input: number, Err: err}
	}
	now := s.now()
	for after := ""; ; {
		cs, next, err := s.store.ListConversations(ctx, ListFilter{Status: StatusActive, Now: now, Participant: n, After: after})
		if err != nil {
			return rep, fmt.Errorf("proxy: erase: list conversations in use: %w", err)
		}
		for _, c := range cs {
			rep.Active = append(rep.Active, c.ID)
		}
		if next == "" {
			break
		}
		after = next
	}
	ids, err := s.store.Pseudonymize(ctx, PseudonymQuery{EndedBefore: now.Add(time.Nanosecond), Participant: n, Pseudonym: s.Pseudonym})
	rep.Pseudonymized = ids
	if err != nil {
		return rep, fmt.Errorf("proxy: erase: %w", err)
	}
	s.log.InfoContext(ctx, "proxy: participant erased", "pseudonymized", len(ids), "active", len(rep.Active))
	if len(rep.Active) > 0 {
		return rep, fmt.Errorf("%w: %d conversations in use: close them, then erase again", ErrParticipantActive, len(rep.Active))
	}
	return rep, nil
}

// ErrParticipantActive: EraseParticipant found conversations in use,
// which it left alone (ErasureReport.Active).
var ErrParticipantActive = errors.New("proxy: the participant has conversations in use")
