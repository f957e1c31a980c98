package proxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/voiceproxy/voiceproxy/sms"
)

// lockedBuffer is a goroutine-safe log sink.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestInfoLogsHaveNoParticipantNumbers(t *testing.T) {
	t.Parallel()
	var buf lockedBuffer
	s, _ := newTestService(t, gbPool(gbP1), func(c *Config) {
		c.Logger = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
		c.SMS.Sender = &fakeSMS{}
		c.SMS.AutoReply = "Not in use."
	})
	mustCreate(t, s, CreateRequest{A: gbA, B: gbB, Notify: true})
	serve(s, answerGET("/answer", gbA, gbP1, "u1"))
	serve(s, answerGET("/answer", gbA, gbP1, "u2"))
	serve(s, answerGET("/answer", gbC, gbP1, "u3"))
	serve(s, smsGET(inboundParams(gbB, gbP1, "m1", "hi")))
	serve(s, smsGET(inboundParams(gbC, gbP1, "m2", "hi")))
	out := buf.String()
	for _, n := range []string{gbA, gbB, gbC} {
		if strings.Contains(out, n) {
			t.Errorf("Info logs contain participant number %s:\n%s", n, out)
		}
	}
	if got := strings.Count(out, "a voice or Messages webhook was accepted unverified"); got != 1 {
		t.Errorf("unsigned-webhook warning logged %d times, want once", got)
	}
	if !strings.Contains(out, "call connected") {
		t.Errorf("no Info log of the connected call:\n%s", out)
	}
}

// Store errors may quote participant numbers (a database's duplicate-key
// detail, a store's own message): logged at Error, they are masked.
func TestStoreErrorsLoggedWithoutNumbers(t *testing.T) {
	t.Parallel()
	var buf lockedBuffer
	quoting := errors.New("leg " + gbA + " via " + gbP1 + " unreachable; other side " + gbB)
	s, _ := newTestService(t, gbPool(gbP1), func(c *Config) {
		c.Logger = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
		c.Store = failingStore{Store: c.Store, err: quoting}
	})
	serve(s, answerGET("/answer", gbA, gbP1, "u1"))
	serve(s, eventPOST(map[string]any{"from": gbA, "to": gbP1, "uuid": "x", "conversation_uuid": "CON-x", "status": "started"}))
	serve(s, smsGET(inboundParams(gbB, gbP1, "m1", "hi")))
	out := buf.String()
	if !strings.Contains(out, "unreachable") {
		t.Fatalf("the store errors were not logged:\n%s", out)
	}
	for _, n := range []string{gbA, gbB} {
		if strings.Contains(out, n) {
			t.Errorf("logs contain participant number %s:\n%s", n, out)
		}
	}
}

// A relay that fails with an error quoting the recipient, and an
// Intercept reason quoting a number, are logged with the numbers masked.
func TestRelayAndRefusalLogsWithoutNumbers(t *testing.T) {
	t.Parallel()
	var buf lockedBuffer
	quoting := &sms.ValidationError{Field: "To", Reason: gbB + " is barred"}
	s, _ := newTestService(t, gbPool(gbP1), func(c *Config) {
		c.Logger = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
		c.SMS.Sender = &fakeSMS{fail: map[string]error{gbB: quoting}}
		c.Hooks.Intercept = func(_ context.Context, in Inbound) error {
			if in.Kind == KindCall {
				return errors.New("caller " + gbA + " is on hold")
			}
			return nil
		}
	})
	mustCreate(t, s, CreateRequest{A: gbA, B: gbB})
	serve(s, smsGET(inboundParams(gbA, gbP1, "m1", "hi")))
	serve(s, answerGET("/answer", gbA, gbP1, "u1"))
	out := buf.String()
	if !strings.Contains(out, "is barred") || !strings.Contains(out, "on hold") {
		t.Fatalf("the relay failure and the refusal were not logged:\n%s", out)
	}
	for _, n := range []string{gbA, gbB} {
		if strings.Contains(out, n) {
			t.Errorf("logs contain participant number %s:\n%s", n, out)
		}
	}
}

// MaskingHandler masks the numbers inside errors a program logs itself,
// in attributes given at the call, with WithAttrs and inside groups, and
// leaves other attributes alone.
func TestMaskingHandler(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	h := MaskingHandler(slog.NewTextHandler(&buf, nil))
	if again := MaskingHandler(h); again != h {
		t.Errorf("MaskingHandler of a masking handler wraps it again: %#v", again)
	}
	err := fmt.Errorf("store: duplicate key (number)=(%s)", gbA)
	log := slog.New(h).With("first", err)
	log.Error("request failed", "err", err, slog.Group("g", "inner", err), "id", "c_1", "count", 3)
	out := buf.String()
	if strings.Contains(out, gbA) {
		t.Errorf("the log shows the number %s:\n%s", gbA, out)
	}
	for _, want := range []string{"first=", "err=", "g.inner=", "duplicate key", "id=c_1", "count=3"} {
		if !strings.Contains(out, want) {
			t.Errorf("the log lacks %q:\n%s", want, out)
		}
	}
}

// MaskNumber hides a number's middle and short values whole; MaskNumbers
// masks every number in free text, with or without its "+", and leaves
// digit runs that are not numbers alone.
func TestMaskNumber(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{gbA, "4471234***01"},
		{"1234567", "12***67"},
		{"123456", "***"},
		{"", "***"},
	} {
		if got := MaskNumber(tc.in); got != tc.want {
			t.Errorf("MaskNumber(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestMaskNumbers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"delivered", "delivered"},
		{"rejected: " + gbA + " is barred", "rejected: 4471234***01 is barred"},
		{"from +" + gbA + " to " + gbP1 + ".", "from +4471234***01 to 4477009***01."},
		{"code 123456, id abc" + gbA + ", run 1234567890123456", "code 123456, id abc" + gbA + ", run 1234567890123456"},
	} {
		if got := MaskNumbers(tc.in); got != tc.want {
			t.Errorf("MaskNumbers(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
