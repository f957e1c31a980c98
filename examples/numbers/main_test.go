package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/voiceproxy/voiceproxy/proxy"
	"github.com/voiceproxy/voiceproxy/proxy/sqlstore"
)

func runCLI(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(t.Context(), args, &out, &errOut, func(k string) string { return env[k] })
	return code, out.String(), errOut.String()
}

func TestSandboxCommands(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		args     []string
		wantOut  []string // lines or fragments the output must contain
		wantCode int
	}{
		{"list shows the seeded pool", []string{"-sandbox", "list"},
			[]string{"447700900001  GB       mobile-lvn  SMS,VOICE", "12015550104", "8 numbers linked to " + "aaaaaaaa-bbbb-4ccc-8ddd-0123456789ab"}, 0},
		{"search with flags after the country", []string{"search", "GB", "--features", "VOICE,SMS", "--size", "3", "-sandbox"},
			[]string{"447700900000  GB       mobile-lvn  SMS,VOICE  1.25", "447700900005", "447700900006", "3 of 86 numbers for sale"}, 0},
		{"search landlines", []string{"-sandbox", "search", "us", "--type", "landline", "--size", "2"},
			[]string{"12015550109  US       landline  VOICE", "2 of 10 numbers for sale"}, 0},
		{"buy", []string{"-sandbox", "buy", "GB", "+447700900005"}, []string{"bought 447700900005 (GB)"}, 0},
		{"link", []string{"-sandbox", "link", "GB", "447700900001", "--app", "my-app"}, []string{"linked 447700900001 (GB) to application my-app"}, 0},
		{"link with an inbound-SMS URL", []string{"-sandbox", "link", "GB", "447700900001", "--app", "my-app", "--sms-url", "https://proxy.example.com/vonage/inbound-sms"},
			[]string{"linked 447700900001 (GB) to application my-app", "inbound SMS to 447700900001 go to https://proxy.example.com/vonage/inbound-sms"}, 0},
		{"cancel", []string{"-sandbox", "cancel", "US", "12015550101"}, []string{"cancelled 12015550101 (US)"}, 0},
		{"buy an owned number", []string{"-sandbox", "buy", "GB", "447700900001"},
			[]string{"numbers: buy GB 447700900001 failed: ", "error-code 420", "may be yours already"}, 1},
		{"cancel a number not owned", []string{"-sandbox", "cancel", "GB", "447700900050"},
			[]string{"numbers: cancel GB 447700900050 failed: ", "error-code 420", "may not be yours"}, 1},
		{"help", []string{"help"}, []string{"Usage: numbers"}, 0},
		{"-h", []string{"-h"}, []string{"Usage: numbers"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, out, errOut := runCLI(t, nil, tt.args...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d; stdout %q stderr %q", code, tt.wantCode, out, errOut)
			}
			// A failure is reported on stderr, saying which command failed.
			got := out
			if code != 0 {
				got = errOut
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(got, w) {
					t.Errorf("output lacks %q:\n%s", w, got)
				}
			}
		})
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		wantErr string
	}{
		{"no command", nil, nil, "no command given"},
		{"unknown command", nil, []string{"-sandbox", "sell"}, `unknown command "sell"`},
		{"missing msisdn", nil, []string{"-sandbox", "buy", "GB"}, "buy takes 2 argument(s), got 1"},
		{"bad country", nil, []string{"-sandbox", "search", "GBR"}, `country "GBR" is not`},
		{"unknown flag", nil, []string{"-sandbox", "search", "GB", "--colour"}, "flag provided but not defined"},
		{"no credentials", nil, []string{"list"}, "set VONAGE_API_KEY and VONAGE_API_SECRET, or use -sandbox"},
		{"link without an application", map[string]string{"VONAGE_API_KEY": "k", "VONAGE_API_SECRET": "s"},
			[]string{"link", "GB", "447700900001"}, "link needs --app or VONAGE_APPLICATION_ID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, out, errOut := runCLI(t, tt.env, tt.args...)
			if code != 2 {
				t.Errorf("exit %d, want 2 (stdout %q)", code, out)
			}
			if !strings.Contains(errOut, tt.wantErr) || !strings.Contains(errOut, "Usage: numbers") {
				t.Errorf("stderr = %q, want %q and the usage", errOut, tt.wantErr)
			}
		})
	}
}

// status prints the pool per country from an SQLite file the service
// wrote; a missing file or an in-memory store is refused.
func TestStatus(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "svc.db")
	store, err := sqlstore.OpenSQLite(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := proxy.New(proxy.Config{Store: store, Allocation: proxy.AllocationConfig{LenientNumbers: true}, Webhooks: proxy.WebhookConfig{SignatureSecret: "numbers-test"}})
	if err != nil {
		t.Fatal(err)
	}
	err = svc.AddNumbers(t.Context(),
		proxy.PoolNumber{MSISDN: "447700900001", Voice: true, SMS: true},
		proxy.PoolNumber{MSISDN: "447700900002", Voice: true, SMS: true, Bought: time.Now(), MonthlyCost: 1.25},
		proxy.PoolNumber{MSISDN: "12015550101", Voice: true, SMS: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateConversation(t.Context(), proxy.CreateRequest{A: "+447700900123", B: "+447700900456"}); err != nil {
		t.Fatal(err)
	}
	store.Close()

	code, out, errOut := runCLI(t, nil, "status", "-db", db)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "COUNTRY") {
		t.Fatalf("status printed:\n%s\nwant a header and two countries", out)
	}
	if got := strings.Fields(lines[1]); strings.Join(got, " ") != "GB 2 2 2 1 1 1 1.25" {
		t.Errorf("GB row %q, want 2 numbers, 2 legs, the busiest with 2, 1 idle, 1 bought (in the last hour), 1.25 EUR", lines[1])
	}
	if code, _, errOut := runCLI(t, nil, "status", "-db", filepath.Join(t.TempDir(), "none.db")); code != 1 || !strings.Contains(errOut, "no database at") {
		t.Errorf("status of a missing file: exit %d, %q", code, errOut)
	}
	if code, _, errOut := runCLI(t, nil, "status", "-db", ":memory:"); code != 2 || !strings.Contains(errOut, "in-memory") {
		t.Errorf("status of :memory:: exit %d, %q", code, errOut)
	}
}
