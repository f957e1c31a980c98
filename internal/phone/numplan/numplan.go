// Package numplan validates phone numbers against the world's numbering
// plans with libphonenumber's metadata, compiled once per region, and
// tells the region (ISO 3166-1 alpha-2) a number belongs to. It is apart
// from package phone because libphonenumber loads all its metadata when a
// program starts, which callers of phone (package ncco) need not pay.
package numplan

import (
	"errors"
	"fmt"
	"slices"
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
//
// A rejected number is a *phone.Error saying why: Normalize's reasons,
// then phone.InvalidCountryCode, TooShort, TooLong or InvalidLength (from
// libphonenumber's IsPossibleNumberWithReason), and, when not lenient,
// phone.Reserved (a drama or test range) or phone.Unassigned.
func Parse(s string, lenient bool) (digits, region string, err error) {
	d, err := phone.Normalize(s)
	if err != nil {
		return "", "", err
	}
	if r, why, decided := fastNumber(d, lenient); decided {
		if why != nil {
			why.Input = s
			return "", "", why
		}
		return d, r, nil
	}
	// The full parser copes with what the fast path leaves, such as a
	// national number with Italian-style leading zeros.
	num, err := phonenumbers.Parse("+"+d, "")
	if err != nil {
		e := &phone.Error{Input: s, Reason: phone.NotANumber, Detail: "not a phone number"}
		switch {
		case errors.Is(err, phonenumbers.ErrInvalidCountryCode):
			e.Reason, e.Detail = phone.InvalidCountryCode, invalidCountryCode
		case errors.Is(err, phonenumbers.ErrNumTooLong):
			e.Reason, e.Detail = phone.TooLong, "too long to be a phone number"
		case errors.Is(err, phonenumbers.ErrTooShortNSN), errors.Is(err, phonenumbers.ErrTooShortAfterIDD):
			e.Reason, e.Detail = phone.TooShort, "too short to be a phone number"
		}
		return "", "", e
	}
	national := phonenumbers.GetNationalSignificantNumber(num)
	region, why := checkNumber(num, national, lenient)
	if why != nil {
		why.Input = s
		return "", "", why
	}
	return phonenumbers.Format(num, phonenumbers.E164)[1:], region, nil
}

const invalidCountryCode = `does not start with a country calling code ("+44" for GB, "+1" for the US…)`

// fastNumber validates international digits without phonenumbers.Parse:
// it splits off the country calling code by table lookup and checks the
// rest against the region's metadata. decided is false when the full
// parser must decide; why, without its Input, is the rejection.
func fastNumber(digits string, lenient bool) (region string, why *phone.Error, decided bool) {
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
			return "", nil, false
		}
		nn, err := strconv.ParseUint(national, 10, 64)
		if err != nil {
			return "", nil, false
		}
		cc32 := int32(cc)
		num := &phonenumbers.PhoneNumber{CountryCode: &cc32, NationalNumber: &nn}
		region, why := checkNumber(num, national, lenient)
		return region, why, true
	}
	return "", nil, false
}

// checkNumber returns num's region when it is acceptable: valid, or with
// lenient merely of a possible length. Otherwise it says why not (an
// *phone.Error without Input). national is num's national significant
// number.
func checkNumber(num *phonenumbers.PhoneNumber, national string, lenient bool) (string, *phone.Error) {
	cc := int(num.GetCountryCode())
	// The main region comes first: one metadata check for most numbers.
	for _, region := range phonenumbers.GetRegionCodesForCountryCode(cc) {
		if validFor(cc, national, region) {
			return cleanRegion(region), nil
		}
	}
	main := cleanRegion(phonenumbers.GetRegionCodeForCountryCode(cc))
	possible := phonenumbers.IsPossibleNumberWithReason(num)
	if lenient && (possible == phonenumbers.IS_POSSIBLE || possible == phonenumbers.IS_POSSIBLE_LOCAL_ONLY) {
		return main, nil
	}
	return "", rejection(cc, main, national, possible)
}

// rejection says why a number of country code cc (main region main) with
// national significant number national is not valid, given
// libphonenumber's verdict on its length.
func rejection(cc int, main, national string, possible phonenumbers.ValidationResult) *phone.Error {
	of := "+" + strconv.Itoa(cc)
	if main != "" {
		of += " (" + main + ")"
	}
	lengths := ""
	if main != "" { // the non-geographic codes share one region, "001"
		if ls := possibleLengths(main); len(ls) > 0 {
			lengths = ", want " + lengthList(ls)
		}
	}
	after := fmt.Sprintf("%d digits after %s%s", len(national), "+"+strconv.Itoa(cc), lengths)
	e := &phone.Error{Region: main}
	switch possible {
	case phonenumbers.INVALID_COUNTRY_CODE:
		e.Reason, e.Detail = phone.InvalidCountryCode, invalidCountryCode
	case phonenumbers.TOO_SHORT:
		e.Reason, e.Detail = phone.TooShort, "too short for a number of "+of+": "+after
	case phonenumbers.IS_POSSIBLE_LOCAL_ONLY:
		// Dialled only within its area: the area code is missing.
		e.Reason, e.Detail = phone.TooShort, "too short for a number of "+of+" (a local number without its area code?): "+after
	case phonenumbers.TOO_LONG:
		e.Reason, e.Detail = phone.TooLong, "too long for a number of "+of+": "+after
	case phonenumbers.INVALID_LENGTH:
		e.Reason, e.Detail = phone.InvalidLength, "not a length numbers of "+of+" have: "+after
	default:
		if r, ok := reservedRange(strconv.Itoa(cc) + national); ok {
			e.Reason, e.Detail = phone.Reserved, "in "+r+", reserved for drama and tests and never assigned"
		} else {
			e.Reason, e.Detail = phone.Unassigned, "not in a range assigned to numbers of "+of+" (libphonenumber's numbering plan)"
		}
	}
	return e
}

// lengthList writes possible lengths as "10", "9 or 10", "from 5 to 10".
func lengthList(ls []int32) string {
	lo, hi := slices.Min(ls), slices.Max(ls)
	switch {
	case lo == hi:
		return strconv.Itoa(int(lo))
	case len(ls) == 2:
		return fmt.Sprintf("%d or %d", lo, hi)
	case int(hi-lo)+1 == len(ls):
		return fmt.Sprintf("%d to %d", lo, hi)
	}
	parts := make([]string, len(ls))
	for i, l := range ls {
		parts[i] = strconv.Itoa(int(l))
	}
	return "one of " + strings.Join(parts, ", ")
}

// reservedRanges are number ranges set aside for drama, never assigned
// to a subscriber, that libphonenumber's metadata rejects: Ofcom's
// numbers for TV and radio drama (Ofcom, "Telephone numbers for drama
// purposes", the 1,000-number blocks 07700 900000–900999 and 01632
// 960000–960999). Other drama ranges (such as 020 7946 0xxx, or NANP's
// 555-0100–0199) lie in ranges libphonenumber deems valid, and pass.
var reservedRanges = []struct{ prefix, name string }{
	{"447700900", "Ofcom's drama range +44 7700 900xxx"},
	{"441632960", "Ofcom's drama range +44 1632 960xxx"},
}

// reservedRange names the reserved range holding digits (E.164).
func reservedRange(digits string) (string, bool) {
	for _, r := range reservedRanges {
		if strings.HasPrefix(digits, r.prefix) && len(digits) == len(r.prefix)+3 {
			return r.name, true
		}
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
