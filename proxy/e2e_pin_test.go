package proxy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/voiceproxy/voiceproxy/proxy"
	"github.com/voiceproxy/voiceproxy/proxy/proxytest"
)

const (
	pinPrompt  = "Please enter your PIN, then press hash."
	pinRetry   = "That PIN is not right. Please enter it again, then press hash."
	pinLocked  = "Too many wrong PINs. Please try again later."
	pinRefused = "That PIN is not right. Goodbye."
)

// pinEnv is newE2E with signed webhooks and edit applied.
func pinEnv(t *testing.T, edit func(*proxy.Config)) *e2eEnv {
	t.Helper()
	return newE2E(t, "pin-secret", edit)
}

// A PIN conversation: both participants get one shared number and the
// PIN (in the notification); a call keying in the right PIN connects to
// the other participant, shown the shared number; a wrong one is asked
// again, then refused; the audit trail records the attempts, never the
// PIN.
func TestE2EPINCall(t *testing.T) {
	t.Parallel()
	e := pinEnv(t, nil)
	const a, b = "447400123456", "447400654321"
	c := e.create(t, proxy.CreateRequest{A: "+" + a, B: "+" + b, Access: proxy.AccessPIN, Notify: true})
	shared := c.Participants[proxy.SideA].ProxyNumber
	if c.Access() != proxy.AccessPIN || len(c.PIN) != 6 || c.Participants[proxy.SideB].ProxyNumber != shared {
		t.Fatalf("conversation %+v: want a 6-digit PIN on one shared number", c)
	}
	for _, m := range e.vonage.Outbox() {
		if m.From != shared || !strings.Contains(m.Text, c.PIN) {
			t.Errorf("notification %+v: want it from %s with the PIN", m, shared)
		}
	}

	began := time.Now()
	out, err := e.sim.PlaceCallWith(t.Context(), a, shared, proxytest.CallOptions{Digits: []string{c.PIN + "#"}})
	t.Logf("a PIN call connected in %v (simulator, in process)", time.Since(began))
	if err != nil || out.Connected != b || out.CallerID != shared {
		t.Fatalf("call with the right PIN: %+v, %v; want it connected to B from %s", out, err, shared)
	}
	if !slices.Equal(out.Talk, []string{pinPrompt}) {
		t.Errorf("spoken %q, want the prompt", out.Talk)
	}
	// Keying nothing in is asked again (not counted as a wrong PIN),
	// then refused, saying so (not "not in service").
	if out := e.call(t, b, shared); out.Connected != "" || len(out.Inputs) != 3 ||
		!slices.Equal(out.Talk, []string{pinPrompt, pinPrompt, pinPrompt, pinRefused}) {
		t.Errorf("call with no keys pressed: %+v; want three prompts, then refused", out)
	}

	out, err = e.sim.PlaceCallWith(t.Context(), a, shared, proxytest.CallOptions{Digits: []string{"000000", c.PIN}})
	if err != nil || out.Connected != b || !slices.Equal(out.Talk, []string{pinPrompt, pinRetry}) {
		t.Errorf("a wrong PIN, then the right one: %+v, %v; want asked again, then connected", out, err)
	}
	out, err = e.sim.PlaceCallWith(t.Context(), a, shared, proxytest.CallOptions{Digits: []string{"000000", "111111", "222222"}})
	if err != nil || out.Connected != "" || !slices.Equal(out.Talk, []string{pinPrompt, pinRetry, pinRetry, pinRefused}) {
		t.Errorf("three wrong PINs: %+v, %v; want the call refused with %q", out.Talk, err, pinRefused)
	}
	// A caller with no PIN conversation on the number hears it is not in service.
	if out := e.call(t, "447400999999", shared); out.Connected != "" || !slices.Equal(out.Talk, []string{notInService}) {
		t.Errorf("a stranger's call: %+v", out)
	}

	ins, err := e.svc.Interactions(t.Context(), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	var statuses []string
	for _, in := range ins {
		for _, ev := range in.Events {
			if !strings.HasPrefix(string(ev.Status), "pin-") {
				continue
			}
			statuses = append(statuses, string(ev.Status))
			for _, pin := range []string{c.PIN, "000000", "111111", "222222"} {
				if strings.Contains(ev.Detail+ev.Leg, pin) {
					t.Errorf("an event records a PIN: %+v", ev)
				}
			}
		}
	}
	slices.Sort(statuses)
	// Accepted twice; refused: B's empty call, one wrong then right, three wrong.
	want := []string{"pin-accepted", "pin-accepted", "pin-refused", "pin-refused", "pin-refused", "pin-refused", "pin-refused"}
	if !slices.Equal(statuses, want) {
		t.Errorf("PIN events %v, want %v", statuses, want)
	}
}

// Wrong PINs are counted per caller across calls: the PINMaxFailures-th
// locks the caller out (the right PIN then fails too) until PINLockout
// has passed. PINMaxNumberFailures on one shared number, whoever the
// callers, lock nobody out by themselves: a caller without wrong PINs
// of their own still connects, and one who keys a wrong PIN there is
// locked out at the second.
func TestE2EPINLockout(t *testing.T) {
	t.Parallel()
	e := pinEnv(t, func(c *proxy.Config) {
		c.PIN.MaxFailures, c.PIN.MaxNumberFailures, c.PIN.Lockout = 3, 4, 10*time.Minute
	})
	const a, b = "447400123456", "447400654321"
	c := e.create(t, proxy.CreateRequest{A: "+" + a, B: "+" + b, Access: proxy.AccessPIN, PIN: "4321"})
	shared := c.Participants[0].ProxyNumber
	if c.PIN != "4321" {
		t.Fatalf("PIN %q, want the host's", c.PIN)
	}
	call := func(from string, digits ...string) *proxytest.CallOutcome {
		t.Helper()
		out, err := e.sim.PlaceCallWith(t.Context(), from, shared, proxytest.CallOptions{Digits: digits})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	call(a, "1111", "2222") // two failures
	out := call(a, "3333")  // the third locks A out
	if last := out.Talk[len(out.Talk)-1]; last != pinLocked {
		t.Errorf("third wrong PIN: spoken %q, want the lock-out", out.Talk)
	}
	out = call(a, "4321")
	if out.Connected != "" || !slices.Equal(out.Talk, []string{pinLocked}) || len(out.Inputs) != 0 {
		t.Errorf("call while locked out: %+v; want the lock-out at once, no prompt", out)
	}
	if out := call(b, "4321"); out.Connected != a {
		t.Errorf("B (not locked out) with the right PIN: %+v", out)
	}
	e.clock.Advance(11 * time.Minute)
	if out := call(a, "4321"); out.Connected != b {
		t.Errorf("A after the lock-out: %+v; want connected", out)
	}

	// Four wrong PINs on the number, two from A and two from B (neither
	// locked out alone), put it under attack. B, whose second that is,
	// is locked out; A, with no failure since, connects with the right
	// PIN; A's next wrong PIN, A's third, would lock A anyway.
	if out := call(a, "9990"); out.Talk[len(out.Talk)-1] == pinLocked {
		t.Fatalf("a wrong PIN from A: %q, want no lock-out yet", out.Talk)
	}
	if out := call(b, "9991"); out.Talk[len(out.Talk)-1] == pinLocked {
		t.Fatalf("a wrong PIN from B: %q, want no lock-out yet", out.Talk)
	}
	const c2 = "447400555555"
	var other proxy.Conversation
	for i := 0; other.ID == "" || other.Participants[0].ProxyNumber != shared; i++ {
		if i == 5 {
			t.Fatal("no second PIN conversation on the shared number")
		}
		other = e.create(t, proxy.CreateRequest{A: "+" + c2[:len(c2)-1] + string(rune('0'+i)), B: "+44740066666" + string(rune('0'+i)), Access: proxy.AccessPIN})
	}
	stranger := other.Participants[0].Number
	if out := call(stranger, "9992"); out.Talk[len(out.Talk)-1] == pinLocked {
		t.Fatalf("a wrong PIN from a third caller: %q, want no lock-out yet", out.Talk)
	}
	out = call(b, "9993") // the fourth on the number, B's second
	if last := out.Talk[len(out.Talk)-1]; last != pinLocked {
		t.Errorf("B's second wrong PIN on a number under attack: %q, want the lock-out", out.Talk)
	}
	if out := call(a, "4321"); out.Connected != b {
		t.Errorf("A (one wrong PIN, not locked out) with the right PIN on a number under attack: %+v; want connected", out.Talk)
	}
	if out := call(stranger, "9994"); out.Talk[len(out.Talk)-1] != pinLocked {
		t.Errorf("the third caller's second wrong PIN on a number under attack: %q, want the lock-out", out.Talk)
	}
	if out := call(b, "4321"); out.Connected != "" || !slices.Equal(out.Talk, []string{pinLocked}) {
		t.Errorf("B, locked out, with the right PIN: %+v; want refused at once", out.Talk)
	}
}

// Six participants of other PIN conversations on a shared number, five
// wrong PINs each (thirty: PINMaxNumberFailures), lock out only
// themselves: a seventh caller, with no wrong PIN of their own, is
// prompted and connected; once one attacker's lock-out has passed, the
// number still under attack, one wrong PIN of theirs is forgiven and the
// second locks them out again.
func TestE2EPINNumberUnderAttack(t *testing.T) {
	t.Parallel()
	e := pinEnv(t, nil) // defaults: 3 PINs a call, 5 per caller, 30 per number, 15 minutes
	var shared string
	var convs []proxy.Conversation
	for i := 0; len(convs) < 7; i++ {
		if i == 30 {
			t.Fatalf("only %d PIN conversations on one shared number", len(convs))
		}
		c := e.create(t, proxy.CreateRequest{A: fmt.Sprintf("+4474001%05d", i), B: fmt.Sprintf("+4474002%05d", i), Access: proxy.AccessPIN})
		if shared == "" {
			shared = c.Participants[0].ProxyNumber
		}
		if c.Participants[0].ProxyNumber == shared {
			convs = append(convs, c)
		}
	}
	call := func(from string, digits ...string) *proxytest.CallOutcome {
		t.Helper()
		out, err := e.sim.PlaceCallWith(t.Context(), from, shared, proxytest.CallOptions{Digits: digits})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	attackers, innocent := convs[:6], convs[6]
	for _, c := range attackers {
		from := c.Participants[proxy.SideA].Number
		call(from, "000001", "000002", "000003")
		if out := call(from, "000004", "000005"); out.Talk[len(out.Talk)-1] != pinLocked {
			t.Fatalf("attacker %s's fifth wrong PIN: %q, want the lock-out", from, out.Talk)
		}
	}
	me := innocent.Participants[proxy.SideA].Number
	out := call(me, innocent.PIN)
	if out.Connected != innocent.Participants[proxy.SideB].Number || !slices.Equal(out.Talk, []string{pinPrompt}) {
		t.Errorf("the seventh caller after thirty wrong PINs from others: %+v; want prompted and connected", out.Talk)
	}
	first := attackers[0]
	if out := call(first.Participants[proxy.SideA].Number, first.PIN); out.Connected != "" || !slices.Equal(out.Talk, []string{pinLocked}) {
		t.Errorf("an attacker with the right PIN while locked out: %+v; want refused at once", out.Talk)
	}

	// Fifteen minutes on, all counts have lapsed; thirty more wrong PINs
	// from the six (each locked out again) put the number back under
	// attack, and the seventh caller's own wrong PIN then costs them
	// their second try only.
	e.clock.Advance(16 * time.Minute)
	for _, c := range attackers {
		from := c.Participants[proxy.SideA].Number
		call(from, "000001", "000002", "000003")
		call(from, "000004", "000005")
	}
	out = call(me, "999999", innocent.PIN)
	if out.Connected != innocent.Participants[proxy.SideB].Number {
		t.Errorf("the seventh caller, one slip, then the right PIN: %+v; want connected", out.Talk)
	}
	out = call(me, "999998")
	if out.Talk[len(out.Talk)-1] != pinLocked {
		t.Errorf("the seventh caller's second wrong PIN on a number under attack: %q, want the lock-out", out.Talk)
	}
}

// Creating PIN conversations: a host PIN that is not 4–8 digits, or
// given for a direct conversation, is refused; a host PIN in use on every
// shared number is ErrPINInUse; with PINWhenExhausted, a participant out
// of direct numbers gets a PIN conversation.
func TestE2EPINCreate(t *testing.T) {
	t.Parallel()
	e := pinEnv(t, func(c *proxy.Config) { c.PIN.WhenExhausted = true; c.Allocation.GeoFallback = proxy.GeoStrict })
	for _, req := range []proxy.CreateRequest{
		{A: "+447400123456", B: "+447400654321", Access: proxy.AccessPIN, PIN: "12"},
		{A: "+447400123456", B: "+447400654321", Access: proxy.AccessPIN, PIN: "12ab"},
		{A: "+447400123456", B: "+447400654321", PIN: "1234"},
		{A: "+447400123456", B: "+447400654321", Access: "secret"},
	} {
		if _, err := e.svc.CreateConversation(t.Context(), req); !errors.Is(err, proxy.ErrInvalidRequest) {
			t.Errorf("CreateConversation(%+v): %v, want ErrInvalidRequest", req, err)
		}
	}
	// The GB pool has two numbers: the same host PIN fits twice, then not.
	for i := range 2 {
		e.create(t, proxy.CreateRequest{A: "+44740010000" + string(rune('0'+i)), B: "+44740020000" + string(rune('0'+i)), Access: proxy.AccessPIN, PIN: "5555"})
	}
	if _, err := e.svc.CreateConversation(t.Context(), proxy.CreateRequest{A: "+447400100009", B: "+447400200009", Access: proxy.AccessPIN, PIN: "5555"}); !errors.Is(err, proxy.ErrPINInUse) {
		t.Errorf("the host PIN taken on both numbers: %v, want ErrPINInUse", err)
	}
	// A participant's PIN conversations fill the pool for direct legs;
	// the next conversation falls back to PIN access.
	const heavy = "+447400777777"
	for i := range 2 {
		e.create(t, proxy.CreateRequest{A: heavy, B: "+44740088888" + string(rune('0'+i)), Access: proxy.AccessPIN})
	}
	c := e.create(t, proxy.CreateRequest{A: heavy, B: "+447400888889"})
	if c.Access() != proxy.AccessPIN {
		t.Errorf("conversation with the pool exhausted for A: %+v; want a PIN conversation", c)
	}
}

// An SMS to a shared number is relayed, from that number, when the
// sender has exactly one PIN conversation on it; with several, the
// sender is asked (from the shared number) to use the app or call.
func TestE2EPINSMS(t *testing.T) {
	t.Parallel()
	e := pinEnv(t, func(c *proxy.Config) { c.Allocation.GeoFallback = proxy.GeoStrict })
	const a, b, c2 = "447400123456", "447400654321", "447400555555"
	c := e.create(t, proxy.CreateRequest{A: "+" + a, B: "+" + b, Access: proxy.AccessPIN})
	shared := c.Participants[0].ProxyNumber
	out := e.text(t, b, shared, "On my way")
	if len(out.Relayed) != 1 || out.Relayed[0].From != shared || out.Relayed[0].To != a || out.Relayed[0].Text != "On my way" {
		t.Fatalf("SMS with one PIN conversation: relayed %+v; want it to A from %s", out.Relayed, shared)
	}
	// A second PIN conversation of B on the same number.
	var second proxy.Conversation
	for i := 0; second.ID == "" || second.Participants[0].ProxyNumber != shared; i++ {
		if i == 5 {
			t.Fatal("no second PIN conversation on the shared number")
		}
		second = e.create(t, proxy.CreateRequest{A: "+" + c2[:len(c2)-1] + string(rune('0'+i)), B: "+" + b, Access: proxy.AccessPIN})
	}
	out = e.text(t, b, shared, "Which of you?")
	if len(out.Relayed) != 1 || out.Relayed[0].To != b || out.Relayed[0].From != shared || !strings.Contains(out.Relayed[0].Text, "more than one conversation") {
		t.Errorf("SMS with two PIN conversations: sent %+v; want the reply to B", out.Relayed)
	}
}

// Wrong PINs count across instances: two Services sharing one store,
// the caller's failures split between them, lock the caller out on both.
func TestE2EPINLockoutAcrossInstances(t *testing.T) {
	t.Parallel()
	var cfg proxy.Config
	e := pinEnv(t, func(c *proxy.Config) {
		c.PIN.MaxFailures = 2
		cfg = *c
	})
	other, err := proxy.New(cfg) // the same store, clock and secrets
	if err != nil {
		t.Fatal(err)
	}
	const a, b = "447400123456", "447400654321"
	c := e.create(t, proxy.CreateRequest{A: "+" + a, B: "+" + b, Access: proxy.AccessPIN})
	shared := c.Participants[0].ProxyNumber
	sim2 := *e.sim
	sim2.Handler = other
	if _, err := e.sim.PlaceCallWith(t.Context(), a, shared, proxytest.CallOptions{Digits: []string{"0000"}}); err != nil {
		t.Fatal(err)
	}
	out, err := sim2.PlaceCallWith(t.Context(), a, shared, proxytest.CallOptions{Digits: []string{"1111"}})
	if err != nil || out.Talk[len(out.Talk)-1] != pinLocked {
		t.Fatalf("second wrong PIN, on the other instance: %+v, %v; want the lock-out", out, err)
	}
	if out := e.call(t, a, shared); !slices.Equal(out.Talk, []string{pinLocked}) {
		t.Errorf("next call on the first instance: %q, want the lock-out", out.Talk)
	}
}

// routeFailingStore fails Route.
type routeFailingStore struct{ proxy.Store }

func (routeFailingStore) Route(context.Context, string, string, time.Time) (proxy.Conversation, error) {
	return proxy.Conversation{}, errors.New("database down")
}

// A store failing while a shared number is chosen fails the create with
// its error, not as an exhausted pool, and stores nothing.
func TestE2EPINCreateStoreFailure(t *testing.T) {
	t.Parallel()
	store := proxy.NewMemoryStore()
	e := pinEnv(t, func(c *proxy.Config) { c.Store = routeFailingStore{store} })
	_, err := e.svc.CreateConversation(t.Context(), proxy.CreateRequest{A: "+447400123456", B: "+447400654321", Access: proxy.AccessPIN})
	if err == nil || errors.Is(err, proxy.ErrPoolExhausted) || !strings.Contains(err.Error(), "database down") {
		t.Errorf("create with the store failing: %v; want its error", err)
	}
	if cs, _, _ := store.ListConversations(t.Context(), proxy.ListFilter{}); len(cs) != 0 {
		t.Errorf("stored %v, want nothing", cs)
	}
}

// pinFailingStore fails PINConversations and RoutePIN when told.
type pinFailingStore struct {
	proxy.Store
	fail *atomic.Bool
}

func (s pinFailingStore) PINConversations(ctx context.Context, p, n string, now time.Time) ([]proxy.Conversation, error) {
	if s.fail.Load() {
		return nil, errors.New("database down")
	}
	return s.Store.PINConversations(ctx, p, n, now)
}

func (s pinFailingStore) RoutePIN(ctx context.Context, n, pin string, now time.Time) (proxy.Conversation, error) {
	if s.fail.Load() {
		return proxy.Conversation{}, errors.New("database down")
	}
	return s.Store.RoutePIN(ctx, n, pin, now)
}

// The PIN webhooks with the store down: the answer webhook answers 503
// (Vonage retries, then the fallback URL); so does the input webhook,
// whose NCCO Vonage waits for just as it does the answer webhook's (see
// isInputEvent); a bad signature on the input webhook is refused 401.
// Nothing is connected.
func TestE2EPINStoreOutage(t *testing.T) {
	t.Parallel()
	var fail atomic.Bool
	e := pinEnv(t, func(c *proxy.Config) { c.Store = pinFailingStore{c.Store, &fail} })
	const a, b = "447400123456", "447400654321"
	c := e.create(t, proxy.CreateRequest{A: "+" + a, B: "+" + b, Access: proxy.AccessPIN})
	shared := c.Participants[0].ProxyNumber
	fail.Store(true)
	out, err := e.sim.PlaceCallWith(t.Context(), a, shared, proxytest.CallOptions{Digits: []string{c.PIN}})
	if err != nil || out.Connected != "" || out.Attempts[0].Status != http.StatusServiceUnavailable || !out.Fallback {
		t.Errorf("call with the store down: %+v, %v; want 503, then the fallback URL, nothing connected", out, err)
	}

	input := func(sign bool) *httptest.ResponseRecorder {
		body := []byte(`{"from":"` + a + `","to":"` + shared + `","uuid":"u1","conversation_uuid":"CON-1","dtmf":{"digits":"` + c.PIN + `","timed_out":false}}`)
		r := httptest.NewRequest(http.MethodPost, "/input?attempt=1", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		if sign {
			if err := (proxy.WebhookSigner{Secret: "pin-secret", ApplicationID: proxytest.ApplicationID, Now: e.clock.Now}).Sign(r, body); err != nil {
				t.Fatal(err)
			}
		}
		w := httptest.NewRecorder()
		e.svc.ServeHTTP(w, r)
		return w
	}
	if w := input(true); w.Code != http.StatusServiceUnavailable {
		t.Errorf("input with the store down: %d %s; want 503, for Vonage to retry it and then ask the fallback URL", w.Code, w.Body)
	}
	fail.Store(false)
	if w := input(false); w.Code != http.StatusUnauthorized {
		t.Errorf("unsigned input: %d, want 401", w.Code)
	}
	if w := input(true); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"connect"`) {
		t.Errorf("input with the store back: %d %s; want the connect", w.Code, w.Body)
	}
}

// An input webhook that is not JSON, or whose caller is not a phone
// number, gets the spoken refusal (200: Vonage does not retry it); an
// unreadable attempt counter counts as the first attempt.
func TestE2EPINInputMalformed(t *testing.T) {
	t.Parallel()
	e := pinEnv(t, nil)
	const a, b = "447400123456", "447400654321"
	c := e.create(t, proxy.CreateRequest{A: "+" + a, B: "+" + b, Access: proxy.AccessPIN})
	shared := c.Participants[0].ProxyNumber
	post := func(query, body string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, "/input"+query, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		if err := (proxy.WebhookSigner{Secret: "pin-secret", ApplicationID: proxytest.ApplicationID, Now: e.clock.Now}).Sign(r, []byte(body)); err != nil {
			t.Fatal(err)
		}
		w := httptest.NewRecorder()
		e.svc.ServeHTTP(w, r)
		return w
	}
	for name, body := range map[string]string{
		"not JSON":       `{"from":`,
		"caller missing": `{"to":"` + shared + `","dtmf":{"digits":"` + c.PIN + `"}}`,
		"caller letters": `{"from":"abc","to":"` + shared + `","dtmf":{"digits":"` + c.PIN + `"}}`,
	} {
		if w := post("?attempt=1", body); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), notInService) {
			t.Errorf("%s: %d %s; want the spoken refusal", name, w.Code, w.Body)
		}
	}
	w := post("?attempt=x", `{"from":"`+a+`","to":"`+shared+`","conversation_uuid":"CON-m","dtmf":{"digits":"0000"}}`)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "attempt=2") {
		t.Errorf("wrong PIN with an unreadable attempt: %d %s; want the retry prompt for attempt 2", w.Code, w.Body)
	}
	// The older input action sends the digits as a string.
	if w := post("", `{"from":"`+a+`","to":"`+shared+`","dtmf":"`+c.PIN+`#"}`); !strings.Contains(w.Body.String(), `"connect"`) {
		t.Errorf("digits as a string: %s; want the connect", w.Body)
	}
}

// The PIN prompt's input eventUrl: https by default, also behind a
// TLS-terminating proxy that forwards plain http (X-Forwarded-Proto
// http), on the answer webhook's Host and path; Config.PIN.InputURL when
// set, as given; else CallEventURL's with /input; never a Host that is
// not a plain host (the call then gets the fallback NCCO).
func TestE2EPINInputURL(t *testing.T) {
	t.Parallel()
	const a, b = "447400123456", "447400654321"
	for _, tc := range []struct {
		name       string
		edit       func(*proxy.Config)
		host, want string
	}{
		{"behind a TLS-terminating proxy", nil, "proxy.example.com", "https://proxy.example.com/vonage/input?attempt=1"},
		{"with a port", nil, "proxy.example.com:8443", "https://proxy.example.com:8443/vonage/input?attempt=1"},
		{"InputURL", func(c *proxy.Config) { c.PIN.InputURL = "http://localhost:8080/hooks/input?k=1" }, "proxy.example.com", "http://localhost:8080/hooks/input?k=1&attempt=1"},
		{"CallEventURL", func(c *proxy.Config) { c.CallControl.EventURL = "https://calls.example.com/vonage/event?tag=x" }, "proxy.example.com", "https://calls.example.com/vonage/input?attempt=1"},
		{"a Host that is no host", nil, "evil.test/steal?x=", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := pinEnv(t, tc.edit)
			c := e.create(t, proxy.CreateRequest{A: "+" + a, B: "+" + b, Access: proxy.AccessPIN})
			shared := c.Participants[0].ProxyNumber
			r := httptest.NewRequest(http.MethodGet, "/vonage/answer?from="+a+"&to="+shared+"&uuid=u1&conversation_uuid=CON-1", nil)
			r.URL.Path = "/answer" // the host's mux strips /vonage; RequestURI keeps it
			r.Host = tc.host
			r.Header.Set("X-Forwarded-Proto", "http")
			if err := (proxy.WebhookSigner{Secret: "pin-secret", ApplicationID: proxytest.ApplicationID, Now: e.clock.Now}).Sign(r, nil); err != nil {
				t.Fatal(err)
			}
			w := httptest.NewRecorder()
			e.svc.ServeHTTP(w, r)
			var n []struct {
				Action   string   `json:"action"`
				Text     string   `json:"text"`
				EventURL []string `json:"eventUrl"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &n); err != nil {
				t.Fatalf("answer %d %s: %v", w.Code, w.Body, err)
			}
			if tc.want == "" {
				if len(n) != 1 || n[0].Text != notInService {
					t.Errorf("answer %s; want the fallback NCCO, no input", w.Body)
				}
				return
			}
			if len(n) != 2 || n[1].Action != "input" || len(n[1].EventURL) != 1 || n[1].EventURL[0] != tc.want {
				t.Errorf("answer %s; want an input with eventUrl %s", w.Body, tc.want)
			}
		})
	}
	for _, bad := range []string{"proxy.example.com/input", "ftp://proxy.example.com/input", "https:///input"} {
		_, err := proxy.New(proxy.Config{Store: proxy.NewMemoryStore(), Webhooks: proxy.WebhookConfig{SignatureSecret: "s"}, PIN: proxy.PINConfig{InputURL: bad}})
		if err == nil || !strings.Contains(err.Error(), "InputURL") {
			t.Errorf("InputURL %q: %v, want it refused", bad, err)
		}
	}
}
