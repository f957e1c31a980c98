package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/voiceproxy/voiceproxy/proxy"
)

// -h lists every setting a host can give the Service, each with the
// variable that sets it too.
func TestHelpListsEverySetting(t *testing.T) {
	t.Parallel()
	var out syncBuffer
	if err := run(t.Context(), []string{"-h"}, func(string) string { return "" }, &out); err != nil {
		t.Fatalf("-h: %v", err)
	}
	help := out.String()
	for _, name := range []string{
		"redact", "redact-with", "retention", "store-sms-bodies", "default-ttl", "record",
		"pin-length", "pin-attempts", "pin-max-failures", "pin-max-number-failures", "pin-lockout", "pin-when-exhausted",
		"notify-template", "notify-pin-template", "default-label", "stop-reply", "help-reply", "start-reply",
		"sms-auto-reply", "greeting", "unknown-route-text", "pin-prompt", "pin-sms-reply",
		"api-timeout", "addr", "db", "public-url", "sms-api",
		"pin-retry-prompt", "pin-locked-text", "pin-refused-text",
		"connect-timeout", "call-time-limit", "recording-notice", "ringback-url", "language",
		"geo", "geo-fallback", "sticky", "cool-off", "lenient-numbers", "reopen-grace", "sweep-interval",
		"relay-attempts", "relay-interval", "webhook-tolerance", "webhook-max-body", "webhook-store-timeout",
		"hangup-attempts", "hangup-retry-wait", "max-recording-bytes",
	} {
		if !regexp.MustCompile(`(?m)^  -` + name + `\b`).MatchString(help) {
			t.Errorf("-h does not list -%s", name)
		}
		if env := envName(name); !strings.Contains(help, "["+env+"]") {
			t.Errorf("-h does not name %s for -%s", env, name)
		}
	}
	for _, env := range []string{"VOICEPROXY_PSEUDONYM_KEY", "VOICEPROXY_OPERATOR_TOKEN", "VONAGE_PRIVATE_KEY", "Exit codes: 0"} {
		if !strings.Contains(help, env) {
			t.Errorf("-h does not mention %s", env)
		}
	}
}

// startRun runs the demo as main does, on a free port, and returns its
// base URL; it stops with the test.
func startRun(t *testing.T, args []string, env map[string]string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var logs syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"-addr", "127.0.0.1:0", "-db", ":memory:"}, args...), func(k string) string { return env[k] }, &logs)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m := regexp.MustCompile(`msg=listening addr=(http://\S+)`).FindStringSubmatch(logs.String()); m != nil {
			return m[1]
		}
	}
	t.Fatalf("the demo did not start; logs:\n%s", logs.String())
	return ""
}

// post sends a JSON body to base+path and decodes the answer into v.
func post(t *testing.T, base, path, body string, v any) int {
	t.Helper()
	resp, err := http.Post(base+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	return resp.StatusCode
}

// The settings take effect: redaction is on by default in the sandbox
// (-redact none turns it off), -redact-with and a setting given by its
// variable (VOICEPROXY_STOP_REPLY) reach what participants receive.
func TestHostSettingsTakeEffect(t *testing.T) {
	t.Parallel()
	const text = "call me on 07700 900999 or mail me@example.com"
	relay := func(t *testing.T, base string) (relayed, stopReply string) {
		var c conversationJSON
		if code := post(t, base, "/conversations", `{"a":"+447700900123","b":"+447700900456"}`, &c); code != http.StatusCreated {
			t.Fatalf("create: %d", code)
		}
		b := c.Participants[1]
		var out struct {
			Relayed []struct{ Text string }
		}
		post(t, base, "/sandbox/sms", `{"from":"+`+b.Number+`","to":"+`+b.ProxyNumber+`","text":"`+text+`"}`, &out)
		if len(out.Relayed) != 1 {
			t.Fatalf("relayed %+v, want one SMS", out.Relayed)
		}
		a := c.Participants[0]
		var stop struct {
			Relayed []struct{ Text string }
		}
		post(t, base, "/sandbox/sms", `{"from":"+`+a.Number+`","to":"+`+a.ProxyNumber+`","text":"STOP"}`, &stop)
		var box struct {
			Messages []struct{ To, Text string }
		}
		resp, err := http.Get(base + "/sandbox/outbox")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		_ = json.NewDecoder(resp.Body).Decode(&box)
		for _, m := range box.Messages {
			if m.To == a.Number {
				stopReply = m.Text // the last one a received
			}
		}
		return out.Relayed[0].Text, stopReply
	}

	t.Run("sandbox defaults", func(t *testing.T) {
		t.Parallel()
		base := startRun(t, []string{"-redact-with", "[gone]"}, map[string]string{"VOICEPROXY_STOP_REPLY": "Bye from the demo."})
		got, stop := relay(t, base)
		if got != "call me on [gone] or mail [gone]" {
			t.Errorf("relayed %q, want the number and address replaced by [gone]", got)
		}
		if stop != "Bye from the demo." {
			t.Errorf("STOP answered %q, want VOICEPROXY_STOP_REPLY's text", stop)
		}
	})
	t.Run("-redact none", func(t *testing.T) {
		t.Parallel()
		base := startRun(t, []string{"-redact", "none"}, nil)
		if got, _ := relay(t, base); got != text {
			t.Errorf("relayed %q, want %q as sent", got, text)
		}
	})
	t.Run("-redact phones", func(t *testing.T) {
		t.Parallel()
		base := startRun(t, []string{"-redact", "phones"}, nil)
		if got, _ := relay(t, base); got != "call me on [removed] or mail me@example.com" {
			t.Errorf("relayed %q, want only the number removed", got)
		}
	})
}

// Every flag of flagOfField, given its value at once, is a Config New
// accepts, and the call settings reach the answer NCCO Vonage gets.
func TestCallSettingsTakeEffect(t *testing.T) {
	t.Parallel()
	var args []string
	for _, f := range flagOfField {
		if f.flag != "redact" { // one value only; the others are in TestHostSettingsTakeEffect
			args = append(args, "-"+f.flag+"="+f.value)
		}
	}
	base := startRun(t, args, nil)
	var c conversationJSON
	if code := post(t, base, "/conversations", `{"a":"+447700900123","b":"+447700900456"}`, &c); code != http.StatusCreated {
		t.Fatalf("create: %d", code)
	}
	a := c.Participants[0]
	var out struct {
		Connected string
		Talk      []string
		NCCO      json.RawMessage
	}
	post(t, base, "/sandbox/calls", `{"from":"+`+a.Number+`","to":"+`+a.ProxyNumber+`"}`, &out)
	if out.Connected == "" {
		t.Fatalf("the call was not connected: %+v", out)
	}
	if want := []string{"This call is recorded.", "Hello."}; !slices.Equal(out.Talk, want) {
		t.Errorf("the caller heard %q, want %q (-recording-notice, -greeting)", out.Talk, want)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, out.NCCO); err != nil {
		t.Fatalf("the answer NCCO: %v", err)
	}
	for _, want := range []string{`"timeout":20`, `"limit":1800`, `"ringbackTone":"https://example.com/ring.mp3"`, `"language":"en-GB"`} {
		if !strings.Contains(compact.String(), want) {
			t.Errorf("the answer NCCO has no %s: %s", want, compact.String())
		}
	}
}

func TestBadSettings(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"-redact", "faces"}, nil, `-redact: "faces" is not`},
		{nil, map[string]string{"VOICEPROXY_PIN_LENGTH": "six"}, "VOICEPROXY_PIN_LENGTH"},
		{[]string{"-api-timeout", "0s"}, nil, "-api-timeout must be positive"},
		{[]string{"-geo", "planet"}, nil, `-geo: "planet" is not "area-code" or "country"`},
		{[]string{"-geo-fallback", "nearest"}, nil, `-geo-fallback: "nearest" is not "any" or "strict"`},
		{nil, map[string]string{"VOICEPROXY_STICKY": "sometimes"}, `VOICEPROXY_STICKY="sometimes": "sometimes" is not "avoid" or "prefer"`},
		{[]string{"-connect-timeout", "2s"}, nil, "-connect-timeout: 2s is not whole seconds from 3s to 2h"},
		{[]string{"-connect-timeout", "4500ms"}, nil, "-connect-timeout: 4500ms is not whole seconds"},
		{[]string{"-call-time-limit", "3h"}, nil, "-call-time-limit: 3h is not whole seconds from 1s to 2h"},
		{[]string{"-call-time-limit", "-1s"}, nil, "-call-time-limit: -1s is not whole seconds"},
		{[]string{"-ringback-url", "ftp://example.com/ring.mp3"}, nil, "-ringback-url: not an absolute http(s) URL"},
		{[]string{"-ringback-url", "/ring.mp3"}, nil, "-ringback-url: not an absolute http(s) URL"},
		{[]string{"-language", "en GB"}, nil, "-language: not a BCP-47 language tag"},
		{[]string{"-relay-attempts", "-1"}, nil, "-relay-attempts: -1 is negative"},
		{[]string{"-relay-attempts", "ten"}, nil, "-relay-attempts"},
		{[]string{"-relay-interval", "-2s"}, nil, "-relay-interval: -2s is negative"},
		{[]string{"-sweep-interval", "-1m"}, nil, "-sweep-interval: -1m is negative"},
		{[]string{"-webhook-tolerance", "-1s"}, nil, "-webhook-tolerance: -1s is negative"},
		{[]string{"-webhook-max-body", "-1"}, nil, "-webhook-max-body: -1 is negative"},
		{[]string{"-webhook-store-timeout", "soon"}, nil, "-webhook-store-timeout"},
		{[]string{"-hangup-attempts", "-3"}, nil, "-hangup-attempts: -3 is negative"},
		{[]string{"-hangup-retry-wait", "-1s"}, nil, "-hangup-retry-wait: -1s is negative"},
		{[]string{"-max-recording-bytes", "-1"}, nil, "-max-recording-bytes: -1 is negative"},
		{[]string{"-cool-off", "an hour"}, nil, "-cool-off"},
	} {
		err := run(t.Context(), tt.args, func(k string) string { return tt.env[k] }, &syncBuffer{})
		if err == nil || !strings.Contains(err.Error(), "usage") || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("run(%q, %v) = %v, want a usage error saying %q", tt.args, tt.env, err, tt.want)
		}
	}
}

// flagOfField names, for each scalar field of proxy.Config a host sets,
// the flag that sets it and a value that must reach it.
var flagOfField = map[string]struct{ flag, value string }{
	"Allocation.LenientNumbers":       {"lenient-numbers", "true"},
	"Allocation.CoolOff":              {"cool-off", "90m"},
	"Allocation.Geo":                  {"geo", "area-code"},
	"Allocation.GeoFallback":          {"geo-fallback", "strict"},
	"Allocation.Sticky":               {"sticky", "avoid"},
	"Webhooks.Tolerance":              {"webhook-tolerance", "2m"},
	"Webhooks.MaxBodyBytes":           {"webhook-max-body", "32768"},
	"Webhooks.StoreTimeout":           {"webhook-store-timeout", "500ms"},
	"Conversations.DefaultTTL":        {"default-ttl", "2h"},
	"Conversations.ReopenGrace":       {"reopen-grace", "72h"},
	"Conversations.SweepInterval":     {"sweep-interval", "30s"},
	"Conversations.DefaultLabel":      {"default-label", "your driver"},
	"Conversations.NotifyTemplate":    {"notify-template", "Reach {label} here."},
	"Conversations.NotifyPINTemplate": {"notify-pin-template", "PIN {pin} reaches {label}."},
	"Calls.Greeting":                  {"greeting", "Hello."},
	"Calls.Language":                  {"language", "en-GB"},
	"Calls.UnknownRouteText":          {"unknown-route-text", "Not here."},
	"Calls.RecordByDefault":           {"record", "true"},
	"Calls.RecordingNotice":           {"recording-notice", "This call is recorded."},
	"Calls.ConnectTimeout":            {"connect-timeout", "20s"},
	"Calls.TimeLimit":                 {"call-time-limit", "30m"},
	"Calls.RingbackURL":               {"ringback-url", "https://example.com/ring.mp3"},
	"CallControl.HangupAttempts":      {"hangup-attempts", "7"},
	"CallControl.HangupRetryWait":     {"hangup-retry-wait", "1s"},
	"CallControl.MaxRecordingBytes":   {"max-recording-bytes", "1048576"},
	"SMS.StoreBodies":                 {"store-sms-bodies", "true"},
	"SMS.Redact.Phones":               {"redact", "phones"},
	"SMS.Redact.Emails":               {"redact", "emails"},
	"SMS.Redact.URLs":                 {"redact", "urls"},
	"SMS.Redact.Replacement":          {"redact-with", "[gone]"},
	"SMS.AutoReply":                   {"sms-auto-reply", "Nobody here."},
	"SMS.StopReply":                   {"stop-reply", "Bye."},
	"SMS.HelpReply":                   {"help-reply", "Help."},
	"SMS.StartReply":                  {"start-reply", "Hi again."},
	"SMS.RelayAttempts":               {"relay-attempts", "4"},
	"SMS.RelayInterval":               {"relay-interval", "5s"},
	"PIN.Length":                      {"pin-length", "8"},
	"PIN.WhenExhausted":               {"pin-when-exhausted", "true"},
	"PIN.Attempts":                    {"pin-attempts", "2"},
	"PIN.MaxFailures":                 {"pin-max-failures", "4"},
	"PIN.MaxNumberFailures":           {"pin-max-number-failures", "50"},
	"PIN.Lockout":                     {"pin-lockout", "1h"},
	"PIN.Prompt":                      {"pin-prompt", "Your PIN?"},
	"PIN.RetryPrompt":                 {"pin-retry-prompt", "Again?"},
	"PIN.LockedText":                  {"pin-locked-text", "Locked."},
	"PIN.RefusedText":                 {"pin-refused-text", "No."},
	"PIN.SMSReply":                    {"pin-sms-reply", "Use the app."},
	"Privacy.Retention":               {"retention", "48h"},
}

// notAFlag are the scalar fields of proxy.Config the demo sets no flag
// for, and why.
var notAFlag = map[string]string{
	"ApplicationID":               "VONAGE_APPLICATION_ID, with the account's credentials",
	"Webhooks.SignatureSecret":    "a secret: VONAGE_SIGNATURE_SECRET (the sandbox makes its own)",
	"Webhooks.SMSSignatureSecret": "the same secret as Webhooks.SignatureSecret, VONAGE_SIGNATURE_SECRET",
	"Webhooks.SMSSignatureMethod": "VONAGE_SIGNATURE_METHOD, with the secret",
	"Webhooks.InsecureUnsigned":   "the demo always verifies webhooks: the sandbox signs its own",
	"Webhooks.InboundSMSURL":      "derived from -public-url",
	"Calls.RecordingEventURL":     "the demo's own /vonage/event records recordings for the API and ops page; elsewhere they would be lost to it",
	"CallControl.APIURL":          "Vonage's, or the sandbox's simulated Vonage",
	"CallControl.EventURL":        "derived from -public-url",
	"PIN.InputURL":                "the Service derives it from CallControl.EventURL, which comes from -public-url",
}

// scalarFields lists the paths ("Calls.Greeting") of the bool, number
// and string fields of v's type, recursing into struct fields.
func scalarFields(t reflect.Type, prefix string) []string {
	var paths []string
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		switch f.Type.Kind() {
		case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
			reflect.Float32, reflect.Float64, reflect.String:
			paths = append(paths, prefix+f.Name)
		case reflect.Struct:
			paths = append(paths, scalarFields(f.Type, prefix+f.Name+".")...)
		}
	}
	return paths
}

// fieldAt is the field of v at path ("Calls.Greeting"), if it exists.
func fieldAt(v reflect.Value, path string) (reflect.Value, bool) {
	for _, name := range strings.Split(path, ".") {
		if v.Kind() != reflect.Struct {
			return reflect.Value{}, false
		}
		if v = v.FieldByName(name); !v.IsValid() {
			return reflect.Value{}, false
		}
	}
	return v, true
}

// Every settable scalar field of proxy.Config, in every group, has a flag
// that reaches it, or a reason in notAFlag why not: a field added to
// proxy.Config fails this test until the demo takes a stand on it.
func TestEveryConfigFieldHasAFlag(t *testing.T) {
	t.Parallel()
	for _, path := range scalarFields(reflect.TypeFor[proxy.Config](), "") {
		_, mapped := flagOfField[path]
		_, skipped := notAFlag[path]
		switch {
		case mapped && skipped:
			t.Errorf("%s is both in flagOfField and notAFlag", path)
		case !mapped && !skipped:
			t.Errorf("proxy.Config.%s has no flag: add one to hostOptions (and flagOfField), or say in notAFlag why not", path)
		}
	}
	for path := range notAFlag {
		if _, ok := fieldAt(reflect.ValueOf(proxy.Config{}), path); !ok {
			t.Errorf("notAFlag names %s, which proxy.Config does not have", path)
		}
	}
	for path, f := range flagOfField {
		var o hostOptions
		fs := flag.NewFlagSet("voiceproxy", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		o.register(fs)
		if err := fs.Parse([]string{"-" + f.flag, f.value}); err != nil {
			t.Errorf("-%s %q: %v", f.flag, f.value, err)
			continue
		}
		var cfg proxy.Config
		if err := o.apply(&cfg, true); err != nil {
			t.Errorf("-%s %q: apply: %v", f.flag, f.value, err)
			continue
		}
		v, ok := fieldAt(reflect.ValueOf(cfg), path)
		switch {
		case !ok:
			t.Errorf("flagOfField names %s, which proxy.Config does not have", path)
		case v.IsZero():
			t.Errorf("-%s %q leaves Config.%s unset", f.flag, f.value, path)
		}
	}
}

// The README's settings section names every flag of hostOptions.
func TestReadmeListsEverySetting(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	start := strings.Index(doc, "### The Service's settings")
	end := strings.Index(doc, "## Contents")
	if start < 0 || end < start {
		t.Fatal(`README.md has no "### The Service's settings" section before "## Contents"`)
	}
	section := doc[start:end]
	var o hostOptions
	fs := flag.NewFlagSet("voiceproxy", flag.ContinueOnError)
	o.register(fs)
	fs.VisitAll(func(f *flag.Flag) {
		if !strings.Contains(section, "`-"+f.Name+"`") {
			t.Errorf("README.md's settings section does not name -%s", f.Name)
		}
	})
}
