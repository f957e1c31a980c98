package proxy

import (
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestSummarize(t *testing.T) {
	t.Parallel()
	in := func(dir string) func(status EventStatus, sec int, extra ...func(*InteractionEvent)) InteractionEvent {
		leg := map[string]string{"inbound": "leg-in", "outbound": "leg-out", "": "leg"}[dir]
		return func(status EventStatus, sec int, extra ...func(*InteractionEvent)) InteractionEvent {
			ev := InteractionEvent{Leg: leg, Status: status, At: at(sec), Direction: dir}
			for _, f := range extra {
				f(&ev)
			}
			return ev
		}
	}
	caller, callee, undirected := in("inbound"), in("outbound"), in("")
	dur := func(d int) func(*InteractionEvent) { return func(e *InteractionEvent) { e.Duration = d } }
	price := func(p string) func(*InteractionEvent) { return func(e *InteractionEvent) { e.Price = p } }
	detail := func(d string) func(*InteractionEvent) { return func(e *InteractionEvent) { e.Detail = d } }
	receipt := func(status EventStatus, sec int, id string) InteractionEvent {
		return InteractionEvent{Leg: id, Status: status, At: at(sec)}
	}
	tests := []struct {
		name string
		kind InteractionKind
		evs  []InteractionEvent
		want Summary
	}{
		{"no events", KindCall, nil, Summary{}},
		{"connected call", KindCall, []InteractionEvent{
			caller(EventAnswered, 1), callee(EventAnswered, 5),
			callee(EventCompleted, 65, dur(60), price("0.01")), caller(EventCompleted, 66, dur(65), price("0.02")),
		}, Summary{Status: EventCompleted, Duration: 60, Price: "0.03000000", At: at(65)}},
		{"callee unanswered, caller leg completes", KindCall, []InteractionEvent{
			caller(EventAnswered, 1), callee(EventRinging, 2), caller(EventCompleted, 62, dur(61)), callee(EventUnanswered, 61),
		}, Summary{Status: EventUnanswered, At: at(61)}},
		{"callee rejected arrives after the caller's completed", KindCall, []InteractionEvent{
			caller(EventCompleted, 10, dur(9)), callee(EventRejected, 30, detail("call_rejected")),
		}, Summary{Status: EventRejected, At: at(30), Detail: "call_rejected"}},
		{"error, nothing else ended", KindCall, []InteractionEvent{
			caller(EventStarted, 0), {Status: EventError, At: at(1), Detail: "Invalid NCCO"},
		}, Summary{Status: EventError, At: at(1), Detail: "Invalid NCCO"}},
		{"caller leg only (nothing connected)", KindCall, []InteractionEvent{
			caller(EventAnswered, 1), caller(EventCompleted, 5, dur(4)),
		}, Summary{Status: EventCompleted, Duration: 4, At: at(5)}},
		{"callee still ringing", KindCall, []InteractionEvent{
			caller(EventAnswered, 1), callee(EventRinging, 3),
		}, Summary{Status: EventRinging, At: at(3)}},
		{"events without direction read as before", KindCall, []InteractionEvent{
			undirected(EventCompleted, 30, dur(29)), {Leg: "other", Status: EventBusy, At: at(40)},
		}, Summary{Status: EventCompleted, Duration: 29, At: at(30)}},
		{"sms delivered", KindSMS, []InteractionEvent{
			{Status: EventRelayed, At: at(1), Price: "0.0333"}, receipt(EventDelivered, 0, "M1"),
		}, Summary{Status: EventDelivered, Price: "0.0333", At: at(0)}},
		{"sms: one part undelivered outranks a delivered one", KindSMS, []InteractionEvent{
			{Status: EventRelayed, At: at(1)}, receipt(EventDelivered, 2, "M1"), receipt(EventUndelivered, 3, "M2"),
		}, Summary{Status: EventUndelivered, At: at(3)}},
		{"sms send failed", KindSMS, []InteractionEvent{
			{Status: EventFailed, At: at(1), Detail: "number barred"},
		}, Summary{Status: EventFailed, At: at(1), Detail: "number barred"}},
		{"notification sent", KindNotification, []InteractionEvent{{Status: EventSent, At: at(1)}},
			Summary{Status: EventSent, At: at(1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Summarize(Interaction{Kind: tt.kind, Events: tt.evs})
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("summary (-want +got):\n%s", diff)
			}
		})
	}
}

// A click-to-call has two outbound legs; the Service's own events
// (requested, hungup) do not decide its outcome.
func TestSummarizeClickToCall(t *testing.T) {
	t.Parallel()
	at := func(s int) time.Time { return testNow.Add(time.Duration(s) * time.Second) }
	base := []InteractionEvent{
		{Leg: "a", Status: EventRequested, Direction: "outbound", At: at(0)},
		{Leg: "a", Status: EventAnswered, Direction: "outbound", At: at(5)},
		{Leg: "b", Status: EventRinging, Direction: "outbound", At: at(7)},
	}
	busy := append(append([]InteractionEvent{}, base...),
		InteractionEvent{Leg: "b", Status: EventBusy, Direction: "outbound", At: at(9)},
		InteractionEvent{Leg: "a", Status: EventCompleted, Direction: "outbound", At: at(10), Duration: 5})
	if s := Summarize(Interaction{Kind: KindCall, Events: busy}); s.Status != EventBusy || s.Duration != 0 {
		t.Errorf("B busy: %+v", s)
	}
	hung := append(append([]InteractionEvent{}, base...),
		InteractionEvent{Leg: "b", Status: EventAnswered, Direction: "outbound", At: at(9)},
		InteractionEvent{Leg: "a", Status: EventHungUp, At: at(60), Detail: "conversation closed"},
		InteractionEvent{Leg: "b", Status: EventCompleted, Direction: "outbound", At: at(61), Duration: 52},
		InteractionEvent{Leg: "a", Status: EventCompleted, Direction: "outbound", At: at(61), Duration: 56})
	if s := Summarize(Interaction{Kind: KindCall, Events: hung}); s.Status != EventCompleted || s.Duration != 52 {
		t.Errorf("hung up after talking: %+v", s)
	}
	if s := Summarize(Interaction{Kind: KindCall, Events: base}); s.Status != EventRinging {
		t.Errorf("in progress: %+v", s)
	}
}

// The Messages API's "submitted" does not hide the send's own status.
func TestSummarizeSubmitted(t *testing.T) {
	t.Parallel()
	at := func(s int) time.Time { return testNow.Add(time.Duration(s) * time.Second) }
	in := Interaction{Kind: KindSMS, Events: []InteractionEvent{
		{Status: EventRelayed, At: at(0), Price: "0.03"},
		{Leg: "u", Status: EventSubmitted, At: at(1)},
	}}
	if s := Summarize(in); s.Status != EventRelayed {
		t.Errorf("relayed then submitted: %s", s.Status)
	}
	in.Events = append(in.Events, InteractionEvent{Leg: "u", Status: EventDelivered, At: at(5)})
	if s := Summarize(in); s.Status != EventDelivered {
		t.Errorf("then delivered: %s", s.Status)
	}
}

// A receipt stamped to the whole second comes after the "sent" the
// Service stamped a moment into that second, and the legs of a call keep
// their places among each other.
func TestSortEventsWholeSecondReceipts(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	evs := []InteractionEvent{
		{Leg: "m1", Status: EventSent, At: at.Add(400 * time.Millisecond)},
		{Leg: "m1", Status: EventDelivered, At: at},
		{Leg: "m1", Status: EventSubmitted, At: at},
		{Leg: "m1", Status: EventRelayed, At: at.Add(100 * time.Millisecond)},
		{Leg: "callee", Status: EventStarted, At: at.Add(2*time.Second + 300*time.Millisecond)},
		{Leg: "caller", Status: EventAnswered, At: at.Add(2*time.Second + 200*time.Millisecond)},
	}
	sortEvents(evs)
	var got []string
	for _, e := range evs {
		got = append(got, e.Leg+":"+string(e.Status))
	}
	want := []string{"m1:relayed", "m1:sent", "m1:submitted", "m1:delivered", "caller:answered", "callee:started"}
	if !slices.Equal(got, want) {
		t.Errorf("order %v, want %v", got, want)
	}
}
