package numplan

import (
	"regexp"
	"strconv"
	"sync"

	"github.com/nyaruka/phonenumbers"
)

// regionRules is libphonenumber's metadata for one region with its number
// patterns compiled once. phonenumbers.IsValidNumberForRegion rebuilds the
// pattern strings and runs every pattern twice on each call, which made it
// most of the cost of creating a conversation; validFor gives the same
// answer (see TestValidForMatchesLibphonenumber) an order of magnitude
// faster.
type regionRules struct {
	countryCode int32
	general     numberRule
	// types are the number types libphonenumber recognises; a number is
	// valid when it matches the general rule and one of these. Mobile
	// and fixed line come first because most participants match them.
	types []numberRule
}

type numberRule struct {
	lengths []int32 // possible national lengths; empty: any
	re      *regexp.Regexp
}

func (r numberRule) match(national string) bool {
	if r.re == nil {
		return false
	}
	if len(r.lengths) > 0 {
		ok := false
		for _, l := range r.lengths {
			if int(l) == len(national) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return r.re.MatchString(national)
}

func newNumberRule(d *phonenumbers.PhoneNumberDesc) numberRule {
	if d == nil || d.GetNationalNumberPattern() == "" {
		return numberRule{}
	}
	re, err := regexp.Compile("^(?:" + d.GetNationalNumberPattern() + ")$")
	if err != nil {
		return numberRule{} // never matches, as in libphonenumber
	}
	return numberRule{lengths: d.GetPossibleLength(), re: re}
}

// rulesByRegion maps an ISO region ("GB") to its compiled rules. Regions
// are compiled on first use, so only the countries a deployment sees pay.
var (
	metadataOnce  sync.Once
	metadataByID  map[string]*phonenumbers.PhoneMetadata
	rulesByRegion sync.Map // string -> *regionRules
)

func rulesFor(region string) *regionRules {
	if r, ok := rulesByRegion.Load(region); ok {
		return r.(*regionRules)
	}
	metadataOnce.Do(func() {
		metadataByID = map[string]*phonenumbers.PhoneMetadata{}
		coll, err := phonenumbers.MetadataCollection()
		if err != nil {
			return
		}
		for _, md := range coll.GetMetadata() {
			metadataByID[md.GetId()] = md
		}
	})
	md := metadataByID[region]
	if md == nil {
		return nil
	}
	r := &regionRules{countryCode: md.GetCountryCode(), general: newNumberRule(md.GetGeneralDesc())}
	if !md.GetSameMobileAndFixedLinePattern() {
		r.types = append(r.types, newNumberRule(md.GetMobile()))
	}
	r.types = append(r.types, newNumberRule(md.GetFixedLine()))
	for _, d := range []*phonenumbers.PhoneNumberDesc{
		md.GetPremiumRate(), md.GetTollFree(), md.GetSharedCost(), md.GetVoip(),
		md.GetPersonalNumber(), md.GetPager(), md.GetUan(), md.GetVoicemail(),
	} {
		r.types = append(r.types, newNumberRule(d))
	}
	actual, _ := rulesByRegion.LoadOrStore(region, r)
	return actual.(*regionRules)
}

// possibleLengths returns the possible national lengths of the numbers
// of region (its general description's), nil when unknown.
func possibleLengths(region string) []int32 {
	if r := rulesFor(region); r != nil {
		return r.general.lengths
	}
	return nil
}

// validFor reports what phonenumbers.IsValidNumberForRegion reports for the
// number with country calling code cc and national significant number
// national, for a geographic region. The non-geographic entity ("001") is
// left to the library.
func validFor(cc int, national, region string) bool {
	if region == phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY {
		n, err := phonenumbers.Parse("+"+strconv.Itoa(cc)+national, "")
		return err == nil && phonenumbers.IsValidNumberForRegion(n, region)
	}
	r := rulesFor(region)
	if r == nil || int(r.countryCode) != cc || !r.general.match(national) {
		return false
	}
	for _, t := range r.types {
		if t.match(national) {
			return true
		}
	}
	return false
}
