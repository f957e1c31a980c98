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

// eventOutageStore fails the writes and lookups of call events while down
// is set: calls still connect, their events cannot be stored.
type eventOutageStore struct {
	proxy.Store
	down atomic.Bool
}

var errDown = errors.New("connection refused")

func (o *eventOutageStore) AddInteractionEvent(ctx context.Context, id string, ev proxy.InteractionEvent) error {
	if o.down.Load() {
		return errDown
	}
	return o.Store.AddInteractionEvent(ctx, id, ev)
}

func (o *eventOutageStore) InteractionByExternalID(ctx context.Context, k proxy.InteractionKind, ext string) (proxy.Interaction, error) {
	if o.down.Load() {
		return proxy.Interaction{}, errDown
	}
	return o.Store.InteractionByExternalID(ctx, k, ext)
}

// Events that neither the event URL nor the fallback URL (Vonage's last
// delivery) can store are kept and written once the store is back: the
// call's interaction ends up with both legs' events, completed included.
func TestE2EEventsSurviveStoreOutage(t *testing.T) {
	t.Parallel()
	var store *eventOutageStore
	e := newE2E(t, e2eSecret, func(c *proxy.Config) {
		store = &eventOutageStore{Store: c.Store}
		c.Store = store
	})
	c := e.create(t, proxy.CreateRequest{TTL: time.Hour})
	store.down.Store(true)
	out, err := e.sim.PlaceCall(t.Context(), e2eRider, c.Participants[0].ProxyNumber)
	if err != nil || out.Connected != e2eDriver {
		t.Fatalf("PlaceCall during the event outage = %+v, %v; want it connected", out, err)
	}
	fellBack := 0
	for _, ev := range out.Events {
		if ev.Fallback {
			fellBack++
			if ev.HTTPStatus != 204 {
				t.Errorf("fallback answered %d for %v, want 204", ev.HTTPStatus, ev.Params["status"])
			}
		}
	}
	if fellBack == 0 {
		t.Fatalf("no event went to the fallback URL: %+v", out.Events)
	}
	if n, err := e.svc.FlushEvents(t.Context()); err == nil || n != 0 {
		t.Errorf("FlushEvents with the store down = %d, %v; want 0 and the store's error", n, err)
	}
	store.down.Store(false)
	// Each event is kept twice, by the event URL that answered 503 and by
	// the fallback URL; the store keeps one of each (leg, status).
	n, err := e.svc.FlushEvents(t.Context())
	if err != nil || n != 2*fellBack {
		t.Fatalf("FlushEvents = %d, %v; want the %d spooled events twice", n, err, fellBack)
	}
	ins, err := e.svc.Interactions(t.Context(), c.ID)
	if err != nil || len(ins) != 1 {
		t.Fatalf("interactions = %+v, %v; want the call", ins, err)
	}
	if s := proxy.Summarize(ins[0]); s.Status != proxy.EventCompleted || s.Duration == 0 {
		t.Errorf("the call during the outage is %+v, want completed with its duration: %+v", s, ins[0].Events)
	}
	legs := map[string]bool{}
	seen := map[string]bool{}
	for _, ev := range ins[0].Events {
		legs[ev.Leg] = true
		if k := ev.Leg + ":" + string(ev.Status); seen[k] {
			t.Errorf("event %s recorded twice", k)
		} else {
			seen[k] = true
		}
	}
	if !legs[out.UUID] || !legs[out.CalleeUUID] {
		t.Errorf("events %+v, want both legs'", ins[0].Events)
	}
	if n, _ := e.svc.FlushEvents(t.Context()); n != 0 {
		t.Errorf("a second flush wrote %d events again", n)
	}
}

// Under the 2021 webhook reference a status event that fails is tried
// twice at the event URL and never sent to the fallback URL: the event
// URL keeps what it could not store, so nothing is lost under that
// reading either.
func TestE2EEventsSurviveStoreOutage2021(t *testing.T) {
	t.Parallel()
	var store *eventOutageStore
	e := newE2E(t, e2eSecret, func(c *proxy.Config) {
		store = &eventOutageStore{Store: c.Store}
		c.Store = store
	})
	e.sim.EventRetries2021 = true
	c := e.create(t, proxy.CreateRequest{TTL: time.Hour})
	store.down.Store(true)
	out, err := e.sim.PlaceCall(t.Context(), e2eRider, c.Participants[0].ProxyNumber)
	var we *proxytest.WebhookError
	if !errors.As(err, &we) || out.Connected != e2eDriver {
		t.Fatalf("PlaceCall = %+v, %v; want it connected and the events refused", out, err)
	}
	for _, ev := range out.Events {
		if ev.Fallback {
			t.Errorf("event %v went to the fallback URL under the 2021 rules", ev.Params["status"])
		}
	}
	store.down.Store(false)
	if _, err := e.svc.FlushEvents(t.Context()); err != nil {
		t.Fatal(err)
	}
	ins, err := e.svc.Interactions(t.Context(), c.ID)
	if err != nil || len(ins) != 1 {
		t.Fatalf("interactions = %+v, %v", ins, err)
	}
	// The simulator stops a call's events at the first that no URL took.
	refused := out.Events[len(out.Events)-1]
	found := false
	for _, ev := range ins[0].Events {
		found = found || (ev.Leg == refused.Params["uuid"] && string(ev.Status) == refused.Params["status"])
	}
	if !found {
		t.Errorf("the refused event %v is not on its call: %+v", refused.Params, ins[0].Events)
	}
}
