package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/voiceproxy/voiceproxy/internal/voice"
	"github.com/voiceproxy/voiceproxy/ncco"
	"github.com/voiceproxy/voiceproxy/sms"
)

// Config configures a Service, in groups by concern. Only the webhooks'
// signature secret is required (see WebhookConfig); every other field and
// group is optional, its zero value meaning the defaults its comments
// give.
type Config struct {
	// Store keeps the pool, conversations and interactions. Default:
	// NewMemoryStore(), for one process; use a shared SQL store for
	// several (package sqlstore).
	Store Store
	// ApplicationID is the Vonage application's ID: when set, signed
	// voice webhooks must carry it (application_id), and call control
	// acts as it. Default "": not checked, and no call control.
	ApplicationID string

	Webhooks      WebhookConfig      // signatures, limits and URLs of Vonage's webhooks
	Allocation    AllocationConfig   // which proxy number a participant gets
	Pool          PoolConfig         // where pool numbers come from
	Conversations ConversationConfig // lifetimes and notifications
	Calls         CallConfig         // what a connected call hears and does
	CallControl   CallControlConfig  // the Voice API: hang-ups, click-to-call, recordings
	SMS           SMSConfig          // sending, relaying and keywords
	PIN           PINConfig          // shared numbers reached with a PIN
	Privacy       PrivacyConfig      // retention and pseudonyms
	Hooks         Hooks              // the host's say in routing
	Telemetry     TelemetryConfig    // metrics and traces

	// Logger receives structured logs. Participant numbers appear only at
	// Debug level, masked; numbers quoted inside logged errors (from a
	// store, a client or a hook) are masked at every level. Default
	// slog.Default().
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// defaults checks cfg and fills in every group's defaults.
func (cfg *Config) defaults() error {
	if cfg.Store == nil {
		cfg.Store = NewMemoryStore()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	for _, f := range []func() error{
		cfg.Webhooks.defaults,
		cfg.Allocation.defaults,
		cfg.Conversations.defaults,
		cfg.Calls.defaults,
		cfg.CallControl.defaults,
		cfg.SMS.defaults,
		cfg.PIN.defaults,
		cfg.Privacy.defaults,
	} {
		if err := f(); err != nil {
			return err
		}
	}
	return nil
}

// WebhookConfig is how the Service checks and bounds Vonage's webhooks.
type WebhookConfig struct {
	// SignatureSecret is the account's signature secret (the dashboard's
	// API settings), which verifies the HS256 JWT Vonage sends with voice
	// webhooks (answer, fallback, event, input) and Messages API webhooks.
	// New refuses a Config that sets neither it nor SignatureSecrets
	// (ErrUnsignedWebhooks), unless InsecureUnsigned: an unverified
	// answer webhook is all it takes to read a participant's real number
	// out of the NCCO.
	SignatureSecret string
	// SignatureSecrets are further secrets voice webhooks may be signed
	// with, for rotation (list the new secret before retiring the old
	// one) and for several accounts or subaccounts: the token's api_key
	// claim selects the secrets with that APIKey (and those without
	// one). Default none.
	SignatureSecrets []SignatureSecret
	// SMSSignatureSecret is the secret the "sig" parameter of SMS API
	// webhooks (inbound SMS, delivery receipts) is signed with, by
	// SMSSignatureMethod (default sms.MD5Hash, as set in the dashboard).
	// Default: SignatureSecret, since an account has one signature secret
	// for both (Vonage's SDKs take a single signature_secret option for
	// the SMS API's sig and the signed voice and Messages webhooks; the
	// Ruby SDK's README, "Webhook signatures").
	SMSSignatureSecret string
	SMSSignatureMethod sms.SigMethod
	// InsecureUnsigned accepts webhooks that carry no signature, or one
	// nothing checks: anybody who can reach the handler can then forge
	// an answer webhook and read a participant's real number, forge SMS
	// the Service relays or answers, and forge events. It is meant for a
	// local experiment with hand-made requests only, never for a handler
	// Vonage (or anyone else) can reach; New logs a warning. Default
	// false.
	InsecureUnsigned bool
	// Tolerance bounds how far a signed webhook's timestamp (JWT iat, SMS
	// timestamp) may be from Now, either way, and how long a JWT jti is
	// remembered against replay. Default 5 minutes.
	Tolerance time.Duration
	// MaxBodyBytes bounds webhook request bodies: a longer one is
	// answered 413 Request Entity Too Large. Default 64 KiB.
	MaxBodyBytes int64
	// StoreTimeout bounds the store calls a webhook makes before it
	// answers (the route lookup, the replay claim of a signed webhook,
	// recording an event), and separately the writes it makes after
	// answering. A store slower than that is treated as failing: the
	// answer webhook answers 503 so that Vonage retries it and then
	// requests the fallback URL. Keep it well inside the application's
	// answer timeouts (the Application API: connection_timeout 1 s and
	// socket_timeout 5 s by default, both settable lower). Default
	// 800 ms.
	StoreTimeout time.Duration
	// InboundSMSURL, when set, is the absolute URL of this handler's
	// /inbound-sms: SyncNumbers sets it as each SMS number's inbound-SMS
	// webhook (moHttpUrl), which the SMS API setting delivers to. Under
	// the Messages API setting, linking a number to the application is
	// what routes its SMS (to the application's inbound URL), and
	// SyncNumbers does that in any case. Default "": numbers keep theirs.
	InboundSMSURL string
}

// Defaults of WebhookConfig.
const (
	defaultMaxBodyBytes = 64 << 10
	defaultStoreTimeout = 800 * time.Millisecond
)

func (c *WebhookConfig) defaults() error {
	if c.Tolerance < 0 || c.MaxBodyBytes < 0 || c.StoreTimeout < 0 {
		return errors.New("proxy: negative Webhooks.Tolerance, MaxBodyBytes or StoreTimeout")
	}
	for i, sec := range c.SignatureSecrets {
		if sec.Secret == "" {
			return fmt.Errorf("proxy: Webhooks.SignatureSecrets[%d] has no Secret", i)
		}
	}
	if c.SMSSignatureSecret == "" {
		c.SMSSignatureSecret = c.SignatureSecret
	}
	if !c.InsecureUnsigned {
		var missing []string
		if c.SignatureSecret == "" && len(c.SignatureSecrets) == 0 {
			missing = append(missing, "Webhooks.SignatureSecret (voice and Messages API webhooks)")
		}
		if c.SMSSignatureSecret == "" {
			missing = append(missing, "Webhooks.SMSSignatureSecret (SMS API webhooks)")
		}
		if len(missing) > 0 {
			return fmt.Errorf("%w: set %s to the account's signature secret (the dashboard's API settings), or Webhooks.InsecureUnsigned for a local experiment", ErrUnsignedWebhooks, strings.Join(missing, " and "))
		}
	}
	setDefault(&c.Tolerance, voice.DefaultTolerance)
	setDefault(&c.MaxBodyBytes, defaultMaxBodyBytes)
	setDefault(&c.StoreTimeout, defaultStoreTimeout)
	return nil
}

// SignatureSecret is one signature secret of WebhookConfig.SignatureSecrets.
type SignatureSecret struct {
	// APIKey is the account whose secret this is, as Vonage's api_key
	// claim names it; "" accepts the secret for any account.
	APIKey string
	Secret string
}

// AllocationConfig is how CreateConversation picks proxy numbers.
type AllocationConfig struct {
	// LenientNumbers accepts participant numbers that have a possible
	// length for their country code but are not in an assigned range
	// (e.g. Ofcom's drama range +44 7700 900xxx, handy in tests). Default
	// false: only numbers libphonenumber deems valid.
	LenientNumbers bool
	// Insight, when set, checks both participants of every new
	// conversation with Number Insight Basic, in parallel, before
	// allocating. Default nil: no check beyond libphonenumber.
	Insight NumberChecker
	// CoolOff is how long a participant is not given a proxy number it
	// released, unless with the same counterpart, so a late redial cannot
	// reach a new stranger. Default 1 hour; negative means none.
	CoolOff time.Duration
	// Geo is how closely a number must match the participant's:
	// GeoCountry (default) or GeoAreaCode.
	Geo GeoLevel
	// GeoFallback is what happens when no number matches as Geo asks:
	// GeoAnyCountry (default) or GeoStrict.
	GeoFallback GeoPolicy
	// Sticky is whether a returning pair gets the same number:
	// StickyPrefer (default) or StickyAvoid.
	Sticky StickyPolicy
}

// defaultCoolOff is AllocationConfig.CoolOff's default.
const defaultCoolOff = time.Hour

func (c *AllocationConfig) defaults() error {
	if c.GeoFallback != GeoAnyCountry && c.GeoFallback != GeoStrict {
		return fmt.Errorf("proxy: unknown Allocation.GeoFallback policy %d", c.GeoFallback)
	}
	if c.Geo != GeoCountry && c.Geo != GeoAreaCode {
		return fmt.Errorf("proxy: unknown Allocation.Geo level %d", c.Geo)
	}
	if c.Sticky != StickyPrefer && c.Sticky != StickyAvoid {
		return fmt.Errorf("proxy: unknown Allocation.Sticky policy %d", c.Sticky)
	}
	switch {
	case c.CoolOff == 0:
		c.CoolOff = defaultCoolOff
	case c.CoolOff < 0:
		c.CoolOff = 0
	}
	return nil
}

// PoolConfig is where the pool's numbers come from, besides
// Service.AddNumbers.
type PoolConfig struct {
	// Numbers is used by SyncNumbers. Default nil: SyncNumbers fails.
	Numbers NumbersAPI
	// Autopilot, when set, buys numbers when allocation finds none for a
	// participant and releases idle ones it bought (see Autopilot).
	// Default nil: CreateConversation fails with a *PoolExhaustedError
	// and the pool is what the host adds.
	Autopilot *Autopilot
}

// ConversationConfig is how long conversations last and how their
// participants are told.
type ConversationConfig struct {
	// DefaultTTL is a conversation's lifetime when CreateRequest.TTL is
	// zero. Default 24 hours.
	DefaultTTL time.Duration
	// ReopenGrace is how long after it ended a conversation may be
	// reopened (Update.Reopen): disputes come after the job. Default 24
	// hours; negative: never.
	ReopenGrace time.Duration
	// SweepInterval is how often Run expires conversations. Default 1
	// minute.
	SweepInterval time.Duration
	// DefaultLabel names a participant without a label. Default "your
	// contact".
	DefaultLabel string
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
}

// Defaults of ConversationConfig.
const (
	defaultTTL           = 24 * time.Hour
	defaultSweepInterval = time.Minute
)

func (c *ConversationConfig) defaults() error {
	if c.DefaultTTL < 0 || c.SweepInterval < 0 {
		return errors.New("proxy: negative Conversations.DefaultTTL or SweepInterval")
	}
	setDefault(&c.DefaultTTL, defaultTTL)
	setDefault(&c.SweepInterval, defaultSweepInterval)
	setDefault(&c.ReopenGrace, defaultReopenGrace)
	setDefault(&c.DefaultLabel, defaultLabel)
	return nil
}

// CallConfig is what a call to a proxy number hears and how it is
// connected.
type CallConfig struct {
	// Greeting is spoken to the caller before connecting. Default "":
	// none.
	Greeting string
	// Language is the BCP-47 language of what the Service speaks
	// ("en-GB"). Default "": Vonage's default (en-US).
	Language string
	// UnknownRouteText is spoken when a call cannot be connected (unknown
	// or ended conversation, blocked, malformed webhook, store error).
	// Default "Sorry, the number you have called is not in service.".
	UnknownRouteText string
	// RecordByDefault is the default of CreateRequest.Record: whether a
	// new conversation records its calls. Default false.
	RecordByDefault bool
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
	// TimeLimit caps a connected call's length, whole seconds up to 2
	// hours (the connect action's limit, 1–7200; a click-to-call's
	// length_timer would take up to 24 hours). Default 0: Vonage's
	// default (2 hours).
	TimeLimit time.Duration
	// RingbackURL is audio (http/https) the caller hears while the other
	// phone rings. Default "": the network's ringing tone.
	RingbackURL string
}

func (c *CallConfig) defaults() error {
	setDefault(&c.UnknownRouteText, defaultUnknownRouteText)
	return nil
}

// CallControlConfig enables call control through the Voice API: calls in
// progress are hung up when their conversation ends (CloseConversation,
// expiry), Service.Call starts click-to-call calls and Service.Recording
// fetches recordings. It needs Config.ApplicationID and ApplicationKey
// (or Client). Without them those methods fail with ErrCallControlOff and
// ending a conversation leaves its calls to run to their end
// (CallConfig.TimeLimit).
type CallControlConfig struct {
	// ApplicationKey is the Vonage application's private key, PEM (the
	// file the dashboard gave when the application was made); requests
	// carry a JWT signed with it.
	ApplicationKey []byte
	// Client, when set, is the call control client, instead of the one
	// built from ApplicationID and ApplicationKey. Default nil.
	Client VoiceAPI
	// APIURL is the Voice API's calls endpoint. Default
	// "https://api.nexmo.com/v1/calls"; requests about one call go to
	// that call's region (the answer webhook's region_url).
	APIURL string
	// HTTPClient sends Voice API requests. Default: a client with a 10 s
	// timeout (recordings: bounded by the caller's context only).
	// Whichever client, a redirect is never followed
	// (ErrVoiceRedirected) and the JWT goes only to Vonage's API hosts
	// by exact name over https, or to APIURL's host (ErrUntrustedURL).
	HTTPClient *http.Client
	// EventURL is the event URL given to calls the Service starts
	// (Service.Call): the absolute URL of this handler's /event. Set it:
	// the Service tags it with the call's conversation, so that a call's
	// first events are recorded even when they come before Service.Call
	// has stored the call. Default "": the application's event URL,
	// untagged, where such early events (the first leg's started) are
	// not recorded.
	EventURL string
	// HangupAttempts is how many times hanging up a call of an ended
	// conversation is tried, waiting HangupRetryWait, doubling, between
	// tries (each try is itself retried on throttling and 5xx by the
	// client). Default 5 and 2 seconds: about a minute.
	HangupAttempts  int
	HangupRetryWait time.Duration
	// MaxRecordingBytes bounds one download of Service.Recording: a
	// larger recording fails with ErrRecordingTooLarge. Default 256 MiB.
	MaxRecordingBytes int64
}

func (c *CallControlConfig) defaults() error {
	if c.HangupAttempts < 0 || c.HangupRetryWait < 0 || c.MaxRecordingBytes < 0 {
		return errors.New("proxy: negative CallControl.HangupAttempts, HangupRetryWait or MaxRecordingBytes")
	}
	if c.EventURL != "" && !strings.HasPrefix(c.EventURL, "https://") && !strings.HasPrefix(c.EventURL, "http://") {
		return fmt.Errorf("proxy: CallControl.EventURL %q is not an http(s) URL", c.EventURL)
	}
	setDefault(&c.HangupAttempts, defaultHangupAttempts)
	setDefault(&c.HangupRetryWait, defaultHangupRetryWait)
	return nil
}

// SMSConfig is how SMS are sent and relayed, and how keywords are
// answered.
type SMSConfig struct {
	// Sender sends notification SMS, relays SMS between participants and
	// sends SendMessage's: an *sms.Client (the SMS API) or an
	// *sms.MessagesClient (the Messages API), whichever the account's SMS
	// setting is. Inbound SMS are taken on both webhooks whatever it is:
	// /inbound-sms and /delivery-receipt (SMS API), /inbound-message and
	// /message-status (Messages API), so a migration loses nothing.
	// Default nil: no notifications (CreateRequest.Notify then fails with
	// a *NotifyError) and inbound SMS are recorded but not relayed.
	Sender SMSSender
	// StoreBodies keeps the text of relayed SMS in Interaction.Text.
	// Default false: bodies are relayed, never stored.
	StoreBodies bool
	// Redact removes contact details (phone numbers, e-mail addresses,
	// URLs, by policy) from relayed SMS, and records what it removed on
	// the interaction (EventRedacted): users cannot take the
	// conversation off the platform in text either; RedactPolicy says
	// what it normalises and what it still misses. Default: nothing is
	// removed.
	Redact RedactPolicy
	// AutoReply, when set, is sent (from the number texted) to anyone
	// whose SMS matches no conversation in use. Default "": no reply.
	AutoReply string
	// StopReply answers an SMS that is a STOP keyword (STOP, STOPALL,
	// UNSUBSCRIBE, CANCEL, END, QUIT, alone, any case), which is not
	// relayed: the sender gets nothing more from that proxy number, in
	// or out of a conversation, on any instance. HelpReply answers HELP
	// or INFO, StartReply START or UNSTOP (which lift a STOP); none is
	// relayed. Carriers require them. Defaults "You are unsubscribed:
	// you will get no more messages from this number.", "Messages to
	// this number reach your contact without showing your number. Reply
	// STOP to get no more." and "You are subscribed again: messages from
	// this number reach you."; "-" sends no reply.
	StopReply, HelpReply, StartReply string
	// RelayAttempts is how many times an accepted SMS is tried before it
	// is recorded as failed, when sending fails in a way that may pass
	// (throttling, a 5xx, a network error or a timeout); tries back off
	// from 2 s, doubling, to 5 minutes. Default 10 (about 20 minutes).
	RelayAttempts int
	// RelayInterval is how often Run sends the relays that are due
	// (retries, and jobs an instance that stopped left behind). Default
	// 2 seconds.
	RelayInterval time.Duration
}

// Defaults of SMSConfig.
const (
	defaultRelayAttempts = 10
	defaultRelayInterval = 2 * time.Second
)

func (c *SMSConfig) defaults() error {
	if c.RelayAttempts < 0 || c.RelayInterval < 0 {
		return errors.New("proxy: negative SMS.RelayAttempts or RelayInterval")
	}
	setDefault(&c.RelayAttempts, defaultRelayAttempts)
	setDefault(&c.RelayInterval, defaultRelayInterval)
	keywordReply(&c.StopReply, defaultStopReply)
	keywordReply(&c.HelpReply, defaultHelpReply)
	keywordReply(&c.StartReply, defaultStartReply)
	return nil
}

// PINConfig is how PIN conversations (CreateRequest.Access AccessPIN)
// work: both participants dial one shared number and enter a PIN.
type PINConfig struct {
	// Length is the length of generated PINs, 4 to 8. Default 6.
	Length int
	// WhenExhausted creates a PIN conversation when the pool has no
	// number left for a participant (and the autopilot, if on, could not
	// buy one). Default false: a *PoolExhaustedError.
	WhenExhausted bool
	// Attempts is how many PINs one call may try before it is refused.
	// Default 3.
	Attempts int
	// MaxFailures is how many wrong PINs a caller (their own number) may
	// enter within Lockout, in any number of calls, on any instance,
	// before they are locked out for Lockout. Default 5.
	MaxFailures int
	// MaxNumberFailures is how many wrong PINs one shared number may see
	// within Lockout, from all its callers, before it is under attack:
	// from then on a caller who keys a wrong PIN there is locked out at
	// their second own wrong PIN (not their MaxFailures-th). The number
	// itself is never locked, and a caller who has not keyed a wrong PIN
	// is never refused (see webhook_input.go). Default 30.
	MaxNumberFailures int
	// Lockout is how long a lock-out lasts, and how long a wrong PIN
	// counts. Default 15 minutes.
	Lockout time.Duration
	// Prompt is spoken to ask for the PIN, RetryPrompt after a wrong one,
	// LockedText to a caller locked out, RefusedText to a call refused
	// after Attempts prompts without the right PIN. Defaults: "Please
	// enter your PIN, then press hash.", "That PIN is not right. Please
	// enter it again, then press hash.", "Too many wrong PINs. Please try
	// again later.", "That PIN is not right. Goodbye.".
	Prompt, RetryPrompt, LockedText, RefusedText string
	// SMSReply is sent back, from the shared number, to an SMS whose
	// sender has several PIN conversations on that number (nothing says
	// which one it is for). Default "You have more than one conversation
	// on this number: please use the app, or call and enter your PIN.".
	SMSReply string
	// InputURL is the absolute URL of this handler's /input webhook,
	// where Vonage sends the PIN a caller keyed in (the input action's
	// eventUrl). Set it: it is the one source of that URL the Service
	// does not have to take from a request. An http URL sends the PINs
	// in clear; use one only for local experiments. Default, in order:
	// CallControl.EventURL with /input for /event (query dropped); else
	// https (always: behind a TLS-terminating proxy the request itself is
	// plain http, and X-Forwarded-Proto is whatever the client sent), the
	// Host of the answer webhook, which gets that far only authenticated,
	// and its path with /input for /answer. Behind a proxy that rewrites
	// Host, set InputURL. A Host that is not a plain host[:port] answers
	// the call with the fallback NCCO.
	InputURL string
}

func (c *PINConfig) defaults() error {
	if c.Length != 0 && (c.Length < minPINLength || c.Length > maxPINLength) {
		return fmt.Errorf("proxy: PIN.Length %d is not %d to %d", c.Length, minPINLength, maxPINLength)
	}
	if c.Attempts < 0 || c.MaxFailures < 0 || c.MaxNumberFailures < 0 || c.Lockout < 0 {
		return errors.New("proxy: negative PIN.Attempts, MaxFailures, MaxNumberFailures or Lockout")
	}
	if c.InputURL != "" {
		u, err := url.Parse(c.InputURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("proxy: PIN.InputURL %q is not an absolute http(s) URL", c.InputURL)
		}
	}
	setDefault(&c.Length, defaultPINLength)
	setDefault(&c.Attempts, defaultPINAttempts)
	setDefault(&c.MaxFailures, defaultPINMaxFailures)
	setDefault(&c.MaxNumberFailures, defaultPINNumberFailures)
	setDefault(&c.Lockout, defaultPINLockout)
	setDefault(&c.Prompt, defaultPINPrompt)
	setDefault(&c.RetryPrompt, defaultPINRetryPrompt)
	setDefault(&c.LockedText, defaultPINLockedText)
	setDefault(&c.RefusedText, defaultPINRefusedText)
	setDefault(&c.SMSReply, defaultPINSMSReply)
	return nil
}

// PrivacyConfig is how long real numbers are kept, and how they are
// pseudonymized after.
type PrivacyConfig struct {
	// Retention is how long an ended conversation keeps its
	// participants' real numbers, labels, SMS texts and recordings'
	// references: after it, Run's sweep replaces the numbers with keyed
	// pseudonyms (Service.Pseudonym), empties the labels and texts and
	// drops the recording URLs, on every store. It may be shorter than
	// the cool-off: the cool-off and sticky rules go on from the
	// pseudonymized legs. Default 30 days; negative: kept for good.
	Retention time.Duration
	// PseudonymKey keys the pseudonyms (HMAC-SHA256): the same number
	// gives the same pseudonym, across instances and restarts, for as
	// long as the key stays. STOP opt-outs are kept under pseudonyms
	// too, never under the number, so a new key forgets them. Default: a
	// key derived from the first signature secret set, so rotating that
	// secret changes every pseudonym and forgets the opt-outs: set
	// PseudonymKey (32 random bytes, kept apart from the database)
	// before a rotation. With no secret either, a random key per process
	// (a warning is logged with a durable store).
	PseudonymKey []byte
}

func (c *PrivacyConfig) defaults() error {
	setDefault(&c.Retention, defaultRetention)
	return nil
}

// Hooks are the host's say in routing. Each is optional.
type Hooks struct {
	// Intercept, when set, is asked before each call is connected and
	// each SMS relayed; a non-nil error blocks it (the caller hears
	// CallConfig.UnknownRouteText, the SMS is not relayed) and is logged.
	// Default nil: everything allowed by the conversation's Mode passes.
	Intercept func(ctx context.Context, in Inbound) error
	// OnUnknownCall, when set, supplies the NCCO for a call whose
	// (caller, dialed number) matches no conversation in use. An error or
	// an NCCO that fails validation is logged and UnknownRouteText is
	// spoken instead. Default nil: UnknownRouteText.
	OnUnknownCall func(ctx context.Context, call UnknownCall) (ncco.NCCO, error)
	// OnUnknownSMS, when set, supplies the reply to an SMS whose (sender,
	// number texted) matches no conversation in use, sent from the number
	// texted: OnUnknownCall's companion. "" sends none; an error is
	// logged and SMSConfig.AutoReply is sent instead. Default nil:
	// AutoReply.
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
	// (and Allocation.Insight, which a create consults, fast). An error
	// is logged and the contact handled as unknown. Default nil.
	OnUnknownContact func(ctx context.Context, c Contact) (*CreateRequest, error)
	// OnInteraction, when set, is called after each recorded change to an
	// interaction (a new call or SMS, a status event), synchronously in
	// the webhook handler: keep it quick. Default nil.
	OnInteraction func(ctx context.Context, in Interaction)
}

// TelemetryConfig is where the Service's metrics and traces go.
type TelemetryConfig struct {
	// MeterProvider and TracerProvider receive the Service's metrics
	// (voiceproxy.webhooks, voiceproxy.webhook.duration, …; see the
	// README's "Metrics") and its spans (one per webhook, with the store
	// calls inside). Default: OpenTelemetry's global providers, which do
	// nothing until the host installs real ones.
	MeterProvider  metric.MeterProvider
	TracerProvider trace.TracerProvider
}
