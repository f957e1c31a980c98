package proxy

import (
	"slices"
	"strconv"
	"time"
)

// Summary is an interaction's outcome so far, derived from its events.
type Summary struct {
	// Status is the outcome:
	//   - EventBlocked: the call or SMS was refused (an Intercept veto, a
	//     conversation of the other mode).
	//   - A call: the called participant's leg decides, since the
	//     caller's leg, answered by the Service, completes either way.
	//     EventCompleted once the two were connected and the call ended;
	//     EventBusy, EventUnanswered, EventRejected, EventFailed,
	//     EventTimeout or EventCancelled when the callee never picked
	//     up; else EventError when Vonage reported an error; else
	//     EventCompleted when the caller's leg completed without a callee
	//     leg (nothing was connected); else the latest event's status.
	//   - An SMS: the delivery receipt's status once one came
	//     (EventDelivered, or EventUndelivered, EventExpired or
	//     EventRejected, which outrank delivered parts); else EventFailed
	//     when it could not be sent; else EventRelayed or EventSent; else
	//     the latest event's status (the Messages API's EventSubmitted
	//     only when nothing else was recorded).
	//   - "" when there are no events.
	// Terminal statuses stand however late or out of order other events
	// arrive.
	Status EventStatus
	// Duration is the connected time in seconds: the callee leg's
	// completed duration (0 when it never answered); for a call with no
	// callee leg, the caller's.
	Duration int
	// Price is the sum of the legs' (or parts') prices as Vonage reported
	// them ("" if none reported one).
	Price string
	// At is the time of the event that gave Status.
	At time.Time
	// Detail is that event's Detail: why a leg failed, an error's reason,
	// a receipt's error code.
	Detail string
}

// calleeOutcomes are the statuses that end the outbound (callee) leg.
var calleeOutcomes = []EventStatus{
	EventCompleted, EventBusy, EventUnanswered, EventRejected, EventFailed, EventTimeout, EventCancelled,
}

// receiptFailures are delivery-receipt statuses that mean not delivered.
var receiptFailures = []EventStatus{EventUndelivered, EventExpired, EventRejected}

// Summarize derives an interaction's outcome, duration and price from its
// events, tolerating duplicates and any arrival order.
func Summarize(in Interaction) Summary {
	evs := slices.Clone(in.Events)
	sortEvents(evs)
	sum := &Summary{Price: totalPrice(evs)}
	if len(evs) == 0 {
		return *sum
	}
	set := sum.from
	first := func(match func(InteractionEvent) bool) (InteractionEvent, bool) { return firstEvent(evs, match) }
	if ev, ok := first(func(e InteractionEvent) bool { return e.Status == EventBlocked }); ok {
		set(ev)
		for _, e := range evs {
			if e.Status == EventCompleted {
				sum.Duration = max(sum.Duration, e.Duration)
			}
		}
		return *sum
	}
	if in.Kind == KindCall {
		sum.call(evs)
		return *sum
	}
	for _, match := range []func(InteractionEvent) bool{
		func(e InteractionEvent) bool { return slices.Contains(receiptFailures, e.Status) },
		func(e InteractionEvent) bool { return e.Status == EventDelivered },
		func(e InteractionEvent) bool { return e.Status == EventFailed },
	} {
		if ev, ok := first(match); ok {
			set(ev)
			return *sum
		}
	}
	// The Messages API's "submitted" says no more than the send did.
	last := len(evs) - 1
	for last > 0 && evs[last].Status == EventSubmitted {
		last--
	}
	set(evs[last])
	return *sum
}

// from takes Status, At and Detail from the event that decides them.
func (sum *Summary) from(ev InteractionEvent) {
	sum.Status, sum.At, sum.Detail = ev.Status, ev.At, ev.Detail
}

// firstEvent is the first of evs that matches.
func firstEvent(evs []InteractionEvent, match func(InteractionEvent) bool) (InteractionEvent, bool) {
	i := slices.IndexFunc(evs, match)
	if i < 0 {
		return InteractionEvent{}, false
	}
	return evs[i], true
}

// call summarises a call whose events are evs, by time.
func (sum *Summary) call(evs []InteractionEvent) {
	set := sum.from
	first := func(match func(InteractionEvent) bool) (InteractionEvent, bool) { return firstEvent(evs, match) }
	// Legs Vonage marked outbound are the callee's. Events recorded
	// before directions were kept have none: then every leg counts as
	// the callee's, which is how such calls were read before.
	directed := slices.ContainsFunc(evs, func(e InteractionEvent) bool { return e.Direction != "" })
	callee := func(e InteractionEvent) bool { return !directed || e.Direction == "outbound" }
	hasCallee := slices.ContainsFunc(evs, func(e InteractionEvent) bool { return directed && e.Direction == "outbound" })
	if ev, ok := first(func(e InteractionEvent) bool { return callee(e) && slices.Contains(calleeOutcomes, e.Status) }); ok {
		set(ev)
		if ev.Status == EventCompleted {
			sum.Duration = ev.Duration
			if !directed { // as before: the longest completed leg
				for _, e := range evs {
					if e.Status == EventCompleted {
						sum.Duration = max(sum.Duration, e.Duration)
					}
				}
			}
		}
		return
	}
	if ev, ok := first(func(e InteractionEvent) bool { return e.Status == EventError }); ok {
		set(ev)
		return
	}
	if !hasCallee {
		if ev, ok := first(func(e InteractionEvent) bool { return e.Status == EventCompleted }); ok {
			set(ev)
			sum.Duration = ev.Duration
			return
		}
	}
	set(evs[len(evs)-1])
}

// totalPrice adds up the events' prices.
func totalPrice(evs []InteractionEvent) string {
	var price float64
	prices, last := 0, ""
	for _, ev := range evs {
		if ev.Price == "" {
			continue
		}
		if f, err := strconv.ParseFloat(ev.Price, 64); err == nil && f != 0 {
			price += f
			prices++
			last = ev.Price
		}
	}
	if prices > 1 {
		return strconv.FormatFloat(price, 'f', 8, 64)
	}
	return last
}

// lifecycleRank orders the statuses of one call leg or one SMS as they
// happen: a call starts, rings, is answered and ends; an SMS is relayed,
// sent, submitted, then delivered or not. Statuses not listed (the
// Service's own decisions: hung up, blocked, redacted, …) keep their
// places.
var lifecycleRank = map[EventStatus]int{
	EventStarted: 1, EventRinging: 2, EventAnswered: 3,
	EventCompleted: 5, EventBusy: 5, EventCancelled: 5, EventUnanswered: 5, EventRejected: 5,
	EventTimeout: 5, EventFailed: 5, EventError: 5, EventLost: 5, EventRecorded: 6,
	EventRelayed: 1, EventSent: 2, EventSubmitted: 3,
	EventDelivered: 4, EventUndelivered: 4, EventExpired: 4,
}

// sortEvents puts events in the order they happened: by time, and within
// one leg (one call leg, one SMS) by its lifecycle where the times fall
// in one second. Vonage stamps some events to the whole second (an SMS
// API receipt's message-timestamp, a Messages status's timestamp) while
// the Service stamps its own to the nanosecond, so a "delivered" at
// 09:00:00 would sort before the "sent" of 09:00:00.4. Each leg's
// lifecycle events keep the places they had among the others'.
func sortEvents(evs []InteractionEvent) {
	slices.SortStableFunc(evs, func(a, b InteractionEvent) int { return a.At.Compare(b.At) })
	slots := map[string][]int{}
	for i, e := range evs {
		if _, ranked := lifecycleRank[e.Status]; ranked {
			slots[e.Leg] = append(slots[e.Leg], i)
		}
	}
	for _, idx := range slots {
		if len(idx) < 2 {
			continue
		}
		leg := make([]InteractionEvent, len(idx))
		for k, i := range idx {
			leg[k] = evs[i]
		}
		slices.SortStableFunc(leg, func(a, b InteractionEvent) int {
			if c := a.At.Truncate(time.Second).Compare(b.At.Truncate(time.Second)); c != 0 {
				return c
			}
			if c := lifecycleRank[a.Status] - lifecycleRank[b.Status]; c != 0 {
				return c
			}
			return a.At.Compare(b.At)
		})
		for k, i := range idx {
			evs[i] = leg[k]
		}
	}
}
