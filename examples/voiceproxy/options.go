package main

import (
	"flag"
	"fmt"
	"io"
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
