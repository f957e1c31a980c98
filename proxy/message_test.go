package proxy

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/voiceproxy/voiceproxy/sms"
)

// SendMessage texts a participant from their own proxy number and
// records it; a failed send is retried from the store; bad requests and
// ended conversations are refused.
func TestSendMessage(t *testing.T) {
	t.Parallel()
	fs := &fakeSMS{fail: map[string]error{}}
	s, clk := newTestService(t, gbPool(gbP1, gbP2), func(c *Config) { c.SMS.Sender = fs; c.SMS.StoreBodies = true })
	ctx := t.Context()
	c := mustCreate(t, s, CreateRequest{A: "+" + gbA, B: "+" + gbB})
	in, err := s.SendMessage(ctx, c.ID, SideB, "Your driver is arriving.")
	if err != nil {
		t.Fatal(err)
	}
	b := c.Participants[SideB]
	sent := fs.Sent()
	if len(sent) != 1 || sent[0].From != b.ProxyNumber || sent[0].To != b.Number || sent[0].Text != "Your driver is arriving." || sent[0].ClientRef != in.ID {
		t.Errorf("sent %+v: want one SMS to B from B's proxy number, client-ref the interaction", sent)
	}
	if in.Kind != KindMessage || in.From != b.ProxyNumber || in.To != b.Number || in.Text != "Your driver is arriving." ||
		len(in.Events) != 1 || in.Events[0].Status != EventRelayed {
		t.Errorf("interaction %+v", in)
	}
	// A failed first try is retried from the store by RelayNow.
	a := c.Participants[SideA]
	fs.mu.Lock()
	fs.fail[a.Number] = &sms.HTTPError{StatusCode: 503}
	fs.mu.Unlock()
	in2, err := s.SendMessage(ctx, c.ID, SideA, "The job is done.")
	if err != nil {
		t.Fatal(err)
	}
	if len(fs.Sent()) != 1 || len(in2.Events) != 0 {
		t.Errorf("after a failed try: %d sent, events %+v", len(fs.Sent()), in2.Events)
	}
	fs.mu.Lock()
	delete(fs.fail, a.Number)
	fs.mu.Unlock()
	clk.Add(relayBackoffMin + time.Second)
	if n, err := s.RelayNow(ctx); err != nil || n != 1 {
		t.Fatalf("RelayNow = %d, %v; want the retry", n, err)
	}
	if sent := fs.Sent(); len(sent) != 2 || sent[1].To != a.Number || sent[1].From != a.ProxyNumber {
		t.Errorf("after the retry: %+v", sent)
	}
	for name, tc := range map[string]struct {
		side Side
		text string
	}{"bad side": {2, "x"}, "empty": {SideA, ""}, "too long": {SideA, strings.Repeat("x", MaxMessageLength+1)}, "not UTF-8": {SideA, "\xff"}} {
		if _, err := s.SendMessage(ctx, c.ID, tc.side, tc.text); !errors.Is(err, ErrInvalidRequest) {
			t.Errorf("%s: %v, want ErrInvalidRequest", name, err)
		}
	}
	if _, err := s.SendMessage(ctx, "nope", SideA, "x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown conversation: %v", err)
	}
	voice := mustCreate(t, s, CreateRequest{A: "+" + gbC, B: "+" + gbD, Mode: ModeVoice})
	if _, err := s.SendMessage(ctx, voice.ID, SideA, "x"); !errors.Is(err, ErrInvalidRequest) {
		t.Errorf("voice-only conversation: %v", err)
	}
	// Closing with a goodbye texts both; after that, messages are refused.
	if _, err := s.CloseConversation(ctx, c.ID, WithGoodbye("This conversation has ended.")); err != nil {
		t.Fatal(err)
	}
	var goodbyes int
	for _, m := range fs.Sent() {
		if m.Text == "This conversation has ended." {
			goodbyes++
		}
	}
	if goodbyes != 2 {
		t.Errorf("%d goodbyes sent, want 2", goodbyes)
	}
	if _, err := s.SendMessage(ctx, c.ID, SideA, "x"); !errors.Is(err, ErrConversationEnded) {
		t.Errorf("message in a closed conversation: %v", err)
	}
	noSMS, _ := newTestService(t, gbPool(gbP1), nil)
	c2 := mustCreate(t, noSMS, CreateRequest{A: "+" + gbA, B: "+" + gbB})
	if _, err := noSMS.SendMessage(ctx, c2.ID, SideA, "x"); !errors.Is(err, ErrNoSMSSender) {
		t.Errorf("without Config.SMS.Sender: %v", err)
	}
}
