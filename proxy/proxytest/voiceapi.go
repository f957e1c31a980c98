package proxytest

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/voiceproxy/voiceproxy/ncco"
	"github.com/voiceproxy/voiceproxy/proxy"
)

// This file simulates the Voice API's REST side (Voice API reference,
// ../shared/vonage-api/voice.yml): creating a call, reading one,
// controlling one in progress, and downloading recordings, each
// authenticated with an application JWT; and the calls it holds, whose
// event webhooks it sends through an attached Simulator.

// APIs of the Voice API, for Fail, FailNext, Slow and Count.
const (
	APICallCreate API = "call-create" // POST /v1/calls
	APICallGet    API = "call-get"    // GET /v1/calls/{uuid}
	APICallUpdate API = "call-update" // PUT /v1/calls/{uuid}
	APIRecording  API = "recording"   // GET /v1/files/{id}
)

// DefaultRegionURL is the region_url the Simulator puts in answer
// webhooks: Vonage's eu-west region (the Application API's VoiceRegion
// list: eu-west is api-eu-3.vonage.com).
const DefaultRegionURL = "https://api-eu-3.vonage.com"

// RecordingHost is where the simulated recordings are served, as
// Vonage's recording_url gives them: https://api.nexmo.com/v1/files/{id}.
const RecordingHost = "https://api.nexmo.com"

// WithApplication sets the Vonage application the Voice API acts for: its
// ID, and the public half of its key, which checks the JWT every Voice
// API request must carry (RS256; claims application_id, iat, exp and
// jti, as Vonage's "Authentication: JWTs" guide lists them). Without it
// every Voice API request is answered 401.
func WithApplication(id string, key *rsa.PublicKey) Option {
	return func(v *Vonage) { v.appID, v.appKey = id, key }
}

// Attach makes sim the sender of the webhooks of the calls the Voice API
// holds: calls created with POST /v1/calls, and calls placed with
// CallOptions.Hold, which need sim.Vonage to be v.
func (v *Vonage) Attach(sim *Simulator) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.sim = sim
}

// SimCall is a call the simulated Voice API holds, as Calls reports it.
type SimCall struct {
	ConversationUUID string `json:"conversation_uuid"`
	// API reports a call created with POST /v1/calls; otherwise it is an
	// inbound call placed with CallOptions.Hold.
	API bool `json:"api"`
	// Region is the region_url of a held inbound call's answer webhook.
	Region string   `json:"region,omitempty"`
	Legs   []SimLeg `json:"legs"`
	// Talk holds the texts a created call's NCCO read, in order.
	Talk []string `json:"talk,omitempty"`
	// Recorded reports a record action; RecordingURL is set once the call
	// has ended and its recording event was sent.
	Recorded     bool   `json:"recorded"`
	RecordingURL string `json:"recording_url,omitempty"`
	// Actions lists the PUT actions the call received ("hangup", "mute",
	// "transfer", …), in order.
	Actions []string `json:"actions,omitempty"`
	Ended   bool     `json:"ended"`
	// Events lists the event webhooks the Voice API sent for the call.
	Events []CallEvent `json:"events,omitempty"`
}

// SimLeg is one leg of a SimCall.
type SimLeg struct {
	UUID           string `json:"uuid"`
	From           string `json:"from"` // the caller ID the phone was shown
	To             string `json:"to"`
	Direction      string `json:"direction"` // "outbound" for a created call's legs and a callee
	Status         string `json:"status"`    // its last status: "started", "ringing", "answered", "completed"
	DisconnectedBy string `json:"disconnected_by,omitempty"`

	end map[string]string // a completed leg's completed event, for GET
}

// simCall is a held call; its fields are guarded by Vonage.mu.
type simCall struct {
	SimCall
	eventURL    *url.URL // where its legs' events go; nil for the Simulator's EventPath
	recordURL   *url.URL // where the recording event goes; nil for eventURL
	answeredAt  time.Time
	calleeQuery string // a held inbound call's callee events' query
	// hangingUp is set by an accepted hang-up, before its completed
	// events go out: the call is ending, and asks about it answer 404.
	hangingUp bool
}

func (c *simCall) leg(uuid string) *SimLeg {
	for i := range c.Legs {
		if c.Legs[i].UUID == uuid {
			return &c.Legs[i]
		}
	}
	return nil
}

func (c *simCall) snapshot() SimCall {
	out := c.SimCall
	out.Legs = slices.Clone(c.Legs)
	out.Talk = slices.Clone(c.Talk)
	out.Actions = slices.Clone(c.Actions)
	out.Events = slices.Clone(c.Events)
	return out
}

// Calls lists the calls the Voice API holds or held, oldest first.
func (v *Vonage) Calls() []SimCall {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := make([]SimCall, len(v.calls))
	for i, c := range v.calls {
		out[i] = c.snapshot()
	}
	return out
}

// WaitCall waits until the call with this conversation UUID (or with a
// leg of this UUID) exists and cond holds for it, and returns it.
func (v *Vonage) WaitCall(ctx context.Context, uuid string, cond func(SimCall) bool) (SimCall, error) {
	for {
		v.mu.Lock()
		c := v.findCall(uuid)
		var snap SimCall
		if c != nil {
			snap = c.snapshot()
		}
		v.mu.Unlock()
		if c != nil && cond(snap) {
			return snap, nil
		}
		select {
		case <-ctx.Done():
			return snap, fmt.Errorf("proxytest: call %s: %w", uuid, ctx.Err())
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// Settle waits until the webhooks of held calls that are under way have
// been sent.
func (v *Vonage) Settle() { v.wg.Wait() }

func (v *Vonage) findCall(uuid string) *simCall {
	for _, c := range v.calls {
		if c.ConversationUUID == uuid || c.leg(uuid) != nil {
			return c
		}
	}
	return nil
}

// EndCall plays the person on leg uuid hanging up a held call: every leg
// completes (disconnected_by "user") and, for a recorded call, the
// recording event follows. It returns once those webhooks were sent.
func (v *Vonage) EndCall(ctx context.Context, uuid string) error {
	v.mu.Lock()
	c := v.findCall(uuid)
	if c == nil || c.Ended {
		v.mu.Unlock()
		return fmt.Errorf("proxytest: no call in progress with leg %s", uuid)
	}
	v.mu.Unlock()
	return v.finish(ctx, c, "user")
}

// finish ends c: completed for each leg still up, then the recording
// event. Once per call.
func (v *Vonage) finish(ctx context.Context, c *simCall, by string) error {
	v.mu.Lock()
	if c.Ended {
		v.mu.Unlock()
		return nil
	}
	c.Ended = true
	sim := v.sim
	now := v.now().UTC()
	dur := int(now.Sub(c.answeredAt).Round(time.Second).Seconds())
	rate, _ := strconv.ParseFloat(defaultCallRate, 64)
	var events []CallEvent
	for i := range c.Legs {
		l := &c.Legs[i]
		if l.Status == "completed" {
			continue
		}
		l.Status, l.DisconnectedBy = "completed", by
		p := c.legParams(l, "completed", now)
		p["duration"] = strconv.Itoa(dur)
		p["start_time"], p["end_time"] = stamp(c.answeredAt), stamp(now)
		p["rate"], p["price"] = defaultCallRate, money(rate*float64(dur)/60)
		p["network"], p["disconnected_by"] = simNetworkCode, by
		l.end = p
		events = append(events, CallEvent{Leg: l.UUID, Params: p})
	}
	var rec *CallEvent
	if c.Recorded {
		id := newUUID()
		c.RecordingURL = RecordingHost + "/v1/files/" + id
		audio := fakeAudio(dur)
		v.files[id] = audio
		rec = &CallEvent{Leg: "recording", Params: map[string]string{
			"start_time": stamp(c.answeredAt), "end_time": stamp(now), "recording_url": c.RecordingURL,
			"size": strconv.Itoa(len(audio)), "recording_uuid": newUUID(), "conversation_uuid": c.ConversationUUID,
			"timestamp": stamp(now),
		}}
	}
	v.mu.Unlock()
	if sim == nil {
		return errors.New("proxytest: no Simulator attached to send the call's events (Vonage.Attach)")
	}
	var errs []error
	for i := range events {
		errs = append(errs, v.sendEvent(ctx, sim, c, c.eventTarget(&events[i]), &events[i]))
	}
	if rec != nil {
		target := c.eventURL
		if c.recordURL != nil {
			target = c.recordURL
		}
		errs = append(errs, v.sendEvent(ctx, sim, c, target, rec))
	}
	return errors.Join(errs...)
}

// eventTarget is where a leg's event goes: the created call's event_url,
// or for a held inbound call's callee, the connect's query on EventPath.
func (c *simCall) eventTarget(ev *CallEvent) *url.URL {
	if c.eventURL != nil {
		return c.eventURL
	}
	if l := c.leg(ev.Leg); l != nil && l.Direction == "outbound" && c.calleeQuery != "" {
		return &url.URL{RawQuery: c.calleeQuery}
	}
	return nil
}

// sendEvent delivers ev for c to target (nil or a query only: the
// Simulator's EventPath) and keeps it in c.Events.
func (v *Vonage) sendEvent(ctx context.Context, sim *Simulator, c *simCall, target *url.URL, ev *CallEvent) error {
	path, q, to := orDefault(sim.EventPath, "/event"), url.Values(nil), sim
	if target != nil {
		q = target.Query()
		if target.Host != "" {
			var err error
			if to, err = sim.at(target); err != nil {
				return err
			}
			path = target.Path
		}
	}
	err := sim.deliverEvent(ctx, to, path, q, ev)
	v.mu.Lock()
	c.Events = append(c.Events, *ev)
	v.mu.Unlock()
	return err
}

func (c *simCall) legParams(l *SimLeg, status string, at time.Time) map[string]string {
	return map[string]string{
		"from": l.From, "to": l.To, "uuid": l.UUID, "conversation_uuid": c.ConversationUUID,
		"status": status, "direction": l.Direction, "timestamp": stamp(at),
	}
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// fakeAudio is a recording's bytes: an ID3 tag, then a few bytes a
// second, enough to tell two recordings apart by length.
func fakeAudio(seconds int) []byte {
	b := []byte("ID3\x04\x00\x00\x00\x00\x00\x00")
	return append(b, bytes.Repeat([]byte{0xff, 0xfb, 0x90, 0x64}, 16*max(seconds, 1))...)
}

// hold registers an inbound call placed with CallOptions.Hold, answered
// on both legs, in progress until it is hung up.
func (v *Vonage) hold(sim *Simulator, out *CallOutcome, from, to, region, calleeQuery string) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.sim == nil {
		v.sim = sim
	}
	c := &simCall{SimCall: SimCall{
		ConversationUUID: out.ConversationUUID, Region: region, Recorded: out.Recorded,
		Legs: []SimLeg{{UUID: out.UUID, From: from, To: to, Direction: "inbound", Status: "answered"},
			{UUID: out.CalleeUUID, From: out.CallerID, To: out.Connected, Direction: "outbound", Status: "answered"}},
	}, answeredAt: v.now(), calleeQuery: calleeQuery}
	v.calls = append(v.calls, c)
	return nil
}

// problem answers an RFC 7807 problem document, the Voice API's error
// shape.
func problem(w http.ResponseWriter, code int, title, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{
		"type":     "https://developer.nexmo.com/api-errors#" + strings.ReplaceAll(strings.ToLower(http.StatusText(code)), " ", "-"),
		"title":    title,
		"detail":   detail,
		"instance": newUUID(),
	})
}

// voiceEndpoint wraps a Voice API handler with the request log, injected
// failures (answered as problem documents) and the JWT check.
func (v *Vonage) voiceEndpoint(api API, h func(http.ResponseWriter, *http.Request, []byte)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rec := &proxy.StatusRecorder{ResponseWriter: w}
		defer v.logRequest(api, r, rec)
		body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, 1<<20))
		if err != nil {
			problem(rec, http.StatusBadRequest, "Bad Request", "unreadable body")
			return
		}
		v.delay(api, r)
		if f, ok := v.takeFailure(api); ok {
			code := f.HTTPStatus
			if code == 0 {
				code = http.StatusInternalServerError
			}
			if f.RetryAfter != "" {
				rec.Header().Set("Retry-After", f.RetryAfter)
			}
			problem(rec, code, orDefault(f.Text, http.StatusText(code)), "injected failure")
			return
		}
		check := v.checkJWT
		if api == APIMessages {
			check = v.checkMessagesAuth
		}
		if err := check(r); err != nil {
			problem(rec, http.StatusUnauthorized, "Unauthorized", err.Error())
			return
		}
		h(rec, r, body)
	}
}

// checkJWT verifies the request's application JWT.
func (v *Vonage) checkJWT(r *http.Request) error {
	if v.appKey == nil {
		return errors.New("no application is set up (WithApplication)")
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return errors.New("no bearer token")
	}
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(tok, claims, func(*jwt.Token) (any, error) { return v.appKey, nil },
		jwt.WithValidMethods([]string{"RS256"}), jwt.WithExpirationRequired(), jwt.WithIssuedAt(),
		jwt.WithTimeFunc(v.now), jwt.WithLeeway(time.Minute))
	if err != nil {
		return err
	}
	if id, _ := claims["application_id"].(string); id != v.appID {
		return fmt.Errorf("application_id %q is not this application's", id)
	}
	if jti, _ := claims["jti"].(string); jti == "" {
		return errors.New("no jti")
	}
	if _, ok := claims["iat"]; !ok {
		return errors.New("no iat")
	}
	return nil
}

// createCall answers POST /v1/calls: the call is created (201) and its
// first leg rung; its events, its NCCO's talk and record, and the
// connect's leg follow on their own, through the attached Simulator.
// Only an inline ncco is simulated: answer_url is refused.
func (v *Vonage) createCall(w http.ResponseWriter, r *http.Request, body []byte) {
	var req struct {
		To []struct {
			Type   string `json:"type"`
			Number string `json:"number"`
		} `json:"to"`
		From *struct {
			Type   string `json:"type"`
			Number string `json:"number"`
		} `json:"from"`
		RandomFromNumber bool            `json:"random_from_number"`
		NCCO             json.RawMessage `json:"ncco"`
		AnswerURL        []string        `json:"answer_url"`
		EventURL         []string        `json:"event_url"`
		LengthTimer      int             `json:"length_timer"`
		RingingTimer     int             `json:"ringing_timer"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		problem(w, http.StatusBadRequest, "Bad Request", "body is not JSON: "+err.Error())
		return
	}
	switch {
	case len(req.To) != 1 || req.To[0].Type != "phone" || digits(req.To[0].Number) != req.To[0].Number || req.To[0].Number == "":
		problem(w, http.StatusBadRequest, "Bad Request", "to must be one phone endpoint with a number of digits")
		return
	case (req.From == nil) == !req.RandomFromNumber:
		problem(w, http.StatusBadRequest, "Bad Request", "give from or random_from_number, not both")
		return
	case req.From != nil && (req.From.Type != "phone" || digits(req.From.Number) != req.From.Number || req.From.Number == ""):
		problem(w, http.StatusBadRequest, "Bad Request", "from must be a phone endpoint with a number of digits")
		return
	case len(req.AnswerURL) > 0:
		problem(w, http.StatusBadRequest, "Bad Request", "proxytest simulates calls with an inline ncco only")
		return
	// length_timer goes to 24 hours (the Java SDK's Call, the Python
	// SDK's voice models 1.4.0); ringing_timer to 120 s.
	case req.LengthTimer < 0 || req.LengthTimer > 86400 || req.RingingTimer < 0 || req.RingingTimer > 120:
		problem(w, http.StatusBadRequest, "Bad Request", "length_timer is 1-86400, ringing_timer 1-120")
		return
	}
	n, err := ncco.Unmarshal(req.NCCO)
	if err == nil {
		err = n.Validate()
	}
	if err != nil || len(n) == 0 {
		problem(w, http.StatusBadRequest, "Bad Request", fmt.Sprintf("ncco: %v", err))
		return
	}
	from := ""
	if req.From != nil {
		from = req.From.Number
	} else if owned := v.Owned(); len(owned) > 0 {
		from = owned[0].MSISDN
	}
	c := &simCall{SimCall: SimCall{ConversationUUID: "CON-" + newUUID(), API: true,
		Legs: append(make([]SimLeg, 0, 2), SimLeg{UUID: newUUID(), From: from, To: req.To[0].Number, Direction: "outbound", Status: "started"})}}
	if len(req.EventURL) > 0 {
		u, err := url.Parse(req.EventURL[0])
		if err != nil || u.Host == "" {
			problem(w, http.StatusBadRequest, "Bad Request", "event_url must be absolute")
			return
		}
		c.eventURL = u
	}
	v.mu.Lock()
	sim := v.sim
	if sim != nil {
		v.calls = append(v.calls, c)
	}
	v.mu.Unlock()
	if sim == nil {
		problem(w, http.StatusInternalServerError, "Internal Server Error", "proxytest: no Simulator attached to place the call (Vonage.Attach)")
		return
	}
	writeJSON(w, http.StatusCreated, map[string]string{
		"uuid": c.Legs[0].UUID, "status": "started", "direction": "outbound", "conversation_uuid": c.ConversationUUID,
	})
	v.wg.Add(1)
	go func() {
		defer v.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		v.runCreated(ctx, sim, c, n)
	}()
}

// runCreated plays a created call: its first leg rings and answers, its
// NCCO runs (talk, record; a connect rings the endpoint, which answers),
// and the call is held until a hang-up; an NCCO without a connect ends
// the call once read.
func (v *Vonage) runCreated(ctx context.Context, sim *Simulator, c *simCall, n ncco.NCCO) {
	step := func(l *SimLeg, statuses ...string) {
		for _, st := range statuses {
			v.mu.Lock()
			if c.Ended {
				v.mu.Unlock()
				return
			}
			l.Status = st
			ev := CallEvent{Leg: l.UUID, Params: c.legParams(l, st, v.now())}
			v.mu.Unlock()
			_ = v.sendEvent(ctx, sim, c, c.eventURL, &ev)
		}
	}
	v.mu.Lock()
	first := &c.Legs[0]
	v.mu.Unlock()
	step(first, "started", "ringing", "answered")
	v.mu.Lock()
	c.answeredAt = v.now()
	v.mu.Unlock()
	for _, a := range n {
		var conn *ncco.Connect
		v.mu.Lock()
		switch a := a.(type) {
		case ncco.Talk:
			c.Talk = append(c.Talk, a.Text)
		case ncco.Record:
			c.Recorded = true
			if len(a.EventURL) > 0 {
				c.recordURL, _ = url.Parse(a.EventURL[0])
			}
		case ncco.Connect:
			conn = &a
		}
		v.mu.Unlock()
		if conn == nil {
			continue
		}
		for _, e := range conn.Endpoint {
			p, ok := e.(ncco.PhoneEndpoint)
			if !ok {
				continue
			}
			v.mu.Lock()
			c.Legs = append(c.Legs, SimLeg{UUID: newUUID(), From: conn.From, To: p.Number, Direction: "outbound", Status: "started"})
			second := &c.Legs[len(c.Legs)-1]
			v.mu.Unlock()
			step(second, "started", "ringing", "answered")
			return // held until hung up
		}
	}
	_ = v.finish(ctx, c, "platform") // nothing to connect: the NCCO is done
}

// getCall answers GET /v1/calls/{uuid}.
func (v *Vonage) getCall(w http.ResponseWriter, r *http.Request, _ []byte) {
	uuid := r.PathValue("uuid")
	v.mu.Lock()
	c := v.findCall(uuid)
	var l SimLeg
	if c != nil && c.leg(uuid) != nil {
		l = *c.leg(uuid)
	}
	v.mu.Unlock()
	if l.UUID == "" {
		problem(w, http.StatusNotFound, "Not Found", "call "+uuid+" not found")
		return
	}
	out := map[string]any{
		"uuid": l.UUID, "conversation_uuid": c.ConversationUUID, "status": l.Status, "direction": l.Direction,
		"from": map[string]string{"type": "phone", "number": l.From}, "to": map[string]string{"type": "phone", "number": l.To},
	}
	// A completed leg also says what its completed event said: rate,
	// price, duration, start_time, end_time, network (GetCallResponse,
	// Voice API reference, "Get detail of a specific call").
	// The times are as that description writes them, "YYYY-MM-DD
	// HH:MM:SS" (UTC), not as the event webhook does.
	for _, k := range []string{"rate", "price", "duration", "start_time", "end_time", "network"} {
		if v, ok := l.end[k]; ok {
			if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
				v = t.UTC().Format(time.DateTime)
			}
			out[k] = v
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// updateCall answers PUT /v1/calls/{uuid}: hangup ends the whole call
// (each leg completes, disconnected_by "platform", after the 204); mute,
// unmute, earmuff, unearmuff and transfer are recorded in Actions (a
// transfer's NCCO is not run). A leg that has ended, or whose call a
// hang-up is ending, answers 404, as an unknown one does.
func (v *Vonage) updateCall(w http.ResponseWriter, r *http.Request, body []byte) {
	uuid := r.PathValue("uuid")
	var req struct {
		Action string `json:"action"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		problem(w, http.StatusBadRequest, "Bad Request", "body is not JSON")
		return
	}
	switch req.Action {
	case "hangup", "mute", "unmute", "earmuff", "unearmuff", "transfer":
	default:
		problem(w, http.StatusBadRequest, "Bad Request", fmt.Sprintf("unknown action %q", req.Action))
		return
	}
	v.mu.Lock()
	c := v.findCall(uuid)
	ended := c == nil || c.Ended || c.hangingUp || c.leg(uuid) == nil || c.leg(uuid).Status == "completed"
	if !ended {
		c.Actions = append(c.Actions, req.Action)
		c.hangingUp = req.Action == "hangup"
	}
	sim := v.sim
	v.mu.Unlock()
	if ended {
		problem(w, http.StatusNotFound, "Not Found", "call "+uuid+" not found or has ended")
		return
	}
	w.WriteHeader(http.StatusNoContent)
	if req.Action == "hangup" && sim != nil {
		v.wg.Add(1)
		go func() {
			defer v.wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			_ = v.finish(ctx, c, "platform")
		}()
	}
}

// file answers GET /v1/files/{id} with a recording's audio.
func (v *Vonage) file(w http.ResponseWriter, r *http.Request, _ []byte) {
	v.mu.Lock()
	audio, ok := v.files[r.PathValue("id")]
	v.mu.Unlock()
	if !ok {
		problem(w, http.StatusNotFound, "Not Found", "no such file")
		return
	}
	w.Header().Set("Content-Type", "audio/mpeg")
	w.Header().Set("Content-Length", strconv.Itoa(len(audio)))
	_, _ = w.Write(audio)
}

// voiceState is the Voice API's part of Vonage.
type voiceState struct {
	appID  string
	appKey *rsa.PublicKey
	sim    *Simulator
	calls  []*simCall
	files  map[string][]byte
	wg     sync.WaitGroup

	statusTarget *messagesTarget // Messages API status webhooks (StatusTo)
}
