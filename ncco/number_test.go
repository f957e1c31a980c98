package ncco_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/voiceproxy/voiceproxy/ncco"
)

func TestNormalizeNumber(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
	}{
		{"+44 7700 900123", "447700900123"},
		{"+447700900123", "447700900123"},
		{"0044 7700 900123", "447700900123"},
		{"447700900123", "447700900123"},
		{"+1 (415) 555-0100", "14155550100"},
		{"1.415.555.0100", "14155550100"},
		{"  +49\t30-1234567 ", "49301234567"},
		{"+1234567", "1234567"},
		{"+123456789012345", "123456789012345"},
		{"00123456789012345", "123456789012345"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := ncco.NormalizeNumber(tt.in)
			if err != nil || got != tt.want {
				t.Errorf("NormalizeNumber(%q) = %q, %v; want %q, nil", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestNormalizeNumberErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, reason string
	}{
		{"empty", "", "no digits"},
		{"spaces only", "  ", "no digits"},
		{"plus only", "+", "no digits"},
		{"letters", "+44 7700 CALLME", "not a digit"},
		{"vanity", "1-800-FLOWERS", "not a digit"},
		{"too short", "+44 1234", "6 digits"},
		{"too long", "+1234567890123456", "16 digits"},
		{"far too long", strings.Repeat("9", 1000), "more than 15"},
		{"00 then too long", "001234567890123456", "16 digits"},
		{"plus in middle", "44+7700900123", `"+"`},
		{"two plus", "++447700900123", `"+"`},
		{"plus then dash", "+-447400000959", `followed by the country code`},
		{"plus then dot", "+.44 7700 900123", `followed by the country code`},
		{"national", "07700 900123", "starts with 0"},
		{"plus zero", "+07700900123", "starts with 0"},
		{"plus and 00", "+0044 7700 900123", "starts with 0"},
		{"slash", "447700/900123", "not a digit"},
		{"unicode digits", "٤٤٧٧٠٠٩٠٠١٢٣", "not a digit"},
		{"fullwidth plus", "＋447700900123", "not a digit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ncco.NormalizeNumber(tt.in)
			if err == nil {
				t.Fatalf("NormalizeNumber(%q) = %q, want an error", tt.in, got)
			}
			if got != "" {
				t.Errorf("got %q with an error, want \"\"", got)
			}
			if !errors.Is(err, ncco.ErrInvalidNumber) {
				t.Errorf("errors.Is(%v, ErrInvalidNumber) = false", err)
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("error %q does not say %q", err, tt.reason)
			}
			if len(err.Error()) > 200 {
				t.Errorf("error is %d bytes long; input must be shortened", len(err.Error()))
			}
		})
	}
}
