package proxy

import (
	"errors"
	"testing"

	"github.com/voiceproxy/voiceproxy/internal/phone/numplan"
)

// A rejected participant number is described once, with the reason, and
// still matches ErrInvalidNumber.
func TestNumberErrorMessage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want string
	}{
		{"hello", `proxy: participant A: invalid phone number "hello": contains a character that is not a digit`},
		{"+447700900123", `proxy: participant A: invalid phone number "+447700900123"`},
	}
	for _, tt := range tests {
		_, _, err := numplan.Parse(tt.in, false)
		if err == nil {
			t.Fatalf("numplan.Parse(%q) accepted it", tt.in)
		}
		ne := &NumberError{Field: "A", Input: tt.in, Err: err}
		if got := ne.Error(); got != tt.want {
			t.Errorf("NumberError for %q = %q, want %q", tt.in, got, tt.want)
		}
		if !errors.Is(ne, ErrInvalidNumber) {
			t.Errorf("NumberError for %q does not match ErrInvalidNumber", tt.in)
		}
	}
}
