package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/voiceproxy/voiceproxy/internal/voice"
	"github.com/voiceproxy/voiceproxy/sms"
)

// This file holds what the webhook handlers share: the routes, reading
// and authenticating a request, and writing the answer. Each handler has
// the file of its route (webhook_answer.go, webhook_fallback.go,
// webhook_event.go, webhook_input.go, webhook_sms.go,
// webhook_messages.go, webhook_receipt.go) and reads top to bottom:
// parse → authenticate → route → decide (policy.go) → answer → record
// (record.go).

// routes registers the webhook handlers.
func (s *Service) routes() {
	for _, m := range [...]string{http.MethodGet, http.MethodPost} {
		s.mux.HandleFunc(m+" /answer", s.handleAnswer)
		s.mux.HandleFunc(m+" /fallback", s.handleFallback)
		s.mux.HandleFunc(m+" /event", s.handleEvent)
		s.mux.HandleFunc(m+" /inbound-sms", s.handleInboundSMS)
		s.mux.HandleFunc(m+" /delivery-receipt", s.handleDeliveryReceipt)
		s.mux.HandleFunc(m+" /input", s.handleInput)
	}
	// The Messages API posts its webhooks, as JSON.
	s.mux.HandleFunc("POST /inbound-message", s.handleInboundMessage)
	s.mux.HandleFunc("POST /message-status", s.handleMessageStatus)
}

// jsonContentType is shared by every response to avoid an allocation per
// request; net/http does not modify header slices it is handed.
var jsonContentType = []string{"application/json"}

// writeJSON answers 200 with a JSON body of known length, so that the
// answer goes out in one write (not chunked) and a Flush after it hands
// the client the whole answer.
func writeJSON(w http.ResponseWriter, b []byte) {
	h := w.Header()
	h["Content-Type"] = jsonContentType
	h["Content-Length"] = []string{strconv.Itoa(len(b))}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// readBody reads a webhook body up to Config.Webhooks.MaxBodyBytes; a longer one
// is an error that tooLarge answers.
func (s *Service) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	return io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.Webhooks.MaxBodyBytes))
}

// tooLarge answers 413 Request Entity Too Large, and reports true, when
// err says a webhook's body was longer than Config.MaxBodyBytes. Every
// webhook answers it so, the fallback URL too: such a body is never
// Vonage's (its webhooks are a few hundred bytes, and their signature
// cannot be checked without the whole body), so no Vonage rule for
// non-2xx answers comes into play, and a 413 tells whoever sent it
// why, where a 200 would have hidden it.
func (s *Service) tooLarge(ctx context.Context, w http.ResponseWriter, r *http.Request, err error) bool {
	var mbe *http.MaxBytesError
	if !errors.As(err, &mbe) && !errors.Is(err, sms.ErrBodyTooLarge) {
		return false
	}
	s.log.WarnContext(ctx, "proxy: webhook body too large", "path", r.URL.Path, "max_bytes", s.cfg.Webhooks.MaxBodyBytes)
	setOutcome(w, outcomeTooLarge)
	b, _ := json.Marshal(struct {
		Error  string `json:"error"`
		Detail string `json:"detail"`
	}{"request body too large", "at most " + strconv.FormatInt(s.cfg.Webhooks.MaxBodyBytes, 10) + " bytes (Config.Webhooks.MaxBodyBytes)"})
	w.Header()["Content-Type"] = jsonContentType
	w.WriteHeader(http.StatusRequestEntityTooLarge)
	_, _ = w.Write(append(b, '\n'))
	return true
}

// readResult says how reading a webhook went.
type readResult int

const (
	readOK          readResult = iota
	readAnswered               // answered: 401 for a bad signature, 413 for a body too large
	readMalformed              // unreadable or malformed: Vonage cannot fix it by retrying
	readUnavailable            // genuine, but the store could not check it for replay
)

// readVoice reads, authenticates and parses a voice webhook (kind names it
// in logs) into p. It answers 401 itself for a bad signature; the other
// outcomes are the caller's to answer. With a non-nil deferred, a signed
// webhook's jti is not claimed but returned there, for the caller to
// claim with its route (see RouteClaimer); deferred.Key stays "" when
// the webhook is not verified.
func (s *Service) readVoice(ctx context.Context, w http.ResponseWriter, r *http.Request, kind string, p *voice.Params, deferred *voice.Claim) readResult {
	body, err := s.readBody(w, r)
	if s.tooLarge(ctx, w, r, err) {
		return readAnswered
	}
	if err != nil {
		s.log.WarnContext(ctx, "proxy: "+kind+" webhook body unreadable", "err", err)
		return readMalformed
	}
	if err := s.authVoice(ctx, r, body, deferred); err != nil {
		if !errors.Is(err, voice.ErrUnauthorized) {
			s.log.ErrorContext(ctx, "proxy: "+kind+" webhook: replay check failed", "err", err)
			return readUnavailable
		}
		s.unauthorized(ctx, w, r, err, "voice")
		return readAnswered
	}
	if err := voice.ReadParams(r, body, p); err != nil {
		s.log.WarnContext(ctx, "proxy: "+kind+" webhook malformed", "err", err)
		return readMalformed
	}
	cleanParams(p)
	return readOK
}

// cleanParams makes every field of p text every store can keep (see
// cleanText), so a NUL byte in a webhook field changes a character of the
// audit trail, on every store alike, instead of losing the event.
func cleanParams(p *voice.Params) {
	for _, f := range [...]*voice.Value{
		&p.From, &p.To, &p.UUID, &p.ConversationUUID, &p.Status, &p.Direction, &p.Timestamp,
		&p.Duration, &p.Price, &p.Detail, &p.Reason, &p.RecordingURL, &p.Rate, &p.Network,
		&p.StartTime, &p.EndTime, &p.DisconnectedBy, &p.OriginalRequest.URL, &p.OriginalRequest.Type,
	} {
		*f = voice.Value(cleanText(string(*f)))
	}
}

// storeContext bounds the store calls a webhook makes before it answers
// by Config.StoreTimeout. The in-memory store does no I/O and cannot
// stall, so for it the answer path spares itself the timer.
func (s *Service) storeContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if s.inProcessStore {
		return ctx, noCancel
	}
	return context.WithTimeout(ctx, s.cfg.Webhooks.StoreTimeout)
}

// afterContext is for the writes a webhook makes after it has answered:
// Vonage may hang up the request once it has its answer, which must not
// cancel them, and they get their own Config.StoreTimeout.
func (s *Service) afterContext(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx = context.WithoutCancel(ctx)
	if s.inProcessStore {
		return ctx, noCancel
	}
	return context.WithTimeout(ctx, s.cfg.Webhooks.StoreTimeout)
}

func noCancel() {}

// unavailableBody is the body of a 503: Vonage reads only the status.
var unavailableBody = []byte(`{"error":"store unavailable","detail":"retry, or use the fallback URL"}` + "\n")

// writeUnavailable answers 503 Service Unavailable: Vonage retries the
// answer URL once on a 503, then requests the fallback answer URL.
func writeUnavailable(w http.ResponseWriter) {
	w.Header()["Content-Type"] = jsonContentType
	w.WriteHeader(http.StatusServiceUnavailable)
	_, _ = w.Write(unavailableBody)
}

// verifiers builds the webhooks' signature checks from Config.Webhooks
// (whose defaults refused a Config without secrets, unless
// InsecureUnsigned).
func (s *Service) verifiers() error {
	w := s.cfg.Webhooks
	var secrets []voice.Secret
	if w.SignatureSecret != "" {
		secrets = append(secrets, voice.Secret{Value: w.SignatureSecret})
	}
	for _, sec := range w.SignatureSecrets {
		secrets = append(secrets, voice.Secret{APIKey: sec.APIKey, Value: sec.Secret})
	}
	if len(secrets) > 0 {
		s.voiceVerifier = &voice.Verifier{
			Secrets:       secrets,
			ApplicationID: s.cfg.ApplicationID,
			Tolerance:     w.Tolerance,
			Replay:        replayGuard{store: s.store},
		}
		if b, ok := s.cfg.Store.(BatchClaimer); ok {
			s.voiceVerifier.Replay = replayGuard{store: s.store, group: newGroup("Claims", w.StoreTimeout, meteredBatch(s, "Claims", b.Claims))}
		}
	}
	if w.SMSSignatureSecret != "" {
		s.smsVerifier = &sms.Verifier{Secret: w.SMSSignatureSecret, Method: w.SMSSignatureMethod, Tolerance: w.Tolerance, Now: s.now}
		if err := s.smsVerifier.Verify(nil); errors.Is(err, sms.ErrUnknownSigMethod) {
			return fmt.Errorf("proxy: Webhooks.SMSSignatureMethod: %w", err)
		}
	}
	if w.InsecureUnsigned && (s.voiceVerifier == nil || s.smsVerifier == nil) {
		s.log.Warn("proxy: Webhooks.InsecureUnsigned is set: webhooks without a valid signature are accepted, and anyone who can reach this handler can read participants' real numbers; never use it where Vonage or anyone else can reach it")
	}
	return nil
}

// authVoice checks a voice webhook's signature. Without a verifier (only
// under Webhooks.InsecureUnsigned) it logs a warning once and
// accepts. With a non-nil deferred it checks the token but leaves its
// replay claim there (see readVoice).
func (s *Service) authVoice(ctx context.Context, r *http.Request, body []byte, deferred *voice.Claim) error {
	if s.voiceVerifier == nil {
		s.warnUnsignedOnce.Do(func() {
			s.log.WarnContext(ctx, "proxy: Webhooks.InsecureUnsigned: a voice or Messages webhook was accepted unverified")
		})
		return nil
	}
	if deferred != nil {
		c, err := s.voiceVerifier.Check(r, body, s.now())
		*deferred = c
		return err
	}
	return s.voiceVerifier.Verify(ctx, r, body, s.now())
}

// Hints in a 401's body for whoever calls a webhook by hand.
const (
	voiceAuthHint    = "Voice webhooks must carry \"Authorization: Bearer <JWT>\" signed (HS256) with the account's signature secret, as Vonage signs them. To call one by hand, sign it with proxy.WebhookSigner and the same secret."
	messagesAuthHint = "Messages API webhooks must carry \"Authorization: Bearer <JWT>\" signed (HS256) with the account's signature secret, with payload_hash the SHA-256 of the body, as Vonage signs them. To send one by hand, sign it with proxy.WebhookSigner and the same secret."
	smsAuthHint      = "Inbound-SMS webhooks must carry the \"sig\" parameter signed with the account's signature secret, as Vonage signs them. To send one by hand, sign it with sms.SignParams and the same secret."
)

// unauthorized answers 401 with a JSON body saying why and how to sign,
// and logs it (at Warn: it may be an attack).
func (s *Service) unauthorized(ctx context.Context, w http.ResponseWriter, r *http.Request, err error, protocol string) {
	s.log.WarnContext(ctx, "proxy: webhook rejected", "path", r.URL.Path, "err", err)
	hint := voiceAuthHint
	switch protocol {
	case "sms":
		hint = smsAuthHint
	case "messages":
		hint = messagesAuthHint
	}
	b, _ := json.Marshal(struct {
		Error  string `json:"error"`
		Detail string `json:"detail"`
		Hint   string `json:"hint"`
	}{"unauthorized", err.Error(), hint})
	w.Header()["Content-Type"] = jsonContentType
	w.WriteHeader(http.StatusUnauthorized)
	_, _ = w.Write(append(b, '\n'))
}

// replayGuard claims signed webhooks' jti in the Store, so a replay is
// refused by every instance sharing it. With a store that can claim in
// batches, concurrent claims are grouped (see group).
type replayGuard struct {
	store Store
	group *group[ClaimRequest, bool] // over BatchClaimer.Claims
}

var _ voice.ReplayGuard = replayGuard{}

// Claim claims key with Store.Claim; its ErrConflict means a replay.
func (g replayGuard) Claim(ctx context.Context, key string, now, expires time.Time) (bool, error) {
	if g.group != nil {
		return g.group.do(ctx, ClaimRequest{Key: key, Now: now, Expires: expires})
	}
	switch err := g.store.Claim(ctx, key, now, expires); {
	case err == nil:
		return true, nil
	case errors.Is(err, ErrConflict):
		return false, nil
	default:
		return false, err
	}
}

// readSMS reads, authenticates and parses (with parse) an SMS webhook
// (kind names it in logs). When it returns false it has answered: 401 for
// a bad signature, 413 for a body over Config.Webhooks.MaxBodyBytes, 200 for one
// it cannot read, which redelivering would not mend.
//
// A signed SMS webhook is fresh for Config.Webhooks.Tolerance either side
// of its signed timestamp, and within that window anyone holding a copy
// (a log, a proxy, a capture) can send it again. No replay claim on the
// request can tell that copy from Vonage's own redelivery: Vonage sends
// an inbound SMS again, with the same messageId, until it gets a 2xx
// (SMS API reference, "Inbound SMS"), its docs do not say that a
// redelivery is signed afresh, and proxytest's simulator sends the same
// signed request again. So a replay is made harmless the way a
// redelivery must be, by what the message does happening once per
// message: a relay or a refusal is stored once per messageId (the
// interaction's ExternalID), a STOP or START takes effect only for a
// message not stored yet (keywordSeen), so an old keyword never undoes
// a later one, and an automatic reply goes once per messageId (reply).
// A delivery receipt needs nothing more: the Store records one event
// per (Leg, Status), and its Leg is the messageId.
func readSMS[T any](ctx context.Context, s *Service, w http.ResponseWriter, r *http.Request, kind string, parse func(url.Values) (T, error)) (T, bool) {
	var zero T
	params, err := sms.ReadParams(r, s.cfg.Webhooks.MaxBodyBytes)
	if s.tooLarge(ctx, w, r, err) {
		return zero, false
	}
	if err != nil {
		s.log.WarnContext(ctx, "proxy: "+kind+" webhook unreadable", "err", err)
		setOutcome(w, outcomeMalformed)
		writeEmpty(w, http.StatusOK)
		return zero, false
	}
	if !s.authSMS(ctx, w, r, params) {
		return zero, false
	}
	v, err := parse(params)
	if err != nil {
		s.log.WarnContext(ctx, "proxy: "+kind+" webhook malformed", "err", err)
		setOutcome(w, outcomeMalformed)
		writeEmpty(w, http.StatusOK)
		return zero, false
	}
	return v, true
}

// authSMS checks an SMS webhook's "sig" (answering 401 and returning
// false when it fails). Without a verifier (only under
// Config.Webhooks.InsecureUnsigned) it logs a warning once and accepts.
func (s *Service) authSMS(ctx context.Context, w http.ResponseWriter, r *http.Request, params url.Values) bool {
	if s.smsVerifier == nil {
		s.warnUnsignedSMSOnce.Do(func() {
			s.log.WarnContext(ctx, "proxy: Webhooks.InsecureUnsigned: an SMS API webhook was accepted unverified")
		})
		return true
	}
	if err := s.smsVerifier.Verify(params); err != nil {
		s.unauthorized(ctx, w, r, err, "sms")
		return false
	}
	return true
}

// writeEmpty answers status with an empty body of known length, so that
// the client has the whole answer at once even while the handler goes on
// working.
func writeEmpty(w http.ResponseWriter, status int) {
	w.Header()["Content-Length"] = zeroLength
	w.WriteHeader(status)
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
}

var zeroLength = []string{"0"}

// maxStatusLen bounds a status as stored when it is one this package
// does not name: Vonage's statuses are single words.
const maxStatusLen = 32

// webhookStatus is a status a webhook names, as stored: lower case,
// trimmed, text every store can keep (cleanText), at most maxStatusLen
// bytes.
func webhookStatus(status string) EventStatus {
	s := cleanText(strings.ToLower(strings.TrimSpace(status)))
	if len(s) > maxStatusLen {
		s = strings.ToValidUTF8(s[:maxStatusLen], "")
	}
	return EventStatus(s)
}
