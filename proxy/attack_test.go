package proxy

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"hash"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/voiceproxy/voiceproxy/sms"
)

// The tests of this file are attacks on the webhooks, as a participant
// who knows their own number and their proxy number would make them: each
// case is a request that must not read the other side's real number out
// of an NCCO, make the Service send an SMS, or record anything.

const attackSecret = "sig-secret"

// attackService is a Service verifying webhooks with attackSecret (voice
// and SMS, sha256 for SMS) and a conversation between gbA and gbB; it
// returns A's proxy number.
func attackService(t *testing.T) (*Service, *fakeSMS, Conversation) {
	t.Helper()
	sender := &fakeSMS{}
	s, _ := newTestService(t, gbPool(gbP1, gbP2), func(c *Config) {
		c.Webhooks.InsecureUnsigned = false
		c.Webhooks.SignatureSecret = attackSecret
		c.Webhooks.SMSSignatureSecret, c.Webhooks.SMSSignatureMethod = attackSecret, sms.SHA256
		c.SMS.Sender = sender
		c.SMS.AutoReply = "Not in use."
	})
	c := mustCreate(t, s, CreateRequest{A: gbA, B: gbB})
	return s, sender, c
}

// mintJWT makes a token with header hdr and claims cl, signed with key
// by mac (nil: an empty signature).
func mintJWT(t *testing.T, hdr, cl map[string]any, key string, mac func() hash.Hash) string {
	t.Helper()
	seg := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	signing := seg(hdr) + "." + seg(cl)
	sig := ""
	if mac != nil {
		m := hmac.New(mac, []byte(key))
		m.Write([]byte(signing))
		sig = base64.RawURLEncoding.EncodeToString(m.Sum(nil))
	}
	return signing + "." + sig
}

// goodClaims are claims Vonage would sign for body (nil: none).
func goodClaims(body []byte) map[string]any {
	c := map[string]any{"iss": "Vonage", "iat": testNow.Unix(), "jti": strconv.FormatInt(time.Now().UnixNano(), 36)}
	if body != nil {
		sum := sha256.Sum256(body)
		c["payload_hash"] = hex.EncodeToString(sum[:])
	}
	return c
}

func hs256() map[string]any { return map[string]any{"alg": "HS256", "typ": "JWT"} }

// leaks reports what of a webhook's answer w betrays: B's real number.
func leaks(w *httptest.ResponseRecorder) bool {
	return strings.Contains(w.Body.String(), gbB)
}

// Forged voice webhook tokens: none is accepted on the answer URL (GET
// and POST), and none reads B's number.
func TestAttackForgedVoiceTokens(t *testing.T) {
	t.Parallel()
	s, _, c := attackService(t)
	proxyA := c.Participants[SideA].ProxyNumber
	body := []byte(`{"from":"` + gbA + `","to":"` + proxyA + `","uuid":"u1","conversation_uuid":"CON-1"}`)
	with := func(edit func(map[string]any)) map[string]any {
		cl := goodClaims(body)
		edit(cl)
		return cl
	}
	tests := []struct {
		name string
		auth string
	}{
		{"no header", ""},
		{"alg none, no signature", "Bearer " + mintJWT(t, map[string]any{"alg": "none"}, goodClaims(body), "", nil)},
		{"alg none, HS256 signature", "Bearer " + mintJWT(t, map[string]any{"alg": "none"}, goodClaims(body), attackSecret, sha256.New)},
		{"alg None", "Bearer " + mintJWT(t, map[string]any{"alg": "None"}, goodClaims(body), "", nil)},
		{"alg hs256 lower case, wrong key", "Bearer " + mintJWT(t, map[string]any{"alg": "hs256"}, goodClaims(body), "guess", sha256.New)},
		{"HS384 with a guessed key", "Bearer " + mintJWT(t, map[string]any{"alg": "HS384"}, goodClaims(body), "guess", sha512.New384)},
		{"RS256 header, HMAC with the public proxy number as key", "Bearer " + mintJWT(t, map[string]any{"alg": "RS256"}, goodClaims(body), proxyA, sha256.New)},
		{"HS256 with an empty key", "Bearer " + mintJWT(t, hs256(), goodClaims(body), "", sha256.New)},
		{"HS256 with a guessed key", "Bearer " + mintJWT(t, hs256(), goodClaims(body), "secret", sha256.New)},
		{"kid pointing at /dev/null, empty key", "Bearer " + mintJWT(t, map[string]any{"alg": "HS256", "kid": "../../../../dev/null"}, goodClaims(body), "", sha256.New)},
		{"jku to own key", "Bearer " + mintJWT(t, map[string]any{"alg": "HS256", "jku": "https://evil.example/k"}, goodClaims(body), "evil", sha256.New)},
		{"empty signature segment", "Bearer " + mintJWT(t, hs256(), goodClaims(body), "", nil)},
		{"two segments", "Bearer " + strings.Join(strings.Split(mintJWT(t, hs256(), goodClaims(body), "", nil), ".")[:2], ".")},
		{"four segments", "Bearer " + mintJWT(t, hs256(), goodClaims(body), "x", sha256.New) + ".x"},
		{"api_key naming no secret", "Bearer " + mintJWT(t, hs256(), with(func(m map[string]any) { m["api_key"] = "other" }), "x", sha256.New)},
		{"lower-case bearer, garbage", "bearer x.y.z"},
		{"Basic auth", "Basic " + base64.StdEncoding.EncodeToString([]byte("Vonage:"+attackSecret))},
		{"no iat, guessed key", "Bearer " + mintJWT(t, hs256(), with(func(m map[string]any) { delete(m, "iat") }), "x", sha256.New)},
		{"huge iat", "Bearer " + mintJWT(t, hs256(), with(func(m map[string]any) { m["iat"] = 1e300 }), "x", sha256.New)},
	}
	for _, tc := range tests {
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			var r *http.Request
			if method == http.MethodGet {
				r = httptest.NewRequest(method, "/answer?from="+gbA+"&to="+proxyA+"&uuid=u1&conversation_uuid=CON-1", nil)
			} else {
				r = answerPOSTBody(body)
			}
			if tc.auth != "" {
				r.Header.Set("Authorization", tc.auth)
			}
			w := httptest.NewRecorder()
			s.ServeHTTP(w, r)
			if w.Code != http.StatusUnauthorized || leaks(w) {
				t.Errorf("%s %s: %d %s, want 401 without B's number", tc.name, method, w.Code, w.Body)
			}
		}
	}
	// The token in the query string, not the header.
	tok := mintJWT(t, hs256(), goodClaims(nil), "x", sha256.New)
	for _, q := range []string{"token=", "jwt=", "authorization=Bearer+"} {
		r := httptest.NewRequest(http.MethodGet, "/answer?from="+gbA+"&to="+proxyA+"&uuid=u1&"+q+tok, nil)
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		if w.Code != http.StatusUnauthorized || leaks(w) {
			t.Errorf("token in query %s: %d %s", q, w.Code, w.Body)
		}
	}
}

// Signed tokens (as Vonage signs them) whose claims or binding are wrong
// are refused: a token of one request does not open another.
func TestAttackSignedTokenMisuse(t *testing.T) {
	t.Parallel()
	s, _, c := attackService(t)
	proxyA := c.Participants[SideA].ProxyNumber
	body := []byte(`{"from":"` + gbA + `","to":"` + proxyA + `","uuid":"u1","conversation_uuid":"CON-1"}`)
	other := []byte(`{"from":"` + gbA + `","to":"` + proxyA + `","uuid":"u2","conversation_uuid":"CON-2"}`)
	with := func(b []byte, edit func(map[string]any)) string {
		cl := goodClaims(b)
		edit(cl)
		return "Bearer " + mintJWT(t, hs256(), cl, attackSecret, sha256.New)
	}
	tests := []struct {
		name string
		auth string
		body []byte
	}{
		{"payload_hash of another body", with(other, func(map[string]any) {}), body},
		{"no payload_hash on a body", with(nil, func(map[string]any) {}), body},
		{"payload_hash of the empty body", with([]byte{}, func(m map[string]any) {
			sum := sha256.Sum256(nil)
			m["payload_hash"] = hex.EncodeToString(sum[:])
		}), body},
		{"iss vonage", with(body, func(m map[string]any) { m["iss"] = "vonage" }), body},
		{"no iss", with(body, func(m map[string]any) { delete(m, "iss") }), body},
		{"no iat", with(body, func(m map[string]any) { delete(m, "iat") }), body},
		{"iat a string", with(body, func(m map[string]any) { m["iat"] = strconv.FormatInt(testNow.Unix(), 10) }), body},
		{"iat an hour old", with(body, func(m map[string]any) { m["iat"] = testNow.Add(-time.Hour).Unix() }), body},
		{"iat an hour ahead", with(body, func(m map[string]any) { m["iat"] = testNow.Add(time.Hour).Unix() }), body},
		{"iat 1e11", with(body, func(m map[string]any) { m["iat"] = 1e11 }), body},
		{"iat negative", with(body, func(m map[string]any) { m["iat"] = -1 }), body},
		{"exp passed", with(body, func(m map[string]any) { m["exp"] = testNow.Add(-time.Minute).Unix() }), body},
		{"nbf ahead", with(body, func(m map[string]any) { m["nbf"] = testNow.Add(time.Minute).Unix() }), body},
		{"no jti", with(body, func(m map[string]any) { delete(m, "jti") }), body},
		{"payload_hash upper-case of another body", with(other, func(m map[string]any) { m["payload_hash"] = strings.ToUpper(m["payload_hash"].(string)) }), body},
	}
	for _, tc := range tests {
		r := answerPOSTBody(tc.body)
		r.Header.Set("Authorization", tc.auth)
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		if w.Code != http.StatusUnauthorized || leaks(w) {
			t.Errorf("%s: %d %s, want 401", tc.name, w.Code, w.Body)
		}
	}

	// One token, twice: the second is a replay, on any route.
	tok := with(body, func(map[string]any) {})
	for i, path := range []string{"/answer", "/answer", "/fallback", "/event"} {
		r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(string(body)))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Authorization", tok)
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		if i == 0 {
			if w.Code != http.StatusOK || !leaks(w) {
				t.Fatalf("the genuine answer webhook: %d %s", w.Code, w.Body)
			}
			continue
		}
		if w.Code != http.StatusUnauthorized || leaks(w) {
			t.Errorf("replay %d on %s: %d %s, want 401", i, path, w.Code, w.Body)
		}
	}

	// An empty POST whose token has no payload_hash, the call in the
	// query: the query is not what a POST's token covers.
	r := httptest.NewRequest(http.MethodPost, "/answer?from="+gbA+"&to="+proxyA+"&uuid=u9", nil)
	r.Header.Set("Authorization", with(nil, func(map[string]any) {}))
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	if leaks(w) {
		t.Errorf("empty POST with the call in its query: %d %s", w.Code, w.Body)
	}
}

// signedGET is a GET answer webhook with query q, signed as Vonage signs
// it: payload_hash the SHA-256 of the query as a JSON object.
func signedGET(t *testing.T, q string) *http.Request {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, "/answer?"+q, nil)
	if err := (WebhookSigner{Secret: attackSecret, Now: func() time.Time { return testNow }}).Sign(r, nil); err != nil {
		t.Fatal(err)
	}
	return r
}

// A GET answer webhook's token, taken in flight, presented with another
// query: the payload_hash must hold the query to what was signed. The
// caller swapped for another participant (C, whose conversation with D
// is on the same proxy number) must not read D's number.
func TestAttackGETQueryTampered(t *testing.T) {
	t.Parallel()
	s, _, c := attackService(t)
	proxyA := c.Participants[SideA].ProxyNumber
	c2 := mustCreate(t, s, CreateRequest{A: gbC, B: gbD})
	proxyC := c2.Participants[SideA].ProxyNumber
	orig := "from=" + gbA + "&to=" + proxyA + "&uuid=u1&conversation_uuid=CON-1"
	rest := "&uuid=u1&conversation_uuid=CON-1"
	tampered := []struct{ name, q string }{
		{"from and to changed", "from=" + gbC + "&to=" + proxyC + rest},
		{"from and to prepended", "from=" + gbC + "&to=" + proxyC + "&" + orig},
		{"from and to appended", orig + "&from=" + gbC + "&to=" + proxyC},
		// The hash reads %66rom as from and %74o as to (the last one
		// wins there), so the JSON is the signed one; the handler must
		// read the from and to the hash read.
		{"escaped keys last", "from=" + gbC + "&to=" + proxyC + rest + "&%66rom=" + gbA + "&%74o=" + proxyA},
		{"escaped keys first", "%66rom=" + gbC + "&%74o=" + proxyC + "&" + orig},
		{"semicolons", "from=" + gbC + ";from=" + gbA + "&to=" + proxyC + ";to=" + proxyA + rest},
	}
	for _, tc := range tampered {
		r := signedGET(t, orig)
		r.URL.RawQuery = tc.q
		r.RequestURI = "/answer?" + tc.q
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		if strings.Contains(w.Body.String(), gbD) {
			t.Errorf("%s: A's token read D's number with query %s: %d %s", tc.name, tc.q, w.Code, w.Body)
		}
	}
}

// Forged and tampered SMS API webhooks: none makes the Service send an
// SMS or record a message.
func TestAttackSMSSignature(t *testing.T) {
	t.Parallel()
	s, sender, c := attackService(t)
	proxyA := c.Participants[SideA].ProxyNumber
	base := func(id string) url.Values {
		return url.Values{"msisdn": {gbA}, "to": {proxyA}, "messageId": {id}, "text": {"hi"}, "type": {"text"},
			"message-timestamp": {"2026-03-01 12:00:00"}}
	}
	sign := func(v url.Values, ts time.Time, m sms.SigMethod) url.Values {
		v.Set("timestamp", strconv.FormatInt(ts.Unix(), 10))
		v.Set("nonce", "n-"+v.Get("messageId"))
		sms.SignParams(v, attackSecret, m)
		return v
	}
	tests := []struct {
		name string
		req  func() *http.Request
	}{
		{"no sig", func() *http.Request {
			return httptest.NewRequest(http.MethodGet, "/inbound-sms?"+base("m1").Encode(), nil)
		}},
		{"sig without timestamp", func() *http.Request {
			v := base("m2")
			sms.SignParams(v, attackSecret, sms.SHA256)
			return httptest.NewRequest(http.MethodGet, "/inbound-sms?"+v.Encode(), nil)
		}},
		{"old timestamp", func() *http.Request {
			return httptest.NewRequest(http.MethodGet, "/inbound-sms?"+sign(base("m3"), testNow.Add(-time.Hour), sms.SHA256).Encode(), nil)
		}},
		{"future timestamp", func() *http.Request {
			return httptest.NewRequest(http.MethodGet, "/inbound-sms?"+sign(base("m4"), testNow.Add(time.Hour), sms.SHA256).Encode(), nil)
		}},
		{"md5hash, not the configured sha256", func() *http.Request {
			return httptest.NewRequest(http.MethodGet, "/inbound-sms?"+sign(base("m5"), testNow, sms.MD5Hash).Encode(), nil)
		}},
		{"sha512, not the configured sha256", func() *http.Request {
			return httptest.NewRequest(http.MethodGet, "/inbound-sms?"+sign(base("m6"), testNow, sms.SHA512).Encode(), nil)
		}},
		{"msisdn prepended to a signed query", func() *http.Request {
			v := sign(base("m7"), testNow, sms.SHA256)
			return httptest.NewRequest(http.MethodGet, "/inbound-sms?msisdn="+gbC+"&"+v.Encode(), nil)
		}},
		{"sig in the query, the body unsigned", func() *http.Request {
			v := sign(base("m8"), testNow, sms.SHA256)
			forged := base("m8x")
			forged.Set("text", "changed")
			r := httptest.NewRequest(http.MethodPost, "/inbound-sms?"+v.Encode(), strings.NewReader(forged.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		}},
		{"sig in the body, params in the query", func() *http.Request {
			v := sign(base("m9"), testNow, sms.SHA256)
			r := httptest.NewRequest(http.MethodPost, "/inbound-sms?msisdn="+gbC, strings.NewReader("sig="+v.Get("sig")))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		}},
		{"JSON body, sig of other params", func() *http.Request {
			v := sign(base("m10"), testNow, sms.SHA256)
			obj := map[string]string{}
			for k := range v {
				obj[k] = v.Get(k)
			}
			obj["text"] = "changed"
			b, _ := json.Marshal(obj)
			r := httptest.NewRequest(http.MethodPost, "/inbound-sms", strings.NewReader(string(b)))
			r.Header.Set("Content-Type", "application/json")
			return r
		}},
		{"name holding &", func() *http.Request {
			v := sign(base("m11"), testNow, sms.SHA256)
			return httptest.NewRequest(http.MethodGet, "/inbound-sms?"+v.Encode()+"&a%26msisdn=x", nil)
		}},
		{"SIG upper-case name, unsigned", func() *http.Request {
			v := base("m12")
			v.Set("SIG", "00")
			return httptest.NewRequest(http.MethodGet, "/inbound-sms?"+v.Encode(), nil)
		}},
		{"receipt unsigned", func() *http.Request {
			return httptest.NewRequest(http.MethodGet, "/delivery-receipt?msisdn="+gbB+"&to="+proxyA+"&messageId=x&status=delivered&err-code=0", nil)
		}},
		{"Messages API inbound unsigned", func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/inbound-message", strings.NewReader(`{"channel":"sms","message_uuid":"m13","from":"`+gbA+`","to":"`+proxyA+`","text":"hi","message_type":"text"}`))
			r.Header.Set("Content-Type", "application/json")
			return r
		}},
		{"Messages API alg none", func() *http.Request {
			b := []byte(`{"channel":"sms","message_uuid":"m14","from":"` + gbA + `","to":"` + proxyA + `","text":"hi","message_type":"text"}`)
			r := httptest.NewRequest(http.MethodPost, "/inbound-message", strings.NewReader(string(b)))
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set("Authorization", "Bearer "+mintJWT(t, map[string]any{"alg": "none"}, goodClaims(b), "", nil))
			return r
		}},
		{"Messages API status unsigned", func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/message-status", strings.NewReader(`{"message_uuid":"x","to":"`+gbB+`","from":"`+proxyA+`","status":"delivered","timestamp":"2026-03-01T12:00:00Z"}`))
			r.Header.Set("Content-Type", "application/json")
			return r
		}},
	}
	for _, tc := range tests {
		w := httptest.NewRecorder()
		s.ServeHTTP(w, tc.req())
		want := http.StatusUnauthorized
		if strings.HasPrefix(tc.name, "Messages API") && strings.HasSuffix(tc.name, "unsigned") {
			// Vonage sends a Messages callback unsigned only after an
			// internal error, and retries it on a 5xx (see readMessages).
			want = http.StatusServiceUnavailable
		}
		if w.Code != want {
			t.Errorf("%s: %d, want %d", tc.name, w.Code, want)
		}
	}
	if n := len(sender.Sent()); n != 0 {
		t.Errorf("forged SMS webhooks made the Service send %d SMS: %+v", n, sender.Sent())
	}
	if ins, _ := s.Interactions(t.Context(), c.ID); len(ins) != 0 {
		t.Errorf("forged SMS webhooks recorded %+v", ins)
	}
}
