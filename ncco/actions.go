package ncco

import (
	"encoding/json"
	"math"
	"slices"
	"time"
)

// Action names, as written in the JSON "action" field.
const (
	KindRecord       = "record"
	KindConversation = "conversation"
	KindConnect      = "connect"
	KindTalk         = "talk"
	KindStream       = "stream"
	KindInput        = "input"
	KindNotify       = "notify"
	KindWait         = "wait"
	KindTransfer     = "transfer"
)

// Values of the eventMethod fields.
const (
	MethodGET  = "GET"
	MethodPOST = "POST"
)

// Talk reads text to the call with text-to-speech. It is synchronous: the
// next action starts when the text has been read, unless BargeIn is set.
type Talk struct {
	// Text to read, up to 1500 characters (SSML tags not counted).
	// Required. May be SSML wrapped in <speak>.
	Text string `json:"text"`
	// BargeIn lets the caller interrupt the text by pressing a key; the
	// next action must then be an input.
	BargeIn bool `json:"bargeIn,omitempty"`
	// Loop is how many times to read the text. Nil leaves Vonage's default
	// (1); 0 means repeat until the call ends, so a pointer tells "absent"
	// from 0.
	Loop *int `json:"loop,omitempty"`
	// Level is the volume, -1 to 1 in steps of 0.1. Nil leaves the default
	// (0); a pointer so that an explicit 0 is written when asked for.
	Level *float64 `json:"level,omitempty"`
	// Language is the BCP-47 code of the voice's language ("en-GB").
	// Empty: Vonage's default, en-US.
	Language string `json:"language,omitempty"`
	// Style picks one of the language's voices. Nil: the default (0); a
	// pointer so that style 0 can be written explicitly.
	Style *int `json:"style,omitempty"`
	// Premium selects the premium voice of the language and style.
	Premium bool `json:"premium,omitempty"`
	// VoiceName is the voice by name ("Kimberly"). Deprecated by Vonage
	// in favour of Language and Style, and still accepted: it is kept so
	// that NCCOs using it survive a round trip.
	VoiceName string `json:"voiceName,omitempty"`
}

// maxTalkText is the documented limit on talk text, in characters.
const maxTalkText = 1500

// Kind returns "talk".
func (Talk) Kind() string { return KindTalk }

// Validate checks the text (present, at most 1500 characters), loop (not
// negative), level (-1 to 1) and style (not negative).
func (t Talk) Validate() error { return validateAlone(KindTalk, t.problems()) }

func (t Talk) problems() []*ValidationError {
	var c checker
	switch n := textLen(t.Text); {
	case n == 0:
		c.add("text", "required: must not be empty")
	case n > maxTalkText:
		c.addf("text", "%d characters, at most %d", n, maxTalkText)
	}
	c.ptrIntRange("loop", t.Loop, 0, maxInt)
	if t.Level != nil {
		c.floatRange("level", *t.Level, -1, 1)
	}
	c.ptrIntRange("style", t.Style, 0, maxInt)
	return c.ps
}

// MarshalJSON writes the talk with "action":"talk".
func (t Talk) MarshalJSON() ([]byte, error) {
	type fields Talk
	return json.Marshal(struct {
		Action string `json:"action"`
		fields
	}{KindTalk, fields(t)})
}

// textLen counts the characters of s outside SSML tags, and ignores
// surrounding whitespace, so "   " counts as empty.
func textLen(s string) int {
	n, inTag, pendingSpace := 0, false, 0
	for _, r := range s {
		switch {
		case inTag:
			inTag = r != '>'
		case r == '<':
			inTag = true
		case r == ' ' || r == '\t' || r == '\n' || r == '\r':
			if n > 0 {
				pendingSpace++
			}
		default:
			n += pendingSpace + 1
			pendingSpace = 0
		}
	}
	return n
}

const maxInt = int(^uint(0) >> 1)

// Stream plays an audio file to the call. It is synchronous unless BargeIn
// is set.
type Stream struct {
	// StreamURL is an array holding the single http(s) URL of an MP3 or
	// WAV file. Required.
	StreamURL []string `json:"streamUrl,omitempty"`
	// Level is the volume, -1 to 1. Nil: the default (0).
	Level *float64 `json:"level,omitempty"`
	// BargeIn lets the caller interrupt the audio by pressing a key; the
	// next action must then be an input.
	BargeIn bool `json:"bargeIn,omitempty"`
	// Loop is how many times to play the audio; 0 means until the call
	// ends, nil means Vonage's default (1).
	Loop *int `json:"loop,omitempty"`
}

// Kind returns "stream".
func (Stream) Kind() string { return KindStream }

// Validate checks streamUrl (exactly one http(s) URL), level (-1 to 1) and
// loop (not negative).
func (s Stream) Validate() error { return validateAlone(KindStream, s.problems()) }

func (s Stream) problems() []*ValidationError {
	var c checker
	switch len(s.StreamURL) {
	case 0:
		c.add("streamUrl", "required: an array with one URL")
	case 1:
		c.urls("streamUrl", s.StreamURL, true)
	default:
		c.addf("streamUrl", "%d URLs, Vonage takes exactly one", len(s.StreamURL))
	}
	if s.Level != nil {
		c.floatRange("level", *s.Level, -1, 1)
	}
	c.ptrIntRange("loop", s.Loop, 0, maxInt)
	return c.ps
}

// MarshalJSON writes the stream with "action":"stream".
func (s Stream) MarshalJSON() ([]byte, error) {
	type fields Stream
	return json.Marshal(struct {
		Action string `json:"action"`
		fields
	}{KindStream, fields(s)})
}

// Values of Record.Format.
const (
	FormatMP3 = "mp3"
	FormatWAV = "wav"
	FormatOGG = "ogg"
)

// SplitConversation is the only value of Record.Split: each side of the
// call in its own channel.
const SplitConversation = "conversation"

// Record records the call, or part of it. It is asynchronous: the NCCO
// goes on while recording, unless EndOnSilence, EndOnKey or TimeOut make it
// wait for the end of the recording.
type Record struct {
	// Format of the file: "mp3", "wav" or "ogg". Empty: mp3 (wav when
	// recording more than 2 channels).
	Format string `json:"format,omitempty"`
	// Split "conversation" records each leg in its own channel.
	Split string `json:"split,omitempty"`
	// Channels is how many channels to record, 1–32 (with Split set).
	// 0 = absent.
	Channels int `json:"channels,omitempty"`
	// EndOnSilence stops recording after this many seconds of silence,
	// 3–10. 0 = absent.
	EndOnSilence int `json:"endOnSilence,omitempty"`
	// EndOnKey stops recording when this key is pressed: a digit, "*" or
	// "#".
	EndOnKey string `json:"endOnKey,omitempty"`
	// TimeOut is the longest recording in seconds, 3–7200. 0 = absent
	// (Vonage's default, 7200).
	TimeOut int `json:"timeOut,omitempty"`
	// BeepStart plays a beep when recording starts.
	BeepStart bool `json:"beepStart,omitempty"`
	// EventURL receives the recording's URL when it is done.
	EventURL []string `json:"eventUrl,omitempty"`
	// EventMethod is "GET" or "POST" (the default).
	EventMethod string `json:"eventMethod,omitempty"`
	// Transcription, when set, asks Vonage to transcribe the recording.
	Transcription *Transcription `json:"transcription,omitempty"`
}

// Transcription asks Vonage to transcribe a recording.
type Transcription struct {
	// Language of the speech, BCP-47 ("en-GB"). Empty: en-US.
	Language string `json:"language,omitempty"`
	// EventURL receives the transcription when it is ready.
	EventURL []string `json:"eventUrl,omitempty"`
	// EventMethod is "GET" or "POST" (the default).
	EventMethod string `json:"eventMethod,omitempty"`
	// SentimentAnalysis adds a sentiment score to the transcription.
	SentimentAnalysis bool `json:"sentimentAnalysis,omitempty"`
}

// Kind returns "record".
func (Record) Kind() string { return KindRecord }

// Validate checks the enums (format, split, eventMethod), the ranges
// (channels 1–32 with split, endOnSilence 3–10, timeOut 3–7200), endOnKey
// (one of 0–9, * and #) and the URLs.
func (r Record) Validate() error { return validateAlone(KindRecord, r.problems()) }

func (r Record) problems() []*ValidationError {
	var c checker
	c.oneOf("format", r.Format, FormatMP3, FormatWAV, FormatOGG)
	c.oneOf("split", r.Split, SplitConversation)
	c.intRange("channels", r.Channels, 1, 32)
	if r.Channels != 0 && r.Split == "" {
		c.add("channels", `needs split "conversation"`)
	}
	c.intRange("endOnSilence", r.EndOnSilence, 3, 10)
	if r.EndOnKey != "" && !isDTMFKey(r.EndOnKey) {
		c.addf("endOnKey", "%q is not one of 0–9, * or #", short(r.EndOnKey))
	}
	c.intRange("timeOut", r.TimeOut, 3, 7200)
	c.urls("eventUrl", r.EventURL, false)
	c.method("eventMethod", r.EventMethod)
	if t := r.Transcription; t != nil {
		c.urls("transcription.eventUrl", t.EventURL, false)
		c.method("transcription.eventMethod", t.EventMethod)
	}
	return c.ps
}

// MarshalJSON writes the record with "action":"record".
func (r Record) MarshalJSON() ([]byte, error) {
	type fields Record
	return json.Marshal(struct {
		Action string `json:"action"`
		fields
	}{KindRecord, fields(r)})
}

func isDTMFKey(s string) bool {
	return len(s) == 1 && (s[0] >= '0' && s[0] <= '9' || s[0] == '*' || s[0] == '#')
}

// Conversation puts the call into a named conversation (a conference):
// every call whose NCCO names the same conversation talks with the others.
type Conversation struct {
	// Name of the conversation, unique within the application. Required.
	Name string `json:"name"`
	// MusicOnHoldURL is an array holding one http(s) URL of audio played
	// until the conversation starts.
	MusicOnHoldURL []string `json:"musicOnHoldUrl,omitempty"`
	// StartOnEnter: whether the conversation starts when this caller
	// joins. Vonage's default is true, so nil (absent) and false differ;
	// set it to false for attendees who wait for a moderator.
	StartOnEnter *bool `json:"startOnEnter,omitempty"`
	// EndOnExit ends the conversation when this caller (a moderator)
	// leaves. Default false.
	EndOnExit bool `json:"endOnExit,omitempty"`
	// Record records the conversation.
	Record bool `json:"record,omitempty"`
	// CanSpeak lists the leg UUIDs that can hear this caller. Nil: all of
	// them; an empty, non-nil slice: none, so it is written as [].
	CanSpeak []string `json:"canSpeak,omitzero"`
	// CanHear lists the leg UUIDs this caller can hear. Nil: all of them;
	// an empty, non-nil slice: none.
	CanHear []string `json:"canHear,omitzero"`
	// Mute mutes this caller.
	Mute bool `json:"mute,omitempty"`
	// EventURL receives the conversation's events.
	EventURL []string `json:"eventUrl,omitempty"`
	// EventMethod is "GET" or "POST" (the default).
	EventMethod string `json:"eventMethod,omitempty"`
	// Transcription transcribes the conversation's recording, as a record
	// action's transcription does. It needs Record: Vonage transcribes
	// only a recorded conversation (the Java SDK's ConversationAction
	// refuses a transcription without record true: "Recording must be
	// enabled for transcription").
	Transcription *Transcription `json:"transcription,omitempty"`
}

// Kind returns "conversation".
func (Conversation) Kind() string { return KindConversation }

// Validate checks the name (required), the URLs, the leg UUID lists,
// eventMethod, and that a transcription comes with Record.
func (cv Conversation) Validate() error { return validateAlone(KindConversation, cv.problems()) }

func (cv Conversation) problems() []*ValidationError {
	var c checker
	if cv.Name == "" {
		c.add("name", "required: must not be empty")
	}
	if len(cv.MusicOnHoldURL) > 1 {
		c.addf("musicOnHoldUrl", "%d URLs, Vonage takes exactly one", len(cv.MusicOnHoldURL))
	}
	c.urls("musicOnHoldUrl", cv.MusicOnHoldURL, false)
	for _, f := range []struct {
		name string
		ids  []string
	}{{"canSpeak", cv.CanSpeak}, {"canHear", cv.CanHear}} {
		for _, id := range f.ids {
			if id == "" {
				c.add(f.name, "empty leg UUID")
				break
			}
		}
	}
	// The reference: mute cannot be combined with canSpeak (a muted
	// caller is heard by nobody).
	if cv.Mute && cv.CanSpeak != nil {
		c.add("mute", "cannot be combined with canSpeak")
	}
	c.urls("eventUrl", cv.EventURL, false)
	c.method("eventMethod", cv.EventMethod)
	if t := cv.Transcription; t != nil {
		if !cv.Record {
			c.add("transcription", "needs record: true (Vonage transcribes only a recorded conversation)")
		}
		c.urls("transcription.eventUrl", t.EventURL, false)
		c.method("transcription.eventMethod", t.EventMethod)
	}
	return c.ps
}

// MarshalJSON writes the conversation with "action":"conversation".
func (cv Conversation) MarshalJSON() ([]byte, error) {
	type fields Conversation
	return json.Marshal(struct {
		Action string `json:"action"`
		fields
	}{KindConversation, fields(cv)})
}

// Notify sends a request with a payload of your choosing to EventURL, to
// follow a call's progress through its NCCO.
type Notify struct {
	// Payload is the JSON body sent to EventURL. Required.
	Payload map[string]any `json:"payload,omitzero"`
	// EventURL is an array with the one URL to send the payload to.
	// Required.
	EventURL []string `json:"eventUrl,omitempty"`
	// EventMethod is "GET" or "POST" (the default).
	EventMethod string `json:"eventMethod,omitempty"`
}

// Kind returns "notify".
func (Notify) Kind() string { return KindNotify }

// Validate checks that payload and eventUrl are present and eventMethod is
// GET or POST.
func (n Notify) Validate() error { return validateAlone(KindNotify, n.problems()) }

func (n Notify) problems() []*ValidationError {
	var c checker
	if n.Payload == nil {
		c.add("payload", "required: a JSON object")
	}
	c.urls("eventUrl", n.EventURL, true)
	c.method("eventMethod", n.EventMethod)
	return c.ps
}

// MarshalJSON writes the notify with "action":"notify".
func (n Notify) MarshalJSON() ([]byte, error) {
	type fields Notify
	return json.Marshal(struct {
		Action string `json:"action"`
		fields
	}{KindNotify, fields(n)})
}

// Wait pauses the NCCO for a while.
type Wait struct {
	// Timeout is the pause in seconds. Nil: absent, Vonage's default of
	// 10 s. Vonage takes any number and clamps it to 0.1–7200 ("Values
	// below 0.1 default to 0.1 seconds, and values above 7200 default to
	// 7200 seconds": the Java SDK's WaitAction, which checks no range);
	// Pause gives the pause Vonage makes. A pointer, so that a timeout of
	// 0 read from JSON is kept (a 0.1 s pause) instead of turning into the
	// 10-second default on the way out.
	Timeout *float64 `json:"timeout,omitempty"`
}

// Wait timeouts: Vonage's default pause and the bounds it clamps a
// timeout to (Java SDK, WaitAction).
const (
	DefaultWaitTimeout = 10 * time.Second
	MinWaitTimeout     = 100 * time.Millisecond
	MaxWaitTimeout     = 7200 * time.Second
)

// Kind returns "wait".
func (Wait) Kind() string { return KindWait }

// Validate checks that timeout, when set, is a finite number (JSON has no
// other). It refuses no finite value, as Vonage refuses none: see Pause.
func (w Wait) Validate() error { return validateAlone(KindWait, w.problems()) }

func (w Wait) problems() []*ValidationError {
	var c checker
	if w.Timeout != nil && (math.IsNaN(*w.Timeout) || math.IsInf(*w.Timeout, 0)) {
		c.addf("timeout", "%v is not a finite number", *w.Timeout)
	}
	return c.ps
}

// Pause is how long Vonage pauses for this wait: DefaultWaitTimeout when
// Timeout is nil, else Timeout clamped to MinWaitTimeout–MaxWaitTimeout
// (a NaN counts as the minimum).
func (w Wait) Pause() time.Duration {
	if w.Timeout == nil {
		return DefaultWaitTimeout
	}
	t := *w.Timeout
	switch {
	case !(t >= MinWaitTimeout.Seconds()):
		return MinWaitTimeout
	case t >= MaxWaitTimeout.Seconds():
		return MaxWaitTimeout
	}
	return time.Duration(t * float64(time.Second))
}

// MarshalJSON writes the wait with "action":"wait".
func (w Wait) MarshalJSON() ([]byte, error) {
	type fields Wait
	return json.Marshal(struct {
		Action string `json:"action"`
		fields
	}{KindWait, fields(w)})
}

// Transfer moves the call's legs from their conversation into another,
// existing one (NCCO reference, transfer).
type Transfer struct {
	// ConversationID is the conversation to move into. Required.
	ConversationID string `json:"conversationId"`
	// CanHear lists the leg UUIDs the moved legs can hear. Nil: all; an
	// empty, non-nil slice: none.
	CanHear []string `json:"canHear,omitzero"`
	// CanSpeak lists the leg UUIDs that can hear the moved legs. Nil: all;
	// an empty, non-nil slice: none.
	CanSpeak []string `json:"canSpeak,omitzero"`
	// Mute mutes the moved legs; not with CanSpeak.
	Mute bool `json:"mute,omitempty"`
}

// Kind returns "transfer".
func (Transfer) Kind() string { return KindTransfer }

// Validate checks conversationId (required), the leg UUID lists, and that
// mute is not combined with canSpeak.
func (t Transfer) Validate() error { return validateAlone(KindTransfer, t.problems()) }

func (t Transfer) problems() []*ValidationError {
	var c checker
	if t.ConversationID == "" {
		c.add("conversationId", "required: must not be empty")
	}
	for _, f := range []struct {
		name string
		ids  []string
	}{{"canHear", t.CanHear}, {"canSpeak", t.CanSpeak}} {
		if slices.Contains(f.ids, "") {
			c.add(f.name, "empty leg UUID")
		}
	}
	if t.Mute && t.CanSpeak != nil {
		c.add("mute", "cannot be combined with canSpeak")
	}
	return c.ps
}

// MarshalJSON writes the transfer with "action":"transfer".
func (t Transfer) MarshalJSON() ([]byte, error) {
	type fields Transfer
	return json.Marshal(struct {
		Action string `json:"action"`
		fields
	}{KindTransfer, fields(t)})
}
