package ncco

import "encoding/json"

// Values of Input.Type.
const (
	InputDTMF   = "dtmf"
	InputSpeech = "speech"
)

// Values of Input.Mode.
const (
	InputModeSynchronous  = "synchronous"
	InputModeAsynchronous = "asynchronous"
)

// Input collects key presses (DTMF), speech, or both, and sends what it
// got to EventURL, which answers with the NCCO to run next.
type Input struct {
	// Type lists what to collect: "dtmf", "speech" or both. Required.
	Type []string `json:"type,omitempty"`
	// DTMF configures key-press collection (with "dtmf" in Type).
	DTMF *DTMFSettings `json:"dtmf,omitempty"`
	// Speech configures speech recognition (with "speech" in Type).
	Speech *SpeechSettings `json:"speech,omitempty"`
	// Mode is "synchronous" (the default) or "asynchronous" (DTMF only:
	// each key is sent as it is pressed; DTMF settings must then be
	// empty).
	Mode string `json:"mode,omitempty"`
	// EventURL receives the input. Without it Vonage uses the
	// application's event URL.
	EventURL []string `json:"eventUrl,omitempty"`
	// EventMethod is "GET" or "POST" (the default).
	EventMethod string `json:"eventMethod,omitempty"`
}

// DTMFSettings configures how an Input collects key presses.
type DTMFSettings struct {
	// TimeOut is how long to wait after the last key, in seconds, 0–10.
	// Nil: Vonage's default (3). 0 is a valid value, hence the pointer.
	TimeOut *int `json:"timeOut,omitempty"`
	// MaxDigits is the most keys to collect, 1–20. 0 = absent (default 4).
	MaxDigits int `json:"maxDigits,omitempty"`
	// SubmitOnHash sends the input as soon as # is pressed.
	SubmitOnHash bool `json:"submitOnHash,omitempty"`
}

// SpeechSettings configures how an Input recognises speech.
type SpeechSettings struct {
	// UUID lists the one leg to listen to. Without it Vonage listens to
	// the call's own leg (required for outbound calls only).
	UUID []string `json:"uuid,omitempty"`
	// EndOnSilence is the silence, in seconds, that ends the speech,
	// 0.4–10. 0 = absent (Vonage's default, 2).
	EndOnSilence float64 `json:"endOnSilence,omitempty"`
	// Language of the speech, BCP-47. Empty: en-US.
	Language string `json:"language,omitempty"`
	// Context lists words and phrases the caller is likely to say, to
	// help recognition.
	Context []string `json:"context,omitempty"`
	// StartTimeout is how long to wait for the caller to start speaking,
	// in seconds, 1–60. 0 = absent (default 10).
	StartTimeout int `json:"startTimeout,omitempty"`
	// MaxDuration is the longest speech, in seconds, 1–60. 0 = absent
	// (default 60).
	MaxDuration int `json:"maxDuration,omitempty"`
	// SaveAudio keeps a recording of the speech and sends its URL with
	// the input.
	SaveAudio bool `json:"saveAudio,omitempty"`
	// Sensitivity of voice activity detection, 10–100 (NCCO reference,
	// input). Nil: Vonage's
	// default; 0 is a valid value, hence the pointer.
	Sensitivity *int `json:"sensitivity,omitempty"`
}

// Kind returns "input".
func (Input) Kind() string { return KindInput }

// Validate checks that type names dtmf, speech or both (once each) and
// matches the settings given, the DTMF ranges (timeOut 0–10, maxDigits
// 1–20), the speech ranges (endOnSilence 0.4–10, startTimeout and
// maxDuration 1–60, sensitivity 10–100), mode, and the URLs.
func (in Input) Validate() error { return validateAlone(KindInput, in.problems()) }

func (in Input) problems() []*ValidationError {
	var c checker
	var dtmf, speech bool
	if len(in.Type) == 0 {
		c.add("type", `required: "dtmf", "speech" or both`)
	}
	for _, t := range in.Type {
		switch {
		case t == InputDTMF && !dtmf:
			dtmf = true
		case t == InputSpeech && !speech:
			speech = true
		case t == InputDTMF || t == InputSpeech:
			c.addf("type", "%q listed twice", t)
		default:
			c.addf("type", "%q is not one of %q", short(t), []string{InputDTMF, InputSpeech})
		}
	}
	if in.DTMF != nil {
		if !dtmf && len(in.Type) > 0 {
			c.add("dtmf", `settings given but type does not include "dtmf"`)
		}
		c.ptrIntRange("dtmf.timeOut", in.DTMF.TimeOut, 0, 10)
		c.intRange("dtmf.maxDigits", in.DTMF.MaxDigits, 1, 20)
	}
	if s := in.Speech; s != nil {
		if !speech && len(in.Type) > 0 {
			c.add("speech", `settings given but type does not include "speech"`)
		}
		if len(s.UUID) > 1 {
			c.addf("speech.uuid", "%d UUIDs, Vonage takes exactly one", len(s.UUID))
		}
		for _, id := range s.UUID {
			if id == "" {
				c.add("speech.uuid", "empty leg UUID")
			}
		}
		if s.EndOnSilence != 0 {
			c.floatRange("speech.endOnSilence", s.EndOnSilence, 0.4, 10)
		}
		c.intRange("speech.startTimeout", s.StartTimeout, 1, 60)
		c.intRange("speech.maxDuration", s.MaxDuration, 1, 60)
		c.ptrIntRange("speech.sensitivity", s.Sensitivity, 10, 100)
	}
	c.oneOf("mode", in.Mode, InputModeSynchronous, InputModeAsynchronous)
	if in.Mode == InputModeAsynchronous {
		if speech {
			c.add("mode", `"asynchronous" works with dtmf input only`)
		}
		if d := in.DTMF; d != nil && (d.TimeOut != nil || d.MaxDigits != 0 || d.SubmitOnHash) {
			c.add("dtmf", `must be empty with mode "asynchronous"`)
		}
	}
	c.urls("eventUrl", in.EventURL, false)
	c.method("eventMethod", in.EventMethod)
	return c.ps
}

// MarshalJSON writes the input with "action":"input".
func (in Input) MarshalJSON() ([]byte, error) {
	type fields Input
	return json.Marshal(struct {
		Action string `json:"action"`
		fields
	}{KindInput, fields(in)})
}
