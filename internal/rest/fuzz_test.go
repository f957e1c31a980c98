package rest

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzRedactURL checks that whatever the input, no value of a secret query
// parameter survives redaction.
func FuzzRedactURL(f *testing.F) {
	f.Add("https://api.nexmo.com/ni/basic/json?api_key=k&api_secret=s3cr3t&number=447700900000")
	f.Add("https://h/p?sig=abcdef&SIG=x")
	f.Add("http://user:pw@h/?token=t;a=b")
	f.Add("https://h/p?a=%zz&api_secret=s")
	f.Fuzz(func(t *testing.T, s string) {
		out := RedactURLString(s)
		if out == Redacted {
			return
		}
		u, err := url.Parse(out)
		if err != nil {
			t.Fatalf("RedactURLString(%q) = %q, unparsable", s, out)
		}
		if out == "" || strings.HasSuffix(out, "?"+Redacted) {
			return
		}
		q, err := url.ParseQuery(u.RawQuery)
		if err != nil {
			return
		}
		for k, vs := range q {
			if !secretParams[strings.ToLower(k)] {
				continue
			}
			for _, v := range vs {
				if v != Redacted {
					t.Fatalf("RedactURLString(%q) = %q keeps %s=%q", s, out, k, v)
				}
			}
		}
	})
}
