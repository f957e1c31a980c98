package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/voiceproxy/voiceproxy/proxy"
	"github.com/voiceproxy/voiceproxy/proxy/sqlstore"
)

// buildCLI builds the command with go build into a temporary directory
// and returns the binary's path: only a real process shows the exit
// codes (go run reports every failure as 1).
func buildCLI(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "numbers")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// exitCode runs bin with args in dir, without Vonage credentials, and
// returns its exit code and output.
func exitCode(t *testing.T, bin, dir string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, string(out)
	case errors.As(err, &ee):
		return ee.ExitCode(), string(out)
	}
	t.Fatalf("%s %q: %v", bin, args, err)
	return 0, ""
}

// The built binary exits 0 on success, 1 when the command fails, 2 on a
// usage error, as its -h and the README say.
func TestExitCodes(t *testing.T) {
	t.Parallel()
	bin, dir := buildCLI(t), t.TempDir()
	for _, tt := range []struct {
		args []string
		want int
	}{
		{[]string{"-h"}, 0},
		{[]string{"help"}, 0},
		{[]string{"-sandbox", "list"}, 0},
		{[]string{"-sandbox", "buy", "GB", "447700900001"}, 1}, // owned already
		{[]string{"status", "-db", "missing.db"}, 1},
		{nil, 2},
		{[]string{"sell"}, 2},
		{[]string{"-sandbox", "buy", "GB"}, 2},
		{[]string{"-colour"}, 2},
		{[]string{"list"}, 2}, // no credentials
	} {
		if code, out := exitCode(t, bin, dir, tt.args...); code != tt.want {
			t.Errorf("numbers %q: exit %d, want %d\n%s", tt.args, code, tt.want, out)
		}
	}
	if _, out := exitCode(t, bin, dir, "-h"); !strings.Contains(out, "Exit codes:") || !strings.Contains(out, "2   usage error") {
		t.Errorf("-h does not document the exit codes:\n%s", out)
	}
}

// The demo README's numbers CLI commands run as written: each
// line of its sandbox block, with the binary built as its first line
// says, exits 0 (status in a directory where the demo left its
// database).
func TestREADMECommands(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../voiceproxy/README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n## The numbers CLI\n")
	if !ok {
		t.Fatal(`examples/voiceproxy/README.md has no "## The numbers CLI" section`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	_, block, ok := strings.Cut(section, "```sh\n")
	if !ok {
		t.Fatal("the numbers CLI section has no sh block")
	}
	block, _, _ = strings.Cut(block, "```")
	lines := strings.Split(strings.TrimSpace(block), "\n")
	if lines[0] != "go build -o numbers ./examples/numbers" {
		t.Fatalf("the block starts %q, want the go build line", lines[0])
	}
	dir := t.TempDir()
	// The demo's database, as a run of the demo leaves it.
	store, err := sqlstore.OpenSQLite(t.Context(), filepath.Join(dir, "voiceproxy.db"))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := proxy.New(proxy.Config{Store: store, Allocation: proxy.AllocationConfig{LenientNumbers: true}, Webhooks: proxy.WebhookConfig{SignatureSecret: "readme-test"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.AddNumbers(t.Context(), proxy.PoolNumber{MSISDN: "447700900001", Country: "GB", Voice: true, SMS: true}); err != nil {
		t.Fatal(err)
	}
	store.Close()

	bin := buildCLI(t)
	for _, line := range lines[1:] {
		cmdline, _, _ := strings.Cut(line, "#")
		args := strings.Fields(cmdline)
		if len(args) == 0 || args[0] != "./numbers" {
			t.Errorf("README line %q does not run ./numbers", line)
			continue
		}
		code, out := exitCode(t, bin, dir, args[1:]...)
		if code != 0 {
			t.Errorf("README line %q: exit %d\n%s", line, code, out)
		}
	}
}
