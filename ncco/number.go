package ncco

import "github.com/voiceproxy/voiceproxy/internal/phone"

// ErrInvalidNumber is wrapped by every error about a phone number that
// cannot be used in an NCCO: from NormalizeNumber, and from Validate for a
// phone endpoint's number or a connect's from. It is the same value as
// proxy.ErrInvalidNumber.
var ErrInvalidNumber = phone.ErrInvalidNumber

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
func NormalizeNumber(s string) (string, error) { return phone.Normalize(s) }
