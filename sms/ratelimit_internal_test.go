package sms

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeClock is a clock that moves only when told, recording each sleep.
type fakeClock struct {
	mu     sync.Mutex
	t      time.Time
	sleeps []time.Duration
	fail   error // returned by sleep instead of sleeping, when set
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) sleep(_ context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps = append(c.sleeps, d)
	return c.fail
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newTestLimiter(perSecond float64) (*limiter, *fakeClock) {
	c := &fakeClock{t: time.Unix(1_600_000_000, 0)}
	l := newLimiter(perSecond)
	l.now, l.sleep = c.now, c.sleep
	return l, c
}

func TestLimiterPacesABurst(t *testing.T) {
	t.Parallel()
	l, c := newTestLimiter(10) // one token every 100 ms
	for range 5 {
		if err := l.wait(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	// The clock never moved: the first call passes, each later one waits
	// one interval more than the one before it.
	want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond, 400 * time.Millisecond}
	if diff := cmp.Diff(want, c.sleeps); diff != "" {
		t.Errorf("sleeps (-want +got):\n%s", diff)
	}
}

func TestLimiterRefills(t *testing.T) {
	t.Parallel()
	l, c := newTestLimiter(4) // one token every 250 ms
	for _, step := range []time.Duration{0, 250 * time.Millisecond, time.Second, 100 * time.Millisecond} {
		c.advance(step)
		if err := l.wait(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	// Only the last call, 100 ms after a token was taken, waits: for the
	// remaining 150 ms. An idle second does not bank tokens for a burst.
	if diff := cmp.Diff([]time.Duration{150 * time.Millisecond}, c.sleeps); diff != "" {
		t.Errorf("sleeps (-want +got):\n%s", diff)
	}
}

func TestLimiterContextDoneReturnsToken(t *testing.T) {
	t.Parallel()
	l, c := newTestLimiter(1)
	if err := l.wait(t.Context()); err != nil {
		t.Fatal(err)
	}
	c.fail = context.Canceled
	if err := l.wait(t.Context()); !errors.Is(err, context.Canceled) {
		t.Fatalf("wait = %v, want context.Canceled", err)
	}
	c.fail = nil
	if err := l.wait(t.Context()); err != nil {
		t.Fatal(err)
	}
	// The abandoned wait gave its token back, so the next caller waits one
	// interval, not two.
	if diff := cmp.Diff([]time.Duration{time.Second, time.Second}, c.sleeps); diff != "" {
		t.Errorf("sleeps (-want +got):\n%s", diff)
	}
}

func TestLimiterDoneContext(t *testing.T) {
	t.Parallel()
	l, c := newTestLimiter(1)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := l.wait(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("wait = %v, want context.Canceled", err)
	}
	if err := (*limiter)(nil).wait(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("nil limiter wait = %v, want context.Canceled", err)
	}
	if len(c.sleeps) != 0 {
		t.Errorf("slept %v for a done context", c.sleeps)
	}
}

func TestNewLimiterDisabled(t *testing.T) {
	t.Parallel()
	for _, r := range []float64{0, -1} {
		if l := newLimiter(r); l != nil {
			t.Errorf("newLimiter(%v) = %+v, want nil", r, l)
		}
	}
}

func TestIsGSM(t *testing.T) {
	t.Parallel()
	tests := []struct {
		text string
		want string
	}{
		{"", "text"},
		{"Hello World 123", "text"},
		{"@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ!\"#¤%&'()*+,-./:;<=>?¡ÄÖÑÜ§¿äöñüà\r\n", "text"},
		{"extension: ^{}\\[~]|€ and form feed \f", "text"},
		{"backtick `", "unicode"},
		{"ç lower-case cedilla", "unicode"}, // only upper-case Ç is in the alphabet
		{"á", "unicode"},
		{"tab\t", "unicode"},
		{"emoji 😀", "unicode"},
		{"中文", "unicode"},
		{"ESC \x1b alone", "unicode"},
		{"Ünïcode", "unicode"}, // ï is not GSM
		{"Ü", "text"},
		{"invalid utf-8 \xff", "unicode"},
	}
	for _, tc := range tests {
		if got := messageType(tc.text); got != tc.want {
			t.Errorf("messageType(%q) = %q, want %q", tc.text, got, tc.want)
		}
	}
}
