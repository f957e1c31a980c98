package proxy

import (
	"strings"
	"testing"
	"time"
)

// memStore is the memory store under s.
func memStore(t *testing.T, s *Service) *memoryStore {
	t.Helper()
	m, ok := s.cfg.Store.(*memoryStore)
	if !ok {
		t.Fatalf("store %T", s.cfg.Store)
	}
	return m
}

// TestPseudonymKeys: without a PseudonymKey the pseudonyms, and the
// opt-out records keyed by them, come from the signature secret: the
// same across Services (instances, restarts) with the same secret,
// other with another; PseudonymKey wins. No opt-out key holds the number.
func TestPseudonymKeys(t *testing.T) {
	t.Parallel()
	svc := func(edit func(*Config)) *Service {
		s, _ := newTestService(t, nil, edit)
		return s
	}
	a1 := svc(func(c *Config) { c.Webhooks.SignatureSecret = "secret-1" })
	a2 := svc(func(c *Config) { c.Webhooks.SMSSignatureSecret = "secret-1" })
	b := svc(func(c *Config) { c.Webhooks.SignatureSecret = "secret-2" })
	k1 := svc(func(c *Config) { c.Webhooks.SignatureSecret, c.Privacy.PseudonymKey = "secret-1", []byte("host key") })
	k2 := svc(func(c *Config) { c.Privacy.PseudonymKey = []byte("host key") })
	none := svc(nil)
	if a1.Pseudonym(gbA) != a2.Pseudonym(gbA) {
		t.Error("two Services with the same signature secret give different pseudonyms")
	}
	if a1.Pseudonym(gbA) == b.Pseudonym(gbA) {
		t.Error("another signature secret gives the same pseudonyms")
	}
	if k1.Pseudonym(gbA) != k2.Pseudonym(gbA) || k1.Pseudonym(gbA) == a1.Pseudonym(gbA) {
		t.Error("PseudonymKey does not key the pseudonyms")
	}
	for _, s := range []*Service{a1, k1, none} {
		if k := s.optOutKey(gbA, gbP1); strings.Contains(k, gbA) || !strings.Contains(k, s.Pseudonym(gbA)) {
			t.Errorf("opt-out key %q holds the number, not the pseudonym", k)
		}
	}
}

// TestLegacyOptOutMoved: an opt-out an earlier version kept under the
// number still holds, and is moved under the pseudonym when consulted;
// probing a number with no opt-out leaves no claim holding it; START
// lifts a legacy opt-out too; an erasure moves the legacy opt-outs of
// the erased number.
func TestLegacyOptOutMoved(t *testing.T) {
	t.Parallel()
	s, clk := newTestService(t, []PoolNumber{{MSISDN: gbP1, Country: "GB", Voice: true, SMS: true}}, func(c *Config) { c.Webhooks.SignatureSecret = "secret" })
	m, ctx, now := memStore(t, s), t.Context(), clk.Now()
	legacy := "optout:" + gbA + ":" + gbP1
	if err := m.Claim(ctx, legacy, now, now.Add(optOutLifetime)); err != nil {
		t.Fatal(err)
	}
	if out, err := s.optedOut(ctx, gbA, gbP1, now); err != nil || !out {
		t.Fatalf("optedOut with a legacy record = %v, %v; want true", out, err)
	}
	if _, ok := m.nonces[legacy]; ok {
		t.Error("the legacy record stays after it was moved")
	}
	if exp, ok := m.nonces[s.optOutKey(gbA, gbP1)]; !ok || !exp.After(now.Add(50*365*24*time.Hour)) {
		t.Errorf("the opt-out under the pseudonym: %v, %v", exp, ok)
	}
	if out, err := s.optedOut(ctx, gbB, gbP1, now); err != nil || out {
		t.Fatalf("optedOut(gbB) = %v, %v; want false", out, err)
	}
	for k := range m.nonces {
		if strings.Contains(k, gbB) || strings.Contains(k, gbA) {
			t.Errorf("a claim holds a number: %q", k)
		}
	}

	if err := m.Claim(ctx, legacy, now, now.Add(optOutLifetime)); err != nil {
		t.Fatal(err)
	}
	if err := s.liftOptOut(ctx, gbA, gbP1); err != nil {
		t.Fatal(err)
	}
	if out, err := s.optedOut(ctx, gbA, gbP1, now); err != nil || out {
		t.Errorf("optedOut after START = %v, %v; want false", out, err)
	}

	if err := m.Claim(ctx, legacy, now, now.Add(optOutLifetime)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.EraseParticipant(ctx, "+"+gbA); err != nil {
		t.Fatal(err)
	}
	if _, ok := m.nonces[legacy]; ok {
		t.Error("the legacy record stays after the erasure")
	}
	if out, err := s.optedOut(ctx, gbA, gbP1, now); err != nil || !out {
		t.Errorf("optedOut after the erasure = %v, %v; want true", out, err)
	}
}

// TestMemorySweepDropsStaleParts: the sweep deletes a part that waited
// longer than the assembly window although no later part came; an
// erasure deletes the sender's parts at once.
func TestMemorySweepDropsStaleParts(t *testing.T) {
	t.Parallel()
	s, clk := newTestService(t, nil, nil)
	m, ctx := memStore(t, s), t.Context()
	part := func(from, ref string) {
		t.Helper()
		p := MessagePart{From: from, To: gbP1, Ref: ref, Part: 1, Total: 2, MessageID: "m" + ref, Text: "my address is 1 Private Road, ", ReceivedAt: clk.Now()}
		if _, err := m.AddMessagePart(ctx, p, clk.Now().Add(-multipartMaxAge)); err != nil {
			t.Fatal(err)
		}
	}
	part(gbA, "1")
	clk.Add(multipartMaxAge - time.Minute)
	if _, err := s.PseudonymizeNow(ctx); err != nil {
		t.Fatal(err)
	}
	if len(m.msgParts) != 1 {
		t.Fatalf("%d messages' parts within the window; want 1", len(m.msgParts))
	}
	clk.Add(2 * time.Minute)
	if _, err := s.PseudonymizeNow(ctx); err != nil {
		t.Fatal(err)
	}
	if len(m.msgParts) != 0 {
		t.Errorf("parts past the window kept: %v", m.msgParts)
	}
	part(gbA, "2")
	part(gbB, "3")
	if _, err := s.EraseParticipant(ctx, "+"+gbA); err != nil {
		t.Fatal(err)
	}
	if _, ok := m.msgParts[memMsgKey{gbB, gbP1, "3"}]; len(m.msgParts) != 1 || !ok {
		t.Errorf("after erasing gbA: %v; want gbB's part only", m.msgParts)
	}
}
