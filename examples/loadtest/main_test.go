package main

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
)

// The harness runs end to end on a tiny load and prints a row per store
// and size, with no failed request.
func TestRunPrintsRatios(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	err := run(t.Context(), []string{"-stores", "memory,sqlite", "-conversations", "50", "-duration", "150ms", "-rounds", "1", "-conns", "2"}, &out)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], "ratio to bare") {
		t.Fatalf("output:\n%s\nwant a header and two rows", out.String())
	}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) != 9 || f[7] != "0" || f[6] == "0.00" {
			t.Errorf("row %q: want 9 columns, a ratio and no errors", l)
			continue
		}
		_, err := strconv.ParseFloat(f[8], 64)
		if (f[0] == "memory") != (err == nil) || f[0] != "memory" && f[8] != "-" {
			t.Errorf("row %q: RSS per conversation %q, want a number for memory only", l, f[8])
		}
	}
}

func TestFlags(t *testing.T) {
	t.Parallel()
	for _, bad := range [][]string{
		{"-stores", "redis"}, {"-conversations", "ten"}, {"-conns", "0"},
		{"-stores", "postgres", "-pg", ""},
	} {
		if _, err := parseFlags(bad); err == nil {
			t.Errorf("parseFlags(%q): no error", bad)
		}
	}
}
