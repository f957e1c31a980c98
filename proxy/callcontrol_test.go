package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/voiceproxy/voiceproxy/ncco"
)

// fakeVoice is a VoiceAPI that records what it is asked and fails as
// told.
type fakeVoice struct {
	mu         sync.Mutex
	created    []OutboundCall
	createErr  error
	hangups    []CallRef      // every try, failed ones included
	fail       map[string]int // leg -> how many more tries fail
	failErr    error
	gone       map[string]bool // legs that have ended (404)
	recordings map[string]string
	details    map[string]CallDetail // Call's answers by leg; a leg not in it is 404
	asked      []string              // legs Call was asked about, in order
	callErr    error                 // when set, Call fails with it
}

func newFakeVoice() *fakeVoice {
	return &fakeVoice{fail: map[string]int{}, gone: map[string]bool{}, recordings: map[string]string{}, details: map[string]CallDetail{}, failErr: ErrVoiceServer}
}

func (f *fakeVoice) CreateCall(_ context.Context, c OutboundCall) (CallRef, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.createErr != nil {
		return CallRef{}, f.createErr
	}
	f.created = append(f.created, c)
	n := len(f.created)
	return CallRef{UUID: fmt.Sprintf("out-%d", n), ConversationUUID: fmt.Sprintf("CON-out-%d", n)}, nil
}

func (f *fakeVoice) Hangup(_ context.Context, leg CallRef) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hangups = append(f.hangups, leg)
	if f.fail[leg.UUID] > 0 {
		f.fail[leg.UUID]--
		return fmt.Errorf("hang up %s: %w", leg.UUID, f.failErr)
	}
	if f.gone[leg.UUID] {
		return fmt.Errorf("hang up %s: %w", leg.UUID, ErrCallNotFound)
	}
	f.gone[leg.UUID] = true
	return nil
}

func (f *fakeVoice) Recording(_ context.Context, u string) (io.ReadCloser, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	body, ok := f.recordings[u]
	if !ok {
		return nil, ErrCallNotFound
	}
	return io.NopCloser(strings.NewReader(body)), nil
}

// hungUp lists the legs hung up (tries that succeeded or found the leg
// gone), in order, as "uuid@region".
func (f *fakeVoice) tries() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, h := range f.hangups {
		out = append(out, h.UUID+"@"+h.Region)
	}
	return out
}

func newCallControlService(t *testing.T, fv *fakeVoice, edit func(*Config)) (*Service, *clock) {
	return newTestService(t, gbPool(gbP1, gbP2), func(c *Config) {
		c.CallControl.Client = fv
		c.CallControl.HangupRetryWait = time.Millisecond
		if edit != nil {
			edit(c)
		}
	})
}

const testRegion = "https://api-eu-3.vonage.com"

// answerAndConnect plays a call from A to its proxy number: the answer
// webhook (with region_url), then started and answered for the caller's
// leg and the callee's, as Vonage sends them.
func answerAndConnect(t *testing.T, s *Service, c Conversation, callID string) {
	t.Helper()
	a, b := c.Participants[SideA], c.Participants[SideB]
	q := url.Values{"from": {a.Number}, "to": {a.ProxyNumber}, "uuid": {callID + "-in"}, "conversation_uuid": {"CON-" + callID}, "region_url": {testRegion}}
	if w := serve(s, httptest.NewRequest(http.MethodGet, "/answer?"+q.Encode(), nil)); w.Code != 200 || !strings.Contains(w.Body.String(), b.Number) {
		t.Fatalf("answer: %d %s", w.Code, w.Body)
	}
	for _, ev := range []map[string]string{
		{"from": a.Number, "to": a.ProxyNumber, "uuid": callID + "-in", "status": "started", "direction": "inbound"},
		{"from": a.Number, "to": a.ProxyNumber, "uuid": callID + "-in", "status": "answered", "direction": "inbound"},
		{"from": b.ProxyNumber, "to": b.Number, "uuid": callID + "-out", "status": "ringing", "direction": "outbound"},
		{"from": b.ProxyNumber, "to": b.Number, "uuid": callID + "-out", "status": "answered", "direction": "outbound"},
	} {
		postEvent(t, s, callID, ev)
	}
}

func postEvent(t *testing.T, s *Service, callID string, ev map[string]string) {
	t.Helper()
	ev["conversation_uuid"] = "CON-" + callID
	body, _ := json.Marshal(ev)
	if w := serve(s, eventPOSTBody(body)); w.Code != http.StatusNoContent {
		t.Fatalf("event %v: %d %s", ev, w.Code, w.Body)
	}
}

func eventStatuses(t *testing.T, s *Service, convID string) []string {
	t.Helper()
	ins, err := s.Interactions(t.Context(), convID)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, in := range ins {
		for _, ev := range in.Events {
			out = append(out, ev.Leg+":"+string(ev.Status))
		}
	}
	return out
}

func TestLiveLegs(t *testing.T) {
	t.Parallel()
	ev := func(leg string, st EventStatus) InteractionEvent { return InteractionEvent{Leg: leg, Status: st} }
	ins := []Interaction{
		{ID: "i1", Kind: KindCall, Events: []InteractionEvent{ev("a", EventStarted), ev("a", EventAnswered), ev("b", EventRinging), ev("b", EventAnswered)}},
		{ID: "i2", Kind: KindCall, Events: []InteractionEvent{ev("c", EventAnswered), ev("c", EventCompleted), ev("d", EventRequested)}},
		{ID: "i3", Kind: KindCall, Events: []InteractionEvent{ev("e", EventBlocked), ev("f", EventHungUp), ev("f", EventAnswered), ev("g", EventBusy)}},
		{ID: "i4", Kind: KindSMS, Events: []InteractionEvent{ev("h", EventStarted)}},
		{ID: "i5", Kind: KindCall, Events: []InteractionEvent{ev("", EventAnswered), ev("i", EventRecorded), ev("j", EventHangupFailed), ev("j", EventAnswered)}},
	}
	var got []string
	for _, l := range liveLegs(ins) {
		got = append(got, l.in.ID+"/"+l.leg)
	}
	want := []string{"i1/a", "i1/b", "i2/d", "i5/j"}
	if !slices.Equal(got, want) {
		t.Errorf("liveLegs = %v, want %v", got, want)
	}
}

// Closing a conversation hangs up both legs of its call in progress, in
// the call's region, and records it; closing again hangs up nothing more.
// KeepCalls leaves them.
func TestCloseHangsUpCalls(t *testing.T) {
	t.Parallel()
	fv := newFakeVoice()
	s, _ := newCallControlService(t, fv, nil)
	c := mustCreate(t, s, CreateRequest{A: "+" + gbA, B: "+" + gbB})
	answerAndConnect(t, s, c, "k1")
	closed, err := s.CloseConversation(t.Context(), c.ID)
	if err != nil || closed.Status != StatusClosed {
		t.Fatalf("CloseConversation = %v, %v", closed.Status, err)
	}
	if got, want := fv.tries(), []string{"k1-in@" + testRegion, "k1-out@" + testRegion}; !slices.Equal(got, want) {
		t.Errorf("hang-ups %v, want %v", got, want)
	}
	if got := eventStatuses(t, s, c.ID); !slices.Contains(got, "k1-in:hungup") || !slices.Contains(got, "k1-out:hungup") {
		t.Errorf("events %v: want both legs hungup", got)
	}
	if _, err := s.CloseConversation(t.Context(), c.ID); err != nil || len(fv.tries()) != 2 {
		t.Errorf("close again: %v, %d tries; want nil and no new hang-up", err, len(fv.tries()))
	}

	fv2 := newFakeVoice()
	s2, _ := newCallControlService(t, fv2, nil)
	c2 := mustCreate(t, s2, CreateRequest{A: "+" + gbA, B: "+" + gbB})
	answerAndConnect(t, s2, c2, "k2")
	if _, err := s2.CloseConversation(t.Context(), c2.ID, KeepCalls()); err != nil || len(fv2.tries()) != 0 {
		t.Errorf("KeepCalls: %v, hang-ups %v; want none", err, fv2.tries())
	}
}

// A hang-up that fails does not undo the close: CloseConversation returns
// the closed conversation with a *HangupError, records the failure, and
// retries in the background until it works, or Config.HangupAttempts.
func TestCloseHangupFailureRetried(t *testing.T) {
	t.Parallel()
	fv := newFakeVoice()
	s, _ := newCallControlService(t, fv, nil)
	c := mustCreate(t, s, CreateRequest{A: "+" + gbA, B: "+" + gbB})
	answerAndConnect(t, s, c, "f1")
	fv.fail["f1-in"] = 2
	closed, err := s.CloseConversation(t.Context(), c.ID)
	var he *HangupError
	if !errors.As(err, &he) || !errors.Is(err, ErrVoiceServer) || he.Failed["f1-in"] == nil || len(he.Failed) != 1 {
		t.Fatalf("CloseConversation error = %v, want a *HangupError for f1-in matching ErrVoiceServer", err)
	}
	if closed.Status != StatusClosed {
		t.Errorf("status %s, want closed", closed.Status)
	}
	if got, _ := s.Conversation(t.Context(), c.ID); got.Status != StatusClosed {
		t.Errorf("stored status %s, want closed", got.Status)
	}
	waitFor(t, func() bool { return slices.Contains(eventStatuses(t, s, c.ID), "f1-in:hungup") })
	s.bg.Wait()
	if got := eventStatuses(t, s, c.ID); !slices.Contains(got, "f1-in:hangup-failed") {
		t.Errorf("events %v: want the failure recorded", got)
	}
	if n := strings.Count(strings.Join(fv.tries(), " "), "f1-in@"); n != 3 {
		t.Errorf("f1-in tried %d times, want 3 (two failures, then success)", n)
	}

	// Failing for good: tried HangupAttempts times, then given up.
	fv2 := newFakeVoice()
	s2, _ := newCallControlService(t, fv2, func(c *Config) { c.CallControl.HangupAttempts = 3 })
	c2 := mustCreate(t, s2, CreateRequest{A: "+" + gbA, B: "+" + gbB})
	answerAndConnect(t, s2, c2, "f2")
	fv2.fail["f2-in"], fv2.fail["f2-out"] = 99, 99
	if _, err := s2.CloseConversation(t.Context(), c2.ID); err == nil {
		t.Fatal("no error")
	}
	waitFor(t, func() bool { return len(fv2.tries()) >= 6 })
	s2.bg.Wait()
	if n := len(fv2.tries()); n != 6 {
		t.Errorf("%d tries, want 3 attempts × 2 legs", n)
	}
}

// Expiry at the absolute end hangs calls up; idle expiry does not (a call
// in progress is activity).
func TestExpiryHangsUpCalls(t *testing.T) {
	t.Parallel()
	fv := newFakeVoice()
	s, clk := newCallControlService(t, fv, nil)
	ttl := mustCreate(t, s, CreateRequest{A: "+" + gbA, B: "+" + gbB, TTL: time.Hour})
	idle := mustCreate(t, s, CreateRequest{A: "+" + gbC, B: "+" + gbD, TTL: 3 * time.Hour, IdleTimeout: 30 * time.Minute})
	answerAndConnect(t, s, ttl, "e1")
	answerAndConnect(t, s, idle, "e2")
	clk.Add(61 * time.Minute)
	if n, err := s.ExpireNow(t.Context()); err != nil || n != 2 {
		t.Fatalf("ExpireNow = %d, %v; want 2", n, err)
	}
	if got, want := fv.tries(), []string{"e1-in@" + testRegion, "e1-out@" + testRegion}; !slices.Equal(got, want) {
		t.Errorf("hang-ups %v, want %v (the TTL's conversation only)", got, want)
	}
	if got := eventStatuses(t, s, ttl.ID); !slices.Contains(got, "e1-in:hungup") {
		t.Errorf("events %v", got)
	}
}

// An event saying a leg is live after its conversation was closed (a
// call answered while the close ran) hangs that leg up.
func TestLateEventHangsUp(t *testing.T) {
	t.Parallel()
	fv := newFakeVoice()
	s, _ := newCallControlService(t, fv, nil)
	c := mustCreate(t, s, CreateRequest{A: "+" + gbA, B: "+" + gbB})
	a, b := c.Participants[SideA], c.Participants[SideB]
	q := url.Values{"from": {a.Number}, "to": {a.ProxyNumber}, "uuid": {"l1-in"}, "conversation_uuid": {"CON-l1"}, "region_url": {testRegion}}
	serve(s, httptest.NewRequest(http.MethodGet, "/answer?"+q.Encode(), nil))
	if _, err := s.CloseConversation(t.Context(), c.ID); err != nil || len(fv.tries()) != 0 {
		t.Fatalf("close: %v, tries %v; want none (no leg known yet)", err, fv.tries())
	}
	postEvent(t, s, "l1", map[string]string{"from": b.ProxyNumber, "to": b.Number, "uuid": "l1-out", "status": "answered", "direction": "outbound"})
	if got, want := fv.tries(), []string{"l1-out@" + testRegion}; !slices.Equal(got, want) {
		t.Errorf("hang-ups %v, want %v", got, want)
	}
	// A completed event hangs nothing up.
	postEvent(t, s, "l1", map[string]string{"from": a.Number, "to": a.ProxyNumber, "uuid": "l1-in", "status": "completed", "direction": "inbound"})
	if len(fv.tries()) != 1 {
		t.Errorf("hang-ups after completed: %v", fv.tries())
	}
}

func TestCallControlOff(t *testing.T) {
	t.Parallel()
	s, _ := newTestService(t, gbPool(gbP1), nil)
	c := mustCreate(t, s, CreateRequest{A: "+" + gbA, B: "+" + gbB})
	if _, err := s.Call(t.Context(), c.ID, CallRequest{}); !errors.Is(err, ErrCallControlOff) {
		t.Errorf("Call: %v", err)
	}
	if _, err := s.Recording(t.Context(), "x"); !errors.Is(err, ErrCallControlOff) {
		t.Errorf("Recording: %v", err)
	}
	answerAndConnect(t, s, c, "o1")
	if _, err := s.CloseConversation(t.Context(), c.ID); err != nil {
		t.Errorf("close without call control: %v", err)
	}
	for name, cfg := range map[string]Config{
		"key without application": {CallControl: CallControlConfig{ApplicationKey: []byte("x")}},
		"bad key":                 {ApplicationID: "app", CallControl: CallControlConfig{ApplicationKey: []byte("not a PEM")}},
		"bad event URL":           {CallControl: CallControlConfig{EventURL: "ftp://x"}},
		"negative attempts":       {CallControl: CallControlConfig{HangupAttempts: -1}},
	} {
		cfg.Webhooks.SignatureSecret = "s" // so that the setting under test is what fails
		if _, err := New(cfg); err == nil || errors.Is(err, ErrUnsignedWebhooks) {
			t.Errorf("%s: New = %v, want the setting refused", name, err)
		}
	}
}

// Call rings the chosen side from their own proxy number and connects the
// other from theirs, after the whisper and, in a recorded conversation,
// the record action and notice.
func TestClickToCall(t *testing.T) {
	t.Parallel()
	fv := newFakeVoice()
	var vetoed bool
	s, _ := newCallControlService(t, fv, func(c *Config) {
		c.Calls.RecordingNotice = "This call is recorded."
		c.CallControl.EventURL = "https://example.com/vonage/event"
		c.Calls.TimeLimit = 10 * time.Minute
		c.Hooks.Intercept = func(_ context.Context, in Inbound) error {
			if vetoed {
				return errors.New("driver suspended")
			}
			return nil
		}
	})
	rec := true
	c := mustCreate(t, s, CreateRequest{A: "+" + gbA, B: "+" + gbB, Record: &rec})
	in, err := s.Call(t.Context(), c.ID, CallRequest{Side: SideB, Whisper: "Connecting you to your rider."})
	if err != nil {
		t.Fatal(err)
	}
	a, b := c.Participants[SideA], c.Participants[SideB]
	oc := fv.created[0]
	if oc.To != b.Number || oc.From != b.ProxyNumber || oc.EventURL != "https://example.com/vonage/event?c2c="+c.ID+".B" || oc.LengthTimer != 10*time.Minute {
		t.Errorf("created %+v: want B rung from B's proxy number", oc)
	}
	if len(oc.NCCO) != 4 {
		t.Fatalf("NCCO %v: want record, notice, whisper, connect", oc.NCCO)
	}
	if _, ok := oc.NCCO[0].(ncco.Record); !ok {
		t.Errorf("NCCO[0] = %T, want the record action", oc.NCCO[0])
	}
	if t1, t2 := oc.NCCO[1].(ncco.Talk), oc.NCCO[2].(ncco.Talk); t1.Text != "This call is recorded." || t2.Text != "Connecting you to your rider." {
		t.Errorf("talks %q, %q", t1.Text, t2.Text)
	}
	conn := oc.NCCO[3].(ncco.Connect)
	if conn.From != a.ProxyNumber || conn.Endpoint[0].(ncco.PhoneEndpoint).Number != a.Number {
		t.Errorf("connect %+v: want A from A's proxy number", conn)
	}
	if in.ExternalID != "CON-out-1" || in.From != b.Number || in.To != b.ProxyNumber || len(in.Events) != 1 || in.Events[0].Status != EventRequested || in.Events[0].Leg != "out-1" {
		t.Errorf("interaction %+v", in)
	}
	// The requested leg counts as live: closing hangs it up.
	if _, err := s.CloseConversation(t.Context(), c.ID); err != nil || !slices.Equal(fv.tries(), []string{"out-1@"}) {
		t.Errorf("close: %v, hang-ups %v", err, fv.tries())
	}

	for name, tc := range map[string]struct {
		req  CreateRequest
		call CallRequest
		prep func(Conversation)
		want error
	}{
		"bad side":    {call: CallRequest{Side: 2}, want: ErrInvalidRequest},
		"bad whisper": {call: CallRequest{Whisper: "\xff"}, want: ErrInvalidRequest},
		"sms only":    {req: CreateRequest{Mode: ModeSMS}, want: ErrCallRefused},
		"vetoed":      {prep: func(Conversation) { vetoed = true }, want: ErrCallRefused},
		"closed": {prep: func(c Conversation) {
			if _, err := s.CloseConversation(t.Context(), c.ID); err != nil {
				t.Fatal(err)
			}
		}, want: ErrConversationEnded},
		"vonage down": {prep: func(Conversation) { fv.createErr = ErrVoiceServer }, want: ErrVoiceServer},
	} {
		vetoed, fv.createErr = false, nil
		tc.req.A, tc.req.B = "+"+gbC, "+"+gbD
		c := mustCreate(t, s, tc.req)
		if tc.prep != nil {
			tc.prep(c)
		}
		if _, err := s.Call(t.Context(), c.ID, tc.call); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
		if _, err := s.CloseConversation(t.Context(), c.ID); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Call(t.Context(), "nope", CallRequest{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown conversation: %v", err)
	}
}

// Recording fetches the latest recording event's URL through the Voice
// API; an interaction without one is ErrNoRecording.
func TestRecordingOfInteraction(t *testing.T) {
	t.Parallel()
	fv := newFakeVoice()
	s, _ := newCallControlService(t, fv, nil)
	c := mustCreate(t, s, CreateRequest{A: "+" + gbA, B: "+" + gbB})
	answerAndConnect(t, s, c, "r1")
	ins, _ := s.Interactions(t.Context(), c.ID)
	if _, err := s.Recording(t.Context(), ins[0].ID); !errors.Is(err, ErrNoRecording) {
		t.Errorf("before the recording event: %v", err)
	}
	const u = "https://api.nexmo.com/v1/files/aaaa"
	fv.recordings[u] = "ID3audio"
	body, _ := json.Marshal(map[string]any{"recording_url": u, "recording_uuid": "rec-1", "conversation_uuid": "CON-r1",
		"start_time": "2026-03-01T12:00:00Z", "end_time": "2026-03-01T12:01:00Z", "size": 8, "timestamp": "2026-03-01T12:01:00.000Z"})
	if w := serve(s, eventPOSTBody(body)); w.Code != http.StatusNoContent {
		t.Fatalf("recording event: %d", w.Code)
	}
	rc, err := s.Recording(t.Context(), ins[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != "ID3audio" {
		t.Errorf("recording %q", b)
	}
	if _, err := s.Recording(t.Context(), "unknown"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown interaction: %v", err)
	}
}

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5 s")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// A click-to-call's event that beats Service.Call's write is recorded
// through its event URL's tag; a tag on an event between other numbers
// attaches nothing.
func TestClickToCallTag(t *testing.T) {
	t.Parallel()
	fv := newFakeVoice()
	s, _ := newCallControlService(t, fv, func(c *Config) { c.CallControl.EventURL = "https://example.com/event?x=1" })
	c := mustCreate(t, s, CreateRequest{A: "+" + gbA, B: "+" + gbB})
	if _, err := s.Call(t.Context(), c.ID, CallRequest{Side: SideB}); err != nil {
		t.Fatal(err)
	}
	if got, want := fv.created[0].EventURL, "https://example.com/event?x=1&c2c="+c.ID+".B"; got != want {
		t.Fatalf("event URL %q, want %q", got, want)
	}
	b := c.Participants[SideB]
	post := func(tag string, ev map[string]string) {
		body, _ := json.Marshal(ev)
		r := eventPOSTBody(body)
		r.URL.RawQuery = url.Values{"c2c": {tag}}.Encode()
		if w := serve(s, r); w.Code != http.StatusNoContent {
			t.Fatalf("event: %d", w.Code)
		}
	}
	post(c.ID+".B", map[string]string{"from": b.ProxyNumber, "to": b.Number, "uuid": "early-1", "conversation_uuid": "CON-early",
		"status": "started", "direction": "outbound"})
	in, err := s.store.InteractionByExternalID(t.Context(), KindCall, "CON-early")
	if err != nil || in.From != b.Number || in.To != b.ProxyNumber || len(in.Events) != 1 {
		t.Errorf("early event's interaction = %+v, %v", in, err)
	}
	for _, tag := range []string{c.ID + ".B", c.ID + ".C", "nope.A", "garbage"} {
		post(tag, map[string]string{"from": gbP2, "to": gbC, "uuid": "forged", "conversation_uuid": "CON-forged-" + tag,
			"status": "started", "direction": "outbound"})
		if _, err := s.store.InteractionByExternalID(t.Context(), KindCall, "CON-forged-"+tag); !errors.Is(err, ErrNotFound) {
			t.Errorf("tag %q on an unrelated call: %v, want nothing recorded", tag, err)
		}
	}
}
