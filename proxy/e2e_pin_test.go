package proxy_test

import (
	"bytes"
	"context"
	"errors"
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
	pinPrompt = "Please enter your PIN, then press hash."
	pinRetry  = "That PIN is not right. Please enter it again, then press hash."
	pinLocked = "Too many wrong PINs. Please try again later."
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
	// then refused.
	if out := e.call(t, b, shared); out.Connected != "" || len(out.Inputs) != 3 ||
		!slices.Equal(out.Talk, []string{pinPrompt, pinPrompt, pinPrompt, notInService}) {
		t.Errorf("call with no keys pressed: %+v; want three prompts, then refused", out)
	}

	out, err = e.sim.PlaceCallWith(t.Context(), a, shared, proxytest.CallOptions{Digits: []string{"000000", c.PIN}})
	if err != nil || out.Connected != b || !slices.Equal(out.Talk, []string{pinPrompt, pinRetry}) {
		t.Errorf("a wrong PIN, then the right one: %+v, %v; want asked again, then connected", out, err)
	}
	out, err = e.sim.PlaceCallWith(t.Context(), a, shared, proxytest.CallOptions{Digits: []string{"000000", "111111", "222222"}})
	if err != nil || out.Connected != "" || out.Talk[len(out.Talk)-1] != notInService {
		t.Errorf("three wrong PINs: %+v, %v; want the call refused", out, err)
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
// has passed; PINMaxNumberFailures does the same for a shared number,
// whoever the callers.
func TestE2EPINLockout(t *testing.T) {
	t.Parallel()
	e := pinEnv(t, func(c *proxy.Config) {
		c.PINMaxFailures, c.PINMaxNumberFailures, c.PINLockout = 3, 4, 10*time.Minute
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

	// Wrong PINs on the number from any caller count for the number:
	// two from A and two from B (neither locked out alone) lock the
	// number out for everyone.
	if out := call(a, "9990", "9991"); out.Talk[len(out.Talk)-1] == pinLocked {
		t.Fatalf("two wrong PINs from A: %q, want no lock-out yet", out.Talk)
	}
	out = call(b, "9992", "9993") // the fourth on the number
	if last := out.Talk[len(out.Talk)-1]; last != pinLocked {
		t.Errorf("fourth wrong PIN on the number: %q, want the lock-out", out.Talk)
	}
	if out := call(a, "4321"); out.Connected != "" || !slices.Equal(out.Talk, []string{pinLocked}) {
		t.Errorf("right PIN on a locked-out number: %+v; want refused at once", out)
	}
}

// Creating PIN conversations: a host PIN that is not 4–8 digits, or
// given for a direct conversation, is refused; a host PIN in use on every
// shared number is ErrPINInUse; with PINWhenExhausted, a participant out
// of direct numbers gets a PIN conversation.
func TestE2EPINCreate(t *testing.T) {
	t.Parallel()
	e := pinEnv(t, func(c *proxy.Config) { c.PINWhenExhausted = true; c.GeoMatch = proxy.GeoStrict })
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
	e := pinEnv(t, func(c *proxy.Config) { c.GeoMatch = proxy.GeoStrict })
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
		c.PINMaxFailures = 2
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
// (Vonage retries, then the fallback URL); the input webhook, which
// Vonage does not retry, speaks the refusal; a bad signature on the input
// webhook is refused 401. Nothing is connected.
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
	if w := input(true); w.Code != http.StatusOK || strings.Contains(w.Body.String(), "connect") || !strings.Contains(w.Body.String(), notInService) {
		t.Errorf("input with the store down: %d %s; want the spoken refusal", w.Code, w.Body)
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
