package proxy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/voiceproxy/voiceproxy/internal/voice"
)

func (f *fakeVoice) Call(_ context.Context, leg CallRef) (CallDetail, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, leg.UUID)
	if f.callErr != nil {
		return CallDetail{}, f.callErr
	}
	d, ok := f.details[leg.UUID]
	if !ok {
		return CallDetail{}, fmt.Errorf("get %s: %w", leg.UUID, ErrCallNotFound)
	}
	return d, nil
}

func (f *fakeVoice) askedLegs() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.asked)
}

func (f *fakeVoice) setDetail(leg string, d CallDetail) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.details[leg] = d
}

// The exported status lists are the ones liveLegs goes by.
func TestLegStatusLists(t *testing.T) {
	t.Parallel()
	for _, st := range LiveLegStatuses() {
		if !legLive(st) || legEnded(st) {
			t.Errorf("%s listed live: legLive %v, legEnded %v", st, legLive(st), legEnded(st))
		}
	}
	for _, st := range EndedLegStatuses() {
		if !legEnded(st) || legLive(st) {
			t.Errorf("%s listed ended: legEnded %v, legLive %v", st, legEnded(st), legLive(st))
		}
	}
	for _, st := range []EventStatus{EventRecorded, EventError, EventHangupFailed, "machine", ""} {
		if legLive(st) || legEnded(st) || slices.Contains(LiveLegStatuses(), st) || slices.Contains(EndedLegStatuses(), st) {
			t.Errorf("%q is neither live nor ended, but is listed", st)
		}
	}
}

// pastReconcileAge moves clk past the age at which calls are reconciled
// (the default time limit, two rings and the margin).
func pastReconcileAge(clk *clock) { clk.Add(2*time.Hour + 2*time.Minute + 11*time.Minute) }

// A call whose completed events never came is recorded from the Voice
// API once it is past its time limit and quiet: each leg's final status,
// duration, price, rate, network and times, marked reconciled; then it
// is asked about no more.
func TestReconcileCompletesCall(t *testing.T) {
	t.Parallel()
	fv := newFakeVoice()
	s, clk := newCallControlService(t, fv, nil)
	c := mustCreate(t, s, CreateRequest{A: gbA, B: gbB, TTL: 24 * time.Hour})
	answerAndConnect(t, s, c, "k1")
	start := clk.Now()
	end := start.Add(95 * time.Second)
	for leg, dir := range map[string]string{"k1-in": "inbound", "k1-out": "outbound"} {
		fv.setDetail(leg, CallDetail{UUID: leg, Status: "completed", Direction: dir, Rate: "0.39", Price: "0.62",
			Duration: 95, StartTime: start, EndTime: end, Network: "23410"})
	}
	clk.Add(time.Hour)
	if n, err := s.ReconcileCalls(t.Context()); err != nil || n != 0 || len(fv.askedLegs()) != 0 {
		t.Fatalf("within the time limit: %d, %v, asked %v; want nothing asked", n, err, fv.askedLegs())
	}
	pastReconcileAge(clk)
	n, err := s.ReconcileCalls(t.Context())
	if err != nil || n != 2 {
		t.Fatalf("ReconcileCalls = %d, %v; want 2 legs", n, err)
	}
	ins, err := s.Interactions(t.Context(), c.ID)
	if err != nil || len(ins) != 1 {
		t.Fatal(ins, err)
	}
	sum := Summarize(ins[0])
	if sum.Status != EventCompleted || sum.Duration != 95 || sum.Detail != ReconciledDetail || !sum.At.Equal(end) {
		t.Errorf("summary %+v; want completed, 95 s, reconciled, at the end time", sum)
	}
	for _, ev := range ins[0].Events {
		if ev.Status == EventCompleted && (ev.Rate != "0.39" || ev.Price != "0.62" || ev.Network != "23410" || !ev.StartTime.Equal(start) || !ev.EndTime.Equal(end)) {
			t.Errorf("completed event %+v; want the detail's figures", ev)
		}
	}
	clk.Add(time.Hour)
	if n, err := s.ReconcileCalls(t.Context()); err != nil || n != 0 || len(fv.askedLegs()) != 2 {
		t.Errorf("second sweep: %d, %v, asked %v; want nothing more", n, err, fv.askedLegs())
	}
}

// A leg the Voice API does not know (404) is recorded as lost, and not
// asked about again; a leg it still reports in progress is left open and
// asked again once its claim has passed.
func TestReconcileLostAndLive(t *testing.T) {
	t.Parallel()
	fv := newFakeVoice()
	s, clk := newCallControlService(t, fv, nil)
	c := mustCreate(t, s, CreateRequest{A: gbA, B: gbB, TTL: 24 * time.Hour})
	answerAndConnect(t, s, c, "k2")
	fv.setDetail("k2-out", CallDetail{UUID: "k2-out", Status: "answered", Direction: "outbound"}) // k2-in: 404
	pastReconcileAge(clk)
	if n, err := s.ReconcileCalls(t.Context()); err != nil || n != 1 {
		t.Fatalf("ReconcileCalls = %d, %v; want the lost leg only", n, err)
	}
	got := eventStatuses(t, s, c.ID)
	if !slices.Contains(got, "k2-in:lost") || slices.ContainsFunc(got, func(s string) bool { return s == "k2-out:completed" || s == "k2-out:lost" }) {
		t.Errorf("events %v; want k2-in lost, k2-out still open", got)
	}
	if n, _ := s.ReconcileCalls(t.Context()); n != 0 || len(fv.askedLegs()) != 2 {
		t.Errorf("at once again: %d, asked %v; want the open leg's claim to hold", n, fv.askedLegs())
	}
	clk.Add(reconcileQuiet + time.Second) // the claim has passed, and the lost event is quiet
	fv.setDetail("k2-out", CallDetail{UUID: "k2-out", Status: "busy", Direction: "outbound"})
	if n, err := s.ReconcileCalls(t.Context()); err != nil || n != 1 {
		t.Fatalf("after the claim: %d, %v; want the open leg", n, err)
	}
	if asked := fv.askedLegs(); !slices.Equal(asked, []string{"k2-in", "k2-out", "k2-out"}) {
		t.Errorf("asked %v; want the lost leg once, the live one twice", asked)
	}
	if got := eventStatuses(t, s, c.ID); !slices.Contains(got, "k2-out:busy") {
		t.Errorf("events %v; want k2-out busy", got)
	}
}

// addOpenCalls stores n calls of conversation c, each with one answered
// leg "<prefix>-<i>", created now.
func addOpenCalls(t *testing.T, s *Service, c Conversation, prefix string, n int) {
	t.Helper()
	for i := range n {
		in := Interaction{ID: newID(s.now()), ConversationID: c.ID, Kind: KindCall, ExternalID: fmt.Sprintf("CON-%s-%d", prefix, i),
			From: gbA, To: c.Participants[SideA].ProxyNumber, CreatedAt: s.now()}
		if err := s.store.AddInteraction(t.Context(), in); err != nil {
			t.Fatal(err)
		}
		ev := InteractionEvent{Leg: fmt.Sprintf("%s-%d", prefix, i), Status: EventAnswered, At: s.now(), Direction: "inbound"}
		if err := s.store.AddInteractionEvent(t.Context(), in.ID, ev); err != nil {
			t.Fatal(err)
		}
	}
}

// One sweep asks about at most reconcileBatch calls; the next one goes
// on from there, and calls the Voice API still reports live do not keep
// the others waiting.
func TestReconcileBoundPerSweep(t *testing.T) {
	t.Parallel()
	fv := newFakeVoice()
	s, clk := newCallControlService(t, fv, nil)
	c := mustCreate(t, s, CreateRequest{A: gbA, B: gbB, TTL: 48 * time.Hour})
	addOpenCalls(t, s, c, "live", reconcileBatch) // the oldest: still live for Vonage
	addOpenCalls(t, s, c, "gone", 50)
	for i := range reconcileBatch {
		leg := fmt.Sprintf("live-%d", i)
		fv.setDetail(leg, CallDetail{UUID: leg, Status: "answered"})
	}
	pastReconcileAge(clk)
	if n, err := s.ReconcileCalls(t.Context()); err != nil || n != 0 || len(fv.askedLegs()) != reconcileBatch {
		t.Fatalf("first sweep: %d recorded, %v, %d asked; want %d asked, none ended", n, err, len(fv.askedLegs()), reconcileBatch)
	}
	if n, err := s.ReconcileCalls(t.Context()); err != nil || n != 50 || len(fv.askedLegs()) != reconcileBatch+50 {
		t.Fatalf("second sweep: %d recorded, %v, %d asked; want the 50 after the cursor", n, err, len(fv.askedLegs()))
	}
	if asked := fv.askedLegs(); asked[reconcileBatch] != "gone-0" {
		t.Errorf("second sweep began with %s, want gone-0", asked[reconcileBatch])
	}
	// The cursor went round: the live ones again, once their claim passed.
	clk.Add(reconcileQuiet)
	if _, err := s.ReconcileCalls(t.Context()); err != nil || len(fv.askedLegs()) != 2*reconcileBatch+50 {
		t.Errorf("third sweep: %v, %d asked; want the live ones again", err, len(fv.askedLegs()))
	}
}

// A Voice API failure that is not the leg's own stops the sweep with its
// error and records nothing; one that is (a refused region) skips the leg.
func TestReconcileVoiceErrors(t *testing.T) {
	t.Parallel()
	fv := newFakeVoice()
	s, clk := newCallControlService(t, fv, nil)
	c := mustCreate(t, s, CreateRequest{A: gbA, B: gbB, TTL: 24 * time.Hour})
	addOpenCalls(t, s, c, "e", 3)
	pastReconcileAge(clk)
	fv.callErr = fmt.Errorf("get: %w", ErrVoiceServer)
	if n, err := s.ReconcileCalls(t.Context()); !errors.Is(err, ErrVoiceServer) || n != 0 || len(fv.askedLegs()) != 1 {
		t.Errorf("on a 5xx: %d, %v, asked %v; want ErrVoiceServer after one request", n, err, fv.askedLegs())
	}
	clk.Add(reconcileQuiet)
	fv.callErr = fmt.Errorf("get: %w", ErrUntrustedURL)
	if n, err := s.ReconcileCalls(t.Context()); err != nil || n != 0 || len(fv.askedLegs()) != 4 {
		t.Errorf("on a leg's own error: %d, %v, asked %v; want every leg asked, none recorded", n, err, fv.askedLegs())
	}
	if got := eventStatuses(t, s, c.ID); slices.ContainsFunc(got, func(s string) bool {
		return !slices.Contains([]string{"e-0:answered", "e-1:answered", "e-2:answered"}, s)
	}) {
		t.Errorf("events %v; want nothing recorded", got)
	}
}

// Without call control there is nothing to ask; with spooled events the
// store cannot take, nothing is asked either: the spool goes first, and
// a leg whose event it held is not asked about.
func TestReconcileOffAndSpoolFirst(t *testing.T) {
	t.Parallel()
	off, _ := newTestService(t, gbPool(gbP1, gbP2), nil)
	if n, err := off.ReconcileCalls(t.Context()); err != nil || n != 0 {
		t.Errorf("without call control: %d, %v", n, err)
	}
	fv := newFakeVoice()
	down := &eventDownStore{}
	s, clk := newCallControlService(t, fv, func(c *Config) { down.Store = c.Store; c.Store = down })
	c := mustCreate(t, s, CreateRequest{A: gbA, B: gbB, TTL: 24 * time.Hour})
	answerAndConnect(t, s, c, "k3")
	down.down = true
	s.events.add(spooledEvent{p: voice.Params{ConversationUUID: "CON-k3", UUID: "k3-out", Status: "completed"}, at: clk.Now()})
	pastReconcileAge(clk)
	if n, err := s.ReconcileCalls(t.Context()); err == nil || n != 0 || len(fv.askedLegs()) != 0 {
		t.Errorf("with the spool unwritten: %d, %v, asked %v; want the store's error, nothing asked", n, err, fv.askedLegs())
	}
	// Back: the spooled completed event is written first, so only the
	// other leg is asked about.
	down.down = false
	if n, err := s.ReconcileCalls(t.Context()); err != nil || n != 1 || !slices.Equal(fv.askedLegs(), []string{"k3-in"}) {
		t.Errorf("with the store back: %d, %v, asked %v; want the spool written, then k3-in asked", n, err, fv.askedLegs())
	}
	if s.events.len() != 0 {
		t.Errorf("%d events still spooled", s.events.len())
	}
}

// eventDownStore fails the lookups of call events while down.
type eventDownStore struct {
	Store
	down bool
}

func (e *eventDownStore) InteractionByExternalID(ctx context.Context, k InteractionKind, ext string) (Interaction, error) {
	if e.down {
		return Interaction{}, errors.New("connection refused")
	}
	return e.Store.InteractionByExternalID(ctx, k, ext)
}

// Figures of the Voice API's detail are taken only when shaped as
// Vonage gives them; statuses that are not final record nothing.
func TestReconciledEventChecksDetail(t *testing.T) {
	t.Parallel()
	now := testNow
	base := InteractionEvent{Leg: "l", At: now, Detail: ReconciledDetail, Direction: "inbound"}
	ev, ok := reconciledEvent(base, CallDetail{Status: "COMPLETED", Direction: "sideways", Price: "1e9", Rate: "0.1; DROP",
		Network: "\x00evil", Duration: 10 * maxReconciledDuration, StartTime: now.Add(time.Hour), EndTime: time.Unix(0, 0)}, now)
	if !ok || ev.Status != EventCompleted || ev.Direction != "inbound" || ev.Price != "" || ev.Rate != "" || ev.Network != "" ||
		ev.Duration != 0 || !ev.StartTime.IsZero() || !ev.EndTime.IsZero() || !ev.At.Equal(now) {
		t.Errorf("malformed detail gave %+v; want completed with none of its figures", ev)
	}
	for _, st := range []EventStatus{"answered", "ringing", "started", "machine", "hungup", "lost", "blocked", "", "completed\x00"} {
		if _, ok := reconciledEvent(base, CallDetail{Status: st}, now); ok {
			t.Errorf("status %q recorded as final", st)
		}
	}
}
