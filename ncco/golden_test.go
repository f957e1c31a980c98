package ncco_test

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/voiceproxy/voiceproxy/ncco"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ncco")

// goldenDir is the repository's shared testdata, not this package's.
const goldenDir = "../testdata/ncco"

func ptr[T any](v T) *T { return &v }

// goldenCases holds, for each golden file, the NCCO it must encode from
// and decode to: every action with all fields set and with the fewest,
// and every endpoint type. All of them are valid.
func goldenCases() map[string]ncco.NCCO {
	return map[string]ncco.NCCO{
		"talk_minimal": {ncco.Talk{Text: "Hello"}},
		"talk_full": {ncco.Talk{
			Text:     "<speak>Welcome <break time='1s'/> back</speak>",
			BargeIn:  true,
			Loop:     ptr(0),
			Level:    ptr(-0.5),
			Language: "en-GB",
			Style:    ptr(0),
			Premium:  true,
		}, ncco.Input{Type: []string{ncco.InputDTMF}}},
		"talk_voice_name": {ncco.Talk{Text: "Hello", VoiceName: "Amy"}},
		"stream_minimal":  {ncco.Stream{StreamURL: []string{"https://example.com/hold.mp3"}}},
		"stream_full": {ncco.Stream{
			StreamURL: []string{"https://example.com/menu.mp3"},
			Level:     ptr(0.0),
			BargeIn:   true,
			Loop:      ptr(2),
		}, ncco.Input{Type: []string{ncco.InputDTMF}}},
		"record_minimal": {ncco.Record{}},
		"record_full": {ncco.Record{
			Format:       ncco.FormatWAV,
			Split:        ncco.SplitConversation,
			Channels:     2,
			EndOnSilence: 3,
			EndOnKey:     "#",
			TimeOut:      600,
			BeepStart:    true,
			EventURL:     []string{"https://example.com/recordings"},
			EventMethod:  ncco.MethodPOST,
			Transcription: &ncco.Transcription{
				Language:          "en-GB",
				EventURL:          []string{"https://example.com/transcriptions"},
				EventMethod:       ncco.MethodGET,
				SentimentAnalysis: true,
			},
		}},
		"record_default_transcription": {ncco.Record{Transcription: &ncco.Transcription{}}},
		"conversation_minimal":         {ncco.Conversation{Name: "room-42"}},
		"conversation_full": {ncco.Conversation{
			Name:           "room-42",
			MusicOnHoldURL: []string{"https://example.com/music.mp3"},
			StartOnEnter:   ptr(false),
			EndOnExit:      true,
			Record:         true,
			CanSpeak:       []string{"6a4d6af0-55a6-4667-be90-8614e4c8e83c"},
			CanHear:        []string{}, // hears nobody: written as []
			EventURL:       []string{"https://example.com/conversation-events"},
			EventMethod:    ncco.MethodGET,
			Transcription:  &ncco.Transcription{Language: "en-GB", EventURL: []string{"https://example.com/transcripts"}},
		}},
		"conversation_muted": {ncco.Conversation{Name: "room-42", Mute: true}},
		"transfer_minimal":   {ncco.Transfer{ConversationID: "CON-aaaaaaaa-bbbb-cccc-dddd-0123456789ab"}},
		"transfer_full": {ncco.Transfer{
			ConversationID: "CON-aaaaaaaa-bbbb-cccc-dddd-0123456789ab",
			CanHear:        []string{"6a4d6af0-55a6-4667-be90-8614e4c8e83c"},
			CanSpeak:       []string{},
		}},
		"transfer_muted":  {ncco.Transfer{ConversationID: "CON-aaaaaaaa-bbbb-cccc-dddd-0123456789ab", Mute: true}},
		"connect_minimal": {ncco.Connect{Endpoint: []ncco.Endpoint{ncco.PhoneEndpoint{Number: "447700900123"}}}},
		"connect_phone_full": {ncco.Connect{
			Endpoint: []ncco.Endpoint{ncco.PhoneEndpoint{
				Number:     "447700900123",
				DTMFAnswer: "p*123#",
				OnAnswer: &ncco.OnAnswer{
					URL:          "https://example.com/whisper",
					RingbackTone: "https://example.com/ringback.mp3",
				},
				Shaken: "eyJhbGciOiJFUzI1NiJ9.e30.c2ln;info=<https://cert.example.com/cert.pem>;alg=ES256;ppt=shaken",
			}},
			From:             "447700900001",
			Timeout:          45,
			Limit:            3600,
			MachineDetection: ncco.MachineContinue,
			AdvancedMachineDetection: &ncco.AdvancedMachineDetection{
				Behavior:    ncco.MachineHangup,
				Mode:        ncco.MachineModeDetectBeep,
				BeepTimeout: 60,
			},
			EventType:    ncco.EventTypeSynchronous,
			EventURL:     []string{"https://example.com/events"},
			EventMethod:  ncco.MethodPOST,
			RingbackTone: "https://example.com/ringback.mp3",
		}},
		"connect_random_from": {ncco.Connect{
			Endpoint:         []ncco.Endpoint{ncco.PhoneEndpoint{Number: "14155550100"}},
			RandomFromNumber: true,
		}},
		"connect_app": {ncco.Connect{Endpoint: []ncco.Endpoint{ncco.AppEndpoint{User: "alice"}}}},
		"connect_websocket": {ncco.Connect{Endpoint: []ncco.Endpoint{ncco.WebSocketEndpoint{
			URI:         "wss://example.com/socket",
			ContentType: ncco.ContentType16kHz,
			Headers: map[string]any{
				"caller": "447700900123",
				"vip":    true,
				"meta":   map[string]any{"tries": 2.0},
			},
		}}}},
		"connect_websocket_minimal": {ncco.Connect{Endpoint: []ncco.Endpoint{ncco.WebSocketEndpoint{URI: "ws://example.com/socket"}}}},
		"connect_websocket_authorized": {ncco.Connect{Endpoint: []ncco.Endpoint{
			ncco.WebSocketEndpoint{URI: "wss://example.com/socket", Authorization: &ncco.WebSocketAuthorization{Type: ncco.AuthorizationVonage}},
		}}, ncco.Connect{Endpoint: []ncco.Endpoint{
			ncco.WebSocketEndpoint{URI: "wss://example.com/socket", Authorization: &ncco.WebSocketAuthorization{Type: ncco.AuthorizationCustom, Value: "Bearer abc123"}},
		}}},
		"connect_sip_trunk": {ncco.Connect{Endpoint: []ncco.Endpoint{ncco.SIPEndpoint{Domain: "my-trunk", User: "alice"}}}},
		"connect_sip": {ncco.Connect{Endpoint: []ncco.Endpoint{ncco.SIPEndpoint{
			URI:             "sips:alice@sip.example.com;transport=tls",
			Headers:         map[string]string{"X-Order": "1234"},
			StandardHeaders: &ncco.SIPStandardHeaders{UserToUser: "342342ef34;encoding=hex"},
		}}}},
		"connect_sip_minimal":  {ncco.Connect{Endpoint: []ncco.Endpoint{ncco.SIPEndpoint{URI: "sip:bob@example.com"}}}},
		"connect_vbc":          {ncco.Connect{Endpoint: []ncco.Endpoint{ncco.VBCEndpoint{Extension: "1234"}}}},
		"input_dtmf_minimal":   {ncco.Input{Type: []string{ncco.InputDTMF}}},
		"input_speech_minimal": {ncco.Input{Type: []string{ncco.InputSpeech}}},
		"input_async":          {ncco.Input{Type: []string{ncco.InputDTMF}, Mode: ncco.InputModeAsynchronous, EventURL: []string{"https://example.com/keys"}}},
		"input_full": {ncco.Input{
			Type: []string{ncco.InputDTMF, ncco.InputSpeech},
			DTMF: &ncco.DTMFSettings{TimeOut: ptr(0), MaxDigits: 20, SubmitOnHash: true},
			Speech: &ncco.SpeechSettings{
				UUID:         []string{"aaaaaaaa-bbbb-cccc-dddd-0123456789ab"},
				EndOnSilence: 0.4,
				Language:     "en-GB",
				Context:      []string{"yes", "no", "driver"},
				StartTimeout: 10,
				MaxDuration:  60,
				SaveAudio:    true,
				Sensitivity:  ptr(10),
			},
			Mode:        ncco.InputModeSynchronous,
			EventURL:    []string{"https://example.com/input"},
			EventMethod: ncco.MethodPOST,
		}},
		"notify_minimal": {ncco.Notify{Payload: map[string]any{}, EventURL: []string{"https://example.com/progress"}}},
		"notify_full": {ncco.Notify{
			Payload:     map[string]any{"step": "greeted", "attempt": 1.0, "tags": []any{"a", "b"}},
			EventURL:    []string{"https://example.com/progress"},
			EventMethod: ncco.MethodGET,
		}},
		"wait_minimal": {ncco.Wait{}},
		"wait_full":    {ncco.Wait{Timeout: ptr(0.5)}},
		"wait_longest": {ncco.Wait{Timeout: ptr(7200.0)}},
		"masked_call": {
			ncco.Talk{Text: "Connecting you now.", Language: "en-GB"},
			ncco.Connect{
				From:     "447700900001",
				Endpoint: []ncco.Endpoint{ncco.PhoneEndpoint{Number: "447700900123"}},
			},
		},
		"not_in_service": {ncco.Talk{Text: "The number you have dialled is not in service."}},
	}
}

func TestGolden(t *testing.T) {
	t.Parallel()
	for name, n := range goldenCases() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if err := n.Validate(); err != nil {
				t.Fatalf("golden NCCO is not valid: %v", err)
			}
			got, err := json.Marshal(n)
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			path := filepath.Join(goldenDir, name+".json")
			if *update {
				pretty, err := json.MarshalIndent(json.RawMessage(got), "", "  ")
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, append(pretty, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./ncco -run TestGolden -update)", err)
			}
			if diff := cmp.Diff(decodeAny(t, want), decodeAny(t, got)); diff != "" {
				t.Errorf("JSON differs from %s (-want +got):\n%s", path, diff)
			}
			back, err := ncco.Unmarshal(want)
			if err != nil {
				t.Fatalf("Unmarshal(%s): %v", path, err)
			}
			if diff := cmp.Diff(n, back); diff != "" {
				t.Errorf("decoding %s (-want +got):\n%s", path, diff)
			}
		})
	}
}

// TestGoldenFilesHaveCases keeps testdata/ncco free of stale files.
func TestGoldenFilesHaveCases(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join(goldenDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	cases := goldenCases()
	for _, f := range files {
		name := filepath.Base(f)
		if _, ok := cases[name[:len(name)-len(".json")]]; !ok {
			t.Errorf("%s has no case in goldenCases", f)
		}
	}
	if len(files) != len(cases) {
		t.Errorf("%d golden files, %d cases", len(files), len(cases))
	}
}

func decodeAny(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("invalid JSON %s: %v", b, err)
	}
	return v
}
