package phone

import (
	"errors"
	"testing"
)

func TestMask(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"447700900123": "4477009***23", "14155550100": "141555***00", "123": "***"} {
		if got := Mask(in); got != want {
			t.Errorf("Mask(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFromWebhook(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"447700900123", "447700900123", true},
		{"+447700900123", "447700900123", true},
		{"++447700900123", "+447700900123", false},
		{"", "", false},
		{"123456", "123456", false},
		{"1234567890123456", "1234567890123456", false},
		{"44770090012a", "44770090012a", false},
		{"Vonage", "Vonage", false},
	}
	for _, tt := range tests {
		got, ok := FromWebhook(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("FromWebhook(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestCheckAndErrorf(t *testing.T) {
	t.Parallel()
	for in, bad := range map[string]bool{"447700900123": false, "0447700900": true, "12345": true, "+447700900123": true, "": true} {
		if err := Check(in); (err != nil) != bad {
			t.Errorf("Check(%q) = %v, want error %v", in, err, bad)
		}
	}
	err := Errorf("0123456789012345678901234567890123456789-and-more", "too long")
	if !errors.Is(err, ErrInvalidNumber) {
		t.Fatalf("Errorf does not wrap ErrInvalidNumber: %v", err)
	}
	if want := `invalid phone number "0123456789012345678901234567890123456789…": too long`; err.Error() != want {
		t.Errorf("Errorf = %q, want %q", err, want)
	}
}

func TestRedact(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"", ""},
		{"no numbers here", "no numbers here"},
		{"leg 447700900101 via 447700900001 is in use", "leg 4477009***01 via 4477009***01 is in use"},
		{`duplicate key (participant)=(+447700900101)`, `duplicate key (participant)=(+4477009***01)`},
		{"conversation 0006433a1b2c3d4e5f60718293a4b5c6: not found", "conversation 0006433a1b2c3d4e5f60718293a4b5c6: not found"},
		{"id 12345678901234567890 is long", "id 12345678901234567890 is long"},
		{"short 123456 stays", "short 123456 stays"},
		{"a1234567 in a word", "a1234567 in a word"},
		{"ends 14155550100", "ends 141555***00"},
	}
	for _, tt := range tests {
		if got := Redact(tt.in); got != tt.want {
			t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// Normalize's rejections are *Error values with the Reason for each
// kind, and the old texts.
func TestNormalizeReasons(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]Reason{
		"":                      NotANumber,
		"+-447700900123":        NotANumber,
		"44+7700900123":         NotANumber,
		"447700900123 ext 2":    NotANumber,
		"07700 900123":          NoCountryCode,
		"+44 77":                TooShort,
		"+4477009001234567":     TooLong,
		"+44770090012345678901": TooLong,
	} {
		_, err := Normalize(in)
		var e *Error
		if !errors.As(err, &e) || !errors.Is(err, ErrInvalidNumber) || e.Reason != want || e.Input != in {
			t.Errorf("Normalize(%q) = %#v; want an *Error with Reason %q", in, err, want)
		}
	}
	_, err := Normalize("07700 900123")
	if want := `invalid phone number "07700 900123": starts with 0: a national number, the country code is missing`; err.Error() != want {
		t.Errorf("Normalize error = %q, want %q", err, want)
	}
}
