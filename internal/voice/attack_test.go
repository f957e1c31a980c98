package voice

import (
	"errors"
	"net/http"
	"testing"

	"github.com/jarcoal/httpmock"
)

// Forged recording_url and region_url spellings a webhook could carry to
// collect the application JWT: none is requested, whatever the host's
// spelling (a trailing dot, escapes, IDN, an IPv6 or IP literal, a
// backslash, user info, an explicit default port) or the path's.
func TestAttackUntrustedURLSpellings(t *testing.T) {
	t.Parallel()
	mt := httpmock.NewMockTransport()
	mt.RegisterNoResponder(func(r *http.Request) (*http.Response, error) {
		t.Errorf("request sent to %s (with a JWT: %t)", r.URL, r.Header.Get("Authorization") != "")
		return httpmock.NewStringResponse(204, ""), nil
	})
	c := newCallsClient(t, mt)
	for _, rec := range []string{
		"https://api.nexmo.com./v1/files/r1",
		"https://api.nexmo.com.:443/v1/files/r1",
		"https://api.nexmo.com:443/v1/files/r1",
		"https://api.nexmo.com:/v1/files/r1",
		"https://api.nexmo.com\\@evil.test/v1/files/r1",
		"https://evil.test\\@api.nexmo.com/v1/files/r1",
		"https://api.nexmo.com%2eevil.test/v1/files/r1",
		"https://api%2Enexmo%2Ecom.evil.test/v1/files/r1",
		"https://xn--pi-7ka.nexmo.com/v1/files/r1",
		"https://аpi.nexmo.com/v1/files/r1", // Cyrillic а
		"https://[::1]/v1/files/r1",
		"https://[::ffff:127.0.0.1]/v1/files/r1",
		"https://127.0.0.1/v1/files/r1",
		"https://169.254.169.254/v1/files/r1",
		"https://:@api.nexmo.com/v1/files/r1",
		"https://api.nexmo.com/v1/files/%2e%2e%2fneru",
		"https://api.nexmo.com/v1/files/r1%2f..%2f..%2fneru",
		"https://api.nexmo.com/v1/files/r1/",
		"https://api.nexmo.com/v1/files/r1#frag",
		"https://api.nexmo.com//v1/files/r1",
		"https://api.nexmo.com/v1/files/r1\n",
		"HTTPS://api.nexmo.com@evil.test/v1/files/r1",
		"//api.nexmo.com/v1/files/r1",
		"/v1/files/r1",
	} {
		if _, err := c.Recording(t.Context(), rec); err == nil || (!errors.Is(err, ErrUntrustedURL) && !errors.Is(err, ErrAPIRequest)) {
			t.Errorf("recording %q: %v, want ErrUntrustedURL", rec, err)
		}
	}
	for _, region := range []string{
		"https://api-us-3.vonage.com.",
		"https://api-us-3.vonage.com:443",
		"https://api-us-3.vonage.com\\@evil.test",
		"https://evil.test\\@api-us-3.vonage.com",
		"https://api-us-3.vonage.com/.",
		"https://api-us-3.vonage.com/%2e",
		"https://[::1]",
		"https://u@api-us-3.vonage.com",
		"api-us-3.vonage.com",
	} {
		if err := c.Control(t.Context(), "u", region, ActionHangup); !errors.Is(err, ErrUntrustedURL) && !errors.Is(err, ErrAPIRequest) {
			t.Errorf("region %q: %v, want ErrUntrustedURL", region, err)
		}
	}
}
