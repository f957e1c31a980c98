package ncco_test

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/voiceproxy/voiceproxy/ncco"
)

func phone(n string) []ncco.Endpoint { return []ncco.Endpoint{ncco.PhoneEndpoint{Number: n}} }

// fieldsOf lists the Field of every *ValidationError joined in err.
func fieldsOf(t *testing.T, err error) []string {
	t.Helper()
	var out []string
	var walk func(error)
	walk = func(e error) {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		var ve *ncco.ValidationError
		if !errors.As(e, &ve) {
			t.Fatalf("%T %v is not a *ValidationError", e, e)
		}
		out = append(out, ve.Field)
	}
	if err != nil {
		walk(err)
	}
	return out
}

func TestActionValidate(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", 1501)
	tests := []struct {
		name   string
		action ncco.Action
		fields []string // fields at fault, in order; nil = valid
	}{
		{"talk ok", ncco.Talk{Text: "hi"}, nil},
		{"talk empty", ncco.Talk{}, []string{"text"}},
		{"talk blank", ncco.Talk{Text: " \n "}, []string{"text"}},
		{"talk only tags", ncco.Talk{Text: "<speak></speak>"}, []string{"text"}},
		{"talk 1500", ncco.Talk{Text: long[:1500]}, nil},
		{"talk 1501", ncco.Talk{Text: long}, []string{"text"}},
		{"talk 1500 plus tags", ncco.Talk{Text: "<speak>" + long[:1500] + "</speak>"}, nil},
		{"talk ranges", ncco.Talk{Text: "x", Loop: ptr(-1), Level: ptr(1.5), Style: ptr(-1)}, []string{"loop", "level", "style"}},
		{"talk level -1", ncco.Talk{Text: "x", Level: ptr(-1.0)}, nil},
		{"stream none", ncco.Stream{}, []string{"streamUrl"}},
		{"stream two", ncco.Stream{StreamURL: []string{"https://a.example/1.mp3", "https://a.example/2.mp3"}}, []string{"streamUrl"}},
		{"stream not http", ncco.Stream{StreamURL: []string{"ftp://a.example/1.mp3"}}, []string{"streamUrl[0]"}},
		{"stream relative", ncco.Stream{StreamURL: []string{"/hold.mp3"}}, []string{"streamUrl[0]"}},
		{"stream ranges", ncco.Stream{StreamURL: []string{"https://a.example/1.mp3"}, Level: ptr(-1.1), Loop: ptr(-2)}, []string{"level", "loop"}},
		{"record enums", ncco.Record{Format: "flac", Split: "legs", EventMethod: "PUT"}, []string{"format", "split", "eventMethod"}},
		{"record ogg", ncco.Record{Format: ncco.FormatOGG}, nil},
		{"record channels", ncco.Record{Split: ncco.SplitConversation, Channels: 33}, []string{"channels"}},
		{"record channels negative", ncco.Record{Split: ncco.SplitConversation, Channels: -1}, []string{"channels"}},
		{"record channels without split", ncco.Record{Channels: 2}, []string{"channels"}},
		{"record channels 32", ncco.Record{Split: ncco.SplitConversation, Channels: 32}, nil},
		{"record silence", ncco.Record{EndOnSilence: 2}, []string{"endOnSilence"}},
		{"record silence 11", ncco.Record{EndOnSilence: 11}, []string{"endOnSilence"}},
		{"record key", ncco.Record{EndOnKey: "12"}, []string{"endOnKey"}},
		{"record key star", ncco.Record{EndOnKey: "*"}, nil},
		{"record timeout", ncco.Record{TimeOut: 7201}, []string{"timeOut"}},
		{"record timeout low", ncco.Record{TimeOut: 2}, []string{"timeOut"}},
		{"record event url", ncco.Record{EventURL: []string{""}}, []string{"eventUrl[0]"}},
		{"record transcription", ncco.Record{Transcription: &ncco.Transcription{EventURL: []string{"x"}, EventMethod: "get"}}, []string{"transcription.eventUrl[0]", "transcription.eventMethod"}},
		{"conversation no name", ncco.Conversation{}, []string{"name"}},
		{"conversation moh", ncco.Conversation{Name: "r", MusicOnHoldURL: []string{"a", "b"}}, []string{"musicOnHoldUrl", "musicOnHoldUrl[0]", "musicOnHoldUrl[1]"}},
		{"conversation legs", ncco.Conversation{Name: "r", CanSpeak: []string{""}, CanHear: []string{"x", ""}}, []string{"canSpeak", "canHear"}},
		{"conversation empty lists", ncco.Conversation{Name: "r", CanSpeak: []string{}, CanHear: []string{}}, nil},
		{"connect no endpoint", ncco.Connect{}, []string{"endpoint"}},
		{"connect two endpoints", ncco.Connect{Endpoint: []ncco.Endpoint{ncco.AppEndpoint{User: "a"}, ncco.AppEndpoint{User: "b"}}}, []string{"endpoint"}},
		{"connect nil endpoint", ncco.Connect{Endpoint: []ncco.Endpoint{nil}}, []string{"endpoint[0]"}},
		{"connect nil pointer endpoint", ncco.Connect{Endpoint: []ncco.Endpoint{(*ncco.PhoneEndpoint)(nil)}}, []string{"endpoint[0]"}},
		{"connect pointer endpoint", ncco.Connect{Endpoint: []ncco.Endpoint{&ncco.PhoneEndpoint{Number: "447700900123"}}}, nil},
		{"connect short number", ncco.Connect{Endpoint: phone("123456")}, []string{"endpoint[0].number"}},
		{"connect 7 digits", ncco.Connect{Endpoint: phone("1234567")}, nil},
		{"connect 15 digits", ncco.Connect{Endpoint: phone("123456789012345")}, nil},
		{"connect 16 digits", ncco.Connect{Endpoint: phone("1234567890123456")}, []string{"endpoint[0].number"}},
		{"connect plus number", ncco.Connect{Endpoint: phone("+447700900123")}, []string{"endpoint[0].number"}},
		{"connect national number", ncco.Connect{Endpoint: phone("07700900123")}, []string{"endpoint[0].number"}},
		{"connect from letters", ncco.Connect{Endpoint: phone("447700900123"), From: "Vonage"}, []string{"from"}},
		{"connect from and random", ncco.Connect{Endpoint: phone("447700900123"), From: "447700900001", RandomFromNumber: true}, []string{"from"}},
		{"connect random alone", ncco.Connect{Endpoint: phone("447700900123"), RandomFromNumber: true}, nil},
		{"connect limit", ncco.Connect{Endpoint: phone("447700900123"), Limit: 7201}, []string{"limit"}},
		{"connect limit negative", ncco.Connect{Endpoint: phone("447700900123"), Limit: -1}, []string{"limit"}},
		{"connect limit 7200", ncco.Connect{Endpoint: phone("447700900123"), Limit: 7200}, nil},
		{"connect timeout negative", ncco.Connect{Endpoint: phone("447700900123"), Timeout: -5}, []string{"timeout"}},
		{"connect enums", ncco.Connect{Endpoint: phone("447700900123"), MachineDetection: "detect", EventType: "async", EventMethod: "post"}, []string{"machineDetection", "eventType", "eventMethod"}},
		{"connect ringback", ncco.Connect{Endpoint: phone("447700900123"), RingbackTone: "ringback.mp3"}, []string{"ringbackTone"}},
		{"connect amd empty", ncco.Connect{Endpoint: phone("447700900123"), AdvancedMachineDetection: &ncco.AdvancedMachineDetection{}}, []string{"advanced_machine_detection.behavior"}},
		{"connect amd bad", ncco.Connect{Endpoint: phone("447700900123"), AdvancedMachineDetection: &ncco.AdvancedMachineDetection{Behavior: "drop", Mode: "fast", BeepTimeout: 44}}, []string{"advanced_machine_detection.behavior", "advanced_machine_detection.mode", "advanced_machine_detection.beep_timeout"}},
		{"connect amd beep 121", ncco.Connect{Endpoint: phone("447700900123"), AdvancedMachineDetection: &ncco.AdvancedMachineDetection{Behavior: ncco.MachineContinue, BeepTimeout: 121}}, []string{"advanced_machine_detection.beep_timeout"}},
		{"phone dtmf", ncco.Connect{Endpoint: []ncco.Endpoint{ncco.PhoneEndpoint{Number: "447700900123", DTMFAnswer: "12a"}}}, []string{"endpoint[0].dtmfAnswer"}},
		{"phone on answer", ncco.Connect{Endpoint: []ncco.Endpoint{ncco.PhoneEndpoint{Number: "447700900123", OnAnswer: &ncco.OnAnswer{RingbackTone: "x"}}}}, []string{"endpoint[0].onAnswer.url", "endpoint[0].onAnswer.ringbackTone"}},
		{"app empty", ncco.Connect{Endpoint: []ncco.Endpoint{ncco.AppEndpoint{}}}, []string{"endpoint[0].user"}},
		{"websocket http", ncco.Connect{Endpoint: []ncco.Endpoint{ncco.WebSocketEndpoint{URI: "https://example.com/socket"}}}, []string{"endpoint[0].uri"}},
		{"websocket empty", ncco.Connect{Endpoint: []ncco.Endpoint{ncco.WebSocketEndpoint{}}}, []string{"endpoint[0].uri"}},
		{"websocket content type", ncco.Connect{Endpoint: []ncco.Endpoint{ncco.WebSocketEndpoint{URI: "wss://example.com", ContentType: "audio/mp3"}}}, []string{"endpoint[0].content-type"}},
		{"sip http", ncco.Connect{Endpoint: []ncco.Endpoint{ncco.SIPEndpoint{URI: "http://example.com"}}}, []string{"endpoint[0].uri"}},
		{"sip bare scheme", ncco.Connect{Endpoint: []ncco.Endpoint{ncco.SIPEndpoint{URI: "sip:"}}}, []string{"endpoint[0].uri"}},
		{"sip upper case", ncco.Connect{Endpoint: []ncco.Endpoint{ncco.SIPEndpoint{URI: "SIP:bob@example.com"}}}, nil},
		{"sip empty header", ncco.Connect{Endpoint: []ncco.Endpoint{ncco.SIPEndpoint{URI: "sip:bob@example.com", Headers: map[string]string{"": "x"}}}}, []string{"endpoint[0].headers"}},
		{"vbc empty", ncco.Connect{Endpoint: []ncco.Endpoint{ncco.VBCEndpoint{}}}, []string{"endpoint[0].extension"}},
		{"input no type", ncco.Input{}, []string{"type"}},
		{"input no type with settings", ncco.Input{DTMF: &ncco.DTMFSettings{}}, []string{"type"}},
		{"input bad type", ncco.Input{Type: []string{"voice"}}, []string{"type"}},
		{"input twice", ncco.Input{Type: []string{"dtmf", "dtmf"}}, []string{"type"}},
		{"input settings mismatch", ncco.Input{Type: []string{"dtmf"}, Speech: &ncco.SpeechSettings{}}, []string{"speech"}},
		{"input dtmf mismatch", ncco.Input{Type: []string{"speech"}, DTMF: &ncco.DTMFSettings{}}, []string{"dtmf"}},
		{"input dtmf ranges", ncco.Input{Type: []string{"dtmf"}, DTMF: &ncco.DTMFSettings{TimeOut: ptr(11), MaxDigits: 21}}, []string{"dtmf.timeOut", "dtmf.maxDigits"}},
		{"input dtmf negative", ncco.Input{Type: []string{"dtmf"}, DTMF: &ncco.DTMFSettings{TimeOut: ptr(-1), MaxDigits: -1}}, []string{"dtmf.timeOut", "dtmf.maxDigits"}},
		{"input dtmf edges", ncco.Input{Type: []string{"dtmf"}, DTMF: &ncco.DTMFSettings{TimeOut: ptr(10), MaxDigits: 1}}, nil},
		{"input speech ranges", ncco.Input{Type: []string{"speech"}, Speech: &ncco.SpeechSettings{
			UUID: []string{"a", "b"}, EndOnSilence: 0.3, StartTimeout: 61, MaxDuration: -1, Sensitivity: ptr(101),
		}}, []string{"speech.uuid", "speech.endOnSilence", "speech.startTimeout", "speech.maxDuration", "speech.sensitivity"}},
		{"input speech empty uuid", ncco.Input{Type: []string{"speech"}, Speech: &ncco.SpeechSettings{UUID: []string{""}}}, []string{"speech.uuid"}},
		{"input mode", ncco.Input{Type: []string{"dtmf"}, Mode: "async"}, []string{"mode"}},
		{"input async speech", ncco.Input{Type: []string{"speech"}, Mode: ncco.InputModeAsynchronous}, []string{"mode"}},
		{"input async dtmf settings", ncco.Input{Type: []string{"dtmf"}, Mode: ncco.InputModeAsynchronous, DTMF: &ncco.DTMFSettings{MaxDigits: 4}}, []string{"dtmf"}},
		{"input urls", ncco.Input{Type: []string{"dtmf"}, EventURL: []string{"example.com"}, EventMethod: "PATCH"}, []string{"eventUrl[0]", "eventMethod"}},
		{"notify empty", ncco.Notify{}, []string{"payload", "eventUrl"}},
		{"notify method", ncco.Notify{Payload: map[string]any{}, EventURL: []string{"https://example.com"}, EventMethod: "DELETE"}, []string{"eventMethod"}},
		// Vonage clamps a wait's timeout to 0.1–7200 and refuses none
		// (Java SDK, WaitAction): see TestWaitPause.
		{"wait low", ncco.Wait{Timeout: ptr(0.05)}, nil},
		{"wait high", ncco.Wait{Timeout: ptr(7200.5)}, nil},
		{"wait negative", ncco.Wait{Timeout: ptr(-1.0)}, nil},
		{"wait edges", ncco.Wait{Timeout: ptr(7200.0)}, nil},
		{"wait zero read from JSON", ncco.Wait{Timeout: ptr(0.0)}, nil},
		{"wait NaN", ncco.Wait{Timeout: ptr(math.NaN())}, []string{"timeout"}},
		{"wait infinite", ncco.Wait{Timeout: ptr(math.Inf(1))}, []string{"timeout"}},
		{"pointer action", &ncco.Talk{Text: "hi"}, nil},
		{"connect timeout too short", ncco.Connect{Endpoint: phone("447700900123"), Timeout: 2}, []string{"timeout"}},
		{"connect timeout too long", ncco.Connect{Endpoint: phone("447700900123"), Timeout: 7201}, []string{"timeout"}},
		{"connect timeout edges", ncco.Connect{Endpoint: phone("447700900123"), Timeout: 3}, nil},
		{"speech sensitivity under 10", ncco.Input{Type: []string{"speech"}, Speech: &ncco.SpeechSettings{Sensitivity: ptr(9)}}, []string{"speech.sensitivity"}},
		{"conversation mute with canSpeak", ncco.Conversation{Name: "r", Mute: true, CanSpeak: []string{}}, []string{"mute"}},
		{"conversation transcription url", ncco.Conversation{Name: "r", Record: true, Transcription: &ncco.Transcription{EventURL: []string{"nope"}}}, []string{"transcription.eventUrl[0]"}},
		{"conversation transcription without record", ncco.Conversation{Name: "r", Transcription: &ncco.Transcription{}}, []string{"transcription"}},
		{"conversation transcription with record", ncco.Conversation{Name: "r", Record: true, Transcription: &ncco.Transcription{Language: "en-GB"}}, nil},
		{"transfer empty", ncco.Transfer{}, []string{"conversationId"}},
		{"transfer mute with canSpeak", ncco.Transfer{ConversationID: "c", Mute: true, CanSpeak: []string{"x"}}, []string{"mute"}},
		{"transfer empty leg", ncco.Transfer{ConversationID: "c", CanHear: []string{""}}, []string{"canHear"}},
		{"websocket auth type", ncco.Connect{Endpoint: []ncco.Endpoint{ncco.WebSocketEndpoint{URI: "wss://e.com", Authorization: &ncco.WebSocketAuthorization{Type: "basic"}}}}, []string{"endpoint[0].authorization.type"}},
		{"websocket custom auth without value", ncco.Connect{Endpoint: []ncco.Endpoint{ncco.WebSocketEndpoint{URI: "wss://e.com", Authorization: &ncco.WebSocketAuthorization{Type: ncco.AuthorizationCustom}}}}, []string{"endpoint[0].authorization.value"}},
		{"websocket vonage auth with value", ncco.Connect{Endpoint: []ncco.Endpoint{ncco.WebSocketEndpoint{URI: "wss://e.com", Authorization: &ncco.WebSocketAuthorization{Type: ncco.AuthorizationVonage, Value: "x"}}}}, []string{"endpoint[0].authorization.value"}},
		{"sip uri and domain", ncco.Connect{Endpoint: []ncco.Endpoint{ncco.SIPEndpoint{URI: "sip:a@b.com", Domain: "trunk"}}}, []string{"endpoint[0].uri"}},
		{"sip user without domain", ncco.Connect{Endpoint: []ncco.Endpoint{ncco.SIPEndpoint{URI: "sip:a@b.com", User: "a"}}}, []string{"endpoint[0].user"}},
		{"sip domain only", ncco.Connect{Endpoint: []ncco.Endpoint{ncco.SIPEndpoint{Domain: "trunk"}}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.action.Validate()
			if diff := cmp.Diff(tt.fields, fieldsOf(t, err)); diff != "" {
				t.Errorf("fields at fault (-want +got):\n%s\nerror: %v", diff, err)
			}
			if err == nil {
				return
			}
			if !errors.Is(err, ncco.ErrInvalid) {
				t.Errorf("errors.Is(%v, ErrInvalid) = false", err)
			}
			var ve *ncco.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("errors.As(%v, *ValidationError) = false", err)
			}
			if ve.Index != -1 || ve.Action != tt.action.Kind() {
				t.Errorf("Index, Action = %d, %q; want -1, %q", ve.Index, ve.Action, tt.action.Kind())
			}
			if ve.Reason == "" || !strings.HasPrefix(err.Error(), "ncco: "+tt.action.Kind()+": ") {
				t.Errorf("error %q lacks the action name or a reason", err)
			}
		})
	}
}

func TestNCCOValidate(t *testing.T) {
	t.Parallel()
	t.Run("empty", func(t *testing.T) {
		t.Parallel()
		for _, n := range []ncco.NCCO{nil, {}} {
			err := n.Validate()
			var ve *ncco.ValidationError
			if !errors.As(err, &ve) || ve.Index != -1 || ve.Action != "" {
				t.Errorf("Validate(%#v) = %v, want a *ValidationError for the whole NCCO", n, err)
			}
		}
	})
	t.Run("index and action", func(t *testing.T) {
		t.Parallel()
		n := ncco.NCCO{
			ncco.Talk{Text: "ok"},
			nil,
			ncco.Connect{Endpoint: phone("12"), From: "+44"},
			(*ncco.Wait)(nil),
		}
		err := n.Validate()
		type where struct {
			Index         int
			Action, Field string
		}
		var got []where
		for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
			var ve *ncco.ValidationError
			if !errors.As(e, &ve) {
				t.Fatalf("%v is not a *ValidationError", e)
			}
			got = append(got, where{ve.Index, ve.Action, ve.Field})
		}
		want := []where{{1, "", ""}, {2, "connect", "endpoint[0].number"}, {2, "connect", "from"}, {3, "", ""}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
		if !strings.Contains(err.Error(), "ncco: action 2 (connect): endpoint[0].number: ") {
			t.Errorf("error %q does not name index, action and field", err)
		}
		if !errors.Is(err, ncco.ErrInvalidNumber) {
			t.Errorf("errors.Is(err, ErrInvalidNumber) = false for a bad phone number")
		}
	})
	t.Run("valid", func(t *testing.T) {
		t.Parallel()
		if err := (ncco.NCCO{ncco.Record{}, ncco.Talk{Text: "hi"}}).Validate(); err != nil {
			t.Errorf("Validate = %v", err)
		}
	})
}

func TestEndpointValidateAlone(t *testing.T) {
	t.Parallel()
	err := ncco.PhoneEndpoint{Number: "abc"}.Validate()
	var ve *ncco.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Validate = %v, want *ValidationError", err)
	}
	if ve.Field != "endpoint(phone).number" || ve.Action != "connect" {
		t.Errorf("Field, Action = %q, %q", ve.Field, ve.Action)
	}
	if !errors.Is(err, ncco.ErrInvalidNumber) {
		t.Errorf("errors.Is(%v, ErrInvalidNumber) = false", err)
	}
	for _, e := range []ncco.Endpoint{
		ncco.PhoneEndpoint{Number: "447700900123"}, ncco.AppEndpoint{User: "u"},
		ncco.WebSocketEndpoint{URI: "wss://x.example"}, ncco.SIPEndpoint{URI: "sip:x@y"}, ncco.VBCEndpoint{Extension: "1"},
	} {
		if err := e.Validate(); err != nil {
			t.Errorf("%s: Validate = %v", e.Type(), err)
		}
	}
}

// NCCO reference, talk: with bargeIn, the next action that is not a talk
// must be an input.
func TestBargeInNeedsInput(t *testing.T) {
	t.Parallel()
	barge := ncco.Talk{Text: "Press 1", BargeIn: true}
	tests := []struct {
		name string
		n    ncco.NCCO
		ok   bool
	}{
		{"input next", ncco.NCCO{barge, ncco.Input{Type: []string{ncco.InputDTMF}}}, true},
		{"talks then input", ncco.NCCO{barge, ncco.Talk{Text: "or 2"}, ncco.Input{Type: []string{ncco.InputDTMF}}}, true},
		{"last action", ncco.NCCO{barge}, false},
		{"connect next", ncco.NCCO{barge, ncco.Connect{Endpoint: phone("447700900123")}}, false},
		{"stream barge-in", ncco.NCCO{ncco.Stream{StreamURL: []string{"https://e.com/a.mp3"}, BargeIn: true}, ncco.Wait{}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.n.Validate()
			if tt.ok != (err == nil) {
				t.Fatalf("Validate = %v, want ok %v", err, tt.ok)
			}
			if !tt.ok && !strings.Contains(err.Error(), "bargeIn") {
				t.Errorf("error %v does not name bargeIn", err)
			}
		})
	}
}

// A wait pauses as Vonage does: 10 s when the timeout is absent, else the
// timeout clamped to 0.1–7200 s (Java SDK, WaitAction), and a JSON timeout
// of 0 decodes, validates and pauses 0.1 s.
func TestWaitPause(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		timeout *float64
		want    time.Duration
	}{
		{nil, 10 * time.Second},
		{ptr(0.5), 500 * time.Millisecond},
		{ptr(0.0), 100 * time.Millisecond},
		{ptr(-3.0), 100 * time.Millisecond},
		{ptr(math.NaN()), 100 * time.Millisecond},
		{ptr(7200.0), 2 * time.Hour},
		{ptr(86400.0), 2 * time.Hour},
	} {
		if got := (ncco.Wait{Timeout: tt.timeout}).Pause(); got != tt.want {
			t.Errorf("Pause(%v) = %v, want %v", tt.timeout, got, tt.want)
		}
	}
	n, err := ncco.Unmarshal([]byte(`[{"action":"wait","timeout":0}]`))
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Validate(); err != nil {
		t.Errorf("a wait of 0 s (Vonage clamps it to 0.1 s): %v", err)
	}
	if w, ok := n[0].(ncco.Wait); !ok || w.Pause() != ncco.MinWaitTimeout {
		t.Errorf("decoded %#v, want a Wait pausing %v", n[0], ncco.MinWaitTimeout)
	}
}
