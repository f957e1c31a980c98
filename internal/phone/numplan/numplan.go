// Package numplan validates phone numbers against the world's numbering
// plans with libphonenumber's metadata, compiled once per region, and
// tells the region (ISO 3166-1 alpha-2) a number belongs to. It is apart
// from package phone because libphonenumber loads all its metadata when a
// program starts, which callers of phone (package ncco) need not pay.
package numplan

import (
	"strconv"
	"strings"

	"github.com/nyaruka/phonenumbers"

	"github.com/voiceproxy/voiceproxy/internal/phone"
)

// Parse normalises a phone number given in any of the accepted forms
// ("+447700900123", "447700900123", "+44 7700 900123", "0044 7700 900123")
// to digits-only E.164 and returns it with its ISO region ("GB").
// Numbers without "+" or "00" are read as international digits, the form
// Vonage uses. With lenient, a number of a possible length for its country
// code is accepted even when not in an assigned range (such as Ofcom's
// drama range 07700 900xxx); otherwise libphonenumber must deem it valid.
func Parse(s string, lenient bool) (digits, region string, err error) {
	d, err := phone.Normalize(s)
	if err != nil {
		return "", "", err
	}
	if r, ok, decided := fastNumber(d, lenient); decided {
		if !ok {
			return "", "", phone.ErrInvalidNumber
		}
		return d, r, nil
	}
	// The full parser copes with what the fast path leaves, such as a
	// national number with Italian-style leading zeros.
	num, err := phonenumbers.Parse("+"+d, "")
	if err != nil {
		return "", "", err
	}
	national := phonenumbers.GetNationalSignificantNumber(num)
	region, ok := checkNumber(num, national, lenient)
	if !ok {
		return "", "", phone.ErrInvalidNumber
	}
	return phonenumbers.Format(num, phonenumbers.E164)[1:], region, nil
}

// fastNumber validates international digits without phonenumbers.Parse:
// it splits off the country calling code by table lookup and checks the
// rest against the region's metadata. decided is false when the full
// parser must decide.
func fastNumber(digits string, lenient bool) (region string, ok, decided bool) {
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
			return "", false, false
		}
		nn, err := strconv.ParseUint(national, 10, 64)
		if err != nil {
			return "", false, false
		}
		cc32 := int32(cc)
		num := &phonenumbers.PhoneNumber{CountryCode: &cc32, NationalNumber: &nn}
		region, ok := checkNumber(num, national, lenient)
		return region, ok, true
	}
	return "", false, false
}

// checkNumber reports num's region and whether it is acceptable: valid, or
// with lenient merely of a possible length. national is num's national
// significant number.
func checkNumber(num *phonenumbers.PhoneNumber, national string, lenient bool) (string, bool) {
	cc := int(num.GetCountryCode())
	// The main region comes first: one metadata check for most numbers.
	for _, region := range phonenumbers.GetRegionCodesForCountryCode(cc) {
		if validFor(cc, national, region) {
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

// NANPAreaCode returns the area code of a geographic number of the North
// American Numbering Plan (country code 1), with the country code: "1415"
// for 14155550100. ok is false for other countries and for numbers
// libphonenumber gives no geographic area code (toll-free, personal
// numbers, invalid ones).
func NANPAreaCode(digits string) (prefix string, ok bool) {
	if !strings.HasPrefix(digits, "1") {
		return "", false
	}
	num, err := phonenumbers.Parse("+"+digits, "")
	if err != nil || num.GetCountryCode() != 1 {
		return "", false
	}
	n := phonenumbers.GetLengthOfGeographicalAreaCode(num)
	if n <= 0 || 1+n > len(digits) {
		return "", false
	}
	return digits[:1+n], true
}
