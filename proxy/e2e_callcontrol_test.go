package proxy_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/voiceproxy/voiceproxy/proxy"
	"github.com/voiceproxy/voiceproxy/proxy/proxytest"
)

// End-to-end call control: the Service hangs up, starts and fetches
// recordings of calls through the simulated Voice API, which checks its
// application JWT and sends the calls' events back to it.

var (
	e2eKeyOnce sync.Once
	e2eKey     *rsa.PrivateKey
)

// e2eAppKey is the e2e application's key pair, made once.
func e2eAppKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	e2eKeyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		e2eKey = k
	})
	return e2eKey
}

func e2eAppKeyPEM(t *testing.T) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(e2eAppKey(t))
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// withCallControl turns call control on in an e2e Config.
func withCallControl(t *testing.T, more func(*proxy.Config)) func(*proxy.Config) {
	return func(c *proxy.Config) {
		c.CallControl.ApplicationKey = e2eAppKeyPEM(t)
		c.CallControl.HangupRetryWait = time.Millisecond
		c.CallControl.EventURL = "https://voiceproxy.example/event"
		if more != nil {
			more(c)
		}
	}
}

// statuses lists "leg-role:status" for the call interaction's events,
// naming legs by the SimCall's order (first, second).
func statuses(in proxy.Interaction, call proxytest.SimCall) []string {
	role := map[string]string{}
	for i, l := range call.Legs {
		role[l.UUID] = [...]string{"first", "second"}[min(i, 1)]
	}
	var out []string
	for _, ev := range in.Events {
		out = append(out, role[ev.Leg]+":"+string(ev.Status))
	}
	return out
}

func (e *e2eEnv) callInteraction(t *testing.T, convID string) proxy.Interaction {
	t.Helper()
	ins, err := e.svc.Interactions(t.Context(), convID)
	if err != nil {
		t.Fatal(err)
	}
	for i := len(ins) - 1; i >= 0; i-- {
		if ins[i].Kind == proxy.KindCall {
			return ins[i]
		}
	}
	t.Fatalf("no call in conversation %s", convID)
	return proxy.Interaction{}
}

// waitInteraction waits until the conversation's latest call has an
// event with this status on some leg.
func (e *e2eEnv) waitInteraction(t *testing.T, convID string, st proxy.EventStatus, n int) proxy.Interaction {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		in := e.callInteraction(t, convID)
		count := 0
		for _, ev := range in.Events {
			if ev.Status == st {
				count++
			}
		}
		if count >= n {
			return in
		}
		if time.Now().After(deadline) {
			t.Fatalf("call %s: %d %s events, want %d; events %+v", in.ID, count, st, n, in.Events)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// Click-to-call rings A from A's proxy number, then B from B's; closing
// the conversation mid-call hangs it up, and Vonage's completed events
// say the platform ended it.
func TestE2EClickToCallThenClose(t *testing.T) {
	t.Parallel()
	e := newE2E(t, e2eSecret, withCallControl(t, nil))
	c := e.create(t, proxy.CreateRequest{})
	a, b := c.Participants[proxy.SideA], c.Participants[proxy.SideB]
	in, err := e.svc.Call(t.Context(), c.ID, proxy.CallRequest{Side: proxy.SideA, Whisper: "Connecting you to your driver."})
	if err != nil {
		t.Fatal(err)
	}
	call, err := e.vonage.WaitCall(t.Context(), in.ExternalID, func(c proxytest.SimCall) bool {
		return len(c.Legs) == 2 && c.Legs[1].Status == "answered"
	})
	if err != nil {
		t.Fatal(err)
	}
	first, second := call.Legs[0], call.Legs[1]
	if first.To != a.Number || first.From != a.ProxyNumber || second.To != b.Number || second.From != b.ProxyNumber {
		t.Errorf("legs %+v: want A rung from A's proxy number, then B from B's", call.Legs)
	}
	if !slices.Equal(call.Talk, []string{"Connecting you to your driver."}) {
		t.Errorf("talk %q", call.Talk)
	}
	e.waitInteraction(t, c.ID, proxy.EventAnswered, 2)

	if _, err := e.svc.CloseConversation(t.Context(), c.ID); err != nil {
		t.Fatal(err)
	}
	call, err = e.vonage.WaitCall(t.Context(), in.ExternalID, func(c proxytest.SimCall) bool { return c.Ended })
	if err != nil {
		t.Fatal(err)
	}
	e.vonage.Settle()
	got := e.waitInteraction(t, c.ID, proxy.EventCompleted, 2)
	want := []string{"first:requested", "first:started", "first:ringing", "first:answered",
		"second:started", "second:ringing", "second:answered", "first:completed", "first:hungup", "second:completed"}
	// The simulated clock stands still, so events sort by when they were
	// stored, and the Service's own (requested, hungup) race Vonage's:
	// compare them as a set, then the order of the legs' own events.
	s := statuses(got, call)
	sorted, wantSorted := slices.Sorted(slices.Values(s)), slices.Sorted(slices.Values(want))
	if !slices.Equal(sorted, wantSorted) {
		t.Errorf("events\n got %v\nwant %v (in some order)", s, want)
	}
	vonages := slices.DeleteFunc(slices.Clone(s), func(st string) bool { return st == "first:requested" || st == "first:hungup" })
	if w := slices.DeleteFunc(slices.Clone(want), func(st string) bool { return st == "first:requested" || st == "first:hungup" }); !slices.Equal(vonages[:6], w[:6]) {
		t.Errorf("Vonage's events %v, want %v first", vonages, w[:6])
	}
	for _, ev := range got.Events {
		if ev.Status == proxy.EventCompleted && ev.DisconnectedBy != "platform" {
			t.Errorf("completed %+v: want disconnected_by platform", ev)
		}
	}
	if !slices.Equal(call.Actions, []string{"hangup"}) {
		t.Errorf("actions %v: want one hangup (the second leg ended with the first)", call.Actions)
	}
}

// A call dialled in and held is hung up in its own region when the
// conversation is closed; a hang-up the Voice API fails is reported with
// the closed conversation, and the retry hangs it up.
func TestE2ECloseHangsUpInRegion(t *testing.T) {
	t.Parallel()
	e := newE2E(t, e2eSecret, withCallControl(t, nil))
	c := e.create(t, proxy.CreateRequest{})
	out, err := e.sim.PlaceCallWith(t.Context(), e2eRider, c.Participants[proxy.SideA].ProxyNumber, proxytest.CallOptions{Hold: true})
	if err != nil {
		t.Fatal(err)
	}
	e.waitInteraction(t, c.ID, proxy.EventAnswered, 2)
	// Every try of the first leg fails once: the client retries a 5xx on
	// a hang-up, so fail it past those retries.
	for range 4 {
		e.vonage.Fail(proxytest.APICallUpdate, proxytest.Failure{HTTPStatus: 500})
	}
	closed, err := e.svc.CloseConversation(t.Context(), c.ID)
	var he *proxy.HangupError
	if !errors.As(err, &he) || !errors.Is(err, proxy.ErrVoiceServer) || closed.Status != proxy.StatusClosed {
		t.Fatalf("CloseConversation = %s, %v; want closed and a *HangupError", closed.Status, err)
	}
	if _, err := e.vonage.WaitCall(t.Context(), out.UUID, func(c proxytest.SimCall) bool { return c.Ended }); err != nil {
		t.Fatal(err)
	}
	e.vonage.Settle()
	got := e.waitInteraction(t, c.ID, proxy.EventCompleted, 2)
	var sawFailed, sawHungUp bool
	for _, ev := range got.Events {
		sawFailed = sawFailed || ev.Status == proxy.EventHangupFailed
		sawHungUp = sawHungUp || ev.Status == proxy.EventHungUp
	}
	if !sawFailed || !sawHungUp {
		t.Errorf("events %+v: want hangup-failed, then hungup", got.Events)
	}
	if got.Region != proxytest.DefaultRegionURL {
		t.Errorf("interaction region %q", got.Region)
	}
	for _, r := range e.vonage.Requests() {
		if r.API == proxytest.APICallUpdate && r.Host != "api-eu-3.vonage.com" {
			t.Errorf("hang-up sent to %s, not the call's region", r.Host)
		}
	}
}

// A recorded conversation's call carries the record action and notice;
// its recording downloads through Service.Recording.
func TestE2ERecordingDownloads(t *testing.T) {
	t.Parallel()
	e := newE2E(t, e2eSecret, withCallControl(t, func(c *proxy.Config) { c.Calls.RecordingNotice = "This call is recorded." }))
	rec := true
	c := e.create(t, proxy.CreateRequest{Record: &rec})
	plain := e.create(t, proxy.CreateRequest{A: "+44 7400 111222", B: "+44 7400 654321"})
	out := e.call(t, e2eRider, c.Participants[proxy.SideA].ProxyNumber)
	if !out.Recorded || !slices.Contains(out.Talk, "This call is recorded.") {
		t.Errorf("recorded conversation's call: recorded %v, talk %q", out.Recorded, out.Talk)
	}
	if p := e.call(t, e2eStranger, plain.Participants[proxy.SideA].ProxyNumber); p.Recorded {
		t.Error("a conversation without Record was recorded")
	}
	in := e.waitInteraction(t, c.ID, proxy.EventRecorded, 1)
	rc, err := e.svc.Recording(t.Context(), in.ID)
	if err != nil {
		t.Fatal(err)
	}
	audio, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || len(audio) < 10 || string(audio[:3]) != "ID3" {
		t.Errorf("recording: %d bytes, %v", len(audio), err)
	}
	if _, err := e.svc.Recording(t.Context(), e.callInteraction(t, plain.ID).ID); !errors.Is(err, proxy.ErrNoRecording) {
		t.Errorf("unrecorded call: %v, want ErrNoRecording", err)
	}
}

// A key the application does not have is refused by the Voice API.
func TestE2ECallWrongKey(t *testing.T) {
	t.Parallel()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	e := newE2E(t, e2eSecret, func(c *proxy.Config) {
		c.CallControl.ApplicationKey = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	})
	c := e.create(t, proxy.CreateRequest{})
	if _, err := e.svc.Call(t.Context(), c.ID, proxy.CallRequest{}); !errors.Is(err, proxy.ErrVoiceAuth) {
		t.Errorf("Call with a key the application does not have: %v, want ErrVoiceAuth", err)
	}
}

// Calls in progress are known through the store: an instance that did
// not answer a call hangs it up when it closes the conversation.
func TestE2EHangupAcrossInstances(t *testing.T) {
	t.Parallel()
	store := proxy.NewMemoryStore()
	e := newE2E(t, e2eSecret, withCallControl(t, func(c *proxy.Config) { c.Store = store }))
	other, err := proxy.New(proxy.Config{
		Store:         store,
		ApplicationID: proxytest.ApplicationID,
		Now:           e.clock.Now,
		Webhooks:      proxy.WebhookConfig{SignatureSecret: e2eSecret},
		CallControl:   proxy.CallControlConfig{ApplicationKey: e2eAppKeyPEM(t), HTTPClient: e.vonage.Client()},
	})
	if err != nil {
		t.Fatal(err)
	}
	c := e.create(t, proxy.CreateRequest{})
	out, err := e.sim.PlaceCallWith(t.Context(), e2eDriver, c.Participants[proxy.SideB].ProxyNumber, proxytest.CallOptions{Hold: true})
	if err != nil {
		t.Fatal(err)
	}
	e.waitInteraction(t, c.ID, proxy.EventAnswered, 2)
	if _, err := other.CloseConversation(t.Context(), c.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.vonage.WaitCall(t.Context(), out.UUID, func(c proxytest.SimCall) bool { return c.Ended }); err != nil {
		t.Fatal(err)
	}
	e.vonage.Settle()
	e.waitInteraction(t, c.ID, proxy.EventCompleted, 2)
}
