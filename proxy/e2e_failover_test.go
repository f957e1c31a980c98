package proxy_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/voiceproxy/voiceproxy/proxy"
)

// outageStore fails every store call while down is set, as a database
// that went away does, and counts the route lookups it refused.
type outageStore struct {
	proxy.Store
	down    atomic.Int32 // route lookups still to fail
	refused atomic.Int32
}

func (o *outageStore) Route(ctx context.Context, p, n string, now time.Time) (proxy.Conversation, error) {
	if o.down.Add(-1) >= 0 {
		o.refused.Add(1)
		return proxy.Conversation{}, errors.New("connection refused")
	}
	return o.Store.Route(ctx, p, n, now)
}

// A store outage while a call is set up ends in a connect, through
// Vonage's retry of the answer URL or its fallback URL; an outage longer
// than both ends in the spoken message from the fallback URL, never in a
// dropped call.
func TestE2EStoreOutageDuringCallSetup(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		failures      int32
		wantConnected bool
		wantFallback  bool
		wantAttempts  int
	}{
		{"one failure: the retry connects", 1, true, false, 2},
		{"two failures: the fallback connects", 2, true, true, 3},
		{"an outage past the fallback: spoken, not dropped", 3, false, true, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var store *outageStore
			e := newE2E(t, e2eSecret, func(c *proxy.Config) {
				store = &outageStore{Store: c.Store}
				c.Store = store
			})
			c := e.create(t, proxy.CreateRequest{TTL: time.Hour})
			store.down.Store(tt.failures)
			out, err := e.sim.PlaceCall(t.Context(), e2eRider, c.Participants[0].ProxyNumber)
			if err != nil {
				t.Fatalf("PlaceCall: %v (outcome %+v): the call was lost", err, out)
			}
			if got := out.Connected == e2eDriver; got != tt.wantConnected {
				t.Errorf("connected %q, want connected to the driver: %v", out.Connected, tt.wantConnected)
			}
			if !tt.wantConnected && (len(out.Talk) != 1 || out.Talk[0] != notInService) {
				t.Errorf("talk %v, want the spoken message", out.Talk)
			}
			if out.Fallback != tt.wantFallback || len(out.Attempts) != tt.wantAttempts {
				t.Errorf("attempts %+v (fallback %v), want %d attempts, fallback %v", out.Attempts, out.Fallback, tt.wantAttempts, tt.wantFallback)
			}
			if tt.wantConnected {
				ins, err := e.svc.Interactions(t.Context(), c.ID)
				if err != nil || len(ins) != 1 || proxy.Summarize(ins[0]).Status != proxy.EventCompleted {
					t.Errorf("interactions %+v, %v: want the call recorded as completed", ins, err)
				}
			}
		})
	}
}
