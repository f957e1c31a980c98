package proxy_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/voiceproxy/voiceproxy/proxy"
	"github.com/voiceproxy/voiceproxy/proxy/proxytest"
)

// flakyStore fails its next routes and event writes, as many as asked.
type flakyStore struct {
	proxy.Store
	routes, events atomic.Int32
}

var errFlaky = errors.New("store briefly down")

func (f *flakyStore) Route(ctx context.Context, p, n string, now time.Time) (proxy.Conversation, error) {
	if f.routes.Add(-1) >= 0 {
		return proxy.Conversation{}, errFlaky
	}
	return f.Store.Route(ctx, p, n, now)
}

func (f *flakyStore) AddInteractionEvent(ctx context.Context, id string, ev proxy.InteractionEvent) error {
	if f.events.Add(-1) >= 0 {
		return errFlaky
	}
	return f.Store.AddInteractionEvent(ctx, id, ev)
}

// A Messages webhook the store could not take (503) and that Vonage
// retries with the same token is taken on the retry, not refused as a
// replay: the inbound message is relayed once and its status recorded.
// An unsigned callback (Vonage's internal error) is answered 503, taken
// from nothing, and its signed retry is relayed.
func TestE2EMessagesRetriedWithSameToken(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name     string
		sameTok  bool
		unsigned bool
		routes   int32
	}{
		{"store down, retry with the same token", true, false, 1},
		{"store down, retry signed afresh", false, false, 1},
		{"unsigned, then signed", false, true, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			flaky := &flakyStore{}
			e := newE2EOn(t, proxytest.SMSAPIMessages, e2eSecret, func(c *proxy.Config) {
				flaky.Store, c.Store = c.Store, flaky
			})
			c := e.create(t, proxy.CreateRequest{})
			e.sim.MessagesRetrySameToken, e.sim.MessagesUnsignedFirst = tt.sameTok, tt.unsigned
			flaky.routes.Store(tt.routes)
			flaky.events.Store(1) // the first status write fails too
			out, err := e.sim.SendSMS(t.Context(), e2eRider, c.Participants[proxy.SideA].ProxyNumber, "running late")
			if err != nil {
				t.Fatalf("SendSMS: %v (deliveries %d, statuses %v)", err, out.Deliveries, out.HTTPStatus)
			}
			if out.Deliveries != 2 || len(out.Relayed) != 1 || out.Relayed[0].To != e2eDriver {
				t.Fatalf("%d deliveries, relayed %+v; want 2, relayed once to the driver", out.Deliveries, out.Relayed)
			}
			if n := e.vonage.ReceiptFailures(); n != 0 {
				t.Errorf("%d status webhooks never taken", n)
			}
			if sum := smsSummary(t, e, c.ID); sum.Status != proxy.EventDelivered {
				t.Errorf("summary %+v, want delivered (the status retried after a 503)", sum)
			}
		})
	}
}

// An unsigned Messages callback is answered 503 with Retry-After and
// nothing of it is taken; a badly signed one stays a final 401.
func TestMessagesUnsignedCallbackRetried(t *testing.T) {
	t.Parallel()
	e := newE2EOn(t, proxytest.SMSAPIMessages, e2eSecret, nil)
	c := e.create(t, proxy.CreateRequest{})
	body := `{"channel":"sms","message_type":"text","message_uuid":"11111111-2222-4333-8444-555555555555","to":"` +
		c.Participants[proxy.SideA].ProxyNumber + `","from":"` + e2eRider + `","text":"hello","sms":{"num_messages":"1"}}`
	for _, tt := range []struct {
		name, auth string
		want       int
	}{{"unsigned", "", http.StatusServiceUnavailable}, {"badly signed", "Bearer forged", http.StatusUnauthorized}} {
		r := httptest.NewRequest(http.MethodPost, "/inbound-message", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		if tt.auth != "" {
			r.Header.Set("Authorization", tt.auth)
		}
		w := httptest.NewRecorder()
		e.svc.ServeHTTP(w, r)
		if w.Code != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, w.Code, tt.want)
		}
		if ra := w.Header().Get("Retry-After"); (tt.want == http.StatusServiceUnavailable) != (ra != "") {
			t.Errorf("%s: Retry-After %q", tt.name, ra)
		}
	}
	if n := len(e.vonage.Outbox()); n != 0 {
		t.Errorf("a callback not signed right was relayed: %+v", e.vonage.Outbox())
	}
	if ins, _ := e.svc.Interactions(t.Context(), c.ID); len(ins) != 0 {
		t.Errorf("a callback not signed right was recorded: %+v", ins)
	}
}
