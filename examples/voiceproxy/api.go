package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"time"

	"github.com/voiceproxy/voiceproxy/proxy"
)

// The JSON API a marketplace backend would call.

type createBody struct {
	A        string            `json:"a"`
	B        string            `json:"b"`
	TTL      string            `json:"ttl"`          // Go duration, e.g. "2h"; "" for the default (24h)
	Idle     string            `json:"idle_timeout"` // Go duration; "" for none
	Mode     proxy.Mode        `json:"mode"`         // "both" (default), "voice", "sms"
	Labels   map[string]string `json:"labels"`       // "a" and "b"
	Metadata map[string]string `json:"metadata"`
	Notify   bool              `json:"notify"`
	Access   proxy.Access      `json:"access"` // "direct" (default) or "pin"
	PIN      string            `json:"pin"`    // a PIN conversation's PIN; "" to generate one
	Record   *bool             `json:"record"` // record its calls; default: the demo's default (no)
	Key      string            `json:"key"`    // the job's ID: a retried create returns its conversation
}

// updateBody is PATCH /conversations/{id}; absent fields are left as
// they are.
type updateBody struct {
	TTL       string            `json:"ttl"`          // Go duration from now, e.g. "48h"
	ExpiresAt *time.Time        `json:"expires_at"`   // RFC 3339; instead of ttl
	Idle      string            `json:"idle_timeout"` // Go duration, or "none" to remove it
	Mode      proxy.Mode        `json:"mode"`
	Labels    map[string]string `json:"labels"` // "a" and "b"
	Metadata  map[string]string `json:"metadata"`
	Record    *bool             `json:"record"`
	Reopen    bool              `json:"reopen"` // a closed or expired conversation, within a day of its end
}

type messageBody struct {
	Side string `json:"side"` // "a" or "b": who receives it
	Text string `json:"text"`
}

type callBody struct {
	Side    string `json:"side"`    // "a" or "b": who is rung first
	Whisper string `json:"whisper"` // spoken to them before the other is rung
}

type participantJSON struct {
	Number      string `json:"number"`
	ProxyNumber string `json:"proxy_number"`
	Label       string `json:"label,omitempty"`
}

type eventJSON struct {
	Leg      string            `json:"leg,omitempty"`
	Status   proxy.EventStatus `json:"status"`
	At       time.Time         `json:"at"`
	Duration int               `json:"duration,omitempty"`
	Price    string            `json:"price,omitempty"`
	Detail   string            `json:"detail,omitempty"`
}

type interactionJSON struct {
	ID        string            `json:"id"`
	Kind      string            `json:"kind"`
	From      string            `json:"from"`
	To        string            `json:"to"`
	Text      string            `json:"text,omitempty"`
	CreatedAt time.Time         `json:"created_at"`
	Status    proxy.EventStatus `json:"status"`
	Duration  int               `json:"duration,omitempty"`
	Price     string            `json:"price,omitempty"`
	// Recording is where the call's recording downloads, once there is
	// one.
	Recording string      `json:"recording,omitempty"`
	Events    []eventJSON `json:"events"`
}

type conversationJSON struct {
	ID           string             `json:"id"`
	Status       proxy.Status       `json:"status"`
	Mode         proxy.Mode         `json:"mode"`
	Access       proxy.Access       `json:"access"`
	PIN          string             `json:"pin,omitempty"`
	Record       bool               `json:"record,omitempty"`
	CreatedAt    time.Time          `json:"created_at"`
	ExpiresAt    time.Time          `json:"expires_at"`
	EndedAt      *time.Time         `json:"ended_at,omitempty"`
	Participants []participantJSON  `json:"participants"`
	Metadata     map[string]string  `json:"metadata,omitempty"`
	Interactions *[]interactionJSON `json:"interactions,omitempty"`
}

func (a *app) conversationJSON(c proxy.Conversation) conversationJSON {
	out := conversationJSON{
		ID: c.ID, Status: c.StatusAt(a.now()), Mode: c.Mode, Access: c.Access(), PIN: c.PIN, Record: c.Record,
		CreatedAt: c.CreatedAt.UTC(), ExpiresAt: c.ExpiresAt.UTC(), Metadata: c.Metadata,
	}
	if !c.EndedAt.IsZero() {
		t := c.EndedAt.UTC()
		out.EndedAt = &t
	}
	for _, p := range c.Participants {
		out.Participants = append(out.Participants, participantJSON{Number: p.Number, ProxyNumber: p.ProxyNumber, Label: p.Label})
	}
	return out
}

func interactionsJSON(ins []proxy.Interaction) []interactionJSON {
	out := make([]interactionJSON, 0, len(ins))
	for _, in := range ins {
		sum := proxy.Summarize(in)
		j := interactionJSON{
			ID: in.ID, Kind: string(in.Kind), From: in.From, To: in.To, Text: in.Text,
			CreatedAt: in.CreatedAt.UTC(), Status: sum.Status, Duration: sum.Duration, Price: decimal(sum.Price),
			Events: make([]eventJSON, 0, len(in.Events)),
		}
		for _, e := range in.Events {
			j.Events = append(j.Events, eventJSON{Leg: e.Leg, Status: e.Status, At: e.At.UTC(), Duration: e.Duration, Price: decimal(e.Price), Detail: e.Detail})
			if e.Status == proxy.EventRecorded {
				j.Recording = "/interactions/" + in.ID + "/recording"
			}
		}
		out = append(out, j)
	}
	return out
}

// apiError is the JSON body of every error answer.
type apiError struct {
	Error string `json:"error"`
	Code  string `json:"code"`
}

// writeJSON answers v as indented JSON, with every empty list [] (see
// emptySlices).
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if v != nil {
		v = emptySlices(reflect.ValueOf(v)).Interface()
	}
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, apiError{Error: msg, Code: code})
}

// fail maps a Service error to an API error; anything unexpected is
// logged and answered 500 without details.
func (a *app) fail(w http.ResponseWriter, r *http.Request, err error) {
	var pe *proxy.PoolExhaustedError
	switch {
	case errors.Is(err, proxy.ErrInvalidRequest):
		writeError(w, http.StatusBadRequest, "bad_request", userMessage(err))
	case errors.Is(err, proxy.ErrSameNumber):
		writeError(w, http.StatusBadRequest, "same_number", "a and b are the same phone number")
	case errors.Is(err, proxy.ErrInvalidNumber):
		writeError(w, http.StatusBadRequest, "invalid_number", userMessage(err))
	case errors.Is(err, proxy.ErrPINInUse):
		writeError(w, http.StatusConflict, "pin_in_use", "that PIN is in use on every shared number that could carry the conversation; choose another or let one be generated")
	case errors.Is(err, proxy.ErrNumberBeingBought):
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, "number_being_bought", "a number is being bought for this participant's country; retry in a few seconds")
	case errors.Is(err, proxy.ErrPoolBudget):
		writeError(w, http.StatusConflict, "pool_budget", userMessage(err))
	case errors.Is(err, proxy.ErrPurchaseFailed):
		writeError(w, http.StatusBadGateway, "purchase_failed", userMessage(err))
	case errors.As(err, &pe) || errors.Is(err, proxy.ErrPoolExhausted):
		writeError(w, http.StatusConflict, "pool_exhausted", "no proxy number is free for this participant; add numbers to the pool or close conversations")
	case errors.As(err, new(*proxy.KeyConflictError)):
		writeError(w, http.StatusConflict, "key_conflict", userMessage(err))
	case errors.Is(err, proxy.ErrLegTaken):
		writeError(w, http.StatusConflict, "leg_taken", userMessage(err))
	case errors.Is(err, proxy.ErrNoSMSSender):
		writeError(w, http.StatusNotImplemented, "no_sms", "the demo has no SMS sender")
	case errors.Is(err, proxy.ErrConversationEnded):
		writeError(w, http.StatusConflict, "conversation_ended", "the conversation has ended")
	case errors.Is(err, proxy.ErrCallRefused):
		writeError(w, http.StatusForbidden, "call_refused", userMessage(err))
	case errors.Is(err, proxy.ErrCallControlOff):
		writeError(w, http.StatusNotImplemented, "call_control_off", "call control is off: set VONAGE_PRIVATE_KEY to the application's private key file")
	case errors.Is(err, proxy.ErrNoRecording):
		writeError(w, http.StatusNotFound, "no_recording", "that interaction has no recording")
	case errors.Is(err, proxy.ErrCallNotFound):
		writeError(w, http.StatusNotFound, "gone", "Vonage no longer has it (recordings are kept 30 days)")
	case errors.Is(err, proxy.ErrVoiceAuth), errors.Is(err, proxy.ErrVoiceForbidden), errors.Is(err, proxy.ErrVoiceServer),
		errors.Is(err, proxy.ErrVoiceThrottled), errors.Is(err, proxy.ErrVoiceRequest), errors.Is(err, proxy.ErrVoiceConflict):
		a.log.ErrorContext(r.Context(), "Voice API request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		writeError(w, http.StatusBadGateway, "voice_api", "Vonage's Voice API refused or failed the request; see the demo's log")
	case errors.Is(err, proxy.ErrOptedOut):
		writeError(w, http.StatusConflict, "opted_out", "the participant sent STOP to their proxy number: nothing more is sent to them from it until they send START")
	case errors.Is(err, proxy.ErrInsightUnavailable):
		a.log.WarnContext(r.Context(), "Number Insight check failed", "method", r.Method, "path", r.URL.Path, "err", err)
		w.Header().Set("Retry-After", retryAfter)
		writeError(w, http.StatusServiceUnavailable, "insight_unavailable", "the participant's number could not be checked with Vonage's Number Insight; retry shortly")
	case errors.Is(err, proxy.ErrTooManyConflicts):
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, "busy", "other requests kept taking the same numbers; retry")
	case errors.Is(err, proxy.ErrConflict):
		writeError(w, http.StatusConflict, "conflict", "the change collides with another conversation's; reload and retry")
	case errors.Is(err, proxy.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", "no such conversation")
	case r.Context().Err() == context.Canceled:
		// The caller went away: nobody reads the answer.
		a.log.InfoContext(r.Context(), "request abandoned by the client", "method", r.Method, "path", r.URL.Path)
		writeError(w, statusClientClosed, "canceled", "the request was canceled")
	default:
		// Every condition the Service names is above; what is left
		// came from the store (or is a bug). Ask the store whether it
		// answers at all, and say so.
		down := a.storeDown(r)
		a.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "store_down", down, "err", err)
		switch {
		case down:
			w.Header().Set("Retry-After", retryAfter)
			writeError(w, http.StatusServiceUnavailable, "store_unavailable", "the database did not answer; retry after Retry-After seconds")
		case errors.Is(err, context.DeadlineExceeded):
			w.Header().Set("Retry-After", retryAfter)
			writeError(w, http.StatusServiceUnavailable, "timeout", fmt.Sprintf("the request did not finish within %v; retry after Retry-After seconds", a.apiTimeout))
		default:
			writeError(w, http.StatusInternalServerError, "internal", "internal error")
		}
	}
}

// retryAfter is the Retry-After (seconds) of a 503 for a store that does
// not answer or a request over its deadline.
const retryAfter = "5"

// statusClientClosed is nginx's 499, logged for a request whose client
// went away; nobody receives it.
const statusClientClosed = 499

// probeTimeout bounds the readiness probe a failed request makes to tell
// a store outage from a bug.
const probeTimeout = 500 * time.Millisecond

// storeDown reports whether the store fails a readiness probe, made
// apart from r's (possibly spent) deadline and bounded by probeTimeout.
func (a *app) storeDown(r *http.Request) bool {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), probeTimeout)
	defer cancel()
	return a.svc.Ready(ctx) != nil
}

// DefaultAPITimeout is the default deadline of a request to the demo's
// JSON API, ops pages and sandbox endpoints (-api-timeout): every store
// call it makes runs within it, so a store that stalls (a network
// partition) costs the caller this long at most, plus probeTimeout, and
// is answered 503 store_unavailable.
const DefaultAPITimeout = 3 * time.Second

// recordingTimeout bounds a recording's download from Vonage, which may
// take longer than an API call (under the server's WriteTimeout).
const recordingTimeout = 12 * time.Second

// bounded runs h with its request's context bounded by d.
func bounded(d time.Duration, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), d)
		defer cancel()
		h(w, r.WithContext(ctx))
	}
}

// maxBody bounds a JSON API request's body.
const maxBody = 64 << 10

// decode reads a JSON body strictly (unknown fields are mistakes) into v.
// When it cannot, it answers 413 (over maxBody) or 400 itself and
// reports false.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("the body is over %d bytes", tooLarge.Limit))
	case err != nil:
		writeError(w, http.StatusBadRequest, "bad_request", decodeMessage(err, v))
	case dec.More():
		writeError(w, http.StatusBadRequest, "bad_request", "the body must be one JSON object; there is more after it")
	default:
		return true
	}
	return false
}

// routes serves the JSON API on mux, each request within a.apiTimeout
// (a recording's download within recordingTimeout).
func (a *app) routes(mux *http.ServeMux) {
	for pattern, h := range map[string]http.HandlerFunc{
		"POST /conversations":               a.createConversation,
		"GET /conversations":                a.listConversations,
		"GET /conversations/{id}":           a.getConversation,
		"DELETE /conversations/{id}":        a.closeConversation,
		"POST /conversations/{id}/calls":    a.clickToCall,
		"PATCH /conversations/{id}":         a.updateConversation,
		"POST /conversations/{id}/messages": a.sendMessage,
		"GET /numbers":                      a.listNumbers,
		"POST /participants/{number}/erase": a.eraseParticipant,
		"GET /{$}":                          a.index,
	} {
		mux.HandleFunc(pattern, bounded(a.apiTimeout, h))
	}
	mux.HandleFunc("GET /interactions/{id}/recording", bounded(recordingTimeout, a.recording))
}

func (a *app) index(w http.ResponseWriter, r *http.Request) {
	routes := []string{
		"POST /conversations", "GET /conversations", "GET /conversations/{id}", "DELETE /conversations/{id}",
		"PATCH /conversations/{id}", "POST /conversations/{id}/messages",
		"POST /conversations/{id}/calls", "GET /interactions/{id}/recording",
		"GET /numbers", "POST /participants/{number}/erase", "GET /ops/", "GET|POST /ops/login", "POST /ops/logout", "GET /metrics", "GET /healthz", "GET /readyz", "GET|POST /vonage/answer", "GET|POST /vonage/event", "GET|POST /vonage/fallback", "GET|POST /vonage/input", "GET|POST /vonage/inbound-sms", "GET|POST /vonage/delivery-receipt", "POST /vonage/inbound-message", "POST /vonage/message-status",
	}
	if a.sim != nil {
		routes = append(routes, "POST /sandbox/calls", "GET /sandbox/calls", "POST /sandbox/sms", "GET /sandbox/outbox")
	}
	writeJSON(w, http.StatusOK, map[string]any{"service": "voiceproxy demo", "sandbox": a.sim != nil, "routes": routes})
}

func (a *app) createConversation(w http.ResponseWriter, r *http.Request) {
	var body createBody
	if !decode(w, r, &body) {
		return
	}
	if body.A == "" || body.B == "" {
		writeError(w, http.StatusBadRequest, "bad_request", `"a" and "b" are required`)
		return
	}
	req := proxy.CreateRequest{A: body.A, B: body.B, Mode: body.Mode, Metadata: body.Metadata, Notify: body.Notify,
		Labels: proxy.Labels{A: body.Labels["a"], B: body.Labels["b"]}, Access: body.Access, PIN: body.PIN, Record: body.Record, Key: body.Key}
	for _, d := range []struct {
		name, text string
		dst        *time.Duration
	}{{"ttl", body.TTL, &req.TTL}, {"idle_timeout", body.Idle, &req.IdleTimeout}} {
		if d.text == "" {
			continue
		}
		v, err := time.ParseDuration(d.text)
		if err != nil || v <= 0 {
			writeError(w, http.StatusBadRequest, "bad_request", fmt.Sprintf("%s %q is not a positive duration such as \"2h\"", d.name, d.text))
			return
		}
		*d.dst = v
	}
	switch req.Mode {
	case "", proxy.ModeBoth, proxy.ModeVoice, proxy.ModeSMS:
	default:
		writeError(w, http.StatusBadRequest, "bad_request", `mode must be "both", "voice" or "sms"`)
		return
	}
	start := a.now()
	c, err := a.svc.CreateConversation(r.Context(), req)
	var ne *proxy.NotifyError
	if errors.As(err, &ne) {
		// The conversation exists; only the notification SMS failed.
		a.log.WarnContext(r.Context(), "notification SMS failed", "conversation", c.ID, "err", err)
		err = nil
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/conversations/"+c.ID)
	status := http.StatusCreated
	if c.CreatedAt.Before(start) {
		status = http.StatusOK // the key's conversation, created before
	}
	writeJSON(w, status, a.conversationJSON(c))
}

// updateConversation extends, shortens, relabels or reopens a
// conversation.
func (a *app) updateConversation(w http.ResponseWriter, r *http.Request) {
	var body updateBody
	if !decode(w, r, &body) {
		return
	}
	u := proxy.Update{Mode: body.Mode, Metadata: body.Metadata, Record: body.Record, Reopen: body.Reopen}
	if body.ExpiresAt != nil {
		u.ExpiresAt = *body.ExpiresAt
	}
	if body.TTL != "" {
		d, err := time.ParseDuration(body.TTL)
		if err != nil || d <= 0 {
			writeError(w, http.StatusBadRequest, "bad_request", fmt.Sprintf("ttl %q is not a positive duration such as \"48h\"", body.TTL))
			return
		}
		u.TTL = d
	}
	switch body.Idle {
	case "":
	case "none":
		u.IdleTimeout = -1
	default:
		d, err := time.ParseDuration(body.Idle)
		if err != nil || d <= 0 {
			writeError(w, http.StatusBadRequest, "bad_request", fmt.Sprintf(`idle_timeout %q is not a positive duration or "none"`, body.Idle))
			return
		}
		u.IdleTimeout = d
	}
	if body.Labels != nil {
		u.Labels = &proxy.Labels{A: body.Labels["a"], B: body.Labels["b"]}
	}
	c, err := a.svc.UpdateConversation(r.Context(), r.PathValue("id"), u)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a.conversationJSON(c))
}

// eraseParticipant pseudonymizes a person's ended conversations.
func (a *app) eraseParticipant(w http.ResponseWriter, r *http.Request) {
	rep, err := a.svc.EraseParticipant(r.Context(), r.PathValue("number"))
	if err != nil && !errors.Is(err, proxy.ErrParticipantActive) {
		a.fail(w, r, err)
		return
	}
	status := http.StatusOK
	if len(rep.Active) > 0 {
		status = http.StatusConflict // close those first, then erase again
	}
	writeJSON(w, status, map[string]any{"pseudonymized": rep.Pseudonymized, "active": rep.Active})
}

// parseSide reads "a" or "b".
func parseSide(s string) (proxy.Side, bool) {
	switch s {
	case "a", "A":
		return proxy.SideA, true
	case "b", "B":
		return proxy.SideB, true
	}
	return 0, false
}

// sendMessage texts a participant through the masked channel.
func (a *app) sendMessage(w http.ResponseWriter, r *http.Request) {
	var body messageBody
	if !decode(w, r, &body) {
		return
	}
	side, ok := parseSide(body.Side)
	if !ok {
		writeError(w, http.StatusBadRequest, "bad_request", `"side" must be "a" or "b"`)
		return
	}
	in, err := a.svc.SendMessage(r.Context(), r.PathValue("id"), side, body.Text)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, interactionsJSON([]proxy.Interaction{in})[0])
}

func (a *app) listConversations(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := proxy.ListFilter{Now: a.now(), After: q.Get("after"), Participant: q.Get("participant")}
	switch s := q.Get("status"); s {
	case "", "active":
		f.Status = proxy.StatusActive
	case "all":
	case "closed", "expired":
		f.Status = proxy.Status(s)
	default:
		writeError(w, http.StatusBadRequest, "bad_request", `status must be "active", "closed", "expired" or "all"`)
		return
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 100 {
			writeError(w, http.StatusBadRequest, "bad_request", "limit must be 1–100")
			return
		}
		f.Limit = n
	}
	cs, next, err := a.svc.Conversations(r.Context(), f)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := struct {
		Conversations []conversationJSON `json:"conversations"`
		Next          string             `json:"next,omitempty"`
	}{Conversations: make([]conversationJSON, 0, len(cs)), Next: next}
	for _, c := range cs {
		out.Conversations = append(out.Conversations, a.conversationJSON(c))
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *app) getConversation(w http.ResponseWriter, r *http.Request) {
	c, err := a.svc.Conversation(r.Context(), r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	ins, err := a.svc.Interactions(r.Context(), c.ID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := a.conversationJSON(c)
	list := interactionsJSON(ins)
	out.Interactions = &list
	writeJSON(w, http.StatusOK, out)
}

// closeConversation closes a conversation and hangs up its calls in
// progress (?keep_calls=true leaves them). A hang-up that failed is
// retried by the service; the answer is then 200 saying so.
func (a *app) closeConversation(w http.ResponseWriter, r *http.Request) {
	var opts []proxy.CloseOption
	if r.URL.Query().Get("keep_calls") == "true" {
		opts = append(opts, proxy.KeepCalls())
	}
	c, err := a.svc.CloseConversation(r.Context(), r.PathValue("id"), opts...)
	var he *proxy.HangupError
	if errors.As(err, &he) {
		a.log.WarnContext(r.Context(), "conversation closed; hanging up its calls failed, retrying", "conversation", c.ID, "err", err)
		writeJSON(w, http.StatusOK, map[string]any{"status": c.Status, "hangup": "failed, retrying: " + userMessage(err)})
		return
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if a.vonage != nil {
		a.vonage.Settle() // the sandbox's network sends the calls' last events first
	}
	w.WriteHeader(http.StatusNoContent)
}

// clickToCall has Vonage ring one participant, then the other.
func (a *app) clickToCall(w http.ResponseWriter, r *http.Request) {
	var body callBody
	if !decode(w, r, &body) {
		return
	}
	side, ok := parseSide(body.Side)
	if !ok {
		writeError(w, http.StatusBadRequest, "bad_request", `"side" must be "a" or "b"`)
		return
	}
	req := proxy.CallRequest{Side: side, Whisper: body.Whisper}
	in, err := a.svc.Call(r.Context(), r.PathValue("id"), req)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if a.vonage != nil {
		a.vonage.Settle() // the sandbox's network rings both phones first
		if ins, err := a.svc.Interactions(r.Context(), in.ConversationID); err == nil {
			for _, i := range ins {
				if i.ID == in.ID {
					in = i
				}
			}
		}
	}
	writeJSON(w, http.StatusCreated, interactionsJSON([]proxy.Interaction{in})[0])
}

// recording streams a recorded call's audio.
func (a *app) recording(w http.ResponseWriter, r *http.Request) {
	rc, err := a.svc.Recording(r.Context(), r.PathValue("id"))
	if errors.Is(err, proxy.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", "no such interaction")
		return
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	defer rc.Close()
	w.Header().Set("Content-Type", "audio/mpeg")
	if _, err := io.Copy(w, rc); err != nil {
		a.log.WarnContext(r.Context(), "recording download interrupted", "interaction", r.PathValue("id"), "err", err)
	}
}

func (a *app) listNumbers(w http.ResponseWriter, r *http.Request) {
	pool, err := a.svc.Pool(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	status, err := a.svc.PoolStatus(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	type numberJSON struct {
		MSISDN      string     `json:"msisdn"`
		Country     string     `json:"country"`
		Voice       bool       `json:"voice"`
		SMS         bool       `json:"sms"`
		Legs        int        `json:"legs"`
		Bought      *time.Time `json:"bought_at,omitempty"`
		MonthlyCost string     `json:"monthly_cost,omitempty"` // EUR, a decimal string
	}
	out := make([]numberJSON, 0, len(pool))
	for _, n := range pool {
		j := numberJSON{MSISDN: n.MSISDN, Country: n.Country, Voice: n.Voice, SMS: n.SMS, Legs: n.Legs}
		if n.MonthlyCost != 0 {
			j.MonthlyCost = decimalOf(n.MonthlyCost)
		}
		if !n.Bought.IsZero() {
			j.Bought = &n.Bought
		}
		out = append(out, j)
	}
	type countryJSON struct {
		Country     string `json:"country"`
		Numbers     int    `json:"numbers"`
		ActiveLegs  int    `json:"active_legs"`
		BusiestLegs int    `json:"busiest_number_legs"`
		IdleNumbers int    `json:"idle_numbers"`
		Bought      int    `json:"bought"`
		MonthlyCost string `json:"monthly_cost"` // EUR, a decimal string
		Purchases   int    `json:"purchases"`
		Releases    int    `json:"releases"`
	}
	countries := make([]countryJSON, 0, len(status))
	for _, c := range status {
		countries = append(countries, countryJSON{c.Country, c.Numbers, c.ActiveLegs, c.BusiestLegs, c.IdleNumbers, c.Bought, decimalOf(c.MonthlyCost), c.Purchases, c.Releases})
	}
	writeJSON(w, http.StatusOK, map[string]any{"numbers": out, "countries": countries})
}
