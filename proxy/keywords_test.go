package proxy

import "testing"

func TestRedact(t *testing.T) {
	t.Parallel()
	all := RedactPolicy{Phones: true, Emails: true, URLs: true}
	for _, tc := range []struct {
		p             RedactPolicy
		in, out, what string
	}{
		{all, "Call me on +44 7700 900123 or 07700-900-123", "Call me on [removed] or [removed]", "2 phone numbers"},
		{all, "mail jo.bloggs+taxi@example.co.uk", "mail [removed]", "1 e-mail address"},
		{all, "see https://pay.example.com/x?y=1 and www.example.org", "see [removed] and [removed]", "2 URLs"},
		{all, "Gate 4521, flat 12, at 15:30, costs 25.50", "Gate 4521, flat 12, at 15:30, costs 25.50", ""},
		{RedactPolicy{Emails: true, Replacement: "***"}, "x@y.io or 0207 946 0000", "*** or 0207 946 0000", "1 e-mail address"},
		{RedactPolicy{}, "+447700900123", "+447700900123", ""},
	} {
		out, what := tc.p.redact(tc.in)
		if out != tc.out || what != tc.what {
			t.Errorf("redact(%q) = %q, %q; want %q, %q", tc.in, out, what, tc.out, tc.what)
		}
	}
}

func TestKeyword(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"STOP": "STOP", " stop ": "STOP", "Stop.": "STOP", "unsubscribe": "STOP", "QUIT!": "STOP",
		"help": "HELP", "Info": "HELP",
		"please stop texting": "", "stopping by": "", "": "",
	} {
		if got := keyword(in); got != want {
			t.Errorf("keyword(%q) = %q, want %q", in, got, want)
		}
	}
}
