package proxy

import (
	"cmp"
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

// This file is privacy by default: after Config.Privacy.Retention an ended
// conversation keeps no real phone number, label, SMS text or recording
// reference, and EraseParticipant does the same for one person at once,
// with the host's metadata too. Numbers become keyed pseudonyms
// (HMAC-SHA256 with Config.Privacy.PseudonymKey, or a key derived from the
// signature secret), so one person maps to one pseudonym and analytics
// still add up. STOP opt-outs are kept under pseudonyms from the start.
// Parts of multipart SMS, stored before any routing, are deleted by the
// sweep once they can no longer complete, and by an erasure.

// defaultRetention is Config.Privacy.Retention's default: long enough for
// disputes and chargebacks about a job, short of keeping strangers'
// numbers for good.
const defaultRetention = 30 * 24 * time.Hour

// pseudonymBatch is how many conversations a sweep pseudonymizes at a
// time.
const pseudonymBatch = 500

// Pseudonym is number's pseudonym: PseudonymPrefix and 16 hex digits of
// HMAC-SHA256(key, number), the key being Config.Privacy.PseudonymKey or the one
// derived from the signature secret (see Config.Privacy.PseudonymKey). The same
// number always gives the same pseudonym with the same key.
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

// pseudonymKeyLabel is what a pseudonym key derived from a signature
// secret is the HMAC of: a key for this one use, which reveals nothing
// of the secret.
const pseudonymKeyLabel = "voiceproxy pseudonym key v1"

// pseudonymKey returns the pseudonym key: Privacy.PseudonymKey; else
// one derived from the first signature secret set (HMAC-SHA256 keyed by
// the secret, of pseudonymKeyLabel), stable across restarts and
// instances as the secret is; else a random one, and random reports so.
func pseudonymKey(cfg *Config) (key []byte, random bool, err error) {
	if len(cfg.Privacy.PseudonymKey) > 0 {
		return cfg.Privacy.PseudonymKey, false, nil
	}
	secret := cmp.Or(cfg.Webhooks.SignatureSecret, cfg.Webhooks.SMSSignatureSecret)
	if secret == "" && len(cfg.Webhooks.SignatureSecrets) > 0 {
		secret = cfg.Webhooks.SignatureSecrets[0].Secret
	}
	if secret != "" {
		m := hmac.New(sha256.New, []byte(secret))
		io.WriteString(m, pseudonymKeyLabel)
		return m.Sum(nil), false, nil
	}
	key = make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, false, err
	}
	return key, true, nil
}

// PseudonymizeNow pseudonymizes every conversation that ended more than
// Config.Privacy.Retention ago, and returns how many it did. First it deletes
// the stored parts of multipart SMS that can no longer complete (older
// than the assembly window, a day) or that are older than
// Config.Privacy.Retention, if that is shorter: a part waits in the store before
// it is routed to any conversation, so pseudonymizing conversations
// would never reach it. Run calls it with the expiry sweep.
func (s *Service) PseudonymizeNow(ctx context.Context) (int, error) {
	now := s.now()
	age := multipartMaxAge
	if s.cfg.Privacy.Retention >= 0 {
		age = min(age, s.cfg.Privacy.Retention)
	}
	n, err := s.store.DeleteMessageParts(ctx, "", now.Add(-age))
	if err != nil {
		return 0, fmt.Errorf("proxy: delete stale SMS parts: %w", err)
	}
	if n > 0 {
		s.log.InfoContext(ctx, "proxy: parts of SMS that never completed deleted", "count", n)
	}
	if s.cfg.Privacy.Retention < 0 {
		return 0, nil
	}
	total := 0
	for {
		ids, err := s.store.Pseudonymize(ctx, PseudonymQuery{EndedBefore: now.Add(-s.cfg.Privacy.Retention), Pseudonym: s.Pseudonym, Limit: pseudonymBatch})
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
// with this number at once, whatever Config.Privacy.Retention, and reports the
// ones still in use (left as they are: the host must close them first).
// The number may be in any accepted form.
//
// Erasure goes further than retention: besides both participants'
// numbers (pseudonymized), labels, SMS texts and recording URLs, it
// empties the conversations' Metadata and Key, since the store cannot
// tell whether the host put a name or an address in them; it does so
// for the conversations the retention sweep pseudonymized before too.
// It deletes at once every stored part of a multipart SMS the person
// sent (parts wait in the store before they are routed, so they belong
// to no conversation). What stays is what an audit needs and names
// nobody: conversation IDs (ErasureReport lists them, for the host's own
// records), times, statuses, proxy numbers, interactions' kinds,
// statuses, durations and prices, and the pseudonyms, one per person.
//
// A STOP the person sent stays in force: an opt-out is kept under the
// pseudonym, never the number (see Config.Privacy.PseudonymKey), so an erased
// person who had opted out still gets nothing. One kept under the number
// by an earlier version is moved under the pseudonym here.
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
	// Parts received up to the assembly window ahead: another instance's
	// clock may run ahead of this one.
	parts, err := s.store.DeleteMessageParts(ctx, n, now.Add(multipartMaxAge))
	if err != nil {
		return rep, fmt.Errorf("proxy: erase: delete SMS parts: %w", err)
	}
	ids, err := s.store.Pseudonymize(ctx, PseudonymQuery{EndedBefore: now.Add(time.Nanosecond), Participant: n, Pseudonym: s.Pseudonym})
	rep.Pseudonymized = ids
	if err != nil {
		return rep, fmt.Errorf("proxy: erase: %w", err)
	}
	if err := s.moveLegacyOptOuts(ctx, n, now); err != nil {
		return rep, fmt.Errorf("proxy: erase: %w", err)
	}
	s.log.InfoContext(ctx, "proxy: participant erased", "pseudonymized", len(ids), "active", len(rep.Active), "sms_parts", parts)
	if len(rep.Active) > 0 {
		return rep, fmt.Errorf("%w: %d conversations in use: close them, then erase again", ErrParticipantActive, len(rep.Active))
	}
	return rep, nil
}

// moveLegacyOptOuts moves the opt-outs an earlier version kept under the
// number n (legacyOptOutKey) under n's pseudonym, for every proxy number
// n may have sent STOP to: the pool's and those of n's conversations.
func (s *Service) moveLegacyOptOuts(ctx context.Context, n string, now time.Time) error {
	if s.legacyOptOutKey(n, "") == "" {
		return nil
	}
	proxies := map[string]bool{}
	pool, err := s.store.Pool(ctx)
	if err != nil {
		return fmt.Errorf("opt-outs: %w", err)
	}
	for _, p := range pool {
		proxies[p.MSISDN] = true
	}
	for _, who := range []string{n, s.Pseudonym(n)} {
		for after := ""; ; {
			cs, next, err := s.store.ListConversations(ctx, ListFilter{Now: now, Participant: who, After: after})
			if err != nil {
				return fmt.Errorf("opt-outs: %w", err)
			}
			for _, c := range cs {
				for _, p := range c.Participants {
					proxies[p.ProxyNumber] = true
				}
			}
			if next == "" {
				break
			}
			after = next
		}
	}
	for p := range proxies {
		if _, err := s.optedOut(ctx, n, p, now); err != nil {
			return fmt.Errorf("opt-outs: %w", err)
		}
	}
	return nil
}

// ErrParticipantActive: EraseParticipant found conversations in use,
// which it left alone (ErasureReport.Active).
var ErrParticipantActive = errors.New("proxy: the participant has conversations in use")
