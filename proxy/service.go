package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/voiceproxy/voiceproxy/internal/voice"
	"github.com/voiceproxy/voiceproxy/ncco"
	"github.com/voiceproxy/voiceproxy/sms"
)

// GeoPolicy says what allocation does when the pool has no usable number
// in a participant's country.
type GeoPolicy int

const (
	// GeoFallback tries the participant's country first and falls back to
	// a number from any country (the default).
	GeoFallback GeoPolicy = iota
	// GeoStrict fails with a *PoolExhaustedError instead.
	GeoStrict
)

// GeoLevel is how closely allocation matches a proxy number to a
// participant's number.
type GeoLevel int

const (
	// GeoCountry prefers a number in the participant's country (the
	// default); GeoMatch says what happens when there is none.
	GeoCountry GeoLevel = iota
	// GeoAreaCode prefers, for a participant of the North American
	// Numbering Plan (US, Canada and the Caribbean, country code 1), a
	// number with their area code, as libphonenumber gives it: a
	// local-looking number is answered more often. Without one it falls
	// back to the country, then as GeoMatch says.
	GeoAreaCode
)

// StickyPolicy says whether a participant meeting the same counterpart
// again gets the same proxy number.
type StickyPolicy int

const (
	// StickyPrefer gives the number they had last time together, when
	// it is free (the default): saved contacts keep working.
	StickyPrefer StickyPolicy = iota
	// StickyAvoid gives another number when the pool has one: nobody can
	// reach the other side outside a conversation by a number they kept.
	StickyAvoid
)

// Config configures a Service. Every field is optional: the zero Config
// is usable, and each field's default is written in its comment.
type Config struct {
	// Store keeps the pool, conversations and interactions. Default:
	// NewMemoryStore().
	Store Store

	// SMS sends notification SMS, relays SMS between participants and
	// sends SendMessage's: an *sms.Client (the SMS API) or an
	// *sms.MessagesClient (the Messages API), whichever the account's SMS
	// setting is. Inbound SMS are taken on both webhooks whatever it is:
	// /inbound-sms and /delivery-receipt (SMS API), /inbound-message and
	// /message-status (Messages API), so a migration loses nothing.
	// Default nil: no notifications (CreateRequest.Notify then fails with
	// a *NotifyError) and inbound SMS are recorded but not relayed.
	SMS SMSSender
	// InboundSMSURL, when set, is the absolute URL of this handler's
	// /inbound-sms: SyncNumbers sets it as each SMS number's inbound-SMS
	// webhook (moHttpUrl), which the SMS API setting delivers to. Under
	// the Messages API setting, linking a number to the application is
	// what routes its SMS (to the application's inbound URL), and
	// SyncNumbers does that in any case. Default "": numbers keep theirs
	// (the account's default applies).
	InboundSMSURL string
	// Insight, when set, checks both participants of every new
	// conversation with Number Insight Basic, in parallel, before
	// allocating. Default nil: no check beyond libphonenumber.
	Insight NumberChecker
	// Numbers is used by SyncNumbers. Default nil: SyncNumbers fails.
	Numbers NumbersAPI
	// Autopilot, when set, buys numbers when allocation finds none for a
	// participant and releases idle ones it bought (see Autopilot).
	// Default nil: CreateConversation fails with a *PoolExhaustedError
	// and the pool is what the host adds.
	Autopilot *Autopilot

	// LenientNumbers accepts participant numbers that have a possible
	// length for their country code but are not in an assigned range
	// (e.g. Ofcom's drama range +44 7700 900xxx, handy in tests). Default
	// false: only numbers libphonenumber deems valid.
	LenientNumbers bool

	// ApplicationID, when set, must match the application_id claim of
	// signed voice webhooks. It is also the application call control
	// acts as (ApplicationKey). Default "": not checked.
	ApplicationID string
	// ApplicationKey is the Vonage application's private key, PEM (the
	// file the dashboard gave when the application was made). With
	// ApplicationID it enables call control through the Voice API,
	// authenticated by a JWT signed with this key: calls in progress are
	// hung up when their conversation ends (CloseConversation, expiry),
	// Service.Call starts click-to-call calls and Service.Recording
	// fetches recordings. Default nil: no call control; those methods
	// fail with ErrCallControlOff and ending a conversation leaves its
	// calls to run to their end (Config.CallTimeLimit).
	ApplicationKey []byte
	// VoiceAPIURL is the Voice API's calls endpoint. Default
	// "https://api.nexmo.com/v1/calls"; requests about one call go to
	// that call's region (the answer webhook's region_url).
	VoiceAPIURL string
	// VoiceHTTPClient sends Voice API requests. Default: a client with
	// a 10 s timeout (recordings: bounded by the caller's context only).
	// Whichever client, a redirect is never followed (ErrVoiceRedirected)
	// and the JWT goes only to Vonage's API hosts by exact name over
	// https, or to VoiceAPIURL's host (ErrUntrustedURL).
	VoiceHTTPClient *http.Client
	// MaxRecordingBytes bounds one download of Service.Recording: a
	// larger recording fails with ErrRecordingTooLarge. Default 256 MiB.
	MaxRecordingBytes int64
	// Voice, when set, is the call control client, instead of the one
	// built from ApplicationID and ApplicationKey. Default nil.
	Voice VoiceAPI
	// CallEventURL is the event URL given to calls the Service starts
	// (Service.Call): the absolute URL of this handler's /event. Set it:
	// the Service tags it with the call's conversation, so that a call's
	// first events are recorded even when they come before Service.Call
	// has stored the call. Default "": the application's event URL,
	// untagged, where such early events (the first leg's started) are
	// not recorded.
	CallEventURL string
	// HangupAttempts is how many times hanging up a call of an ended
	// conversation is tried, waiting HangupRetryWait, doubling, between
	// tries (each try is itself retried on throttling and 5xx by the
	// client). Default 5 and 2 seconds: about a minute.
	HangupAttempts  int
	HangupRetryWait time.Duration
	// SignatureSecret is the account's signature secret (the dashboard's
	// API settings), which verifies the HS256 JWT Vonage sends with voice
	// webhooks (answer, fallback, event, input) and Messages API webhooks.
	// New refuses a Config that sets neither it nor SignatureSecrets,
	// unless InsecureUnsignedWebhooks: an unverified answer webhook is
	// all it takes to read a participant's real number out of the NCCO.
	SignatureSecret string
	// SignatureSecrets are further secrets voice webhooks may be signed
	// with, for rotation (list the new secret before retiring the old
	// one) and for several accounts or subaccounts: the token's api_key
	// claim selects the secrets with that APIKey (and those without
	// one). Default none.
	SignatureSecrets []SignatureSecret
	// SMSSignatureSecret is the secret the "sig" parameter of SMS API
	// webhooks (inbound SMS, delivery receipts) must be signed with.
	// Default: SignatureSecret, since an account has one signature secret
	// for both (Vonage's SDKs take a single signature_secret option for
	// the SMS API's sig and the signed voice and Messages webhooks; the
	// Ruby SDK's README, "Webhook signatures"). New refuses a Config
	// that leaves it empty, unless InsecureUnsignedWebhooks.
	SMSSignatureSecret string
	// InsecureUnsignedWebhooks accepts webhooks that carry no signature,
	// or a signature nothing checks: anybody who can reach the handler
	// can then forge an answer webhook and read a participant's real
	// number, forge SMS that the Service relays or answers, and forge
	// events. It is meant for a local experiment with hand-made requests
	// only, never for a handler Vonage (or anyone else) can reach; a
	// warning is logged at New. Default false: New refuses a Config
	// without the secrets above.
	InsecureUnsignedWebhooks bool
	// SMSSignatureMethod is the method chosen in the dashboard. Default
	// sms.MD5Hash.
	SMSSignatureMethod sms.SigMethod
	// WebhookTolerance bounds how far a signed webhook's timestamp (JWT
	// iat, SMS timestamp) may be from Now, either way, and how long a JWT
	// jti is remembered against replay. Default 5 minutes.
	WebhookTolerance time.Duration

	// MeterProvider and TracerProvider receive the Service's metrics
	// (voiceproxy.webhooks, voiceproxy.webhook.duration, …; see the
	// README's "Metrics") and its spans (one per webhook, with the store
	// calls inside). Default: OpenTelemetry's global providers, which do
	// nothing until the host installs real ones.
	MeterProvider  metric.MeterProvider
	TracerProvider trace.TracerProvider

	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Logger receives structured logs. Participant numbers appear only at
	// Debug level, masked; numbers quoted inside logged errors (from a
	// store, a client or a hook) are masked at every level. Default
	// slog.Default().
	Logger *slog.Logger

	// DefaultTTL is a conversation's lifetime when CreateRequest.TTL is
	// zero. Default 24 hours.
	DefaultTTL time.Duration
	// CoolOff is how long a participant is not given a proxy number it
	// released, unless with the same counterpart, so a late redial cannot
	// reach a new stranger. Default 1 hour; negative means none.
	CoolOff time.Duration
	// GeoMatch is the policy when no number in a participant's country is
	// free. Default GeoFallback.
	GeoMatch GeoPolicy
	// GeoLevel is how closely a number must match before GeoMatch
	// applies: GeoCountry (default) or GeoAreaCode.
	GeoLevel GeoLevel
	// Sticky is whether a returning pair gets the same number: StickyPrefer
	// (default) or StickyAvoid.
	Sticky StickyPolicy
	// SweepInterval is how often Run expires conversations. Default 1
	// minute.
	SweepInterval time.Duration
	// StoreTimeout bounds the store calls a webhook makes before it
	// answers (the route lookup, the replay claim of a signed webhook,
	// recording an event), and separately the writes it makes after
	// answering. A store slower than that is treated as failing: the
	// answer webhook answers 503 so that Vonage retries it and then
	// requests the fallback URL. Keep it well inside the application's
	// answer timeouts (Vonage's troubleshooting guide: the TCP connection
	// within 3 s and the NCCO within 5 s by default; both can be set
	// lower, down to 1 s). Default 800 ms.
	StoreTimeout time.Duration
	// MaxBodyBytes bounds webhook request bodies: a longer one is
	// answered 413 Request Entity Too Large. Default 64 KiB.
	MaxBodyBytes int64

	// Greeting is spoken to the caller before connecting. Default "":
	// none.
	Greeting string
	// Language is the BCP-47 language of Greeting and UnknownRouteText
	// ("en-GB"). Default "": Vonage's default (en-US).
	Language string
	// UnknownRouteText is spoken when a call cannot be connected (unknown
	// or ended conversation, blocked, malformed webhook, store error).
	// Default "Sorry, the number you have called is not in service.".
	UnknownRouteText string
	// Record is the default of CreateRequest.Record: whether a new
	// conversation records its calls. Default false.
	Record bool
	// RecordingEventURL is where Vonage posts a finished recording's URL.
	// Default "": the application's event URL, this handler's /event,
	// which records it on the call's interaction (EventRecorded) for
	// Service.Recording.
	RecordingEventURL string
	// RecordingNotice is spoken to the caller of a recorded call before
	// connecting (and to the first party of a recorded click-to-call), as
	// consent rules may require: "This call is recorded.". Default "":
	// none. The party rung second hears no notice.
	RecordingNotice string
	// ConnectTimeout is how long the other participant's phone rings,
	// whole seconds. Default 0: Vonage's default (60 s).
	ConnectTimeout time.Duration
	// CallTimeLimit caps a connected call's length, whole seconds up to
	// 2 hours. Default 0: Vonage's default (2 hours).
	CallTimeLimit time.Duration
	// RingbackURL is audio (http/https) the caller hears while the other
	// phone rings. Default "": the network's ringing tone.
	RingbackURL string

	// RelayAttempts is how many times an accepted SMS is tried before it
	// is recorded as failed, when sending fails in a way that may pass
	// (throttling, a 5xx, a network error or a timeout); tries back off
	// from 2 s, doubling, to 5 minutes. Default 10 (about 20 minutes).
	RelayAttempts int
	// RelayInterval is how often Run sends the relays that are due
	// (retries, and jobs an instance that stopped left behind). Default
	// 2 seconds.
	RelayInterval time.Duration

	// Retention is how long an ended conversation keeps its
	// participants' real numbers, its SMS texts and its recordings'
	// references: after it, Run's sweep replaces the numbers with keyed
	// pseudonyms (Service.Pseudonym), empties the texts and drops the
	// recording URLs, on every store. It may be shorter than CoolOff:
	// the cool-off and sticky rules go on from the pseudonymized legs,
	// so no real number is kept for their sake. Default 30 days;
	// negative: kept for good.
	Retention time.Duration
	// PseudonymKey keys the pseudonyms (HMAC-SHA256): the same number
	// gives the same pseudonym, across instances and restarts, for as
	// long as the key stays. STOP opt-outs are kept under pseudonyms
	// too, never under the number, so a new key forgets them. Default:
	// a key derived from the first signature secret set
	// (SignatureSecret, SMSSignatureSecret, SignatureSecrets[0]), so
	// rotating that secret changes every pseudonym and forgets the
	// opt-outs: set PseudonymKey (32 random bytes, kept apart from the
	// database) before a rotation. With no secret either, a random key
	// per process (a warning is logged with a durable store).
	PseudonymKey []byte

	// StoreSMSBodies keeps the text of relayed SMS in Interaction.Text.
	// Default false: bodies are relayed, never stored.
	StoreSMSBodies bool
	// StopReply answers an SMS that is a STOP keyword (STOP, STOPALL,
	// UNSUBSCRIBE, CANCEL, END, QUIT, alone, any case), which is not
	// relayed: the sender gets nothing more from that proxy number (no
	// relay, no SendMessage), on any instance. HelpReply answers HELP or
	// INFO, not relayed either. Carriers require both. Defaults "You are
	// unsubscribed: you will get no more messages from this number." and
	// "Messages to this number reach your contact without showing your
	// number. Reply STOP to get no more."; "-" sends no reply.
	StopReply, HelpReply string
	// StartReply answers START or UNSTOP, which lift the sender's STOP
	// on that proxy number and are not relayed either. Default "You are
	// subscribed again: messages from this number reach you."; "-" sends
	// no reply.
	StartReply string
	// Redact removes contact details (phone numbers, e-mail addresses,
	// URLs, by policy) from relayed SMS, and records what it removed on
	// the interaction (EventRedacted): users cannot take the
	// conversation off the platform in text either; RedactPolicy says
	// what it normalises and what it still misses. Default: nothing is
	// removed.
	Redact RedactPolicy
	// SMSAutoReply, when set, is sent (from the number texted) to anyone
	// whose SMS matches no conversation in use. Default "": no reply.
	SMSAutoReply string
	// NotifyTemplate is the notification SMS; "{label}" is replaced with
	// the other participant's label. Default, by mode: "Call or text this
	// number to reach {label}." (both), "Call this number…" (voice),
	// "Text this number…" (sms).
	NotifyTemplate string
	// NotifyPINTemplate is a PIN conversation's notification; "{pin}"
	// is replaced with its PIN, "{label}" as in NotifyTemplate. Default,
	// by mode: "Call this number and enter PIN {pin}, or text it, to
	// reach {label}." (both), "Call this number and enter PIN {pin} to
	// reach {label}." (voice), "Text this number to reach {label}." (sms).
	NotifyPINTemplate string
	// DefaultLabel names a participant without a label. Default "your
	// contact".
	DefaultLabel string

	// PIN conversations (CreateRequest.Access AccessPIN): both
	// participants dial one shared number and enter a PIN.
	//
	// PINLength is the length of generated PINs, 4 to 8. Default 6.
	PINLength int
	// PINWhenExhausted creates a PIN conversation when the pool has no
	// number left for a participant (and the autopilot, if on, could not
	// buy one). Default false: a *PoolExhaustedError.
	PINWhenExhausted bool
	// PINAttempts is how many PINs one call may try before it is refused.
	// Default 3.
	PINAttempts int
	// PINMaxFailures is how many wrong PINs a caller (their own number)
	// may enter within PINLockout, in any number of calls, on any
	// instance, before they are locked out for PINLockout. Default 5.
	PINMaxFailures int
	// PINMaxNumberFailures is how many wrong PINs one shared number may
	// see within PINLockout, from all its callers, before it is under
	// attack: from then on a caller who keys a wrong PIN there is
	// locked out at their second own wrong PIN (not their
	// PINMaxFailures-th). The number itself is never locked, and a
	// caller who has not keyed a wrong PIN is never refused (see
	// pinanswer.go). Default 30.
	PINMaxNumberFailures int
	// PINLockout is how long a lock-out lasts, and how long a wrong PIN
	// counts. Default 15 minutes.
	PINLockout time.Duration
	// PINPrompt is spoken to ask for the PIN, PINRetryPrompt after a
	// wrong one, PINLockedText to a caller locked out, PINRefusedText to
	// a call refused after PINAttempts prompts without the right PIN.
	// Defaults: "Please enter your PIN, then press hash.", "That PIN is
	// not right. Please enter it again, then press hash.", "Too many
	// wrong PINs. Please try again later.", "That PIN is not right.
	// Goodbye.".
	PINPrompt, PINRetryPrompt, PINLockedText, PINRefusedText string
	// PINSMSReply is sent back, from the shared number, to an SMS whose
	// sender has several PIN conversations on that number (nothing says
	// which one it is for). Default "You have more than one conversation
	// on this number: please use the app, or call and enter your PIN.".
	PINSMSReply string
	// InputURL is the absolute URL of this handler's /input webhook,
	// where Vonage sends the PIN a caller keyed in (the input action's
	// eventUrl). Set it: it is the one source of that URL the Service
	// does not have to take from a request. An http URL sends the PINs
	// in clear; use one only for local experiments. Default, in order:
	// CallEventURL with /input for /event (query dropped); else https
	// (always: behind a TLS-terminating proxy the request itself is
	// plain http, and X-Forwarded-Proto is whatever the client sent),
	// the Host of the answer webhook, which gets that far only
	// authenticated, so as Vonage sent it (the host of the application's
	// answer_url), and its path with /input for /answer. Behind a proxy
	// that rewrites Host, set InputURL. A Host that is not a plain
	// host[:port] answers the call with the fallback NCCO.
	InputURL string

	// ReopenGrace is how long after it ended a conversation may be
	// reopened (Update.Reopen): disputes come after the job. Default 24
	// hours; negative: never.
	ReopenGrace time.Duration

	// Intercept, when set, is asked before each call is connected and
	// each SMS relayed; a non-nil error blocks it (the caller hears
	// UnknownRouteText, the SMS is not relayed) and is logged. Default
	// nil: everything allowed by the conversation's Mode passes.
	Intercept func(ctx context.Context, in Inbound) error
	// OnUnknownCall, when set, supplies the NCCO for a call whose
	// (caller, dialed number) matches no conversation in use. An error or
	// an NCCO that fails validation is logged and UnknownRouteText is
	// spoken instead. Default nil: UnknownRouteText.
	OnUnknownCall func(ctx context.Context, call Call) (ncco.NCCO, error)
	// OnUnknownSMS, when set, supplies the reply to an SMS whose (sender,
	// number texted) matches no conversation in use, sent from the number
	// texted: OnUnknownCall's companion. "" sends none; an error is
	// logged and SMSAutoReply is sent instead. Default nil:
	// SMSAutoReply.
	OnUnknownSMS func(ctx context.Context, c Contact) (string, error)
	// OnUnknownContact, when set, is asked first about a call or SMS that
	// matches no conversation in use, and may start one for it (a
	// customer calling a listing's published number): it returns a
	// CreateRequest whose A is the caller or sender, or nil for none. The
	// Service creates the conversation with A's proxy number the number
	// dialled or texted (CreateRequest.ProxyA), then connects the call or
	// relays the SMS in it at once, as for any conversation (Intercept
	// and the mode apply). The store keeps the leg invariant: a leg
	// taken meanwhile fails the create, and the contact is handled as
	// unknown. It runs inside the webhook's StoreTimeout: keep it quick
	// (and Config.Insight, which a create consults, fast). An error is
	// logged and the contact handled as unknown. Default nil.
	OnUnknownContact func(ctx context.Context, c Contact) (*CreateRequest, error)
	// OnInteraction, when set, is called after each recorded change to an
	// interaction (a new call or SMS, a status event), synchronously in
	// the webhook handler: keep it quick. Default nil.
	OnInteraction func(ctx context.Context, in Interaction)
}

// SignatureSecret is one signature secret of Config.SignatureSecrets.
type SignatureSecret struct {
	// APIKey is the account whose secret this is, as Vonage's api_key
	// claim names it; "" accepts the secret for any account.
	APIKey string
	Secret string
}

// Inbound is a call or SMS about to be connected or relayed, as shown to
// Config.Intercept.
type Inbound struct {
	Kind         InteractionKind
	Conversation Conversation
	// Sender is the side calling or texting; the other one would be
	// reached.
	Sender Side
	// Text is the SMS body; empty for calls.
	Text string
}

// Contact is a call or SMS that matched no conversation in use, as shown
// to Config.OnUnknownContact and Config.OnUnknownSMS. Numbers are digits
// only.
type Contact struct {
	Kind     InteractionKind // KindCall or KindSMS
	From, To string          // the caller or sender, and the pool number reached
	Text     string          // an SMS's text
}

// Call is an inbound call that matched no conversation, as shown to
// Config.OnUnknownCall. Numbers are digits only as Vonage sent them.
type Call struct {
	From, To         string
	UUID             string
	ConversationUUID string
}

// Service runs proxied conversations: it allocates proxy numbers, routes
// Vonage's webhooks and records interactions. It is an http.Handler
// serving GET|POST /answer, /fallback, /event, /input, /inbound-sms and
// /delivery-receipt relative to where it is mounted (use
// http.StripPrefix). Safe for concurrent use.
type Service struct {
	cfg   Config
	store Store
	now   func() time.Time
	log   *slog.Logger
	mux   *http.ServeMux
	owner string // this instance's name on relay leases
	// pseudonymKey is Config.PseudonymKey, or a random one.
	pseudonymKey []byte
	// pseudonymMACs holds HMAC-SHA256 hashes keyed with it, for reuse:
	// every allocation computes two pseudonyms.
	pseudonymMACs sync.Pool

	poolCache poolCache // which numbers are the pool's, for CreateConversation
	// inProcessStore: the store is the memory store, which does no I/O,
	// so webhooks need no deadline on it.
	inProcessStore bool
	calls          writeBehind // answered calls' records, for stores that do I/O
	// routeClaims: for a RouteClaimer store, the answer webhook's one
	// round trip (nonce claim and route), grouped; nil otherwise.
	routeClaims *group[RouteClaim, RouteClaimResult]
	// autopilot is Config.Autopilot with its defaults; nil when off.
	autopilot   *Autopilot
	poolStats   poolStats
	buyingAhead sync.Map // country -> struct{}: a buy-ahead in flight

	tel *telemetry // metrics and traces

	// voice is the call control client; nil when call control is off.
	voice VoiceAPI
	// bg counts background work (hang-up retries, event flushes) still
	// to run.
	bg sync.WaitGroup
	// events holds the events the fallback URL could not store;
	// flushing is set while a background FlushEvents runs.
	events   eventSpool
	flushing atomic.Bool

	warnUnsignedOnce    sync.Once
	warnUnsignedSMSOnce sync.Once
	voiceVerifier       *voice.Verifier // nil when voice webhooks are not verified
	smsVerifier         *sms.Verifier   // nil when SMS webhooks are not verified

	// Precomputed, validated parts of answer NCCOs.
	// answerPrefix[0] is the greeting before the connect; [1] the same
	// after the record action and notice, for recorded conversations.
	answerPrefix [2][]ncco.Action
	fallbackJSON []byte            // the spoken NCCO for calls not connected
	connectOpts  ncco.Connect      // timeout, limit, ringback; no endpoint yet
	tmpl         [2]answerTemplate // answerPrefix[i] and a connect
}

// Defaults applied by New.
const (
	defaultTTL           = 24 * time.Hour
	defaultCoolOff       = time.Hour
	defaultSweepInterval = time.Minute
	defaultMaxBodyBytes  = 64 << 10
	defaultStoreTimeout  = 800 * time.Millisecond
	defaultRelayAttempts = 10
	defaultRelayInterval = 2 * time.Second
)

// New checks cfg, applies defaults and returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.DefaultTTL < 0 || cfg.WebhookTolerance < 0 || cfg.SweepInterval < 0 || cfg.MaxBodyBytes < 0 || cfg.StoreTimeout < 0 {
		return nil, errors.New("proxy: negative duration or size in Config")
	}
	if cfg.GeoMatch != GeoFallback && cfg.GeoMatch != GeoStrict {
		return nil, fmt.Errorf("proxy: unknown GeoMatch policy %d", cfg.GeoMatch)
	}
	if cfg.GeoLevel != GeoCountry && cfg.GeoLevel != GeoAreaCode {
		return nil, fmt.Errorf("proxy: unknown GeoLevel %d", cfg.GeoLevel)
	}
	if cfg.Sticky != StickyPrefer && cfg.Sticky != StickyAvoid {
		return nil, fmt.Errorf("proxy: unknown Sticky policy %d", cfg.Sticky)
	}
	if err := webhookAuthConfig(&cfg); err != nil {
		return nil, err
	}
	if cfg.Store == nil {
		cfg.Store = NewMemoryStore()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.DefaultTTL == 0 {
		cfg.DefaultTTL = defaultTTL
	}
	switch {
	case cfg.CoolOff == 0:
		cfg.CoolOff = defaultCoolOff
	case cfg.CoolOff < 0:
		cfg.CoolOff = 0
	}
	if cfg.WebhookTolerance == 0 {
		cfg.WebhookTolerance = voice.DefaultTolerance
	}
	if cfg.SweepInterval == 0 {
		cfg.SweepInterval = defaultSweepInterval
	}
	if cfg.DefaultLabel == "" {
		cfg.DefaultLabel = defaultLabel
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = defaultMaxBodyBytes
	}
	if cfg.StoreTimeout == 0 {
		cfg.StoreTimeout = defaultStoreTimeout
	}
	if cfg.RelayAttempts < 0 || cfg.RelayInterval < 0 {
		return nil, errors.New("proxy: negative RelayAttempts or RelayInterval in Config")
	}
	if cfg.RelayAttempts == 0 {
		cfg.RelayAttempts = defaultRelayAttempts
	}
	if err := pinConfig(&cfg); err != nil {
		return nil, err
	}
	if cfg.ReopenGrace == 0 {
		cfg.ReopenGrace = defaultReopenGrace
	}
	keywordReply(&cfg.StopReply, defaultStopReply)
	keywordReply(&cfg.HelpReply, defaultHelpReply)
	keywordReply(&cfg.StartReply, defaultStartReply)
	pkey, randomKey, err := privacyConfig(&cfg)
	if err != nil {
		return nil, err
	}
	if err := checkCallControlConfig(&cfg); err != nil {
		return nil, err
	}
	vc, err := callControl(&cfg)
	if err != nil {
		return nil, err
	}
	if cfg.RelayInterval == 0 {
		cfg.RelayInterval = defaultRelayInterval
	}
	s := &Service{
		cfg:   cfg,
		store: cfg.Store,
		now:   cfg.Now,
		log:   slog.New(redactingHandler{cfg.Logger.Handler()}),
		mux:   http.NewServeMux(),
		owner: newID(cfg.Now()),
	}
	s.store = meteredStore{Store: cfg.Store, s: s}
	s.voice = vc
	s.pseudonymKey = pkey
	if s.tel, err = newTelemetry(&cfg); err != nil {
		return nil, fmt.Errorf("proxy: telemetry: %w", err)
	}
	_, s.inProcessStore = cfg.Store.(*memoryStore)
	if randomKey && !s.inProcessStore {
		s.log.Warn("proxy: no Config.PseudonymKey nor signature secret: pseudonyms, and the STOP opt-outs kept under them, are forgotten at a restart; set PseudonymKey")
	}
	if cfg.Autopilot != nil {
		a, err := autopilotConfig(*cfg.Autopilot)
		if err != nil {
			return nil, err
		}
		s.autopilot = &a
	}
	if rc, ok := cfg.Store.(RouteClaimer); ok {
		s.routeClaims = newGroup("ClaimRoutes", cfg.StoreTimeout, meteredBatch(s, "ClaimRoutes", rc.ClaimRoutes))
	}
	s.calls.s = s
	var secrets []voice.Secret
	if cfg.SignatureSecret != "" {
		secrets = append(secrets, voice.Secret{Value: cfg.SignatureSecret})
	}
	for i, sec := range cfg.SignatureSecrets {
		if sec.Secret == "" {
			return nil, fmt.Errorf("proxy: Config.SignatureSecrets[%d] has no Secret", i)
		}
		secrets = append(secrets, voice.Secret{APIKey: sec.APIKey, Value: sec.Secret})
	}
	if len(secrets) > 0 {
		s.voiceVerifier = &voice.Verifier{
			Secrets:       secrets,
			ApplicationID: cfg.ApplicationID,
			Tolerance:     cfg.WebhookTolerance,
			Replay:        replayGuard{store: s.store},
		}
		if b, ok := cfg.Store.(BatchNonceClaimer); ok {
			s.voiceVerifier.Replay = replayGuard{store: s.store, group: newGroup("ClaimNonces", cfg.StoreTimeout, meteredBatch(s, "ClaimNonces", b.ClaimNonces))}
		}
	}
	if cfg.SMSSignatureSecret != "" {
		s.smsVerifier = &sms.Verifier{Secret: cfg.SMSSignatureSecret, Method: cfg.SMSSignatureMethod, Tolerance: cfg.WebhookTolerance, Now: cfg.Now}
		if err := s.smsVerifier.Verify(nil); errors.Is(err, sms.ErrUnknownSigMethod) {
			return nil, fmt.Errorf("proxy: Config.SMSSignatureMethod: %w", err)
		}
	}
	if err := s.prepareNCCO(); err != nil {
		return nil, err
	}
	if cfg.InsecureUnsignedWebhooks && (s.voiceVerifier == nil || s.smsVerifier == nil) {
		s.log.Warn("proxy: InsecureUnsignedWebhooks is set: webhooks without a valid signature are accepted, and anyone who can reach this handler can read participants' real numbers; never use it where Vonage or anyone else can reach it")
	}
	s.routes()
	return s, nil
}

// ServeHTTP dispatches Vonage's webhooks. Unknown paths get 404, wrong
// methods 405.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.serveInstrumented(w, r)
}

// Ready reports whether the store answers, within Config.StoreTimeout:
// for a readiness probe. The error is the store's.
func (s *Service) Ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.StoreTimeout)
	defer cancel()
	if _, err := s.store.NumberLegs(ctx, "0"); err != nil {
		return fmt.Errorf("proxy: store not ready: %w", err)
	}
	return nil
}

// Run expires conversations every Config.SweepInterval and sends the SMS
// relays that are due every Config.RelayInterval, until ctx is done, then
// returns ctx.Err(). Errors are logged, not returned. Every instance
// sharing a store should run it: it is what retries a relay that failed
// and sends those an instance left when it stopped.
func (s *Service) Run(ctx context.Context) error {
	sweep := time.NewTicker(s.cfg.SweepInterval)
	defer sweep.Stop()
	relay := time.NewTicker(s.cfg.RelayInterval)
	defer relay.Stop()
	s.runSweep(ctx)
	s.runRelays(ctx)
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-sweep.C:
			s.runSweep(ctx)
		case <-relay.C:
			s.runRelays(ctx)
			if _, err := s.FlushEvents(ctx); err != nil && ctx.Err() == nil {
				s.log.ErrorContext(ctx, "proxy: spooled events not written yet", "err", err)
			}
		}
	}
}

func (s *Service) runSweep(ctx context.Context) {
	if _, err := s.ExpireNow(ctx); err != nil && ctx.Err() == nil {
		s.log.ErrorContext(ctx, "proxy: expiry sweep failed", "err", err)
	}
	if _, err := s.PseudonymizeNow(ctx); err != nil && ctx.Err() == nil {
		s.log.ErrorContext(ctx, "proxy: pseudonymization sweep failed", "err", err)
	}
	if _, err := s.ReleaseIdleNumbers(ctx); err != nil && ctx.Err() == nil {
		s.log.ErrorContext(ctx, "proxy: idle number release failed", "err", err)
	}
}

func (s *Service) runRelays(ctx context.Context) {
	if _, err := s.RelayNow(ctx); err != nil && ctx.Err() == nil {
		s.log.ErrorContext(ctx, "proxy: SMS relay sweep failed", "err", err)
	}
}

// ExpireNow ends every active conversation whose deadline has passed and
// returns how many it ended.
func (s *Service) ExpireNow(ctx context.Context) (int, error) {
	const batch = 1000
	total := 0
	for {
		ids, err := s.store.ExpireConversations(ctx, s.now(), batch)
		total += len(ids)
		if err != nil {
			return total, fmt.Errorf("proxy: expire conversations: %w", err)
		}
		for _, id := range ids {
			s.log.InfoContext(ctx, "proxy: conversation expired", "conversation", id)
			s.tel.count(ctx, s.tel.conversations, "event", "expired")
			s.hangUpExpired(ctx, id)
		}
		if len(ids) < batch {
			return total, nil
		}
	}
}
