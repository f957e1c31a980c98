package proxy_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/voiceproxy/voiceproxy/proxy"
	"github.com/voiceproxy/voiceproxy/proxy/proxytest"
)

// The SMS relay on an account set to the Messages API: inbound SMS come
// to /inbound-message, relays and notifications go out through the
// Messages API, statuses come to /message-status. Both directions,
// multipart, unicode, dedupe by message_uuid, delivery statuses, signed
// and tampered webhooks, a store outage and send failures, through the
// simulator.

func TestE2EMessagesRelay(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("The gate code is 4521, third floor. ", 6) // two SMS parts, one Messages API webhook
	for _, tt := range []struct {
		name, text string
		fromB      bool
	}{
		{"rider to driver", "I'm at the corner", false},
		{"driver to rider", "Two minutes away", true},
		{"multipart", long, false},
		{"unicode", "Merci, à tout de suite 🚗", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newE2EOn(t, proxytest.SMSAPIMessages, e2eSecret, nil)
			c := e.create(t, proxy.CreateRequest{A: "+" + e2eRider, B: "+" + e2eUSDriver})
			a, b := c.Participants[0], c.Participants[1]
			from, to, wantTo, wantFrom := e2eRider, a.ProxyNumber, e2eUSDriver, b.ProxyNumber
			if tt.fromB {
				from, to, wantTo, wantFrom = e2eUSDriver, b.ProxyNumber, e2eRider, a.ProxyNumber
			}
			out := e.text(t, from, to, tt.text)
			if len(out.Relayed) != 1 || out.Deliveries != 1 {
				t.Fatalf("relayed %+v in %d deliveries, want one SMS, one webhook", out.Relayed, out.Deliveries)
			}
			got := out.Relayed[0]
			if got.From != wantFrom || got.To != wantTo || got.Text != tt.text || len(got.MessageIDs) != 1 {
				t.Errorf("relayed %+v, want %q from %s to %s through the Messages API", got, tt.text, wantFrom, wantTo)
			}
			ins, err := e.svc.Interactions(t.Context(), c.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(ins) != 1 || ins[0].ExternalID != out.MessageIDs[0] || ins[0].From != from {
				t.Fatalf("interactions %+v, want the SMS keyed by its message_uuid", ins)
			}
			if sum := proxy.Summarize(ins[0]); sum.Status != proxy.EventDelivered {
				t.Errorf("summary %+v, want delivered (the status webhook)", sum)
			}
		})
	}
}

// Statuses other than delivered land on the interaction; a webhook the
// store cannot take is answered 503 and redelivered by the Messages API.
func TestE2EMessagesStatusesAndOutage(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		receipt proxytest.Receipt
		want    proxy.EventStatus
	}{
		{"rejected", proxytest.Receipt{Status: "rejected"}, proxy.EventRejected},
		{"undeliverable", proxytest.Receipt{Status: "failed"}, proxy.EventUndelivered},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newE2EOn(t, proxytest.SMSAPIMessages, e2eSecret, nil)
			e.vonage.FailDelivery(tt.receipt)
			c := e.create(t, proxy.CreateRequest{})
			e.text(t, e2eRider, c.Participants[0].ProxyNumber, "see you soon")
			sum := smsSummary(t, e, c.ID)
			if sum.Status != tt.want || sum.Detail == "" {
				t.Errorf("summary %+v, want %s with the error", sum, tt.want)
			}
			if n := e.vonage.ReceiptFailures(); n != 0 {
				t.Errorf("%d statuses refused", n)
			}
		})
	}
	t.Run("store outage", func(t *testing.T) {
		t.Parallel()
		store := &relayOutageStore{Store: proxy.NewMemoryStore()}
		e := newE2EOn(t, proxytest.SMSAPIMessages, e2eSecret, func(c *proxy.Config) { c.Store = store })
		c := e.create(t, proxy.CreateRequest{})
		store.down.Store(1)
		out := e.text(t, e2eRider, c.Participants[0].ProxyNumber, "after the outage")
		if out.Deliveries != 2 || len(out.Relayed) != 1 {
			t.Errorf("%d deliveries, relayed %+v; want a 503, one redelivery, one relay", out.Deliveries, out.Relayed)
		}
	})
}

// Send failures through the Messages API: a 5xx is retried from the
// store; a low balance (402) is final.
func TestE2EMessagesSendFailures(t *testing.T) {
	t.Parallel()
	e := newE2EOn(t, proxytest.SMSAPIMessages, e2eSecret, nil)
	c := e.create(t, proxy.CreateRequest{})
	e.vonage.FailNext(proxytest.APIMessages, http.StatusServiceUnavailable)
	e.text(t, e2eRider, c.Participants[0].ProxyNumber, "first try fails")
	e.clock.Advance(time.Minute)
	if _, err := e.svc.RelayNow(t.Context()); err != nil {
		t.Fatal(err)
	}
	if sent := e.vonage.Outbox(); len(sent) != 1 || sent[0].Text != "first try fails" {
		t.Fatalf("after the retry: %+v", sent)
	}
	e2 := newE2EOn(t, proxytest.SMSAPIMessages, e2eSecret, nil)
	c2 := e2.create(t, proxy.CreateRequest{})
	e2.vonage.Fail(proxytest.APIMessages, proxytest.Failure{HTTPStatus: http.StatusPaymentRequired, Text: "Low balance"})
	e2.text(t, e2eRider, c2.Participants[0].ProxyNumber, "no credit")
	if sum := smsSummary(t, e2, c2.ID); sum.Status != proxy.EventFailed || !strings.Contains(sum.Detail, "Low balance") {
		t.Errorf("summary %+v, want failed: low balance", sum)
	}
	// Notifications go through the Messages API too.
	n := e2.create(t, proxy.CreateRequest{A: "+" + e2eStranger, B: "+" + e2eUSDriver, Notify: true})
	var notified int
	for _, m := range e2.vonage.Outbox() {
		if m.From == n.Participants[0].ProxyNumber || m.From == n.Participants[1].ProxyNumber {
			notified++
		}
	}
	if notified != 2 {
		t.Errorf("%d notifications through the Messages API, want 2", notified)
	}
}

// Badly signed or tampered Messages API webhooks are refused 401;
// a redelivery of the same message_uuid is relayed once.
func TestE2EMessagesSignedAndDeduped(t *testing.T) {
	t.Parallel()
	e := newE2EOn(t, proxytest.SMSAPIMessages, e2eSecret, nil)
	c := e.create(t, proxy.CreateRequest{})
	to := c.Participants[0].ProxyNumber
	for name, modify := range map[string]func(*http.Request){
		"badly signed": func(r *http.Request) { r.Header.Set("Authorization", "Bearer not.a.token") },
		"tampered": func(r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			body := bytes.Replace(b, []byte("Pay me"), []byte("Pay me cash"), 1)
			r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
		},
	} {
		e.sim.Modify = modify
		_, err := e.sim.SendSMS(t.Context(), e2eRider, to, "Pay me later")
		var we *proxytest.WebhookError
		if !errors.As(err, &we) || we.Status != http.StatusUnauthorized {
			t.Errorf("%s: %v, want a 401", name, err)
		}
	}
	e.sim.Modify = nil
	if n := len(e.vonage.Outbox()); n != 0 {
		t.Fatalf("refused webhooks relayed: %+v", e.vonage.Outbox())
	}
	// The same message delivered twice (Vonage's at-least-once), each
	// delivery signed anew: relayed once.
	body := []byte(`{"channel":"sms","message_type":"text","message_uuid":"11111111-2222-4333-8444-555555555555","to":"` + to +
		`","from":"` + e2eRider + `","timestamp":"2026-03-02T09:00:00Z","text":"only once","sms":{"num_messages":"1"}}`)
	for i := range 2 {
		r := httptest.NewRequest(http.MethodPost, "/inbound-message", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		if err := (proxy.WebhookSigner{Secret: e2eSecret, ApplicationID: proxytest.ApplicationID, Now: e.clock.Now}).Sign(r, body); err != nil {
			t.Fatal(err)
		}
		w := httptest.NewRecorder()
		e.svc.ServeHTTP(w, r.WithContext(context.Background()))
		if w.Code != http.StatusOK {
			t.Fatalf("delivery %d: %d %s", i, w.Code, w.Body)
		}
	}
	if sent := e.vonage.Outbox(); len(sent) != 1 || sent[0].Text != "only once" {
		t.Errorf("outbox %+v, want the message relayed once", sent)
	}
	// A Messages webhook of another channel is accepted and dropped.
	r := httptest.NewRequest(http.MethodPost, "/inbound-message", strings.NewReader(`{"channel":"whatsapp","message_uuid":"u","from":"1","to":"2"}`))
	if err := (proxy.WebhookSigner{Secret: e2eSecret, ApplicationID: proxytest.ApplicationID, Now: e.clock.Now}).Sign(r, []byte(`{"channel":"whatsapp","message_uuid":"u","from":"1","to":"2"}`)); err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	e.svc.ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		t.Errorf("another channel: %d, want 200 (dropped, not retried)", w.Code)
	}
}
