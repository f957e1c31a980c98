package proxytest_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/voiceproxy/voiceproxy/internal/voice"
	"github.com/voiceproxy/voiceproxy/ncco"
	"github.com/voiceproxy/voiceproxy/proxy/proxytest"
	"github.com/voiceproxy/voiceproxy/sms"
)

func newAppKey(t *testing.T) (*rsa.PrivateKey, []byte) {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	return k, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

func voiceClient(t *testing.T, v *proxytest.Vonage, appID string, pemKey []byte) *voice.Client {
	t.Helper()
	c, err := voice.NewClient(appID, pemKey, voice.WithHTTPClient(v.Client()), voice.WithMaxRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The Voice API takes only JWTs signed with the application's key for
// its ID; a created call rings its leg, runs its NCCO and connects, with
// each leg's events sent through the attached Simulator; a hang-up ends
// every leg; the recording can be downloaded.
func TestVoiceAPI(t *testing.T) {
	t.Parallel()
	key, pemKey := newAppKey(t)
	_, otherPEM := newAppKey(t)
	v := proxytest.NewVonage(proxytest.WithApplication("app-1", &key.PublicKey))
	svc := &fakeService{}
	sim := &proxytest.Simulator{Handler: svc, Vonage: v}
	v.Attach(sim)
	ctx := t.Context()

	req := voice.CreateCallRequest{
		To: []voice.Endpoint{voice.Phone("447400654321")}, From: &voice.Endpoint{Type: "phone", Number: "447700900001"},
		NCCO: ncco.NCCO{ncco.Record{}, ncco.Talk{Text: "Connecting you"},
			ncco.Connect{From: "447700900002", Endpoint: []ncco.Endpoint{ncco.PhoneEndpoint{Number: "447400123456"}}}},
		EventURL: []string{"https://example.com/event?leg=api"},
	}
	for name, c := range map[string]*voice.Client{
		"another key":         voiceClient(t, v, "app-1", otherPEM),
		"another application": voiceClient(t, v, "app-2", pemKey),
	} {
		if _, err := c.CreateCall(ctx, req); !errors.Is(err, voice.ErrAPIAuth) {
			t.Errorf("%s: %v, want ErrAPIAuth", name, err)
		}
	}
	c := voiceClient(t, v, "app-1", pemKey)
	bad := req
	bad.NCCO = ncco.NCCO{ncco.Talk{Text: "x"}}
	bad.AnswerURL = []string{"https://example.com/answer"}
	if _, err := c.CreateCall(ctx, bad); !errors.Is(err, voice.ErrAPIRequest) {
		t.Errorf("answer_url: %v, want ErrAPIRequest", err)
	}

	info, err := c.CreateCall(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	call, err := v.WaitCall(ctx, info.ConversationUUID, func(c proxytest.SimCall) bool {
		return len(c.Legs) == 2 && c.Legs[1].Status == "answered"
	})
	if err != nil {
		t.Fatal(err)
	}
	a, b := call.Legs[0], call.Legs[1]
	if a.UUID != info.UUID || a.To != "447400654321" || a.From != "447700900001" || b.To != "447400123456" || b.From != "447700900002" {
		t.Errorf("legs %+v", call.Legs)
	}
	if !call.Recorded || len(call.Talk) != 1 || !call.API {
		t.Errorf("call %+v", call)
	}
	if got, err := c.Call(ctx, b.UUID, ""); err != nil || got.Status != "answered" {
		t.Errorf("GET the callee leg: %+v, %v", got, err)
	}

	v.Fail(proxytest.APICallUpdate, proxytest.Failure{HTTPStatus: 503})
	if err := c.Control(ctx, a.UUID, proxytest.DefaultRegionURL, voice.ActionHangup); !errors.Is(err, voice.ErrAPIServer) {
		t.Errorf("injected 503: %v", err)
	}
	if err := c.Control(ctx, a.UUID, proxytest.DefaultRegionURL, voice.ActionHangup); err != nil {
		t.Fatal(err)
	}
	call, err = v.WaitCall(ctx, a.UUID, func(c proxytest.SimCall) bool { return c.RecordingURL != "" })
	if err != nil {
		t.Fatal(err)
	}
	v.Settle()
	for _, l := range call.Legs {
		if l.Status != "completed" || l.DisconnectedBy != "platform" {
			t.Errorf("leg after hang-up: %+v", l)
		}
	}
	if err := c.Control(ctx, b.UUID, "", voice.ActionHangup); !errors.Is(err, voice.ErrCallNotFound) {
		t.Errorf("hang up an ended leg: %v, want ErrCallNotFound", err)
	}
	reqs := v.Requests()
	if r := reqs[len(reqs)-2]; r.API != proxytest.APICallUpdate || r.Host != "api-eu-3.vonage.com" || r.Status != 204 {
		t.Errorf("hang-up request %+v: want a 204 in the call's region", r)
	}

	// Every event went to the created call's event_url, the recording
	// event last.
	svc.mu.Lock()
	var seq []string
	for _, e := range svc.events {
		if e["query.leg"] != "api" {
			t.Errorf("event %v not sent to the call's event_url", e)
		}
		seq = append(seq, e["status"])
	}
	last := svc.events[len(svc.events)-1]
	svc.mu.Unlock()
	if want := "started ringing answered started ringing answered completed completed "; strings.Join(seq, " ") != want {
		t.Errorf("events %q, want %q", strings.Join(seq, " "), want)
	}
	if last["recording_url"] != call.RecordingURL {
		t.Errorf("last event %v, want the recording", last)
	}
	rc, err := c.Recording(ctx, call.RecordingURL)
	if err != nil {
		t.Fatal(err)
	}
	audio, _ := io.ReadAll(rc)
	rc.Close()
	if !strings.HasPrefix(string(audio), "ID3") || last["size"] != strconv.Itoa(len(audio)) {
		t.Errorf("recording of %d bytes, event says %s", len(audio), last["size"])
	}
	if _, err := c.Recording(ctx, proxytest.RecordingHost+"/v1/files/nope"); !errors.Is(err, voice.ErrCallNotFound) {
		t.Errorf("unknown recording: %v", err)
	}
}

// A call placed with Hold stays in progress until a participant hangs up
// (EndCall) or the Voice API is asked to; without Simulator.Vonage it
// fails.
func TestHeldCall(t *testing.T) {
	t.Parallel()
	v := proxytest.NewVonage()
	svc := &fakeService{}
	sim := &proxytest.Simulator{Handler: svc, Vonage: v, Now: func() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) }}
	out, err := sim.PlaceCallWith(t.Context(), "447400654321", "447700900001", proxytest.CallOptions{Hold: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Events) != 6 || out.CalleeStatus != "answered" {
		t.Errorf("held call: %d events, callee %q; want 6, answered", len(out.Events), out.CalleeStatus)
	}
	calls := v.Calls()
	if len(calls) != 1 || calls[0].Ended || calls[0].Region != proxytest.DefaultRegionURL || !calls[0].Recorded {
		t.Fatalf("calls %+v", calls)
	}
	if err := v.EndCall(context.Background(), out.CalleeUUID); err != nil {
		t.Fatal(err)
	}
	call := v.Calls()[0]
	if !call.Ended || call.Legs[0].DisconnectedBy != "user" || len(call.Events) != 3 {
		t.Errorf("after EndCall: %+v", call)
	}
	if err := v.EndCall(context.Background(), out.UUID); err == nil {
		t.Error("EndCall of an ended call succeeded")
	}
	noV := &proxytest.Simulator{Handler: svc}
	if _, err := noV.PlaceCallWith(t.Context(), "447400654321", "447700900001", proxytest.CallOptions{Hold: true}); err == nil {
		t.Error("Hold without Vonage succeeded")
	}
}

// The simulated Messages API takes an SMS with the application JWT or
// Basic auth, answers 202 with a message_uuid, refuses bad credentials
// (401) and bad fields (422), and posts signed statuses.
func TestMessagesAPI(t *testing.T) {
	t.Parallel()
	key, pemKey := newAppKey(t)
	v := proxytest.NewVonage(proxytest.WithApplication("app-1", &key.PublicKey))
	statuses := &fakeService{}
	v.StatusTo(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := sms.VerifyMessagesSignature(r, body, "s3cret", 0, time.Now()); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		statuses.mu.Lock()
		defer statuses.mu.Unlock()
		var m map[string]any
		_ = json.Unmarshal(body, &m)
		statuses.events = append(statuses.events, map[string]string{"status": fmt.Sprint(m["status"]), "client_ref": fmt.Sprint(m["client_ref"])})
	}), "/message-status", "s3cret")
	newClient := func(auth sms.MessagesAuth) *sms.MessagesClient {
		c, err := sms.NewMessagesClient(auth, sms.WithHTTPClient(v.Client()), sms.WithBaseURL(proxytest.InProcessURL+"/v1/messages"), sms.WithRateLimit(0), sms.WithMaxRetries(0))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	msg := sms.Message{From: "447700900001", To: "447700900101", Text: "On my way", ClientRef: "i-1"}
	for name, auth := range map[string]sms.MessagesAuth{
		"application": {ApplicationID: "app-1", PrivateKey: pemKey},
		"basic":       {APIKey: proxytest.APIKey, APISecret: proxytest.APISecret},
	} {
		res, err := newClient(auth).Send(t.Context(), msg)
		if err != nil || len(res.Messages) != 1 || res.Messages[0].MessageID == "" {
			t.Errorf("%s: %+v, %v", name, res, err)
		}
	}
	if _, err := newClient(sms.MessagesAuth{APIKey: proxytest.APIKey, APISecret: "wrong"}).Send(t.Context(), msg); !errors.Is(err, sms.ErrInvalidCredentials) {
		t.Errorf("wrong secret: %v", err)
	}
	v.Fail(proxytest.APIMessages, proxytest.Failure{HTTPStatus: http.StatusUnprocessableEntity, Text: "Invalid params"})
	if _, err := newClient(sms.MessagesAuth{ApplicationID: "app-1", PrivateKey: pemKey}).Send(t.Context(), msg); !errors.Is(err, sms.ErrInvalidParams) {
		t.Errorf("injected 422: %v", err)
	}
	out := v.Outbox()
	if len(out) != 2 || out[0].To != "447700900101" || out[0].ClientRef != "i-1" {
		t.Errorf("outbox %+v", out)
	}
	statuses.mu.Lock()
	defer statuses.mu.Unlock()
	if len(statuses.events) != 4 || statuses.events[0]["status"] != "submitted" || statuses.events[1]["status"] != "delivered" || statuses.events[1]["client_ref"] != "i-1" {
		t.Errorf("statuses %v, want submitted then delivered per SMS", statuses.events)
	}
	if n := v.ReceiptFailures(); n != 0 {
		t.Errorf("%d statuses failed to verify", n)
	}
}
