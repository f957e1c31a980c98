package proxy_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/voiceproxy/voiceproxy/proxy"
	"github.com/voiceproxy/voiceproxy/proxy/proxytest"
)

// pinFlakyStore fails its next RoutePIN calls, as many as asked.
type pinFlakyStore struct {
	proxy.Store
	fails *atomic.Int32
}

func (s pinFlakyStore) RoutePIN(ctx context.Context, n, pin string, now time.Time) (proxy.Conversation, error) {
	if s.fails.Add(-1) >= 0 {
		return proxy.Conversation{}, errors.New("database briefly down")
	}
	return s.Store.RoutePIN(ctx, n, pin, now)
}

// A PIN call whose input webhook answers 503 (the store down for that
// request) is not left in silence: Vonage tries the input's eventUrl
// again, then the fallback URL, which answers the input event with the
// connect, as /input would.
func TestE2EPINInputThroughFallback(t *testing.T) {
	t.Parallel()
	const a, b = "447400123456", "447400654321"
	for _, tt := range []struct {
		name     string
		fails    int32
		tries    int
		fallback bool
	}{
		{"one failure: the retry connects", 1, 2, false},
		{"two failures: the fallback URL connects", 2, 3, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fails := &atomic.Int32{}
			e := pinEnv(t, func(c *proxy.Config) { c.Store = pinFlakyStore{c.Store, fails} })
			c := e.create(t, proxy.CreateRequest{A: "+" + a, B: "+" + b, Access: proxy.AccessPIN})
			shared := c.Participants[proxy.SideA].ProxyNumber
			fails.Store(tt.fails)
			out, err := e.sim.PlaceCallWith(t.Context(), a, shared, proxytest.CallOptions{Digits: []string{c.PIN + "#"}})
			if err != nil || out.Connected != b || out.CallerID != shared {
				t.Fatalf("PIN call with /input failing %d times: %+v, %v; want it connected to B", tt.fails, out, err)
			}
			if len(out.Inputs) != 1 || out.Inputs[0].Tries != tt.tries || out.Inputs[0].Fallback != tt.fallback {
				t.Errorf("inputs %+v: want %d tries, fallback %v", out.Inputs, tt.tries, tt.fallback)
			}
			ins, err := e.svc.Interactions(t.Context(), c.ID)
			if err != nil || len(ins) != 1 || !hasStatus(ins[0], proxy.EventPINAccepted) {
				t.Errorf("interactions %+v, %v: want the call with its PIN accepted", ins, err)
			}
		})
	}
}

// hasStatus reports whether in has an event of status st.
func hasStatus(in proxy.Interaction, st proxy.EventStatus) bool {
	for _, ev := range in.Events {
		if ev.Status == st {
			return true
		}
	}
	return false
}
