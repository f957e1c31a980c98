package proxy

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

func TestRedact(t *testing.T) {
	t.Parallel()
	all := RedactPolicy{Phones: true, Emails: true, URLs: true}
	for _, tc := range []struct {
		p             RedactPolicy
		in, out, what string
	}{
		{all, "Call me on +44 7700 900123 or 07700-900-123", "Call me on [removed] or [removed]", "2 phone numbers"},
		{all, "mail jo.bloggs+taxi@example.co.uk", "mail [removed]", "1 e-mail address"},
		{all, "see https://pay.example.com/x?y=1 and www.example.org", "see [removed] and [removed]", "2 URLs"},
		{all, "Gate 4521, flat 12, at 15:30, costs 25.50", "Gate 4521, flat 12, at 15:30, costs 25.50", ""},
		{RedactPolicy{Emails: true, Replacement: "***"}, "x@y.io or 0207 946 0000", "*** or 0207 946 0000", "1 e-mail address"},
		{RedactPolicy{}, "+447700900123", "+447700900123", ""},
		{all, "pickup 2026-12-02, back 02.12.2026 or 12-24-2026", "pickup 2026-12-02, back 02.12.2026 or 12-24-2026", ""},
		{all, "not dates: 2026-13-45 and 0207-946-0000", "not dates: [removed] and [removed]", "2 phone numbers"},
		{all, "Ring 07700 900123 on 2026-12-02", "Ring [removed] on 2026-12-02", "1 phone number"},
	} {
		out, what := tc.p.redact(tc.in)
		if out != tc.out || what != tc.what {
			t.Errorf("redact(%q) = %q, %q; want %q, %q", tc.in, out, what, tc.out, tc.what)
		}
	}
}

func TestKeyword(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"STOP": "STOP", " stop ": "STOP", "Stop.": "STOP", "unsubscribe": "STOP", "QUIT!": "STOP",
		"help": "HELP", "Info": "HELP", "start": "START", "UNSTOP": "START",
		"please stop texting": "", "stopping by": "", "": "",
	} {
		if got := keyword(in); got != want {
			t.Errorf("keyword(%q) = %q, want %q", in, got, want)
		}
	}
}

// Probes never block one another, whatever order their clocks run in;
// a real opt-out or lock-out is seen by every probe.
func TestProbesDoNotBlockEachOther(t *testing.T) {
	t.Parallel()
	s, clk := newTestService(t, nil, nil)
	ctx := t.Context()
	later, earlier := clk.Now().Add(time.Second), clk.Now()
	for _, probe := range []func(now time.Time) (bool, error){
		func(now time.Time) (bool, error) { return s.optedOut(ctx, gbA, gbP1, now) },
		func(now time.Time) (bool, error) { return s.pinLocked(ctx, gbA, now) },
	} {
		if got, err := probe(later); err != nil || got {
			t.Fatalf("first probe: %v, %v", got, err)
		}
		if got, err := probe(earlier); err != nil || got {
			t.Errorf("a probe with an earlier clock after another: %v, %v; want neither opted out nor locked", got, err)
		}
	}
	if err := s.recordOptOut(ctx, gbA, gbP1, earlier); err != nil {
		t.Fatal(err)
	}
	if got, err := s.optedOut(ctx, gbA, gbP1, later); err != nil || !got {
		t.Errorf("after STOP: %v, %v; want opted out", got, err)
	}
}

// nonceOutage is a store whose nonce claims and releases fail while down.
type nonceOutage struct {
	Store
	down atomic.Bool
}

func (s *nonceOutage) Claim(ctx context.Context, key string, now, expires time.Time) error {
	if s.down.Load() {
		return errors.New("connection refused")
	}
	return s.Store.Claim(ctx, key, now, expires)
}

func (s *nonceOutage) ReleaseClaim(ctx context.Context, key string) error {
	if s.down.Load() {
		return errors.New("connection refused")
	}
	return s.Store.ReleaseClaim(ctx, key)
}

// A STOP or START the store cannot record is answered 503, so Vonage
// redelivers it, and nothing is relayed or answered meanwhile; a
// notification whose opt-out cannot be checked is not sent.
func TestKeywordsWithTheStoreDown(t *testing.T) {
	t.Parallel()
	st := &nonceOutage{Store: NewMemoryStore()}
	fs := &fakeSMS{}
	s, _ := newTestService(t, gbPool(gbP1, gbP2), func(c *Config) { c.Store, c.SMS.Sender = st, fs })
	c := mustCreate(t, s, CreateRequest{A: "+" + gbA, B: "+" + gbB})
	a := c.Participants[SideA]
	for i, kw := range []string{"STOP", "START"} {
		st.down.Store(true)
		if w := serve(s, smsGET(inboundParams(a.Number, a.ProxyNumber, "kw"+strconv.Itoa(i), kw))); w.Code != http.StatusServiceUnavailable {
			t.Errorf("%s with the store down: %d, want 503", kw, w.Code)
		}
		if n := len(fs.Sent()); n != i {
			t.Errorf("%s with the store down: %d SMS sent, want %d", kw, n, i)
		}
		st.down.Store(false)
		if w := serve(s, smsGET(inboundParams(a.Number, a.ProxyNumber, "kw"+strconv.Itoa(i), kw))); w.Code != http.StatusOK {
			t.Errorf("%s redelivered: %d, want 200", kw, w.Code)
		}
		if sent := fs.Sent(); len(sent) != i+1 || sent[i].To != a.Number {
			t.Errorf("%s redelivered: sent %+v, want the reply to the sender", kw, sent)
		}
	}
	st.down.Store(true)
	_, err := s.CreateConversation(t.Context(), CreateRequest{A: "+" + gbC, B: "+" + gbD, Notify: true})
	var ne *NotifyError
	if !errors.As(err, &ne) || len(ne.Failed) != 2 {
		t.Errorf("notifications with the opt-outs unreadable: %v; want both failed", err)
	}
	if n := len(fs.Sent()); n != 2 {
		t.Errorf("%d SMS sent in all, want only the two keyword replies", n)
	}
}

// The keyword replies are the defaults, the host's own, or none ("-").
func TestKeywordReplies(t *testing.T) {
	t.Parallel()
	fs := &fakeSMS{}
	s, _ := newTestService(t, gbPool(gbP1, gbP2), func(c *Config) {
		c.SMS.Sender, c.SMS.StopReply, c.SMS.HelpReply = fs, "-", "Text 999 in an emergency."
	})
	c := mustCreate(t, s, CreateRequest{A: "+" + gbA, B: "+" + gbB})
	a := c.Participants[SideA]
	for i, kw := range []string{"HELP", "STOP", "START"} {
		if w := serve(s, smsGET(inboundParams(a.Number, a.ProxyNumber, "r"+strconv.Itoa(i), kw))); w.Code != http.StatusOK {
			t.Fatalf("%s: %d", kw, w.Code)
		}
	}
	var got []string
	for _, m := range fs.Sent() {
		got = append(got, m.Text)
	}
	if want := []string{"Text 999 in an emergency.", defaultStartReply}; !slices.Equal(got, want) {
		t.Errorf("replies %q, want %q (none for STOP)", got, want)
	}
}
