package sqlstore_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/voiceproxy/voiceproxy/proxy"
	"github.com/voiceproxy/voiceproxy/proxy/proxytest"
)

// eventOutage fails the writes and lookups of call events while down is
// set, as a database that went away does: calls still connect, their
// events cannot be stored.
type eventOutage struct {
	proxy.Store
	down atomic.Bool
}

var errOutage = errors.New("connection refused")

func (o *eventOutage) AddInteractionEvent(ctx context.Context, id string, ev proxy.InteractionEvent) error {
	if o.down.Load() {
		return errOutage
	}
	return o.Store.AddInteractionEvent(ctx, id, ev)
}

func (o *eventOutage) InteractionByExternalID(ctx context.Context, k proxy.InteractionKind, ext string) (proxy.Interaction, error) {
	if o.down.Load() {
		return proxy.Interaction{}, errOutage
	}
	return o.Store.InteractionByExternalID(ctx, k, ext)
}

// settableClock is a Config.Now the test moves.
type settableClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *settableClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *settableClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// TestReconcileAfterRestart: the completed events of a call are lost
// with the spool of the instance that took them during an event outage
// (it stops; a new Service starts on the same store). Once the call is
// past its time limit, the new Service's sweep asks the Voice API and
// records both legs completed, with the call's duration, on every store.
func TestReconcileAfterRestart(t *testing.T) {
	t.Parallel()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	stores := []struct {
		name string
		open func(testing.TB) proxy.Store
	}{{"memory", func(testing.TB) proxy.Store { return proxy.NewMemoryStore() }}}
	for _, be := range backends {
		stores = append(stores, struct {
			name string
			open func(testing.TB) proxy.Store
		}{be.name, func(t testing.TB) proxy.Store { return be.open(t) }})
	}
	const secret = "reconcile-secret"
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			clock := &settableClock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
			v := proxytest.NewVonage(proxytest.WithClock(clock.Now), proxytest.WithApplication(proxytest.ApplicationID, &key.PublicKey))
			store := &eventOutage{Store: st.open(t)}
			newSvc := func() *proxy.Service {
				svc, err := proxy.New(proxy.Config{
					Store: store, ApplicationID: proxytest.ApplicationID, Now: clock.Now,
					Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
					Webhooks:    proxy.WebhookConfig{SignatureSecret: secret},
					CallControl: proxy.CallControlConfig{ApplicationKey: keyPEM, HTTPClient: v.Client()},
				})
				if err != nil {
					t.Fatal(err)
				}
				return svc
			}
			first := newSvc()
			if err := first.AddNumbers(ctx, proxy.PoolNumber{MSISDN: "447700900001", Country: "GB", Voice: true, SMS: true}); err != nil {
				t.Fatal(err)
			}
			c, err := first.CreateConversation(ctx, proxy.CreateRequest{A: "+447400123456", B: "+447400654321", TTL: 24 * time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			sim := &proxytest.Simulator{Handler: first, SignatureSecret: secret, Vonage: v, Now: clock.Now}
			v.Attach(sim)
			out, err := sim.PlaceCallWith(ctx, "447400123456", c.Participants[0].ProxyNumber, proxytest.CallOptions{Hold: true})
			if err != nil || out.Connected != "447400654321" {
				t.Fatalf("PlaceCall = %+v, %v; want it connected", out, err)
			}
			clock.Advance(90 * time.Second)
			store.down.Store(true)
			if err := v.EndCall(ctx, out.UUID); err != nil {
				t.Fatalf("EndCall: %v", err)
			}
			// The first instance stops with its spool: the completed
			// events are gone with it.
			store.down.Store(false)
			second := newSvc()
			sim.Handler = second
			summary := func() proxy.Summary {
				t.Helper()
				ins, err := second.Interactions(ctx, c.ID)
				if err != nil || len(ins) != 1 {
					t.Fatalf("interactions = %+v, %v; want the call", ins, err)
				}
				return proxy.Summarize(ins[0])
			}
			if s := summary(); s.Status != proxy.EventAnswered {
				t.Fatalf("before the sweep the call is %+v, want still answered (its end lost)", s)
			}
			if n, err := second.ReconcileCalls(ctx); err != nil || n != 0 {
				t.Errorf("ReconcileCalls within the time limit = %d, %v; want nothing asked yet", n, err)
			}
			clock.Advance(2*time.Hour + 15*time.Minute)
			if n, err := second.ReconcileCalls(ctx); err != nil || n != 2 {
				t.Fatalf("ReconcileCalls = %d, %v; want both legs", n, err)
			}
			s := summary()
			if s.Status != proxy.EventCompleted || s.Duration != 90 || s.Price == "" || s.Detail != proxy.ReconciledDetail {
				t.Errorf("after the sweep the call is %+v; want completed, 90 s, priced, reconciled", s)
			}
			ins, _ := second.Interactions(ctx, c.ID)
			for _, ev := range ins[0].Events {
				if ev.Status == proxy.EventCompleted && (ev.EndTime.Sub(ev.StartTime) != 90*time.Second || ev.Network == "" || ev.Rate == "") {
					t.Errorf("reconciled %+v; want the detail's start and end 90 s apart, network and rate", ev)
				}
			}
			clock.Advance(10 * time.Minute)
			if n, err := second.ReconcileCalls(ctx); err != nil || n != 0 {
				t.Errorf("a second sweep = %d, %v; want nothing left", n, err)
			}
		})
	}
}
