package proxy

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/voiceproxy/voiceproxy/internal/voice"
)

// This file instruments the Service with OpenTelemetry's API: metrics
// and traces that cost next to nothing until the host installs a
// provider (Config.Telemetry.MeterProvider, Config.Telemetry.TracerProvider, or the global
// ones), so importing the library adds no exporter. No attribute ever
// holds a phone number: routes, outcomes, statuses and countries only.

// instrumentationName names the library to providers.
const instrumentationName = "github.com/voiceproxy/voiceproxy/proxy"

// Webhook outcomes, the "outcome" attribute of voiceproxy.webhooks.
const (
	outcomeConnected    = "connected"     // a call connected
	outcomePINPrompt    = "pin_prompt"    // a call asked for its PIN
	outcomeUnknownRoute = "unknown_route" // a call or SMS matching no conversation
	outcomeVetoed       = "vetoed"        // refused: Intercept, the mode, an SMS to one who sent STOP
	outcomeKeyword      = "keyword"       // an SMS that was STOP, START or HELP: answered, not relayed
	outcomeAccepted     = "accepted"      // an SMS stored for relay, an event or status recorded
	outcomeStoreError   = "store_error"   // 503: the store failed or was slow
	outcomeUnauthorized = "unauthorized"  // 401: a bad or replayed signature
	outcomeMalformed    = "malformed"     // unreadable, dropped
	outcomeTooLarge     = "too_large"     // 413: a body over Config.Webhooks.MaxBodyBytes
	outcomeOther        = "other"
)

// telemetry holds the Service's instruments.
type telemetry struct {
	tracer          trace.Tracer
	webhooks        metric.Int64Counter
	webhookDuration metric.Float64Histogram
	conversations   metric.Int64Counter
	allocations     metric.Int64Counter
	purchases       metric.Int64Counter
	sms             metric.Int64Counter
	hangups         metric.Int64Counter
	storeDuration   metric.Float64Histogram
	attrMu          sync.RWMutex
	attrCache       map[[4]string]attrOpts
}

// newTelemetry makes the instruments on the providers of cfg, or the
// global ones.
func newTelemetry(cfg *TelemetryConfig) (*telemetry, error) {
	mp := cfg.MeterProvider
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	m := mp.Meter(instrumentationName)
	t := &telemetry{}
	if cfg.TracerProvider != nil {
		t.tracer = cfg.TracerProvider.Tracer(instrumentationName)
	}
	var errs [8]error
	t.webhooks, errs[0] = m.Int64Counter("voiceproxy.webhooks", metric.WithUnit("{webhook}"),
		metric.WithDescription("Webhooks handled, by route and outcome."))
	t.webhookDuration, errs[1] = m.Float64Histogram("voiceproxy.webhook.duration", metric.WithUnit("s"),
		metric.WithDescription("Time to answer a webhook, by route and outcome."),
		metric.WithExplicitBucketBoundaries(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
	t.conversations, errs[2] = m.Int64Counter("voiceproxy.conversations", metric.WithUnit("{conversation}"),
		metric.WithDescription("Conversations created, closed, expired and reopened."))
	t.allocations, errs[3] = m.Int64Counter("voiceproxy.allocations", metric.WithUnit("{allocation}"),
		metric.WithDescription("Conversation creates by result: allocated, pool_exhausted, key_held, error."))
	t.purchases, errs[4] = m.Int64Counter("voiceproxy.pool.purchases", metric.WithUnit("{number}"),
		metric.WithDescription("Numbers the pool autopilot bought or released, by result and country."))
	t.sms, errs[5] = m.Int64Counter("voiceproxy.sms", metric.WithUnit("{sms}"),
		metric.WithDescription("SMS relayed, sent, failed, retried, and their delivery statuses."))
	t.hangups, errs[6] = m.Int64Counter("voiceproxy.hangups", metric.WithUnit("{leg}"),
		metric.WithDescription("Call legs the Service hung up, by result."))
	t.storeDuration, errs[7] = m.Float64Histogram("voiceproxy.store.duration", metric.WithUnit("s"),
		metric.WithDescription("Store calls, by operation and result."),
		metric.WithExplicitBucketBoundaries(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1))
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return t, nil
}

// count adds one to c with the attributes of kv, key, value pairs.
func (t *telemetry) count(ctx context.Context, c metric.Int64Counter, kv ...string) {
	c.Add(ctx, 1, t.attrs(kv...).add...)
}

// attrOpts are one attribute set's measurement options, as the variadic
// arguments Add and Record take (a slice made once, not per call).
type attrOpts struct {
	add    []metric.AddOption
	record []metric.RecordOption
}

// start starts a span named name when tracing is on (Config.
// TracerProvider); the returned context carries it only when it
// records. With tracing off it returns ctx and a nil span.
func (t *telemetry) start(ctx context.Context, name string, kind trace.SpanStartOption) (context.Context, trace.Span) {
	if t.tracer == nil {
		return ctx, nil
	}
	sctx, span := t.tracer.Start(ctx, name, kind)
	if !span.IsRecording() {
		return ctx, span
	}
	return sctx, span
}

// startStore starts the span of store operation op (tracing on only).
func (t *telemetry) startStore(ctx context.Context, op string) (context.Context, trace.Span) {
	if t.tracer == nil {
		return ctx, nil
	}
	return t.start(ctx, "voiceproxy.store "+op, clientSpan)
}

// Span kinds, made once.
var (
	serverSpan = trace.WithSpanKind(trace.SpanKindServer)
	clientSpan = trace.WithSpanKind(trace.SpanKindClient)
)

// endSpan ends span (nil with tracing off), marking it failed when
// failed says why.
func endSpan(span trace.Span, failed string) {
	if span == nil {
		return
	}
	if failed != "" {
		span.SetStatus(codes.Error, failed)
	}
	span.End()
}

// attrs is the measurement option for attributes kv (at most two key,
// value pairs), made once per distinct set: the webhook paths record
// with a handful of sets, and building one allocates. Values reach here
// through fixed sets (outcomes, routes, smsEvent's), but the cache does
// not rely on it: it holds at most maxAttrSets sets, a set past that is
// built for its call, and a value that is no label (labelValue) is
// recorded as "other".
func (t *telemetry) attrs(kv ...string) attrOpts {
	var key [4]string
	copy(key[:], kv)
	t.attrMu.RLock()
	o, ok := t.attrCache[key]
	t.attrMu.RUnlock()
	if ok {
		return o
	}
	as := make([]attribute.KeyValue, 0, 2)
	for i := 0; i+1 < len(key); i += 2 {
		if key[i] != "" {
			as = append(as, attribute.String(key[i], labelValue(key[i+1])))
		}
	}
	mo := metric.WithAttributeSet(attribute.NewSet(as...))
	o = attrOpts{add: []metric.AddOption{mo}, record: []metric.RecordOption{mo}}
	t.attrMu.Lock()
	if t.attrCache == nil {
		t.attrCache = map[[4]string]attrOpts{}
	}
	if len(t.attrCache) < maxAttrSets {
		t.attrCache[key] = o
	}
	t.attrMu.Unlock()
	return o
}

// maxAttrSets bounds the attribute sets telemetry keeps made: a few
// dozen are in use (routes × outcomes, store operations × results, SMS
// events, countries).
const maxAttrSets = 512

// maxLabelLen bounds an attribute value.
const maxLabelLen = 64

// labelValue is v as an attribute value: "other" for a value no label
// could be, one that is not UTF-8 (Prometheus's text format refuses
// it, failing the whole scrape) or is longer than maxLabelLen.
func labelValue(v string) string {
	if len(v) > maxLabelLen || !utf8.ValidString(v) {
		return outcomeOther
	}
	return v
}

// smsEvents are the values of voiceproxy.sms's "event" attribute:
// what the Service records of the SMS it relays (relay.go), and the
// delivery statuses Vonage documents for the SMS API's receipts
// (receiptStatuses) and the Messages API's status webhook
// (messageStatuses).
var smsEvents = func() map[EventStatus]bool {
	m := map[EventStatus]bool{EventRelayed: true, EventFailed: true, smsRetry: true}
	for _, st := range receiptStatuses {
		m[st] = true
	}
	for _, st := range messageStatuses {
		m[st] = true
	}
	return m
}()

// smsRetry is the "event" of an SMS relay that failed and is tried
// again.
const smsRetry EventStatus = "retry"

// smsEvent is st as voiceproxy.sms's "event" attribute: one of smsEvents,
// or "other" for a status a webhook made up, so that a webhook cannot
// add series.
func smsEvent(st EventStatus) string {
	if smsEvents[st] {
		return string(st)
	}
	return outcomeOther
}

func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// outcomeWriter records a webhook's status and the outcome its handler
// names (setOutcome).
type outcomeWriter struct {
	StatusRecorder
	outcome string
}

// setOutcome names the outcome of the webhook being answered through w.
func setOutcome(w http.ResponseWriter, outcome string) {
	if ow, ok := w.(*outcomeWriter); ok {
		ow.outcome = outcome
	}
}

// webhookRoutes are the routes metrics name; others are "other".
var webhookRoutes = map[string]bool{
	"/answer": true, "/fallback": true, "/event": true, "/input": true, "/inbound-sms": true,
	"/delivery-receipt": true, "/inbound-message": true, "/message-status": true,
}

// serveInstrumented serves r through the mux within a span, and records
// the webhook's route, outcome and duration. The request's context
// carries the span only when it records, sparing the answer path a copy
// of the request otherwise.
func (s *Service) serveInstrumented(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	route := r.URL.Path
	if !webhookRoutes[route] {
		route = "other"
	}
	ctx, span := s.tel.start(r.Context(), "voiceproxy.webhook "+route, serverSpan)
	if ctx != r.Context() {
		r = r.WithContext(ctx)
	}
	ow := outcomeWriters.Get().(*outcomeWriter)
	*ow = outcomeWriter{StatusRecorder: StatusRecorder{ResponseWriter: w}}
	s.mux.ServeHTTP(ow, r)
	outcome, status := ow.outcome, ow.Status
	*ow = outcomeWriter{}
	outcomeWriters.Put(ow)
	if outcome == "" {
		switch {
		case status == http.StatusUnauthorized:
			outcome = outcomeUnauthorized
		case status == http.StatusServiceUnavailable:
			outcome = outcomeStoreError
		case status >= 200 && status < 300 || status == 0:
			outcome = outcomeAccepted
		default:
			outcome = outcomeOther
		}
	}
	attrs := s.tel.attrs("route", route, "outcome", outcome)
	s.tel.webhooks.Add(ctx, 1, attrs.add...)
	s.tel.webhookDuration.Record(ctx, time.Since(start).Seconds(), attrs.record...)
	if span != nil && span.IsRecording() {
		span.SetAttributes(attribute.String("voiceproxy.route", route), attribute.String("voiceproxy.outcome", outcome),
			attribute.Int("http.response.status_code", status))
	}
	failed := ""
	if outcome == outcomeStoreError {
		failed = "store unavailable"
	}
	endSpan(span, failed)
}

// outcomeWriters recycles the webhooks' response writers.
var outcomeWriters = sync.Pool{New: func() any { return new(outcomeWriter) }}

// storeDone records a store call op that began at start and ended with
// err, and ends its span.
func (s *Service) storeDone(ctx context.Context, op string, start time.Time, span trace.Span, err error) {
	result, failed := "ok", ""
	switch {
	case err == nil:
	case isNotFound(err):
		result = "not_found"
	case errors.Is(err, ErrConflict):
		result = "conflict" // a nonce claimed before, a leg taken: an answer, not a failure
	case errors.Is(err, voice.ErrReplayed):
		result = "replayed"
	default:
		result, failed = "error", "store call failed"
	}
	s.tel.storeDuration.Record(ctx, time.Since(start).Seconds(), s.tel.attrs("op", op, "result", result).record...)
	endSpan(span, failed)
}
