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
