package proxy

import (
	"errors"
	"strconv"
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
	e164 := b.String()
	if d, r, ok := fastNumber(e164[1:], lenient); ok {
		return d, r, nil
	}
	// The full parser also copes with forms such as "+44 (0)7700 900123".
	num, err := phonenumbers.Parse(e164, "")
	if err != nil {
		return "", "", err
	}
	region, ok := checkNumber(num, lenient)
	if !ok {
		return "", "", ErrInvalidNumber
	}
	return phonenumbers.Format(num, phonenumbers.E164)[1:], region, nil
}

// fastNumber validates international digits without phonenumbers.Parse
// (whose regular expressions dominate the cost of creating a
// conversation): it splits off the country calling code by table lookup
// and checks the rest against the region's metadata.
func fastNumber(digits string, lenient bool) (string, string, bool) {
	for n := 1; n <= 3 && n < len(digits); n++ {
		cc := 0
		for _, c := range digits[:n] {
			cc = cc*10 + int(c-'0')
		}
		if len(phonenumbers.GetRegionCodesForCountryCode(cc)) == 0 {
			continue
		}
		national := digits[n:]
		if national[0] == '0' {
			return "", "", false // Italian-style leading zeros: let Parse decide
		}
		nn, err := strconv.ParseUint(national, 10, 64)
		if err != nil {
			return "", "", false
		}
		cc32 := int32(cc)
		num := &phonenumbers.PhoneNumber{CountryCode: &cc32, NationalNumber: &nn}
		region, ok := checkNumber(num, lenient)
		return digits, region, ok
	}
	return "", "", false
}

// checkNumber reports num's region and whether it is acceptable: valid, or
// with lenient merely of a possible length.
func checkNumber(num *phonenumbers.PhoneNumber, lenient bool) (string, bool) {
	cc := int(num.GetCountryCode())
	// The main region comes first: one metadata check for most numbers,
	// where GetRegionCodeForNumber followed by a validity check costs two.
	for _, region := range phonenumbers.GetRegionCodesForCountryCode(cc) {
		if phonenumbers.IsValidNumberForRegion(num, region) {
			return cleanRegion(region), true
		}
	}
	if lenient && phonenumbers.IsPossibleNumber(num) {
		return cleanRegion(phonenumbers.GetRegionCodeForCountryCode(cc)), true
	}
	return "", false
}

// cleanRegion maps libphonenumber's "unknown" and "non-geographic"
// regions to "".
func cleanRegion(r string) string {
	if r == "ZZ" || r == "001" {
		return ""
	}
	return r
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
