package ncco

import (
	"errors"
	"fmt"
)

// ErrInvalidNumber is wrapped by every error about a phone number that
// cannot be used in an NCCO: from NormalizeNumber, and from Validate for a
// phone endpoint's number or a connect's from.
var ErrInvalidNumber = errors.New("invalid phone number")

// Bounds on the digits of an international (E.164) number, country code
// included. Vonage's NCCO reference documents the same range.
const (
	minNumberDigits = 7
	maxNumberDigits = 15
)

// NormalizeNumber turns a phone number as people write it into the form
// NCCOs use: the international number as digits only, without "+".
//
// It removes spaces, dashes, dots and parentheses, and one international
// prefix at the start: "+" or "00". So "+44 7700 900123", "+447700900123",
// "0044 (7700) 900-123" all become "447700900123".
//
// It rejects, with an error wrapping ErrInvalidNumber, anything that cannot
// be an international number: an empty string, letters or other symbols, a
// "+" anywhere but the start, fewer than 7 or more than 15 digits, or digits
// starting with 0 (a national number such as "07700 900123": add the
// country code).
func NormalizeNumber(s string) (string, error) {
	digits := make([]byte, 0, 16)
	plus := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			if len(digits) > maxNumberDigits+2 { // +2 leaves room for a "00" prefix
				return "", numberError(s, "more than 15 digits")
			}
			digits = append(digits, c)
		case c == ' ' || c == '\t' || c == '-' || c == '.' || c == '(' || c == ')':
		case c == '+':
			if plus || len(digits) > 0 {
				return "", numberError(s, `"+" is only allowed at the start`)
			}
			plus = true
		default:
			return "", numberError(s, "contains a character that is not a digit")
		}
	}
	if !plus && len(digits) >= 2 && digits[0] == '0' && digits[1] == '0' {
		digits = digits[2:]
	}
	out := string(digits)
	if err := checkNumber(out); err != nil {
		return "", numberError(s, err.Error())
	}
	return out, nil
}

// checkNumber reports why digits is not an NCCO phone number (digits only,
// 7–15 of them, not starting with 0), or nil.
func checkNumber(digits string) error {
	if digits == "" {
		return errors.New("no digits")
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return errors.New(`must be digits only (no "+", spaces or letters)`)
		}
	}
	switch {
	case len(digits) < minNumberDigits:
		return fmt.Errorf("%d digits, want at least %d", len(digits), minNumberDigits)
	case len(digits) > maxNumberDigits:
		return fmt.Errorf("%d digits, want at most %d", len(digits), maxNumberDigits)
	case digits[0] == '0':
		return errors.New("starts with 0: a national number, the country code is missing")
	}
	return nil
}

func numberError(s, reason string) error {
	const maxShown = 40
	if len(s) > maxShown {
		s = s[:maxShown] + "…"
	}
	return fmt.Errorf("%w %q: %s", ErrInvalidNumber, s, reason)
}
