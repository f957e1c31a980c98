package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/voiceproxy/voiceproxy/proxy"
)

// hostOptions are the Service's settings a host chooses, as the demo's
// flags (and VOICEPROXY_* variables) expose them. Zero values take the
// Service's defaults, except Redact's (see redactPolicy).
type hostOptions struct {
	// Redact lists what relayed SMS lose: "phones", "emails", "urls",
	// comma-separated, or "none"; "" is every kind in the sandbox and
	// none live.
	Redact     string
	RedactWith string // Config.Redact.Replacement

	Retention      time.Duration // Config.Privacy.Retention
	StoreSMSBodies bool          // Config.SMS.StoreBodies
	DefaultTTL     time.Duration // Config.Conversations.DefaultTTL
	Record         bool          // Config.Calls.RecordByDefault

	PINLength, PINAttempts, PINMaxFailures, PINMaxNumberFailures int
	PINLockout                                                   time.Duration
	PINWhenExhausted                                             bool

	NotifyTemplate, NotifyPINTemplate, DefaultLabel string
	StopReply, HelpReply, StartReply, SMSAutoReply  string
	Greeting, UnknownRouteText, PINPrompt           string
	PINSMSReply                                     string

	PINRetryPrompt, PINLockedText, PINRefusedText string // Config.PIN.RetryPrompt, LockedText, RefusedText

	// Config.Calls: ConnectTimeout and TimeLimit are whole seconds.
	ConnectTimeout, CallTimeLimit          time.Duration
	RecordingNotice, RingbackURL, Language string

	// Config.Allocation.
	Geo            proxy.GeoLevel
	GeoFallback    proxy.GeoPolicy
	Sticky         proxy.StickyPolicy
	CoolOff        time.Duration
	LenientNumbers bool

	ReopenGrace, SweepInterval time.Duration // Config.Conversations

	RelayAttempts int           // Config.SMS.RelayAttempts
	RelayInterval time.Duration // Config.SMS.RelayInterval

	// Config.Webhooks.
	WebhookTolerance, WebhookStoreTimeout time.Duration
	WebhookMaxBody                        int64

	// Config.CallControl.
	HangupAttempts    int
	HangupRetryWait   time.Duration
	MaxRecordingBytes int64
}

// register defines o's flags on fs.
func (o *hostOptions) register(fs *flag.FlagSet) {
	fs.StringVar(&o.Redact, "redact", "", `contact details removed from relayed SMS: "phones", "emails", "urls" (comma-separated) or "none" (default: all three in the sandbox, none live)`)
	fs.StringVar(&o.RedactWith, "redact-with", "", `what stands in for a removed detail (default "[removed]")`)
	fs.DurationVar(&o.Retention, "retention", 0, "how long an ended conversation keeps real numbers, SMS texts and recording links before they are pseudonymized; negative keeps them for good (default 720h, 30 days)")
	fs.BoolVar(&o.StoreSMSBodies, "store-sms-bodies", false, "keep relayed SMS texts on their interactions (until -retention)")
	fs.DurationVar(&o.DefaultTTL, "default-ttl", 0, `a conversation's lifetime when the request gives no "ttl" (default 24h)`)
	fs.BoolVar(&o.Record, "record", false, `record calls of conversations created without "record"`)
	fs.IntVar(&o.PINLength, "pin-length", 0, "digits of a generated PIN, 4 to 8 (default 6)")
	fs.IntVar(&o.PINAttempts, "pin-attempts", 0, "PINs one call may try before it is refused (default 3)")
	fs.IntVar(&o.PINMaxFailures, "pin-max-failures", 0, "wrong PINs a caller may key within -pin-lockout before being locked out (default 5)")
	fs.IntVar(&o.PINMaxNumberFailures, "pin-max-number-failures", 0, "wrong PINs a shared number may see within -pin-lockout before it is treated as under attack (default 30)")
	fs.DurationVar(&o.PINLockout, "pin-lockout", 0, "how long a lock-out lasts and a wrong PIN counts (default 15m)")
	fs.BoolVar(&o.PINWhenExhausted, "pin-when-exhausted", false, "create a PIN conversation when the pool has no number left for a participant")
	fs.StringVar(&o.NotifyTemplate, "notify-template", "", `the notification SMS; {label} is the other participant's label (default by mode: "Call or text this number to reach {label}.")`)
	fs.StringVar(&o.NotifyPINTemplate, "notify-pin-template", "", `a PIN conversation's notification; {pin} is its PIN (default by mode: "Call this number and enter PIN {pin}, or text it, to reach {label}.")`)
	fs.StringVar(&o.DefaultLabel, "default-label", "", `{label} of a participant without a label (default "your contact")`)
	fs.StringVar(&o.StopReply, "stop-reply", "", `the answer to STOP; "-" for none (default "You are unsubscribed: you will get no more messages from this number.")`)
	fs.StringVar(&o.HelpReply, "help-reply", "", `the answer to HELP; "-" for none (default "Messages to this number reach your contact without showing your number. Reply STOP to get no more.")`)
	fs.StringVar(&o.StartReply, "start-reply", "", `the answer to START; "-" for none (default "You are subscribed again: messages from this number reach you.")`)
	fs.StringVar(&o.SMSAutoReply, "sms-auto-reply", "", "the answer to an SMS that matches no conversation in use (default: none)")
	fs.StringVar(&o.Greeting, "greeting", "", "spoken to a caller before the call is connected (default: none)")
	fs.StringVar(&o.UnknownRouteText, "unknown-route-text", "", `spoken when a call cannot be connected (default "Sorry, the number you have called is not in service.")`)
	fs.StringVar(&o.PINPrompt, "pin-prompt", "", `spoken to ask for the PIN (default "Please enter your PIN, then press hash.")`)
	fs.StringVar(&o.PINSMSReply, "pin-sms-reply", "", "the answer to an SMS to a shared number from someone with several PIN conversations on it")
	fs.StringVar(&o.PINRetryPrompt, "pin-retry-prompt", "", `spoken after a wrong PIN (default "That PIN is not right. Please enter it again, then press hash.")`)
	fs.StringVar(&o.PINLockedText, "pin-locked-text", "", `spoken to a caller locked out by -pin-max-failures (default "Too many wrong PINs. Please try again later.")`)
	fs.StringVar(&o.PINRefusedText, "pin-refused-text", "", `spoken to a call refused after -pin-attempts wrong PINs (default "That PIN is not right. Goodbye.")`)

	// Vonage's connect action takes timeout 3–7200 s and limit up to
	// 7200 s, whole seconds (ncco/connect.go, after the NCCO reference).
	fs.Func("connect-timeout", "how long the other participant's phone rings, a `duration` of whole seconds from 3s to 2h (default: Vonage's, 60s)",
		secondsFlag(&o.ConnectTimeout, 3*time.Second, 2*time.Hour))
	fs.Func("call-time-limit", "the longest a connected call may last, a `duration` of whole seconds up to 2h (default: Vonage's, 2h)",
		secondsFlag(&o.CallTimeLimit, time.Second, 2*time.Hour))
	fs.StringVar(&o.RecordingNotice, "recording-notice", "", `spoken before a recorded call is connected, e.g. "This call is recorded." (default: none)`)
	fs.Func("ringback-url", "an http(s) `URL` of audio the caller hears while the other phone rings (default: the network's ringing tone)", func(v string) error {
		u, err := url.Parse(v)
		if v != "" && (err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "") {
			return errors.New("not an absolute http(s) URL")
		}
		o.RingbackURL = v
		return nil
	})
	fs.Func("language", "the BCP-47 `language` of what callers hear, e.g. \"en-GB\" (default: Vonage's, en-US)", func(v string) error {
		if v != "" && !bcp47.MatchString(v) {
			return errors.New(`not a BCP-47 language tag such as "en-GB"`)
		}
		o.Language = v
		return nil
	})

	fs.Func("geo", "how closely a proxy number matches the participant's, a `level`: \"country\" or \"area-code\" (US, Canada and the Caribbean) (default \"country\")",
		choiceFlag(&o.Geo, map[string]proxy.GeoLevel{"country": proxy.GeoCountry, "area-code": proxy.GeoAreaCode}))
	fs.Func("geo-fallback", "the `policy` with no number matching -geo: \"any\" country's number or \"strict\" (fail) (default \"any\")",
		choiceFlag(&o.GeoFallback, map[string]proxy.GeoPolicy{"any": proxy.GeoAnyCountry, "strict": proxy.GeoStrict}))
	fs.Func("sticky", "whether a pair meeting again gets the same proxy number, a `policy`: \"prefer\" or \"avoid\" (default \"prefer\")",
		choiceFlag(&o.Sticky, map[string]proxy.StickyPolicy{"prefer": proxy.StickyPrefer, "avoid": proxy.StickyAvoid}))
	fs.DurationVar(&o.CoolOff, "cool-off", 0, "how long a participant is not given a proxy number it released, unless with the same counterpart; negative: none (default 1h)")
	fs.BoolVar(&o.LenientNumbers, "lenient-numbers", false, "accept participant numbers of a possible length that are not in an assigned range (always on in the sandbox)")

	fs.DurationVar(&o.ReopenGrace, "reopen-grace", 0, "how long after it ended a conversation may be reopened; negative: never (default 24h)")
	fs.Func("sweep-interval", "how often ended conversations are expired, a `duration` (default 1m)", nonNegative(&o.SweepInterval, time.ParseDuration))

	fs.Func("relay-attempts", "the `number` of tries of a relayed SMS whose sending fails in a way that may pass, backing off from 2s to 5m (default 10)", nonNegative(&o.RelayAttempts, strconv.Atoi))
	fs.Func("relay-interval", "how often relays that are due are sent, a `duration` (default 2s)", nonNegative(&o.RelayInterval, time.ParseDuration))

	fs.Func("webhook-tolerance", "how far a signed webhook's timestamp may be from now, either way, a `duration` (default 5m)", nonNegative(&o.WebhookTolerance, time.ParseDuration))
	fs.Func("webhook-max-body", "the largest webhook body, in `bytes`; a longer one is answered 413 (default 65536)", nonNegative(&o.WebhookMaxBody, parseInt64))
	fs.Func("webhook-store-timeout", "how long a webhook waits on the store before answering 503, a `duration` (default 800ms)", nonNegative(&o.WebhookStoreTimeout, time.ParseDuration))

	fs.Func("hangup-attempts", "the `number` of tries to hang up a call of an ended conversation (default 5)", nonNegative(&o.HangupAttempts, strconv.Atoi))
	fs.Func("hangup-retry-wait", "the wait after a failed hang-up, doubling each try, a `duration` (default 2s)", nonNegative(&o.HangupRetryWait, time.ParseDuration))
	fs.Func("max-recording-bytes", "the largest recording the API fetches, in `bytes` (default 268435456, 256 MiB)", nonNegative(&o.MaxRecordingBytes, parseInt64))
}

// bcp47 is the shape of a BCP-47 language tag: a 2–3 letter language,
// then subtags of 1–8 letters or digits (RFC 5646, section 2.1).
var bcp47 = regexp.MustCompile(`^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$`)

// choiceFlag sets *p to the value choices gives a flag's text; any other
// text is an error naming the choices.
func choiceFlag[T any](p *T, choices map[string]T) func(string) error {
	return func(v string) error {
		c, ok := choices[v]
		if !ok {
			names := make([]string, 0, len(choices))
			for n := range choices {
				names = append(names, strconv.Quote(n))
			}
			slices.Sort(names)
			return fmt.Errorf("%q is not %s", v, strings.Join(names, " or "))
		}
		*p = c
		return nil
	}
}

// nonNegative sets *p to a flag's text parsed by parse, refusing a
// negative value.
func nonNegative[T int | int64 | time.Duration](p *T, parse func(string) (T, error)) func(string) error {
	return func(v string) error {
		n, err := parse(v)
		if err != nil {
			return err
		}
		if n < 0 {
			return fmt.Errorf("%s is negative", v)
		}
		*p = n
		return nil
	}
}

// parseInt64 reads a decimal int64.
func parseInt64(v string) (int64, error) { return strconv.ParseInt(v, 10, 64) }

// shortDuration writes d without trailing zero units: 2h, not 2h0m0s.
func shortDuration(d time.Duration) string {
	t := d.String()
	if strings.HasSuffix(t, "m0s") {
		t = strings.TrimSuffix(t, "0s")
	}
	if strings.HasSuffix(t, "h0m") {
		t = strings.TrimSuffix(t, "0m")
	}
	return t
}

// secondsFlag sets *p to a flag's duration, which must be whole seconds
// from lo to hi, or 0 for Vonage's default.
func secondsFlag(p *time.Duration, lo, hi time.Duration) func(string) error {
	return func(v string) error {
		d, err := time.ParseDuration(v)
		if err != nil {
			return err
		}
		if d != 0 && (d%time.Second != 0 || d < lo || d > hi) {
			return fmt.Errorf("%s is not whole seconds from %s to %s (or 0 for Vonage's default)", v, shortDuration(lo), shortDuration(hi))
		}
		*p = d
		return nil
	}
}

// redactPolicy reads o.Redact; live says which default applies.
func (o hostOptions) redactPolicy(live bool) (proxy.RedactPolicy, error) {
	p := proxy.RedactPolicy{Replacement: o.RedactWith}
	spec := o.Redact
	if spec == "" {
		spec = "phones,emails,urls"
		if live {
			spec = "none"
		}
	}
	if spec == "none" {
		return p, nil
	}
	for _, kind := range strings.Split(spec, ",") {
		switch strings.TrimSpace(kind) {
		case "phones":
			p.Phones = true
		case "emails":
			p.Emails = true
		case "urls":
			p.URLs = true
		default:
			return p, fmt.Errorf("%w: -redact: %q is not phones, emails, urls or none", errUsage, kind)
		}
	}
	return p, nil
}

// apply sets o on cfg.
func (o hostOptions) apply(cfg *proxy.Config, live bool) error {
	p, err := o.redactPolicy(live)
	if err != nil {
		return err
	}
	cfg.SMS.Redact = p
	cfg.Privacy.Retention, cfg.SMS.StoreBodies, cfg.Conversations.DefaultTTL, cfg.Calls.RecordByDefault = o.Retention, o.StoreSMSBodies, o.DefaultTTL, o.Record
	cfg.PIN.Length, cfg.PIN.Attempts, cfg.PIN.MaxFailures, cfg.PIN.MaxNumberFailures = o.PINLength, o.PINAttempts, o.PINMaxFailures, o.PINMaxNumberFailures
	cfg.PIN.Lockout, cfg.PIN.WhenExhausted = o.PINLockout, o.PINWhenExhausted
	cfg.Conversations.NotifyTemplate, cfg.Conversations.NotifyPINTemplate, cfg.Conversations.DefaultLabel = o.NotifyTemplate, o.NotifyPINTemplate, o.DefaultLabel
	cfg.SMS.StopReply, cfg.SMS.HelpReply, cfg.SMS.StartReply, cfg.SMS.AutoReply = o.StopReply, o.HelpReply, o.StartReply, o.SMSAutoReply
	cfg.Calls.Greeting, cfg.Calls.UnknownRouteText, cfg.PIN.Prompt, cfg.PIN.SMSReply = o.Greeting, o.UnknownRouteText, o.PINPrompt, o.PINSMSReply
	cfg.PIN.RetryPrompt, cfg.PIN.LockedText, cfg.PIN.RefusedText = o.PINRetryPrompt, o.PINLockedText, o.PINRefusedText
	cfg.Calls.ConnectTimeout, cfg.Calls.TimeLimit = o.ConnectTimeout, o.CallTimeLimit
	cfg.Calls.RecordingNotice, cfg.Calls.RingbackURL, cfg.Calls.Language = o.RecordingNotice, o.RingbackURL, o.Language
	cfg.Allocation.Geo, cfg.Allocation.GeoFallback, cfg.Allocation.Sticky = o.Geo, o.GeoFallback, o.Sticky
	cfg.Allocation.CoolOff, cfg.Allocation.LenientNumbers = o.CoolOff, o.LenientNumbers
	cfg.Conversations.ReopenGrace, cfg.Conversations.SweepInterval = o.ReopenGrace, o.SweepInterval
	cfg.SMS.RelayAttempts, cfg.SMS.RelayInterval = o.RelayAttempts, o.RelayInterval
	cfg.Webhooks.Tolerance, cfg.Webhooks.MaxBodyBytes, cfg.Webhooks.StoreTimeout = o.WebhookTolerance, o.WebhookMaxBody, o.WebhookStoreTimeout
	cfg.CallControl.HangupAttempts, cfg.CallControl.HangupRetryWait, cfg.CallControl.MaxRecordingBytes = o.HangupAttempts, o.HangupRetryWait, o.MaxRecordingBytes
	return nil
}

// envName is the variable that sets flag name: VOICEPROXY_ and the name
// in capitals, dashes as underscores (-pin-length: VOICEPROXY_PIN_LENGTH).
func envName(name string) string {
	return "VOICEPROXY_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// fromEnv gives every flag of fs its VOICEPROXY_* variable's value, when
// set, as its default (a flag on the command line wins), and names the
// variable in its usage.
func fromEnv(fs *flag.FlagSet, getenv func(string) string) error {
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		env := envName(f.Name)
		f.Usage += " [" + env + "]"
		if v := getenv(env); v != "" && err == nil {
			if serr := fs.Set(f.Name, v); serr != nil {
				err = fmt.Errorf("%w: %s=%q: %v", errUsage, env, v, serr)
			}
		}
	})
	return err
}

// usageText heads -h; the flags follow, then environmentText.
const usageText = `Usage: voiceproxy [flags]

The voiceproxy demo server: a JSON API for private conversations, the
Service's Vonage webhooks under /vonage/, an ops page at /ops/. Without
Vonage credentials it runs in sandbox mode (a simulated Vonage).

Every flag can be set by the variable named after it in brackets; a
flag on the command line wins.

Flags:
`

const environmentText = `
Environment:
  VONAGE_API_KEY, VONAGE_API_SECRET, VONAGE_APPLICATION_ID
        the account and application (all three: live mode; none: sandbox)
  VONAGE_SIGNATURE_SECRET, VONAGE_SIGNATURE_METHOD
        verify Vonage's webhooks (live mode needs the secret)
  VONAGE_PRIVATE_KEY
        the application's private key file: call control (hang-up on
        close, click-to-call, recordings)
  VOICEPROXY_PSEUDONYM_KEY
        keys the pseudonyms of -retention and erasure; the same on every
        instance and kept for good (the sandbox has a fixed one)
  VOICEPROXY_OPERATOR_TOKEN
        the operator surface's token (needed live or beyond loopback)
  VOICEPROXY_SANDBOX_SECRET
        the sandbox's webhook signature secret (default: random per start)
  VOICEPROXY_AUTOPILOT=on
        the pool autopilot in live mode (always on in the sandbox)

Exit codes: 0 stopped cleanly (or -h), 1 error, 2 usage error.
`

// printUsage writes -h's text for fs to w.
func printUsage(fs *flag.FlagSet, w io.Writer) {
	fmt.Fprint(w, usageText)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fmt.Fprint(w, environmentText)
}
