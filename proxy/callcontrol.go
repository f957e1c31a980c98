package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/voiceproxy/voiceproxy/internal/phone"
	"github.com/voiceproxy/voiceproxy/internal/voice"
	"github.com/voiceproxy/voiceproxy/ncco"
)

// This file is call control through Vonage's Voice API: hanging up the
// calls in progress of a conversation that ends, click-to-call
// (Service.Call) and recordings (Service.Recording). Which calls are in
// progress is read from the audit trail in the store (each leg's events),
// so any instance can hang up a call another instance answered.

// VoiceAPI is what call control needs of Vonage's Voice API. New builds
// one from Config.ApplicationID and Config.CallControl.ApplicationKey; Config.CallControl.Client
// replaces it (a wrapper, a test double).
type VoiceAPI interface {
	// CreateCall starts an outbound call running call.NCCO (POST
	// /v1/calls). It must not be retried once Vonage may have accepted
	// it: a second try could ring the phone twice.
	CreateCall(ctx context.Context, call OutboundCall) (CallRef, error)
	// Hangup hangs up one call leg (PUT /v1/calls/{uuid}, action
	// hangup) in its region. A leg that has ended already is an error
	// matching ErrCallNotFound.
	Hangup(ctx context.Context, leg CallRef) error
	// Call reads one call leg in its region (GET /v1/calls/{uuid}; Voice
	// API reference, ../shared/vonage-api/voice.yml, operation getCall,
	// "Get detail of a specific call"). A leg the Voice API does not know
	// is an error matching ErrCallNotFound.
	Call(ctx context.Context, leg CallRef) (CallDetail, error)
	// Recording streams a recording from its recording_url.
	Recording(ctx context.Context, recordingURL string) (io.ReadCloser, error)
}

// OutboundCall is a call for VoiceAPI.CreateCall to start.
type OutboundCall struct {
	To, From string // digits only: the phone rung, and the caller ID it sees
	NCCO     ncco.NCCO
	// EventURL receives the call's events; "" for the application's.
	EventURL string
	// RingingTimer bounds how long To rings; LengthTimer the call's
	// length. Whole seconds; 0 for Vonage's defaults (60 s and 2 hours).
	RingingTimer, LengthTimer time.Duration
}

// CallRef names a call leg to the Voice API.
type CallRef struct {
	UUID             string // the leg
	ConversationUUID string // the call it belongs to
	// Region is the call's region_url; "" for the client's default.
	Region string
}

// CallDetail is what the Voice API says of a call leg (GetCallResponse).
// Rate, Price, Duration, StartTime, EndTime and Network are only sent
// once Status is completed; the zero value otherwise.
type CallDetail struct {
	UUID             string
	ConversationUUID string
	// Status is the leg's status, as in its event webhooks ("answered",
	// "completed", "busy", …).
	Status    EventStatus
	Direction string // "inbound" or "outbound"
	Rate      string // price per minute
	Price     string // the leg's total price
	Duration  int    // seconds
	StartTime time.Time
	EndTime   time.Time
	Network   string // MCCMNC of the carrier network
}

// Errors of call control. The Voice API's are those of the client that
// New builds, matched with errors.Is whichever way they are wrapped.
var (
	// ErrCallControlOff: the Service has no Voice API client
	// (Config.CallControl.ApplicationKey or Config.CallControl.Client).
	ErrCallControlOff = errors.New("proxy: call control is off: set Config.ApplicationID and Config.CallControl.ApplicationKey")
	// ErrConversationEnded: the conversation is closed or expired.
	ErrConversationEnded = errors.New("proxy: conversation has ended")
	// ErrCallRefused is matched by a *CallRefusedError.
	ErrCallRefused = errors.New("proxy: call refused")
	// ErrNoRecording: the interaction has no recording (not a recorded
	// call, or its recording event has not come yet).
	ErrNoRecording = errors.New("proxy: no recording")

	// The Voice API's answers, by HTTP status family.
	ErrCallNotFound   = voice.ErrCallNotFound // 404: unknown leg, or one that has ended
	ErrVoiceAuth      = voice.ErrAPIAuth      // 401: bad application ID or key
	ErrVoiceForbidden = voice.ErrAPIForbidden // 403
	ErrVoiceConflict  = voice.ErrAPIConflict  // 409: the call's state refuses the action
	ErrVoiceThrottled = voice.ErrAPIThrottled // 429, after the client's retries
	ErrVoiceServer    = voice.ErrAPIServer    // 5xx
	ErrVoiceRequest   = voice.ErrAPIRequest   // any other 4xx, or a request the client refused to send
	// ErrUntrustedURL: a region_url or recording_url not on one of
	// Vonage's API hosts (by exact name, https) nor VoiceAPIURL's, or not
	// shaped as Vonage gives it. The application JWT is never sent to one.
	ErrUntrustedURL = voice.ErrUntrustedURL
	// ErrVoiceRedirected: the Voice API answered with a redirect, which
	// is not followed (the JWT would go with it).
	ErrVoiceRedirected = voice.ErrRedirected
	// ErrRecordingTooLarge: a recording is larger than
	// Config.CallControl.MaxRecordingBytes; from Service.Recording, or from the
	// Read of its body once more than that has come.
	ErrRecordingTooLarge = voice.ErrRecordingTooLarge
)

// CallRefusedError reports a click-to-call the conversation does not
// allow: an SMS-only conversation, or a Config.Hooks.Intercept veto.
type CallRefusedError struct {
	Reason string
	Err    error // the Intercept's error, if it vetoed
}

func (e *CallRefusedError) Error() string { return "proxy: call refused: " + e.Reason }

// Unwrap returns ErrCallRefused and the Intercept's error.
func (e *CallRefusedError) Unwrap() []error { return []error{ErrCallRefused, e.Err} }

// HangupError reports call legs of an ended conversation that could not
// be hung up. The conversation has ended all the same (it is returned
// alongside); the hang-ups are retried in the background (see
// Config.CallControl.HangupAttempts), and each failure is on the call's interaction as
// an EventHangupFailed.
type HangupError struct {
	ConversationID string
	// Failed maps a leg's UUID to why it could not be hung up; "" keys
	// the failure to list the conversation's calls at all.
	Failed map[string]error
}

func (e *HangupError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "proxy: conversation %s ended but hanging up its calls failed:", e.ConversationID)
	for _, leg := range slices.Sorted(maps.Keys(e.Failed)) {
		if leg == "" {
			fmt.Fprintf(&b, " listing calls (%v);", e.Failed[leg])
		} else {
			fmt.Fprintf(&b, " leg %s (%v);", leg, e.Failed[leg])
		}
	}
	return strings.TrimSuffix(b.String(), ";")
}

// Unwrap returns the failures, in leg order.
func (e *HangupError) Unwrap() []error {
	var errs []error
	for _, leg := range slices.Sorted(maps.Keys(e.Failed)) {
		errs = append(errs, e.Failed[leg])
	}
	return errs
}

// Statuses of call control the Service records on a call's interaction.
const (
	// EventRequested: the Service asked Vonage to start this call
	// (Service.Call); the event's Leg is the first party's leg.
	EventRequested EventStatus = "requested"
	// EventHungUp: the Service hung this leg up through the Voice API;
	// Detail says why (the conversation was closed or expired). Vonage's
	// own completed event follows.
	EventHungUp EventStatus = "hungup"
	// EventHangupFailed: hanging this leg up failed (the first failure;
	// retries follow); Detail is the error.
	EventHangupFailed EventStatus = "hangup-failed"
	// EventLost: the reconciliation (Service.ReconcileCalls) asked the
	// Voice API about this open leg and it no longer knows it (404): how
	// the leg ended was never reported. Detail is ReconciledDetail. The
	// leg counts as ended, and is not asked about again.
	EventLost EventStatus = "lost"
)

// LiveLegStatuses are the statuses of a call leg in progress: set up,
// ringing or answered (Voice API reference, event webhook), or requested
// by the Service. A leg with one of them and none of EndedLegStatuses is
// open (Store.OpenCalls).
func LiveLegStatuses() []EventStatus {
	return []EventStatus{EventStarted, EventRinging, EventAnswered, EventRequested}
}

// EndedLegStatuses are the statuses after which a call leg is not in
// progress, whatever came before or after: Vonage's final statuses, and
// those the Service records (EventBlocked, EventHungUp, EventLost).
func EndedLegStatuses() []EventStatus {
	return []EventStatus{EventCompleted, EventBusy, EventCancelled, EventUnanswered, EventRejected, EventTimeout,
		EventFailed, EventBlocked, EventHungUp, EventLost}
}

// legEnded reports statuses after which a leg is not in progress
// (EndedLegStatuses).
func legEnded(st EventStatus) bool {
	switch st {
	case EventCompleted, EventBusy, EventCancelled, EventUnanswered, EventRejected, EventTimeout,
		EventFailed, EventBlocked, EventHungUp, EventLost:
		return true
	}
	return false
}

// legLive reports statuses of a leg in progress (LiveLegStatuses).
func legLive(st EventStatus) bool {
	switch st {
	case EventStarted, EventRinging, EventAnswered, EventRequested:
		return true
	}
	return false
}

// liveLeg is a call leg that may be in progress.
type liveLeg struct {
	in  Interaction
	leg string
}

// liveLegs lists the legs of a conversation's calls that may be in
// progress: a leg with an event of legLive and none of legEnded.
func liveLegs(ins []Interaction) []liveLeg {
	var out []liveLeg
	for _, in := range ins {
		if in.Kind != KindCall {
			continue
		}
		live := map[string]bool{}
		var order []string
		for _, ev := range in.Events {
			if ev.Leg == "" || !legEnded(ev.Status) && !legLive(ev.Status) {
				continue
			}
			if _, seen := live[ev.Leg]; !seen {
				order = append(order, ev.Leg)
				live[ev.Leg] = true
			}
			if legEnded(ev.Status) {
				live[ev.Leg] = false // whatever came before or after
			}
		}
		for _, leg := range order {
			if live[leg] {
				out = append(out, liveLeg{in: in, leg: leg})
			}
		}
	}
	return out
}

// callControl is the Voice API client of Config, built once by New.
func callControl(cfg *Config) (VoiceAPI, error) {
	if cfg.CallControl.Client != nil {
		return cfg.CallControl.Client, nil
	}
	if len(cfg.CallControl.ApplicationKey) == 0 {
		return nil, nil
	}
	if cfg.ApplicationID == "" {
		return nil, errors.New("proxy: Config.CallControl.ApplicationKey needs Config.ApplicationID")
	}
	opts := []voice.ClientOption{voice.WithClock(cfg.Now)} // the JWT's iat and exp
	if cfg.CallControl.APIURL != "" {
		opts = append(opts, voice.WithAPIURL(cfg.CallControl.APIURL))
	}
	if cfg.CallControl.HTTPClient != nil {
		opts = append(opts, voice.WithHTTPClient(cfg.CallControl.HTTPClient))
	}
	if cfg.CallControl.MaxRecordingBytes != 0 {
		opts = append(opts, voice.WithMaxRecordingBytes(cfg.CallControl.MaxRecordingBytes))
	}
	c, err := voice.NewClient(cfg.ApplicationID, cfg.CallControl.ApplicationKey, opts...)
	if err != nil {
		return nil, fmt.Errorf("proxy: Config.CallControl.ApplicationKey: %w", err)
	}
	return voiceAPI{c}, nil
}

// voiceAPI is VoiceAPI on the internal Voice API client.
type voiceAPI struct{ c *voice.Client }

func (v voiceAPI) CreateCall(ctx context.Context, call OutboundCall) (CallRef, error) {
	from := voice.Phone(call.From)
	req := voice.CreateCallRequest{
		To: []voice.Endpoint{voice.Phone(call.To)}, From: &from, NCCO: call.NCCO,
		RingingTimer: int(call.RingingTimer / time.Second), LengthTimer: int(call.LengthTimer / time.Second),
	}
	if call.EventURL != "" {
		req.EventURL = []string{call.EventURL}
	}
	info, err := v.c.CreateCall(ctx, req)
	if err != nil {
		return CallRef{}, err
	}
	return CallRef{UUID: info.UUID, ConversationUUID: info.ConversationUUID}, nil
}

func (v voiceAPI) Hangup(ctx context.Context, leg CallRef) error {
	return v.c.Control(ctx, leg.UUID, leg.Region, voice.ActionHangup)
}

func (v voiceAPI) Call(ctx context.Context, leg CallRef) (CallDetail, error) {
	info, err := v.c.Call(ctx, leg.UUID, leg.Region)
	if err != nil {
		return CallDetail{}, err
	}
	start, _ := voice.ParseCallTime(info.StartTime)
	end, _ := voice.ParseCallTime(info.EndTime)
	return CallDetail{
		UUID: info.UUID, ConversationUUID: info.ConversationUUID, Status: EventStatus(info.Status),
		Direction: info.Direction, Rate: info.Rate, Price: info.Price, Duration: info.Duration.Int(0),
		StartTime: start, EndTime: end, Network: info.Network,
	}, nil
}

func (v voiceAPI) Recording(ctx context.Context, recordingURL string) (io.ReadCloser, error) {
	return v.c.Recording(ctx, recordingURL)
}

// Defaults of hang-up retries.
const (
	defaultHangupAttempts  = 5
	defaultHangupRetryWait = 2 * time.Second
	// hangupTimeout bounds one background try at a conversation's calls.
	hangupTimeout = 30 * time.Second
)

// Reasons recorded on EventHungUp.
const (
	hangupClosed  = "conversation closed"
	hangupExpired = "conversation expired"
)

// endsCalls reports whether c's calls are to be hung up now that it has
// ended: when it was closed, or reached its absolute end (ExpiresAt). A
// conversation that expired for want of activity (IdleTimeout) keeps a
// call in progress, which is activity itself: the idle clock only counts
// from a call's start.
func endsCalls(c Conversation, now time.Time) (bool, string) {
	switch {
	case c.Status == StatusClosed:
		return true, hangupClosed
	case !c.ExpiresAt.After(now):
		return true, hangupExpired
	}
	return false, ""
}

// hangUpCalls hangs up the calls in progress of the ended conversation c.
// Legs that fail are retried in the background (attempt is this try's
// number, from 1) and reported in a *HangupError.
func (s *Service) hangUpCalls(ctx context.Context, c Conversation, why string, attempt int) error {
	if s.voice == nil {
		return nil
	}
	ins, err := s.store.Interactions(ctx, c.ID)
	if err != nil {
		s.retryHangups(c.ID, why, attempt)
		return &HangupError{ConversationID: c.ID, Failed: map[string]error{"": fmt.Errorf("list calls: %w", err)}}
	}
	failed := map[string]error{}
	for _, l := range liveLegs(ins) {
		if err := s.hangUpLeg(ctx, l, why); err != nil {
			failed[l.leg] = err
		}
	}
	if len(failed) == 0 {
		return nil
	}
	s.retryHangups(c.ID, why, attempt)
	return &HangupError{ConversationID: c.ID, Failed: failed}
}

// hangUpLeg hangs up one leg and records the outcome. A leg that has
// ended already (ErrCallNotFound) is no failure.
func (s *Service) hangUpLeg(ctx context.Context, l liveLeg, why string) error {
	err := s.voice.Hangup(ctx, CallRef{UUID: l.leg, ConversationUUID: l.in.ExternalID, Region: l.in.Region})
	ev := InteractionEvent{Leg: l.leg, Status: EventHungUp, At: s.now(), Detail: why}
	result := "hungup"
	defer func() { s.tel.count(ctx, s.tel.hangups, "result", result) }()
	switch {
	case errors.Is(err, ErrCallNotFound):
		result = "ended"
		s.log.InfoContext(ctx, "proxy: call leg had ended before hang-up", "conversation", l.in.ConversationID, "call", l.leg)
		return nil
	case err != nil:
		result = "failed"
		s.log.ErrorContext(ctx, "proxy: hang up call failed", "conversation", l.in.ConversationID, "call", l.leg, "err", err)
		ev.Status, ev.Detail = EventHangupFailed, cleanText(err.Error())
	default:
		s.log.InfoContext(ctx, "proxy: call hung up", "conversation", l.in.ConversationID, "call", l.leg, "reason", why)
	}
	in := l.in
	if rerr := s.addEvent(ctx, &in, ev); rerr != nil {
		s.log.ErrorContext(ctx, "proxy: record hang-up failed", "conversation", in.ConversationID, "call", l.leg, "err", rerr)
	}
	return err
}

// retryHangups tries conversation id's calls again after the attempt-th
// try failed, unless that was the last one.
func (s *Service) retryHangups(id, why string, attempt int) {
	if attempt >= s.cfg.CallControl.HangupAttempts {
		s.log.Error("proxy: gave up hanging up calls of an ended conversation", "conversation", id, "attempts", attempt)
		return
	}
	wait := s.cfg.CallControl.HangupRetryWait << (attempt - 1)
	s.bg.Add(1)
	time.AfterFunc(wait, func() {
		defer s.bg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), hangupTimeout)
		defer cancel()
		c, err := s.store.Conversation(ctx, id)
		if err != nil {
			s.log.Error("proxy: hang-up retry: read conversation failed", "conversation", id, "err", err)
			s.retryHangups(id, why, attempt+1)
			return
		}
		_ = s.hangUpCalls(ctx, c, why, attempt+1) // logged and recorded there
	})
}

// hangUpIfEnded hangs up leg, just reported live by an event, when its
// conversation has ended: a call answered while its conversation was
// being closed, or one another instance failed to hang up.
func (s *Service) hangUpIfEnded(ctx context.Context, in Interaction, leg string, now time.Time) {
	c, err := s.store.Conversation(ctx, in.ConversationID)
	if err != nil {
		s.log.ErrorContext(ctx, "proxy: read conversation of a call event failed", "conversation", in.ConversationID, "err", err)
		return
	}
	if c.Status == StatusActive && c.InUse(now) {
		return
	}
	if c.Status == StatusActive { // past its deadline, not swept yet
		c.Status = StatusExpired
	}
	if end, why := endsCalls(c, now); end {
		if err := s.hangUpLeg(ctx, liveLeg{in: in, leg: leg}, why); err != nil {
			s.retryHangups(c.ID, why, 1)
		}
	}
}

// hangUpExpired hangs up the calls of conversation id, just expired,
// when it reached its absolute end (see endsCalls). Failures are logged
// and retried.
func (s *Service) hangUpExpired(ctx context.Context, id string) {
	if s.voice == nil {
		return
	}
	c, err := s.store.Conversation(ctx, id)
	if err != nil {
		s.log.ErrorContext(ctx, "proxy: read expired conversation failed; its calls are not hung up", "conversation", id, "err", err)
		return
	}
	if end, why := endsCalls(c, s.now()); end {
		_ = s.hangUpCalls(ctx, c, why, 1) // logged and retried there
	}
}

// CloseOption changes what CloseConversation does.
type CloseOption func(*closeOptions)

type closeOptions struct {
	keepCalls bool
	goodbye   string
}

// KeepCalls leaves the conversation's calls in progress running to their
// end (Config.Calls.TimeLimit at most) instead of hanging them up.
func KeepCalls() CloseOption { return func(o *closeOptions) { o.keepCalls = true } }

// WithGoodbye sends text to both participants, each from their own proxy
// number, once the conversation is closed ("This conversation has
// ended."), as SendMessage does. It needs Config.SMS.Sender; a conversation that
// had ended already, or a voice-only one, gets none.
func WithGoodbye(text string) CloseOption { return func(o *closeOptions) { o.goodbye = text } }

// CallRequest asks for a click-to-call (Service.Call).
type CallRequest struct {
	// Side is rung first, from their own proxy number; once they answer,
	// the other side is rung from theirs, as if Side had dialled.
	Side Side
	// Whisper is spoken to Side once they answer, before the other side
	// is rung ("Connecting you to your driver."), in Config.Language.
	// Default "": none.
	Whisper string
}

// Call starts a click-to-call: Vonage rings req.Side's real number from
// their proxy number and, once they answer, connects them to the other
// participant, shown the other leg's proxy number — the same masking as a
// call dialled in. It returns the call's interaction (From is req.Side's
// number, To their proxy number, an EventRequested first); the call's
// events follow on it like any other call's. A conversation that
// records its calls records this one (with Config.Calls.RecordingNotice).
//
// Errors: ErrCallControlOff; ErrInvalidRequest (a side other than A or
// B, a whisper that is not text or too long); ErrNotFound;
// ErrConversationEnded; *CallRefusedError (ErrCallRefused) for an
// SMS-only conversation or a Config.Hooks.Intercept veto; the Voice API's
// (ErrVoiceAuth, ErrVoiceThrottled, ErrVoiceServer, …). After a 5xx or a
// timeout the call may have been started all the same: it is not retried,
// and if it was, its events record it.
func (s *Service) Call(ctx context.Context, conversationID string, req CallRequest) (Interaction, error) {
	if s.voice == nil {
		return Interaction{}, ErrCallControlOff
	}
	if req.Side != SideA && req.Side != SideB {
		return Interaction{}, fmt.Errorf("%w: unknown side %v", ErrInvalidRequest, req.Side)
	}
	if !isText(req.Whisper) {
		return Interaction{}, fmt.Errorf("%w: whisper is not valid UTF-8 text", ErrInvalidRequest)
	}
	c, err := s.Conversation(ctx, conversationID)
	if err != nil {
		return Interaction{}, err
	}
	now := s.now()
	if !c.InUse(now) {
		return Interaction{}, fmt.Errorf("proxy: call in conversation %s: %w", c.ID, ErrConversationEnded)
	}
	if c.Mode == ModeSMS {
		return Interaction{}, &CallRefusedError{Reason: refusedSMSOnly}
	}
	if s.cfg.Hooks.Intercept != nil {
		if err := s.cfg.Hooks.Intercept(ctx, Inbound{Kind: KindCall, Conversation: c, Sender: req.Side}); err != nil {
			s.log.InfoContext(ctx, "proxy: click-to-call refused", "conversation", c.ID, "reason", err)
			return Interaction{}, &CallRefusedError{Reason: refusedIntercept + err.Error(), Err: err}
		}
	}
	first, other := c.Participants[req.Side], c.Participants[req.Side.Other()]
	var lead []ncco.Action
	if c.Record {
		lead = append(lead, s.answerPrefix[1][:len(s.answerPrefix[1])-len(s.answerPrefix[0])]...) // record, notice
	}
	if req.Whisper != "" {
		lead = append(lead, ncco.Talk{Text: req.Whisper, Language: s.cfg.Calls.Language})
	}
	n := s.connectNCCO(lead, other.ProxyNumber, other.Number)
	if err := n.Validate(); err != nil {
		return Interaction{}, fmt.Errorf("%w: %v", ErrInvalidRequest, err)
	}
	eventURL := s.cfg.CallControl.EventURL
	if eventURL != "" {
		sep := "?"
		if strings.Contains(eventURL, "?") {
			sep = "&"
		}
		eventURL += sep + clickToCallParam + "=" + url.QueryEscape(c.ID+"."+req.Side.String())
	}
	ref, err := s.voice.CreateCall(ctx, OutboundCall{
		To: first.Number, From: first.ProxyNumber, NCCO: n, EventURL: eventURL,
		RingingTimer: s.cfg.Calls.ConnectTimeout, LengthTimer: s.cfg.Calls.TimeLimit,
	})
	if err != nil {
		s.log.ErrorContext(ctx, "proxy: click-to-call failed", "conversation", c.ID, "err", err)
		return Interaction{}, fmt.Errorf("proxy: start call in conversation %s: %w", c.ID, err)
	}
	s.log.InfoContext(ctx, "proxy: click-to-call started", "conversation", c.ID, "call", ref.UUID, "side", req.Side)
	in, err := s.interactionFor(ctx, Interaction{
		ID: newID(now), ConversationID: c.ID, Kind: KindCall, ExternalID: ref.ConversationUUID,
		From: first.Number, To: first.ProxyNumber, Region: ref.Region, CreatedAt: now,
	})
	if err == nil {
		err = s.addEvent(ctx, &in, InteractionEvent{Leg: ref.UUID, Status: EventRequested, At: now, Direction: "outbound",
			Detail: "click-to-call: " + req.Side.String() + " rung first"})
	}
	if err != nil {
		return Interaction{}, fmt.Errorf("proxy: call %s started in conversation %s but not recorded (its events will be): %w", ref.UUID, c.ID, err)
	}
	s.touch(ctx, c, now)
	return in, nil
}

// clickToCallParam tags the event URL of a click-to-call with its
// conversation and first side ("c2c=<id>.A"), so that its events are
// recorded even when they come before Service.Call has stored the
// call's interaction (Vonage may send the first leg's started event
// before its answer to POST /v1/calls is back).
const clickToCallParam = "c2c"

// interactionForClickToCall creates a click-to-call's interaction from
// its event URL's tag, when the event is between one of the tagged
// conversation's participants and their proxy number (a forged tag
// attaches no other call).
func (s *Service) interactionForClickToCall(ctx context.Context, p *voice.Params, tag string, now time.Time) (Interaction, error) {
	id, sideName, ok := strings.Cut(tag, ".")
	side := SideA
	switch {
	case !ok || !isText(id):
		return Interaction{}, ErrNotFound
	case sideName == "B":
		side = SideB
	case sideName != "A":
		return Interaction{}, ErrNotFound
	}
	c, err := s.store.Conversation(ctx, id)
	if err != nil {
		return Interaction{}, err
	}
	from, _ := phone.FromWebhook(string(p.From))
	to, _ := phone.FromWebhook(string(p.To))
	if !slices.ContainsFunc(c.Participants[:], func(pt Participant) bool { return pt.ProxyNumber == from && pt.Number == to }) {
		return Interaction{}, ErrNotFound
	}
	first := c.Participants[side]
	return s.interactionFor(ctx, Interaction{
		ID: newID(now), ConversationID: c.ID, Kind: KindCall, ExternalID: string(p.ConversationUUID),
		From: first.Number, To: first.ProxyNumber, CreatedAt: now,
	})
}

// Recording streams the recording of a recorded call: the interaction's
// latest EventRecorded. The caller reads and closes it. Errors:
// ErrCallControlOff, ErrNotFound (no such interaction), ErrNoRecording,
// and the Voice API's (ErrCallNotFound once Vonage has deleted it, after
// 30 days; ErrUntrustedURL for a URL not on a Vonage API host;
// ErrVoiceRedirected; ErrRecordingTooLarge, also from the body's Read).
func (s *Service) Recording(ctx context.Context, interactionID string) (io.ReadCloser, error) {
	if s.voice == nil {
		return nil, ErrCallControlOff
	}
	if !isText(interactionID) {
		return nil, fmt.Errorf("proxy: recording of %q: %w", cleanText(interactionID), ErrNotFound)
	}
	in, err := s.store.Interaction(ctx, interactionID)
	if err != nil {
		return nil, fmt.Errorf("proxy: recording of %s: %w", interactionID, err)
	}
	recURL := ""
	for _, ev := range in.Events {
		if ev.Status == EventRecorded && ev.Detail != "" {
			recURL = ev.Detail
		}
	}
	if recURL == "" {
		return nil, fmt.Errorf("proxy: recording of %s: %w", interactionID, ErrNoRecording)
	}
	rc, err := s.voice.Recording(ctx, recURL)
	if err != nil {
		return nil, fmt.Errorf("proxy: recording of %s: %w", interactionID, err)
	}
	return rc, nil
}
