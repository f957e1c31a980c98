package proxy

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/voiceproxy/voiceproxy/sms"
)

const replaySecret = "sms-secret"

// signedSMS signs a copy of v as Vonage does, at t with nonce.
func signedSMS(v url.Values, t time.Time, nonce string) url.Values {
	c := url.Values{}
	for k, vs := range v {
		c[k] = append([]string(nil), vs...)
	}
	c.Set("timestamp", strconv.FormatInt(t.Unix(), 10))
	c.Set("nonce", nonce)
	sms.SignParams(c, replaySecret, sms.SHA256)
	return c
}

func signedSMSService(t *testing.T, edit func(*Config)) (*Service, *clock, *fakeSMS) {
	t.Helper()
	sender := &fakeSMS{}
	s, clk := newTestService(t, gbPool(gbP1), func(c *Config) {
		c.SMS.Sender, c.Webhooks.SMSSignatureSecret, c.Webhooks.SMSSignatureMethod = sender, replaySecret, sms.SHA256
		if edit != nil {
			edit(c)
		}
	})
	return s, clk, sender
}

// A signed STOP sent again after the sender's START, within the
// signature's tolerance (a replayed copy, or Vonage's redelivery, signed
// afresh or not), changes nothing: the START holds, and neither gets a
// second reply.
func TestInboundSMSReplayedStop(t *testing.T) {
	t.Parallel()
	s, clk, sender := signedSMSService(t, nil)
	c := mustCreate(t, s, CreateRequest{A: gbA, B: gbB})
	a := c.Participants[SideA]
	post := func(v url.Values, what string) {
		t.Helper()
		if w := serve(s, smsPOSTForm(v)); w.Code != http.StatusOK {
			t.Fatalf("%s: status %d, want 200", what, w.Code)
		}
	}
	optedOut := func() bool {
		t.Helper()
		out, err := s.optedOut(t.Context(), a.Number, a.ProxyNumber, clk.Now())
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	stop := signedSMS(inboundParams(a.Number, a.ProxyNumber, "m-stop", "STOP"), clk.Now(), "n-1")
	post(stop, "STOP")
	if !optedOut() {
		t.Fatal("STOP did not opt out")
	}
	clk.Add(30 * time.Second)
	post(signedSMS(inboundParams(a.Number, a.ProxyNumber, "m-start", "START"), clk.Now(), "n-2"), "START")
	if optedOut() {
		t.Fatal("START did not opt back in")
	}
	clk.Add(30 * time.Second)
	post(stop, "the same signed STOP again")
	if optedOut() {
		t.Error("a replayed STOP opted the sender out again after their START")
	}
	upper := url.Values{}
	for k, vs := range stop {
		upper[k] = vs
	}
	upper.Set("sig", strings.ToUpper(stop.Get("sig")))
	post(upper, "the STOP with its signature upper-cased")
	post(signedSMS(inboundParams(a.Number, a.ProxyNumber, "m-stop", "STOP"), clk.Now(), "n-3"), "the STOP signed afresh")
	if optedOut() {
		t.Error("a STOP delivered again opted the sender out again after their START")
	}
	if n := len(sender.Sent()); n != 2 {
		t.Errorf("%d SMS sent, want the STOP's and the START's replies only", n)
	}
}

// An SMS to no conversation is answered once, however often it comes.
func TestInboundSMSReplayedUnknownRoute(t *testing.T) {
	t.Parallel()
	s, clk, sender := signedSMSService(t, func(c *Config) { c.SMS.AutoReply = "not in service" })
	v := signedSMS(inboundParams(gbC, gbP1, "m-x", "hello"), clk.Now(), "n-1")
	for i := range 3 {
		if w := serve(s, smsPOSTForm(v)); w.Code != http.StatusOK {
			t.Fatalf("delivery %d: status %d", i, w.Code)
		}
	}
	if sent := sender.Sent(); len(sent) != 1 || sent[0].Text != "not in service" {
		t.Errorf("sent %+v, want one auto-reply", sent)
	}
}

// failEventsOnce fails the first AddInteractionEvent.
type failEventsOnce struct {
	Store
	failed atomic.Bool
}

func (f *failEventsOnce) AddInteractionEvent(ctx context.Context, id string, ev InteractionEvent) error {
	if f.failed.CompareAndSwap(false, true) {
		return errors.New("database down")
	}
	return f.Store.AddInteractionEvent(ctx, id, ev)
}

// A delivery receipt is recorded once per message and status, with no
// claim of its own (the Store keeps one event per Leg and Status): a
// receipt replayed after a later one does not come back as the latest,
// and one answered 503 is recorded when Vonage sends it again, as it
// was.
func TestDeliveryReceiptReplay(t *testing.T) {
	t.Parallel()
	st := &failEventsOnce{Store: NewMemoryStore()}
	s, clk, _ := signedSMSService(t, func(c *Config) { c.Store = st })
	c := mustCreate(t, s, CreateRequest{A: gbA, B: gbB})
	if err := s.store.AddInteraction(t.Context(), Interaction{ID: "sms-1", ConversationID: c.ID, Kind: KindSMS, ExternalID: "M1", CreatedAt: testNow}); err != nil {
		t.Fatal(err)
	}
	receipt := func(status, nonce string) url.Values {
		v := receiptParams("sms-1")
		v.Set("status", status)
		return signedSMS(v, clk.Now(), nonce)
	}
	accepted := receipt(sms.DeliveryAccepted, "n-1")
	if w := serve(s, receiptGET(accepted)); w.Code != http.StatusServiceUnavailable {
		t.Fatalf("receipt with the store failing: %d, want 503", w.Code)
	}
	for i, want := range []int{http.StatusOK, http.StatusOK} {
		if w := serve(s, receiptGET(accepted)); w.Code != want {
			t.Fatalf("accepted, delivery %d: %d, want %d", i+2, w.Code, want)
		}
	}
	clk.Add(time.Minute)
	if w := serve(s, receiptGET(receipt(sms.DeliveryDelivered, "n-2"))); w.Code != http.StatusOK {
		t.Fatalf("delivered: %d", w.Code)
	}
	clk.Add(time.Minute)
	if w := serve(s, receiptGET(accepted)); w.Code != http.StatusOK {
		t.Fatalf("accepted replayed: %d", w.Code)
	}
	ins, err := s.Interactions(t.Context(), c.ID)
	if err != nil || len(ins) != 1 {
		t.Fatalf("interactions %+v, %v", ins, err)
	}
	var got []EventStatus
	for _, ev := range ins[0].Events {
		got = append(got, ev.Status)
	}
	if want := []EventStatus{"accepted", EventDelivered}; len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("events %v, want %v", got, want)
	}
}
