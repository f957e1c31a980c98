package proxytest_test

import (
	"net/http"
	"testing"

	"github.com/voiceproxy/voiceproxy/proxy/proxytest"
	"github.com/voiceproxy/voiceproxy/sms"
)

// The carriers' STOP rule: after a handset texts STOP to a number, one
// confirmation from that number is allowed and anything more from it is
// a violation, until START; other numbers are not concerned.
func TestStopRuleOptOutViolations(t *testing.T) {
	t.Parallel()
	v := proxytest.NewVonage()
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	sim := &proxytest.Simulator{Handler: ok, Vonage: v}
	c, err := sms.NewClient(proxytest.APIKey, proxytest.APISecret, sms.WithHTTPClient(v.Client()), sms.WithBaseURL(proxytest.InProcessURL))
	if err != nil {
		t.Fatal(err)
	}
	const handset, number, other = "447400123456", "447700900001", "447700900002"
	send := func(from string) {
		t.Helper()
		if _, err := c.Send(t.Context(), sms.Message{From: from, To: handset, Text: "hi"}); err != nil {
			t.Fatal(err)
		}
	}
	text := func(body string) {
		t.Helper()
		if _, err := sim.SendSMS(t.Context(), "+"+handset, number, body); err != nil {
			t.Fatal(err)
		}
	}
	send(number)
	text("Stop")
	if !v.OptedOut(handset, number) || v.OptedOut(handset, other) {
		t.Fatalf("after STOP: opted out of %s %v, of %s %v; want only the number texted", number, v.OptedOut(handset, number), other, v.OptedOut(handset, other))
	}
	send(number) // the confirmation
	send(other)
	if got := v.OptOutViolations(); len(got) != 0 {
		t.Fatalf("the confirmation and a message from another number counted as violations: %+v", got)
	}
	send(number)
	if got := v.OptOutViolations(); len(got) != 1 || got[0].From != number || got[0].To != handset {
		t.Fatalf("a second message after STOP: violations %+v, want it", got)
	}
	text("START")
	send(number)
	if got := v.OptOutViolations(); len(got) != 1 || v.OptedOut(handset, number) {
		t.Errorf("after START: violations %+v, opted out %v; want the old one only", got, v.OptedOut(handset, number))
	}
}
