package proxy_test

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/voiceproxy/voiceproxy/proxy"
	"github.com/voiceproxy/voiceproxy/proxy/proxytest"
)

// waitOutbox polls the simulated Vonage until it has sent n SMS (or the
// test's patience runs out) and returns what it sent.
func waitOutbox(t *testing.T, v *proxytest.Vonage, n int) []proxytest.SentSMS {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		out := v.Outbox()
		if len(out) >= n || time.Now().After(deadline) {
			return out
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// smsSummary returns the summary of the conversation's only SMS.
func smsSummary(t *testing.T, e *e2eEnv, id string) proxy.Summary {
	t.Helper()
	ins, err := e.svc.Interactions(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	var sms []proxy.Interaction
	for _, in := range ins {
		if in.Kind == proxy.KindSMS {
			sms = append(sms, in)
		}
	}
	if len(sms) != 1 {
		t.Fatalf("SMS interactions %+v, want one", sms)
	}
	return proxy.Summarize(sms[0])
}

// A send API slower than Vonage waits for the inbound-SMS webhook loses
// nothing: the webhook answers once the message is stored, Vonage's
// redelivery is a duplicate, and the message is relayed once.
func TestE2ESlowSendAPILosesNoSMS(t *testing.T) {
	t.Parallel()
	e := newE2E(t, e2eSecret, nil)
	c := e.create(t, proxy.CreateRequest{})
	e.vonage.Slow(proxytest.APISMS, 300*time.Millisecond)
	e.sim.SMSTimeout = 100 * time.Millisecond
	out, err := e.sim.SendSMS(t.Context(), e2eRider, c.Participants[0].ProxyNumber, "running late")
	if err != nil || out.HTTPStatus[0] != http.StatusOK {
		t.Fatalf("SendSMS = %+v, %v; want it accepted", out, err)
	}
	sent := waitOutbox(t, e.vonage, 1)
	if len(sent) != 1 || sent[0].Text != "running late" || sent[0].To != e2eDriver {
		t.Fatalf("sent %+v, want the SMS relayed once to the driver", sent)
	}
	time.Sleep(400 * time.Millisecond) // a second relay would have landed by now
	if n := len(e.vonage.Outbox()); n != 1 {
		t.Errorf("%d SMS sent, want exactly one", n)
	}
}

// A send that fails for a while (5xx, throttling) is retried with backoff
// by RelayNow until it goes; one that cannot succeed is recorded failed at
// once.
func TestE2ERelayRetries(t *testing.T) {
	t.Parallel()
	t.Run("transient", func(t *testing.T) {
		t.Parallel()
		e := newE2E(t, e2eSecret, nil)
		c := e.create(t, proxy.CreateRequest{})
		e.vonage.FailNext(proxytest.APISMS, http.StatusServiceUnavailable)
		e.vonage.Throttle(1)
		e.text(t, e2eRider, c.Participants[0].ProxyNumber, "first try fails")
		if n := len(e.vonage.Outbox()); n != 0 {
			t.Fatalf("%d sent while the API failed", n)
		}
		if got := smsSummary(t, e, c.ID).Status; got == proxy.EventRelayed || got == proxy.EventFailed {
			t.Fatalf("status %q while retrying, want neither relayed nor failed", got)
		}
		for i := range 3 {
			e.clock.Advance(time.Minute)
			if _, err := e.svc.RelayNow(t.Context()); err != nil {
				t.Fatalf("RelayNow %d: %v", i, err)
			}
		}
		if sent := e.vonage.Outbox(); len(sent) != 1 {
			t.Fatalf("sent %+v after the API recovered, want the SMS once", sent)
		}
		if got := smsSummary(t, e, c.ID).Status; got != proxy.EventRelayed {
			t.Errorf("status %q, want relayed", got)
		}
	})
	t.Run("permanent", func(t *testing.T) {
		t.Parallel()
		e := newE2E(t, e2eSecret, nil)
		c := e.create(t, proxy.CreateRequest{})
		e.vonage.Fail(proxytest.APISMS, proxytest.Failure{Status: "7"}) // number barred
		e.text(t, e2eRider, c.Participants[0].ProxyNumber, "to a barred number")
		sum := smsSummary(t, e, c.ID)
		if sum.Status != proxy.EventFailed || sum.Detail == "" {
			t.Errorf("summary %+v, want failed with the reason", sum)
		}
		e.clock.Advance(time.Hour)
		if n, err := e.svc.RelayNow(t.Context()); err != nil || n != 0 {
			t.Errorf("RelayNow = %d, %v; want nothing left to retry", n, err)
		}
	})
	t.Run("gives up", func(t *testing.T) {
		t.Parallel()
		e := newE2E(t, e2eSecret, func(c *proxy.Config) { c.SMS.RelayAttempts = 2 })
		c := e.create(t, proxy.CreateRequest{})
		for range 3 {
			e.vonage.FailNext(proxytest.APISMS, http.StatusBadGateway)
		}
		e.text(t, e2eRider, c.Participants[0].ProxyNumber, "never goes")
		e.clock.Advance(time.Hour)
		if _, err := e.svc.RelayNow(t.Context()); err != nil {
			t.Fatal(err)
		}
		if sum := smsSummary(t, e, c.ID); sum.Status != proxy.EventFailed {
			t.Errorf("summary %+v after the last attempt, want failed", sum)
		}
	})
}

// Delivery receipts land on the relayed SMS's interaction.
func TestE2EDeliveryReceipts(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		receipt *proxytest.Receipt
		want    proxy.EventStatus
	}{
		{"delivered", nil, proxy.EventDelivered},
		{"failed", &proxytest.Receipt{Status: "failed", ErrCode: 1}, proxy.EventUndelivered},
		{"expired", &proxytest.Receipt{Status: "expired"}, proxy.EventExpired},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newE2E(t, e2eSecret, nil)
			e.vonage.ReceiptsTo(e.svc, "/delivery-receipt", e2eSecret, "")
			if tt.receipt != nil {
				e.vonage.FailDelivery(*tt.receipt)
			}
			c := e.create(t, proxy.CreateRequest{})
			e.text(t, e2eRider, c.Participants[0].ProxyNumber, "see you soon")
			if sum := smsSummary(t, e, c.ID); sum.Status != tt.want {
				t.Errorf("summary %+v, want %s", sum, tt.want)
			}
			if n := e.vonage.ReceiptFailures(); n != 0 {
				t.Errorf("%d receipts refused by the service", n)
			}
		})
	}
}

// A store that cannot take an inbound SMS answers 503; Vonage redelivers,
// and the message is relayed once the store is back.
func TestE2EStoreOutageDuringSMS(t *testing.T) {
	t.Parallel()
	var store *relayOutageStore
	e := newE2E(t, e2eSecret, func(c *proxy.Config) {
		store = &relayOutageStore{Store: c.Store}
		c.Store = store
	})
	c := e.create(t, proxy.CreateRequest{})
	store.down.Store(2)
	e.sim.SMSAttempts = 5
	out, err := e.sim.SendSMS(t.Context(), e2eDriver, c.Participants[1].ProxyNumber, "at the door")
	if err != nil || out.Deliveries != 3 {
		t.Fatalf("SendSMS = %+v, %v; want accepted on the third delivery", out, err)
	}
	if sent := e.vonage.Outbox(); len(sent) != 1 || sent[0].To != e2eRider {
		t.Errorf("sent %+v, want the SMS relayed once to the rider", sent)
	}
}

// relayOutageStore fails AddRelay while down counts down.
type relayOutageStore struct {
	proxy.Store
	down atomic.Int32
}

func (o *relayOutageStore) AddRelay(ctx context.Context, in proxy.Interaction, job proxy.RelayJob) error {
	if o.down.Add(-1) >= 0 {
		return errors.New("connection refused")
	}
	return o.Store.AddRelay(ctx, in, job)
}

// A callee who never answers: the call reads busy (or unanswered...), not
// completed, and was connected for no time; a completed call keeps what
// Vonage reports of each leg.
func TestE2ECallOutcomes(t *testing.T) {
	t.Parallel()
	for _, outcome := range []string{"busy", "unanswered", "rejected", "failed", "timeout", "cancelled"} {
		t.Run(outcome, func(t *testing.T) {
			t.Parallel()
			e := newE2E(t, e2eSecret, nil)
			e.sim.CalleeOutcome = outcome
			c := e.create(t, proxy.CreateRequest{})
			e.call(t, e2eRider, c.Participants[0].ProxyNumber)
			ins, err := e.svc.Interactions(t.Context(), c.ID)
			if err != nil || len(ins) != 1 {
				t.Fatalf("interactions %+v, %v", ins, err)
			}
			if sum := proxy.Summarize(ins[0]); sum.Status != proxy.EventStatus(outcome) || sum.Duration != 0 {
				t.Errorf("summary %+v, want %s and 0 s", sum, outcome)
			}
		})
	}
	t.Run("completed", func(t *testing.T) {
		t.Parallel()
		e := newE2E(t, e2eSecret, nil)
		c := e.create(t, proxy.CreateRequest{})
		e.call(t, e2eRider, c.Participants[0].ProxyNumber)
		ins, _ := e.svc.Interactions(t.Context(), c.ID)
		var legs int
		for _, ev := range ins[0].Events {
			if ev.Status != proxy.EventCompleted {
				continue
			}
			legs++
			if ev.Rate == "" || ev.Network == "" || ev.DisconnectedBy == "" || ev.StartTime.IsZero() || ev.EndTime.IsZero() || ev.Direction == "" {
				t.Errorf("completed event %+v lacks what Vonage reported", ev)
			}
		}
		if sum := proxy.Summarize(ins[0]); legs != 2 || sum.Status != proxy.EventCompleted || sum.Duration != 42 {
			t.Errorf("%d completed legs, summary %+v; want 2 and completed, 42 s", legs, sum)
		}
	})
}
