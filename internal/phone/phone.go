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

// Reason says why a phone number was rejected, in words a program can
// switch on; Error.Detail says it for people.
type Reason string

// The reasons a number is rejected. Normalize and Check give the first
// five; package numplan, checking against the numbering plans, the rest.
const (
	// NotANumber: empty, or holding letters or symbols other than the
	// separators Normalize removes, or a misplaced "+".
	NotANumber Reason = "not_a_number"
	// NoCountryCode: national format ("07700 900123"): the country
	// code is missing.
	NoCountryCode Reason = "no_country_code"
	// TooShort and TooLong: fewer digits than any number of the
	// country (or than MinDigits), more than any (or than MaxDigits).
	TooShort Reason = "too_short"
	TooLong  Reason = "too_long"
	// InvalidCountryCode: the digits start with no country calling code.
	InvalidCountryCode Reason = "invalid_country_code"
	// InvalidLength: between the country's shortest and longest
	// numbers, but of a length it does not use.
	InvalidLength Reason = "invalid_length"
	// Unassigned: a possible number of its country, but not in a range
	// the numbering plan assigns (libphonenumber's metadata).
	Unassigned Reason = "unassigned"
	// Reserved: in a range reserved for drama and tests, never
	// assigned, such as Ofcom's +44 7700 900xxx. Like Unassigned, it is
	// accepted when validation is lenient.
	Reserved Reason = "reserved"
)

// Error is a rejected phone number: what was given, why it was rejected
// (Reason), and the reason in words (Detail). It wraps ErrInvalidNumber.
type Error struct {
	Input  string // the number as given
	Reason Reason // "" when unknown
	Detail string // Reason in words: "12 digits, want at most 15"
	// Region is the ISO 3166-1 region of the country code, when known
	// ("GB"; "" otherwise).
	Region string
}

// Error quotes the input, cut to 40 bytes, and gives the detail:
// `invalid phone number "0770": starts with 0: …`.
func (e *Error) Error() string {
	const maxShown = 40
	s := e.Input
	if len(s) > maxShown {
		s = s[:maxShown] + "…"
	}
	if e.Detail == "" {
		return fmt.Sprintf("%v %q", ErrInvalidNumber, s)
	}
	return fmt.Sprintf("%v %q: %s", ErrInvalidNumber, s, e.Detail)
}

// Unwrap returns ErrInvalidNumber.
func (e *Error) Unwrap() error { return ErrInvalidNumber }

// Normalize turns a phone number as people write it into digits-only
// international form, without "+".
//
// It removes spaces, tabs, dashes, dots and parentheses, and one
// international prefix at the start: "+" or "00". So "+44 7700 900123",
// "+447700900123", "0044 (7700) 900-123" all become "447700900123".
//
// It rejects, with an *Error (wrapping ErrInvalidNumber), anything that
// cannot be an international number: an empty string, letters or other
// symbols, a "+" anywhere but the start or followed by "-", "." or ")"
// (NotANumber), fewer than 7 or more than 15 digits (TooShort,
// TooLong), or digits starting with 0 (NoCountryCode: a national number
// such as "07700 900123").
func Normalize(s string) (string, error) {
	digits := make([]byte, 0, 16)
	plus := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			if len(digits) > MaxDigits+2 { // +2 leaves room for a "00" prefix
				return "", &Error{Input: s, Reason: TooLong, Detail: "more than 15 digits"}
			}
			digits = append(digits, c)
		case c == '-' || c == '.' || c == ')':
			if plus && len(digits) == 0 {
				// "+-44…" is a sign and a number, not a phone number.
				return "", &Error{Input: s, Reason: NotANumber, Detail: `"+" must be followed by the country code`}
			}
		case c == ' ' || c == '\t' || c == '(':
		case c == '+':
			if plus || len(digits) > 0 {
				return "", &Error{Input: s, Reason: NotANumber, Detail: `"+" is only allowed at the start`}
			}
			plus = true
		default:
			return "", &Error{Input: s, Reason: NotANumber, Detail: "contains a character that is not a digit"}
		}
	}
	if !plus && len(digits) >= 2 && digits[0] == '0' && digits[1] == '0' {
		digits = digits[2:]
	}
	out := string(digits)
	if r, detail := check(out); r != "" {
		return "", &Error{Input: s, Reason: r, Detail: detail}
	}
	return out, nil
}

// Check reports why digits is not a digits-only international number
// (digits only, 7–15 of them, not starting with 0), or nil. The reason is
// a bare phrase; Errorf puts it in context.
func Check(digits string) error {
	if r, detail := check(digits); r != "" {
		return errors.New(detail)
	}
	return nil
}

// check is Check's reason and detail; "" when digits passes.
func check(digits string) (Reason, string) {
	if digits == "" {
		return NotANumber, "no digits"
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return NotANumber, `must be digits only (no "+", spaces or letters)`
		}
	}
	switch {
	case len(digits) < MinDigits:
		return TooShort, fmt.Sprintf("%d digits, want at least %d", len(digits), MinDigits)
	case len(digits) > MaxDigits:
		return TooLong, fmt.Sprintf("%d digits, want at most %d", len(digits), MaxDigits)
	case digits[0] == '0':
		return NoCountryCode, "starts with 0: a national number, the country code is missing"
	}
	return "", ""
}

// Errorf is the error for input s rejected for reason: an *Error (with
// no Reason) that wraps ErrInvalidNumber and quotes s, cut to 40 bytes.
func Errorf(s, reason string) error {
	return &Error{Input: s, Detail: reason}
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
