package proxy

import (
	"sort"
	"strconv"
	"time"
)

// Summary is an interaction's outcome so far, derived from its events.
type Summary struct {
	// Status is "blocked" when the call or SMS was refused (an Intercept
	// veto, a conversation of the other mode); else "completed" once any
	// leg completed (both are terminal, so late or out-of-order events do
	// not undo them); otherwise the status of the latest event by time;
	// "" when there are no events.
	Status EventStatus
	// Duration is the longest completed leg, in seconds.
	Duration int
	// Price is the sum of the legs' prices as Vonage reported them ("" if
	// none reported one).
	Price string
	// At is the time of the event that gave Status.
	At time.Time
}

// Summarize derives an interaction's current status, duration and price
// from its events, tolerating duplicates and any arrival order.
func Summarize(in Interaction) Summary {
	evs := append([]InteractionEvent(nil), in.Events...)
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].At.Before(evs[j].At) })
	// Terminal statuses outrank the rest, and the first of the highest
	// rank stands; among the others the latest wins.
	rank := func(status EventStatus) int {
		switch status {
		case EventBlocked:
			return 2
		case EventCompleted:
			return 1
		}
		return 0
	}
	var sum Summary
	var price float64
	prices := 0
	for _, ev := range evs {
		if ev.Status == EventCompleted {
			sum.Duration = max(sum.Duration, ev.Duration)
		}
		if r, cur := rank(ev.Status), rank(sum.Status); r > cur || (r == 0 && cur == 0) {
			sum.Status, sum.At = ev.Status, ev.At
		}
		if ev.Price != "" {
			if f, err := strconv.ParseFloat(ev.Price, 64); err == nil && f != 0 {
				price += f
				prices++
				sum.Price = ev.Price
			}
		}
	}
	if prices > 1 {
		sum.Price = strconv.FormatFloat(price, 'f', 8, 64)
	}
	return sum
}
