package numplan

import (
	"strconv"
	"testing"

	"github.com/nyaruka/phonenumbers"
)

// validFor must agree with libphonenumber's own IsValidNumberForRegion. The
// sample is every region's example number of every type, plus variants one
// digit shorter, one digit longer and with each position changed, so both
// valid and invalid numbers of every region are compared.
func TestValidForMatchesLibphonenumber(t *testing.T) {
	t.Parallel()
	types := []phonenumbers.PhoneNumberType{
		phonenumbers.FIXED_LINE, phonenumbers.MOBILE, phonenumbers.TOLL_FREE,
		phonenumbers.PREMIUM_RATE, phonenumbers.SHARED_COST, phonenumbers.VOIP,
		phonenumbers.PERSONAL_NUMBER, phonenumbers.PAGER, phonenumbers.UAN,
		phonenumbers.VOICEMAIL,
	}
	compared, valid := 0, 0
	for region := range phonenumbers.GetSupportedRegions() {
		for _, typ := range types {
			ex := phonenumbers.GetExampleNumberForType(region, typ)
			if ex == nil {
				continue
			}
			national := phonenumbers.GetNationalSignificantNumber(ex)
			cc := int(ex.GetCountryCode())
			variants := []string{national, national + "5", national[:len(national)-1]}
			for i := range len(national) {
				b := []byte(national)
				b[i] = '0' + (b[i]-'0'+3)%10
				variants = append(variants, string(b))
			}
			for _, v := range variants {
				num, err := phonenumbers.Parse("+"+strconv.Itoa(cc)+v, "")
				if err != nil || phonenumbers.GetNationalSignificantNumber(num) != v {
					continue // not representable the same way: nothing to compare
				}
				want := phonenumbers.IsValidNumberForRegion(num, region)
				if got := validFor(cc, v, region); got != want {
					t.Errorf("validFor(%d, %q, %s) = %v, libphonenumber says %v", cc, v, region, got, want)
				}
				compared++
				if want {
					valid++
				}
			}
		}
	}
	if compared < 5000 || valid < 1000 || compared-valid < 1000 {
		t.Fatalf("compared %d numbers (%d valid): the sample is too small to mean anything", compared, valid)
	}
}
