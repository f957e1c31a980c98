package storetest

import (
	"slices"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/voiceproxy/voiceproxy/proxy"
)

// openCalls returns the IDs OpenCalls lists for q.
func (f *fixture) openCalls(q proxy.OpenCallQuery) []string {
	f.t.Helper()
	ins, err := f.s.OpenCalls(f.ctx, q)
	if err != nil {
		f.t.Fatalf("OpenCalls(%+v): %v", q, err)
	}
	if ins == nil {
		f.t.Errorf("OpenCalls(%+v) = nil, want an empty slice", q)
	}
	ids := []string{}
	for _, in := range ins {
		ids = append(ids, in.ID)
	}
	return ids
}

// openCallFixture stores calls (and an SMS) in every state OpenCalls
// tells apart, created at base plus minutes, and returns the query that
// selects the window [base, base+1h) quiet since base+2h.
func (f *fixture) openCallFixture() proxy.OpenCallQuery {
	f.create(conv("c1", alice, gb1, bob, gb2, base.Add(-time.Hour), 48*time.Hour))
	ev := func(leg string, st proxy.EventStatus, min int) proxy.InteractionEvent {
		return proxy.InteractionEvent{Leg: leg, Status: st, At: at(time.Duration(min) * time.Minute)}
	}
	for _, c := range []struct {
		id      string
		kind    proxy.InteractionKind
		created int // minutes after base
		events  []proxy.InteractionEvent
	}{
		{"i-01-open", proxy.KindCall, 1, []proxy.InteractionEvent{ev("L1", proxy.EventStarted, 1), ev("L1", proxy.EventAnswered, 2)}},
		{"i-02-done", proxy.KindCall, 2, []proxy.InteractionEvent{ev("L1", proxy.EventAnswered, 2), ev("L1", proxy.EventCompleted, 9)}},
		{"i-03-half", proxy.KindCall, 3, []proxy.InteractionEvent{ev("L1", proxy.EventAnswered, 3), ev("L1", proxy.EventCompleted, 4), ev("L2", proxy.EventRinging, 5)}},
		{"i-04-sms", proxy.KindSMS, 4, []proxy.InteractionEvent{ev("L1", proxy.EventStarted, 4)}},
		{"i-05-young", proxy.KindCall, 61, []proxy.InteractionEvent{ev("L1", proxy.EventAnswered, 61)}},
		{"i-06-old", proxy.KindCall, -1, []proxy.InteractionEvent{ev("L1", proxy.EventAnswered, 0)}},
		{"i-07-noisy", proxy.KindCall, 7, []proxy.InteractionEvent{ev("L1", proxy.EventAnswered, 7), ev("rec", proxy.EventRecorded, 120)}},
		{"i-08-noleg", proxy.KindCall, 8, []proxy.InteractionEvent{ev("", proxy.EventAnswered, 8)}},
		{"i-09-lost", proxy.KindCall, 9, []proxy.InteractionEvent{ev("L1", proxy.EventAnswered, 9), ev("L1", proxy.EventLost, 100)}},
		{"i-10-hungup", proxy.KindCall, 10, []proxy.InteractionEvent{ev("L1", proxy.EventAnswered, 10), ev("L1", proxy.EventHungUp, 11)}},
		{"i-11-requested", proxy.KindCall, 11, []proxy.InteractionEvent{ev("L1", proxy.EventRequested, 11), ev("rec", proxy.EventError, 12)}},
		{"i-12-ended-first", proxy.KindCall, 12, []proxy.InteractionEvent{ev("L1", proxy.EventCompleted, 12), ev("L1", proxy.EventAnswered, 13)}},
		{"i-13-noevents", proxy.KindCall, 13, nil},
	} {
		in := call(c.id, "c1", "CON-"+c.id, at(time.Duration(c.created)*time.Minute))
		in.Kind = c.kind
		f.addInteraction(in)
		for _, e := range c.events {
			f.addEvent(c.id, e)
		}
	}
	return proxy.OpenCallQuery{CreatedAfter: base, CreatedBefore: at(time.Hour), QuietBefore: at(2 * time.Hour)}
}

var openCallTests = []test{
	{"SelectsOpenLegs", func(f *fixture) {
		q := f.openCallFixture()
		// A leg is open with a live status and no ending one, in either
		// order; a leg of "" never is; an SMS is no call.
		want := []string{"i-01-open", "i-03-half", "i-11-requested"}
		if diff := cmp.Diff(want, f.openCalls(q)); diff != "" {
			f.t.Errorf("OpenCalls (-want +got):\n%s", diff)
		}
		q.QuietBefore = at(3 * time.Hour) // the recording event of i-07 is past
		want = []string{"i-01-open", "i-03-half", "i-07-noisy", "i-11-requested"}
		if diff := cmp.Diff(want, f.openCalls(q)); diff != "" {
			f.t.Errorf("OpenCalls quiet since 3h (-want +got):\n%s", diff)
		}
		q.CreatedAfter = time.Time{} // no lower bound: the older call too
		if got := f.openCalls(q); !slices.Contains(got, "i-06-old") || slices.Contains(got, "i-05-young") {
			f.t.Errorf("OpenCalls without a lower bound = %v; want i-06-old, not i-05-young", got)
		}
		q.CreatedAfter, q.CreatedBefore = at(time.Hour), at(2*time.Hour)
		if got := f.openCalls(q); !slices.Equal(got, []string{"i-05-young"}) {
			f.t.Errorf("OpenCalls of the next hour = %v, want [i-05-young]", got)
		}
	}},
	{"EventsAndOrder", func(f *fixture) {
		q := f.openCallFixture()
		ins, err := f.s.OpenCalls(f.ctx, q)
		if err != nil || len(ins) != 3 {
			f.t.Fatalf("OpenCalls = %d, %v; want 3", len(ins), err)
		}
		want, err := f.s.Interaction(f.ctx, "i-03-half")
		if err != nil {
			f.t.Fatal(err)
		}
		if diff := cmp.Diff(want, ins[1], cmpOpts); diff != "" {
			f.t.Errorf("OpenCalls' i-03-half differs from Interaction's (-want +got):\n%s", diff)
		}
		if len(ins[1].Events) != 3 {
			f.t.Errorf("i-03-half has %d events, want all 3", len(ins[1].Events))
		}
	}},
	{"LimitAndCursor", func(f *fixture) {
		q := f.openCallFixture()
		q.Limit = 2
		if got := f.openCalls(q); !slices.Equal(got, []string{"i-01-open", "i-03-half"}) {
			f.t.Errorf("OpenCalls limit 2 = %v", got)
		}
		q.After = "i-03-half"
		if got := f.openCalls(q); !slices.Equal(got, []string{"i-11-requested"}) {
			f.t.Errorf("OpenCalls after i-03-half = %v", got)
		}
		q.After = "i-11-requested"
		if got := f.openCalls(q); len(got) != 0 {
			f.t.Errorf("OpenCalls after the last = %v, want none", got)
		}
	}},
	{"Empty", func(f *fixture) {
		if got := f.openCalls(proxy.OpenCallQuery{CreatedBefore: at(time.Hour), QuietBefore: at(time.Hour)}); len(got) != 0 {
			f.t.Errorf("OpenCalls of an empty store = %v", got)
		}
	}},
}
