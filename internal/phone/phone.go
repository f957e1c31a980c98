// Package phone is the one home of phone-number handling in the syntax
// Vonage uses: digits-only international (E.164) numbers without "+".
// It normalises what people type, checks digits-only numbers, reads the
// numbers Vonage puts in webhooks, and masks numbers for logs. It needs
// only the standard library, so package ncco can build on it; validation
// against the numbering plans (libphonenumber's rules, region) lives in
// the sub-package numplan.
//
// Every error about a number wraps ErrInvalidNumber, which ncco and proxy
// re-export as their own ErrInvalidNumber.
package phone

import (
	"errors"
	"fmt"
)

// ErrInvalidNumber is wrapped by every error about a phone number that is
// malformed or not valid.
var ErrInvalidNumber = errors.New("invalid phone number")

// Bounds on the digits of an international (E.164) number, country code
// included. Vonage's NCCO reference documents the same range.
const (
	MinDigits = 7
	MaxDigits = 15
)

// Normalize turns a phone number as people write it into digits-only
// international form, without "+".
//
// It removes spaces, tabs, dashes, dots and parentheses, and one
// international prefix at the start: "+" or "00". So "+44 7700 900123",
// "+447700900123", "0044 (7700) 900-123" all become "447700900123".
//
// It rejects, with an error wrapping ErrInvalidNumber, anything that
// cannot be an international number: an empty string, letters or other
// symbols, a "+" anywhere but the start or followed by "-", "." or ")", fewer than 7 or more than 15
// digits, or digits starting with 0 (a national number such as
// "07700 900123": add the country code).
func Normalize(s string) (string, error) {
	digits := make([]byte, 0, 16)
	plus := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			if len(digits) > MaxDigits+2 { // +2 leaves room for a "00" prefix
				return "", Errorf(s, "more than 15 digits")
			}
			digits = append(digits, c)
		case c == '-' || c == '.' || c == ')':
			if plus && len(digits) == 0 {
				// "+-44…" is a sign and a number, not a phone number.
				return "", Errorf(s, `"+" must be followed by the country code`)
			}
		case c == ' ' || c == '\t' || c == '(':
		case c == '+':
			if plus || len(digits) > 0 {
				return "", Errorf(s, `"+" is only allowed at the start`)
			}
			plus = true
		default:
			return "", Errorf(s, "contains a character that is not a digit")
		}
	}
	if !plus && len(digits) >= 2 && digits[0] == '0' && digits[1] == '0' {
		digits = digits[2:]
	}
	out := string(digits)
	if err := Check(out); err != nil {
		return "", Errorf(s, err.Error())
	}
	return out, nil
}

// Check reports why digits is not a digits-only international number
// (digits only, 7–15 of them, not starting with 0), or nil. The reason is
// a bare phrase; Errorf puts it in context.
func Check(digits string) error {
	if digits == "" {
		return errors.New("no digits")
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return errors.New(`must be digits only (no "+", spaces or letters)`)
		}
	}
	switch {
	case len(digits) < MinDigits:
		return fmt.Errorf("%d digits, want at least %d", len(digits), MinDigits)
	case len(digits) > MaxDigits:
		return fmt.Errorf("%d digits, want at most %d", len(digits), MaxDigits)
	case digits[0] == '0':
		return errors.New("starts with 0: a national number, the country code is missing")
	}
	return nil
}

// Errorf is the error for input s rejected for reason: it wraps
// ErrInvalidNumber and quotes s, cut to 40 bytes.
func Errorf(s, reason string) error {
	const maxShown = 40
	if len(s) > maxShown {
		s = s[:maxShown] + "…"
	}
	return fmt.Errorf("%w %q: %s", ErrInvalidNumber, s, reason)
}

// IsDigits reports whether s is a plausible digits-only international
// number: 7 to 15 ASCII digits. It is the cheap check for numbers that
// arrive already normalised, as in Vonage's webhooks.
func IsDigits(s string) bool {
	if len(s) < MinDigits || len(s) > MaxDigits {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// FromWebhook reads a number from a Vonage webhook cheaply: Vonage sends
// digits already, and a leading "+" is tolerated. ok reports whether the
// result passes IsDigits.
func FromWebhook(s string) (digits string, ok bool) {
	if len(s) > 0 && s[0] == '+' {
		s = s[1:]
	}
	return s, IsDigits(s)
}

// Mask hides the middle of a number for logs: "4477009***23".
func Mask(s string) string {
	if len(s) <= 6 {
		return "***"
	}
	keep := min(len(s)-5, 7)
	return s[:keep] + "***" + s[len(s)-2:]
}

// Redact masks, with Mask, every phone number in free text such as an
// error message: a run of 7 to 15 digits (with an optional "+" before it)
// that no letter or digit touches. Longer runs and digits inside words or
// hex IDs are left alone.
func Redact(s string) string {
	var b []byte // nil until something is masked
	last := 0
	for i := 0; i < len(s); {
		if !isDigit(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		start := i
		if start > 0 && s[start-1] == '+' {
			start--
		}
		before := start == 0 || !isWordByte(s[start-1])
		after := j == len(s) || !isWordByte(s[j])
		if n := j - i; n >= MinDigits && n <= MaxDigits && before && after {
			b = append(b, s[last:i]...)
			b = append(b, Mask(s[i:j])...)
			last = j
		}
		i = j
	}
	if b == nil {
		return s
	}
	return string(append(b, s[last:]...))
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isWordByte(c byte) bool {
	return isDigit(c) || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
}
