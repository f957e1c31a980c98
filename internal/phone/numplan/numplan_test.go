package numplan

import (
	"errors"
	"strconv"
	"testing"

	"github.com/voiceproxy/voiceproxy/internal/phone"
)

func TestParseNumber(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in         string
		lenient    bool
		want, reg  string
		wantErr    error
		anyErrOnly bool
	}{
		{in: "+447123456789", want: "447123456789", reg: "GB"},
		{in: "447123456789", want: "447123456789", reg: "GB"},
		{in: "+44 7123 456789", want: "447123456789", reg: "GB"},
		{in: "0044 7123 456789", want: "447123456789", reg: "GB"},
		{in: "+1 (415) 555-0100", want: "14155550100", reg: "US"},
		{in: "33612345678", want: "33612345678", reg: "FR"},
		{in: "+44 (0)7123 456789", want: "447123456789", reg: "GB"},
		{in: "+39 06 1234 5678", want: "390612345678", reg: "IT"},
		{in: "+1 416 555 0123", want: "14165550123", reg: "CA"},
		{in: "+44 1624 756789", want: "441624756789", reg: "IM"},
		{in: "+447700900123", wantErr: phone.ErrInvalidNumber},
		{in: "+447700900123", lenient: true, want: "447700900123", reg: "GB"},
		{in: "07123456789", wantErr: phone.ErrInvalidNumber, anyErrOnly: true},
		{in: "12", anyErrOnly: true},
		{in: "", anyErrOnly: true},
		{in: "+44abc", anyErrOnly: true},
		{in: "1234567890123456", anyErrOnly: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, reg, err := Parse(tt.in, tt.lenient)
			if tt.wantErr != nil || tt.anyErrOnly {
				if err == nil {
					t.Fatalf("Parse(%q) = %q, want error", tt.in, got)
				}
				if !tt.anyErrOnly && !errors.Is(err, tt.wantErr) {
					t.Fatalf("Parse(%q) error %v, want %v", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want || reg != tt.reg {
				t.Fatalf("Parse(%q) = %q, %q, %v; want %q, %q", tt.in, got, reg, err, tt.want, tt.reg)
			}
		})
	}
}

// BenchmarkParseNumber shows the cost of validating one number with
// libphonenumber's metadata (strict and lenient).
func BenchmarkParseNumber(b *testing.B) {
	for _, lenient := range []bool{false, true} {
		b.Run("lenient="+strconv.FormatBool(lenient), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := Parse("+44 7123 456789", lenient); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestNANPAreaCode(t *testing.T) {
	t.Parallel()
	for digits, want := range map[string]string{
		"14155550100":  "1415", // San Francisco
		"12125550100":  "1212", // New York
		"16135550100":  "1613", // Ottawa: Canada is NANP too
		"18005550100":  "",     // toll-free: no area
		"447700900123": "",     // not NANP
		"1":            "",
	} {
		got, ok := NANPAreaCode(digits)
		if got != want || ok != (want != "") {
			t.Errorf("NANPAreaCode(%s) = %q, %v; want %q", digits, got, ok, want)
		}
	}
}

// A rejected number is a *phone.Error whose Reason says why, from
// libphonenumber's possible-number check and then validity; lenient
// accepts the possible numbers strict rejects as unassigned or reserved.
func TestParseReasons(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		reason  phone.Reason
		lenient bool // accepted when lenient
	}{
		{"hello", phone.NotANumber, false},
		{"07700900123", phone.NoCountryCode, false},
		{"+4477", phone.TooShort, false},
		{"+1415555010", phone.TooShort, false},
		{"+336123456789", phone.TooLong, false},
		{"+999123456789", phone.InvalidCountryCode, false},
		{"+4612345678901", phone.InvalidLength, false},
		{"+447700900123", phone.Reserved, true},
		{"+441632960999", phone.Reserved, true},
		{"+15555550123", phone.Unassigned, true},
	}
	for _, tt := range tests {
		_, _, err := Parse(tt.in, false)
		var pe *phone.Error
		if !errors.As(err, &pe) || !errors.Is(err, phone.ErrInvalidNumber) || pe.Reason != tt.reason || pe.Input != tt.in {
			t.Errorf("Parse(%q) = %#v; want a *phone.Error with Reason %q and Input %q", tt.in, err, tt.reason, tt.in)
		}
		if _, _, err := Parse(tt.in, true); (err == nil) != tt.lenient {
			t.Errorf("Parse(%q, lenient) = %v; want accepted %v", tt.in, err, tt.lenient)
		}
	}
}
