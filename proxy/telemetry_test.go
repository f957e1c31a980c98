package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel/metric"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/voiceproxy/voiceproxy/sms"
)

// sums collects the counters of rm as "name{k=v,…}" -> value.
func sums(rm metricdata.ResourceMetrics) map[string]int64 {
	out := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					out[m.Name+"{"+attrString(p.Attributes)+"}"] += p.Value
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					out[m.Name+"{"+attrString(p.Attributes)+"}"] += int64(p.Count)
				}
			}
		}
	}
	return out
}

func attrString(s attribute.Set) string {
	var parts []string
	for _, kv := range s.ToSlice() {
		parts = append(parts, string(kv.Key)+"="+kv.Value.AsString())
	}
	return strings.Join(parts, ",")
}

// The Service counts webhooks by route and outcome, conversations,
// allocations and store calls, records a span per webhook with the
// store call inside, and puts no phone number in any attribute.
func TestTelemetry(t *testing.T) {
	t.Parallel()
	reader := sdkmetric.NewManualReader()
	spans := tracetest.NewSpanRecorder()
	s, _ := newTestService(t, gbPool(gbP1), func(c *Config) {
		c.Telemetry.MeterProvider = sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
		c.Telemetry.TracerProvider = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	})
	c := mustCreate(t, s, CreateRequest{A: "+" + gbA, B: "+" + gbB})
	call := func(from, to string) {
		q := url.Values{"from": {from}, "to": {to}, "uuid": {"u"}, "conversation_uuid": {"CON-" + from}}
		serve(s, httptest.NewRequest(http.MethodGet, "/answer?"+q.Encode(), nil))
	}
	call(gbA, c.Participants[SideA].ProxyNumber)
	call(gbC, c.Participants[SideA].ProxyNumber)
	s.CloseConversation(t.Context(), c.ID)
	if _, err := s.CreateConversation(t.Context(), CreateRequest{A: "+" + gbA, B: "+" + gbB, Mode: "fax"}); err == nil {
		t.Fatal("bad mode accepted")
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	got := sums(rm)
	for _, want := range []string{
		"voiceproxy.webhooks{outcome=connected,route=/answer}",
		"voiceproxy.webhooks{outcome=unknown_route,route=/answer}",
		"voiceproxy.webhook.duration{outcome=connected,route=/answer}",
		"voiceproxy.conversations{event=created}",
		"voiceproxy.conversations{event=closed}",
		"voiceproxy.allocations{access=direct,result=allocated}",
		"voiceproxy.store.duration{op=Route,result=ok}",
		"voiceproxy.store.duration{op=Route,result=not_found}",
	} {
		if got[want] != 1 {
			t.Errorf("%s = %d, want 1 (all: %v)", want, got[want], got)
		}
	}
	// Every store call is timed, not only the webhooks'.
	for _, want := range []string{
		"voiceproxy.store.duration{op=Candidates,result=ok}",
		"voiceproxy.store.duration{op=CreateConversation,result=ok}",
		"voiceproxy.store.duration{op=EndConversation,result=ok}",
	} {
		if got[want] == 0 {
			t.Errorf("%s = 0, want the calls counted (all: %v)", want, got)
		}
	}
	for k := range got {
		for _, n := range []string{gbA, gbB, gbC, gbP1} {
			if strings.Contains(k, n) {
				t.Errorf("a phone number in the metric %s", k)
			}
		}
	}
	ended := spans.Ended()
	var webhook, store int
	webhooks := map[[8]byte]bool{}
	for _, sp := range ended {
		if sp.Name() == "voiceproxy.webhook /answer" {
			webhooks[sp.SpanContext().SpanID()] = true
		}
	}
	for _, sp := range ended {
		switch sp.Name() {
		case "voiceproxy.webhook /answer":
			webhook++
		case "voiceproxy.store Route":
			store++
			if !webhooks[sp.Parent().SpanID()] {
				t.Error("the store span is not inside a webhook's")
			}
		}
		for _, kv := range sp.Attributes() {
			for _, n := range []string{gbA, gbB, gbC, gbP1} {
				if strings.Contains(kv.Value.Emit(), n) {
					t.Errorf("a phone number in span %s attribute %s", sp.Name(), kv.Key)
				}
			}
		}
	}
	if webhook != 2 || store != 2 {
		t.Errorf("%d webhook spans, %d store spans; want 2 and 2", webhook, store)
	}
}

// Ready is the store's reachability.
func TestReady(t *testing.T) {
	t.Parallel()
	s, _ := newTestService(t, nil, nil)
	if err := s.Ready(t.Context()); err != nil {
		t.Errorf("memory store: %v", err)
	}
	down, _ := newTestService(t, nil, func(c *Config) { c.Store = failingNumberLegs{Store: NewMemoryStore()} })
	if err := down.Ready(t.Context()); err == nil {
		t.Error("a failing store is ready")
	}
}

type failingNumberLegs struct{ Store }

func (failingNumberLegs) NumberLegs(context.Context, string) (int, error) {
	return 0, errors.New("connection refused")
}

// An inbound SMS's webhook outcome says what became of it: relayed
// (accepted), to no conversation (unknown_route), refused (vetoed), a
// keyword answered (keyword).
func TestTelemetrySMSOutcomes(t *testing.T) {
	t.Parallel()
	reader := sdkmetric.NewManualReader()
	s, _ := newTestService(t, gbPool(gbP1, gbP2), func(c *Config) {
		c.Telemetry.MeterProvider = sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
		c.SMS.Sender = &fakeSMS{}
		c.Hooks.Intercept = func(_ context.Context, in Inbound) error {
			if strings.Contains(in.Text, "cash") {
				return errors.New("off-platform payment")
			}
			return nil
		}
	})
	c := mustCreate(t, s, CreateRequest{A: "+" + gbA, B: "+" + gbB})
	a := c.Participants[SideA]
	for i, m := range []struct{ from, to, text string }{
		{a.Number, a.ProxyNumber, "on my way"},
		{gbC, a.ProxyNumber, "who is this?"},
		{a.Number, a.ProxyNumber, "pay me cash"},
		{a.Number, a.ProxyNumber, "HELP"},
	} {
		serve(s, smsGET(inboundParams(m.from, m.to, "m"+strconv.Itoa(i), m.text)))
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	got := sums(rm)
	for _, outcome := range []string{"accepted", "unknown_route", "vetoed", "keyword"} {
		if k := "voiceproxy.webhooks{outcome=" + outcome + ",route=/inbound-sms}"; got[k] != 1 {
			t.Errorf("%s = %d, want 1 (all: %v)", k, got[k], got)
		}
	}
}

// Statuses in delivery receipts and Messages API status webhooks are
// Vonage's, but anyone holding a signed one, or a bug at Vonage, can
// name any: a status that is not UTF-8 (status=%FF) made the Prometheus
// exporter fail every scrape, and each made-up status was a series of
// its own. Only the statuses Vonage documents are counted by name; the
// rest are "other", and what is stored is text of bounded length.
func TestMetricStatusesBounded(t *testing.T) {
	t.Parallel()
	reader := sdkmetric.NewManualReader()
	s, _ := newTestService(t, gbPool(gbP1), func(c *Config) {
		c.Telemetry.MeterProvider = sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	})
	c := mustCreate(t, s, CreateRequest{A: gbA, B: gbB})
	if err := s.store.AddInteraction(t.Context(), Interaction{ID: "sms-1", ConversationID: c.ID, Kind: KindSMS, ExternalID: "M1", CreatedAt: testNow}); err != nil {
		t.Fatal(err)
	}
	receipt := func(ref, status string) {
		t.Helper()
		v := receiptParams(ref)
		v.Set("status", status)
		if w := serve(s, receiptGET(v)); w.Code != http.StatusOK {
			t.Fatalf("receipt %q: status %d, want 200", status, w.Code)
		}
	}
	messageStatus := func(status string) {
		t.Helper()
		b, _ := json.Marshal(map[string]string{"message_uuid": "u-1", "status": status, "client_ref": "not-ours"})
		r := httptest.NewRequest(http.MethodPost, "/message-status", bytes.NewReader(b))
		r.Header.Set("Content-Type", "application/json")
		if w := serve(s, r); w.Code != http.StatusOK {
			t.Fatalf("message status %q: status %d, want 200", status, w.Code)
		}
	}
	receipt("sms-1", "\xff")
	receipt("sms-1", strings.Repeat("x", 1000))
	receipt("not-ours", sms.DeliveryDelivered)
	receipt("not-ours", sms.DeliveryFailed)
	messageStatus(sms.StatusSubmitted)
	rng := rand.New(rand.NewPCG(1, 2))
	const madeUp = 2000
	for i := range madeUp {
		st := strconv.FormatUint(rng.Uint64(), 36)
		if i%2 == 0 {
			receipt("not-ours", st)
		} else {
			messageStatus(st)
		}
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	events := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if sum, ok := m.Data.(metricdata.Sum[int64]); ok && m.Name == "voiceproxy.sms" {
				for _, p := range sum.DataPoints {
					v, _ := p.Attributes.Value("event")
					events[v.AsString()] += p.Value
				}
			}
		}
	}
	want := map[string]int64{"delivered": 1, "undelivered": 1, "submitted": 1, "other": madeUp + 2}
	if diff := cmp.Diff(want, events); diff != "" {
		t.Errorf("voiceproxy.sms by event (-want +got):\n%s", diff)
	}
	// What a Prometheus exporter renders: every series' labels UTF-8,
	// and a bounded number of series.
	series := 0
	for k := range sums(rm) {
		series++
		if !utf8.ValidString(k) {
			t.Errorf("a series whose attributes are not UTF-8: %q", k)
		}
	}
	if series > 50 {
		t.Errorf("%d series after %d made-up statuses", series, madeUp)
	}
	s.tel.attrMu.RLock()
	cached := len(s.tel.attrCache)
	s.tel.attrMu.RUnlock()
	if cached > 50 {
		t.Errorf("%d attribute sets cached after %d made-up statuses", cached, madeUp)
	}
	// The receipt is still recorded, as text of bounded length.
	ins, err := s.Interactions(t.Context(), c.ID)
	if err != nil || len(ins) != 1 || len(ins[0].Events) != 2 {
		t.Fatalf("interactions %+v, %v; want sms-1 with two events", ins, err)
	}
	for _, ev := range ins[0].Events {
		if st := string(ev.Status); !utf8.ValidString(st) || st == "" || len(st) > maxStatusLen {
			t.Errorf("stored status %q: want non-empty UTF-8 of at most %d bytes", st, maxStatusLen)
		}
	}
}

// The attribute cache is bounded by its size, whatever the values, and
// a value no label could be is recorded as "other".
func TestTelemetryAttrCacheBounded(t *testing.T) {
	t.Parallel()
	var tel telemetry
	for i := range 3 * maxAttrSets {
		tel.attrs("event", strconv.Itoa(i))
	}
	if n := len(tel.attrCache); n > maxAttrSets {
		t.Errorf("%d attribute sets cached, want at most %d", n, maxAttrSets)
	}
	for _, v := range []string{"\xff", "a\xc3", strings.Repeat("y", maxLabelLen+1)} {
		o := tel.attrs("event", v)
		if len(o.add) != 1 {
			t.Fatalf("%d options", len(o.add))
		}
		set := metric.NewAddConfig(o.add).Attributes()
		if got, _ := set.Value("event"); got.AsString() != "other" {
			t.Errorf("attribute for %q = %q, want other", v, got.AsString())
		}
	}
	known := metric.NewAddConfig(tel.attrs("event", "delivered").add).Attributes()
	if got, _ := known.Value("event"); got.AsString() != "delivered" {
		t.Errorf("a known value became %q", got.AsString())
	}
}
