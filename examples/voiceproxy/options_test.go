package main

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
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
	} {
		err := run(t.Context(), tt.args, func(k string) string { return tt.env[k] }, &syncBuffer{})
		if err == nil || !strings.Contains(err.Error(), "usage") || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("run(%q, %v) = %v, want a usage error saying %q", tt.args, tt.env, err, tt.want)
		}
	}
}
