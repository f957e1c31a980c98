package proxy

import (
	"errors"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

var errNotDigits = errors.New("not a phone number")

// parseNumber normalises a phone number given in any of the accepted forms
// ("+447700900123", "447700900123", "+44 7700 900123", "0044 7700 900123")
// to digits-only E.164 and returns it with its ISO region ("GB").
// Numbers without "+" or "00" are read as international digits, the form
// Vonage uses. With lenient, a number of a possible length for its country
// code is accepted even when not in an assigned range (such as Ofcom's
// drama range 07700 900xxx); otherwise libphonenumber must deem it valid.
func parseNumber(s string, lenient bool) (digits, region string, err error) {
	var b strings.Builder
	b.Grow(len(s) + 1)
	b.WriteByte('+')
	t := strings.TrimSpace(s)
	switch {
	case strings.HasPrefix(t, "+"):
		t = t[1:]
	case strings.HasPrefix(t, "00"):
		t = t[2:]
	}
	n := 0
	for i := 0; i < len(t); i++ {
		c := t[i]
		switch {
		case c >= '0' && c <= '9':
			b.WriteByte(c)
			n++
		case c == ' ' || c == '-' || c == '.' || c == '(' || c == ')':
		default:
			return "", "", errNotDigits
		}
	}
	if n < 7 || n > 15 {
		return "", "", errNotDigits
	}
	num, err := phonenumbers.Parse(b.String(), "")
	if err != nil {
		return "", "", err
	}
	switch {
	case phonenumbers.IsValidNumber(num):
		region = phonenumbers.GetRegionCodeForNumber(num)
	case lenient && phonenumbers.IsPossibleNumber(num):
		region = phonenumbers.GetRegionCodeForCountryCode(int(num.GetCountryCode()))
	default:
		return "", "", ErrInvalidNumber
	}
	if region == "ZZ" || region == "001" {
		region = ""
	}
	e164 := phonenumbers.Format(num, phonenumbers.E164)
	return e164[1:], region, nil
}

// isDigits reports whether s is a plausible digits-only E.164 number, the
// form Vonage puts in webhooks.
func isDigits(s string) bool {
	if len(s) < 7 || len(s) > 15 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// webhookNumber turns a number from a webhook into digits-only form
// cheaply: Vonage sends digits already; a leading "+" is tolerated.
func webhookNumber(s string) (string, bool) {
	s = strings.TrimPrefix(s, "+")
	return s, isDigits(s)
}

// mask hides the middle of a number for Debug logs: "4477009***23".
func mask(s string) string {
	if len(s) <= 6 {
		return "***"
	}
	keep := len(s) - 5
	if keep > 7 {
		keep = 7
	}
	return s[:keep] + "***" + s[len(s)-2:]
}
