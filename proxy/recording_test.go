package proxy

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/jarcoal/httpmock"
)

// Service.Recording through the Voice API client New builds: a forged
// recording_url on a host under vonage.com that is not an API host is
// refused before any request, a redirect is not followed, and a
// recording above Config.CallControl.MaxRecordingBytes fails, each with the error
// proxy exports for it.
func TestRecordingDownloadGuards(t *testing.T) {
	t.Parallel()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	mt := httpmock.NewMockTransport()
	mt.RegisterNoResponder(func(r *http.Request) (*http.Response, error) {
		t.Errorf("request sent to %s", r.URL)
		return httpmock.NewStringResponse(200, "stolen"), nil
	})
	mt.RegisterResponder(http.MethodGet, "https://api.nexmo.com/v1/files/big", httpmock.NewStringResponder(200, strings.Repeat("a", 101)))
	mt.RegisterResponder(http.MethodGet, "https://api.nexmo.com/v1/files/moved", func(*http.Request) (*http.Response, error) {
		r := httpmock.NewStringResponse(http.StatusMovedPermanently, "")
		r.Header.Set("Location", "https://evil.test/v1/files/moved")
		return r, nil
	})
	s, _ := newTestService(t, gbPool(gbP1, gbP2), func(c *Config) {
		c.ApplicationID, c.CallControl.ApplicationKey = "app-1", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
		c.CallControl.HTTPClient = &http.Client{Transport: mt}
		c.CallControl.MaxRecordingBytes = 100
	})
	c := mustCreate(t, s, CreateRequest{A: "+" + gbA, B: "+" + gbB})
	for _, tc := range []struct {
		name, url string
		want      error
	}{
		{"forged host", "https://evil.vonage.com/v1/files/x", ErrUntrustedURL},
		{"redirect", "https://api.nexmo.com/v1/files/moved", ErrVoiceRedirected},
		{"too large", "https://api.nexmo.com/v1/files/big", ErrRecordingTooLarge},
	} {
		call := "rec-" + strings.ReplaceAll(tc.name, " ", "-")
		answerAndConnect(t, s, c, call)
		body, _ := json.Marshal(map[string]any{"recording_url": tc.url, "recording_uuid": "r-" + call, "conversation_uuid": "CON-" + call,
			"start_time": "2026-03-01T12:00:00Z", "end_time": "2026-03-01T12:01:00Z", "size": 8, "timestamp": "2026-03-01T12:01:00.000Z"})
		if w := serve(s, eventPOSTBody(body)); w.Code != http.StatusNoContent {
			t.Fatalf("%s: recording event: %d", tc.name, w.Code)
		}
		ins, err := s.Interactions(t.Context(), c.ID)
		if err != nil || len(ins) == 0 {
			t.Fatalf("interactions: %v, %v", ins, err)
		}
		var id string
		for _, in := range ins {
			if in.ExternalID == "CON-"+call {
				id = in.ID
			}
		}
		rc, err := s.Recording(t.Context(), id)
		if err == nil {
			_, err = io.ReadAll(rc)
			rc.Close()
		}
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}
