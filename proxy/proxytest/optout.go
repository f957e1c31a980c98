package proxytest

import (
	"slices"
	"strings"
)

// The carriers' opt-out rule, as the simulated account keeps it: a
// handset that texts STOP to a number gets one confirmation from that
// number and nothing more until it texts START (the CTIA's Messaging
// Principles and Best Practices, which US carriers enforce; Vonage's
// "Opt-Out Assist" technical details say the same, and that a STOP
// applies only to the number the end user texted, not to the rest of a
// pool). The simulator does not block such a message, as a sender's own
// duty it is kept track of: OptOutViolations lists it.

// optOutWords and optInWords are the keywords Vonage's short-code
// registration makes mandatory ("Opt-Out Assist": stop, end, quit,
// cancel, unsubscribe; opt-in START), with STOPALL and UNSTOP, matched
// against the whole text in any case.
var (
	optOutWords = []string{"STOP", "STOPALL", "END", "QUIT", "CANCEL", "UNSUBSCRIBE"}
	optInWords  = []string{"START", "UNSTOP"}
)

// optOutKey is a (number texted, handset) pair.
type optOutKey struct{ number, handset string }

// noteKeyword records what the handset's SMS text to number does to its
// opt-out there: called as the handset sends it, before the application
// hears of it.
func (v *Vonage) noteKeyword(handset, number, text string) {
	w := strings.ToUpper(strings.Trim(strings.TrimSpace(text), ".!"))
	k := optOutKey{digits(number), digits(handset)}
	v.mu.Lock()
	defer v.mu.Unlock()
	switch {
	case slices.Contains(optOutWords, w):
		if v.optOuts == nil {
			v.optOuts = map[optOutKey]int{}
		}
		if _, ok := v.optOuts[k]; !ok {
			v.optOuts[k] = 0
		}
	case slices.Contains(optInWords, w):
		delete(v.optOuts, k)
	}
}

// checkOptOut counts msg against its recipient's opt-out from its
// sender: the first message after a STOP is its confirmation, any other
// a violation. v.mu is held.
func (v *Vonage) checkOptOut(msg SentSMS) {
	k := optOutKey{digits(msg.From), digits(msg.To)}
	n, ok := v.optOuts[k]
	if !ok {
		return
	}
	if n > 0 {
		v.violations = keepLast(append(v.violations, msg), maxKept)
	}
	v.optOuts[k] = n + 1
}

// OptOutViolations lists the SMS the account sent to a handset from a
// number it had texted STOP to, beyond the one confirmation, oldest
// first. A test of a sender that honours STOP expects none.
func (v *Vonage) OptOutViolations() []SentSMS {
	v.mu.Lock()
	defer v.mu.Unlock()
	return slices.Clone(v.violations)
}

// OptedOut reports whether handset has texted STOP to number (and not
// START since), as the carriers hold it.
func (v *Vonage) OptedOut(handset, number string) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	_, ok := v.optOuts[optOutKey{digits(number), digits(handset)}]
	return ok
}
