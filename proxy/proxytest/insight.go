package proxytest

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// countryNames gives ISO 3166-1 alpha-3 codes and names for the countries
// the simulator is most often asked about; others report the alpha-2 code
// as their name.
var countryNames = map[string][2]string{
	"GB": {"GBR", "United Kingdom"}, "US": {"USA", "United States of America"},
	"CA": {"CAN", "Canada"}, "DE": {"DEU", "Germany"}, "FR": {"FRA", "France"},
	"NL": {"NLD", "Netherlands"}, "ES": {"ESP", "Spain"}, "IT": {"ITA", "Italy"},
	"IE": {"IRL", "Ireland"}, "AU": {"AUS", "Australia"}, "IN": {"IND", "India"},
	"BR": {"BRA", "Brazil"}, "SG": {"SGP", "Singapore"}, "JP": {"JPN", "Japan"},
}

// inDramaRange reports whether msisdn is in Ofcom's drama range 07700
// 900000–900999: not valid to libphonenumber, but Vonage's own examples
// use it, so the simulator treats it as valid UK mobiles.
func inDramaRange(msisdn string) bool {
	return len(msisdn) == 12 && strings.HasPrefix(msisdn, "447700900")
}

// validNumber reports whether the simulator treats msisdn (digits, with
// country code) as a real number.
func validNumber(msisdn string) bool {
	if inDramaRange(msisdn) {
		return true
	}
	p, err := phonenumbers.Parse("+"+msisdn, "")
	return err == nil && phonenumbers.IsValidNumber(p)
}

// ValidNumber reports whether the simulated Number Insight accepts msisdn
// (E.164 digits, "+" optional) as a valid number.
func ValidNumber(msisdn string) bool {
	d := strings.TrimPrefix(strings.TrimSpace(msisdn), "+")
	return d != "" && d == digits(d) && validNumber(d)
}

func insightStatusText(status int) string {
	switch status {
	case 0:
		return "Success"
	case 1:
		return "Throttled"
	case 3:
		return "Invalid request"
	case 4:
		return "Invalid credentials"
	case 9:
		return "Partner quota exceeded"
	case 19:
		return "Facility not allowed"
	case 999:
		return "Request unparseable"
	default:
		return "Internal error"
	}
}

func networkType(t phonenumbers.PhoneNumberType) string {
	switch t {
	case phonenumbers.MOBILE, phonenumbers.FIXED_LINE_OR_MOBILE:
		return "mobile"
	case phonenumbers.FIXED_LINE:
		return "landline"
	case phonenumbers.TOLL_FREE:
		return "landline_tollfree"
	case phonenumbers.PREMIUM_RATE:
		return "landline_premium"
	case phonenumbers.VOIP:
		return "virtual"
	case phonenumbers.PAGER:
		return "pager"
	default:
		return "unknown"
	}
}

// insight answers one Number Insight level.
func (v *Vonage) insight(api API) func(http.ResponseWriter, url.Values) {
	return func(w http.ResponseWriter, params url.Values) {
		raw := params.Get("number")
		country := strings.ToUpper(params.Get("country"))
		p, err := parseInsightNumber(raw, country)
		if err != nil {
			writeFailure(w, api, Failure{Status: "3", Text: fmt.Sprintf("Invalid request :: Not valid number format detected [ %s ]", raw)})
			return
		}
		msisdn := digits(phonenumbers.Format(p, phonenumbers.E164))
		region := phonenumbers.GetRegionCodeForNumber(p)
		typ := networkType(phonenumbers.GetNumberType(p))
		if inDramaRange(msisdn) {
			region, typ = "GB", "mobile"
		}
		if country != "" && country != region {
			writeFailure(w, api, Failure{Status: "3", Text: "Invalid request :: country does not match number"})
			return
		}
		names, ok := countryNames[region]
		if !ok {
			names = [2]string{"", region}
		}
		v.mu.Lock()
		reqID := fmt.Sprintf("aaaaaaaa-0000-4000-8000-%012d", v.nextSeq())
		var balance string
		switch api {
		case APIInsightStandard:
			balance = v.charge(InsightStdPrice)
		case APIInsightAdvanced:
			balance = v.charge(InsightAdvPrice)
		}
		v.mu.Unlock()
		body := map[string]any{
			"status":                      0,
			"status_message":              "Success",
			"request_id":                  reqID,
			"international_format_number": msisdn,
			"national_format_number":      phonenumbers.Format(p, phonenumbers.NATIONAL),
			"country_code":                region,
			"country_code_iso3":           names[0],
			"country_name":                names[1],
			"country_prefix":              strconv.Itoa(int(p.GetCountryCode())),
		}
		if api == APIInsightBasic {
			writeJSON(w, http.StatusOK, body)
			return
		}
		carrier := map[string]any{"network_code": simNetworkCode, "name": "Simulated Network", "country": region, "network_type": typ}
		price := InsightStdPrice
		if api == APIInsightAdvanced {
			price = InsightAdvPrice
		}
		body["request_price"] = price
		body["remaining_balance"] = balance
		body["current_carrier"] = carrier
		body["original_carrier"] = carrier
		body["ported"] = "not_ported"
		if params.Get("cnam") == "true" && region == "US" {
			body["caller_identity"] = map[string]any{"caller_type": "consumer", "caller_name": "Sandbox User", "first_name": "Sandbox", "last_name": "User"}
		}
		if api == APIInsightAdvanced {
			body["valid_number"] = "valid"
			body["reachable"] = "reachable"
			body["lookup_outcome"] = 0
			body["lookup_outcome_message"] = "Success"
			body["roaming"] = map[string]any{"status": "not_roaming"}
		}
		writeJSON(w, http.StatusOK, body)
	}
}

// parseInsightNumber reads a number in international or (with country)
// national format and rejects those the simulator treats as invalid.
func parseInsightNumber(raw, country string) (*phonenumbers.PhoneNumber, error) {
	s := strings.TrimSpace(raw)
	for _, c := range s {
		if !strings.ContainsRune("0123456789+-() ", c) {
			return nil, fmt.Errorf("bad character %q", c)
		}
	}
	d := digits(s)
	if d == "" {
		return nil, fmt.Errorf("no number")
	}
	// Without a "+" or a country, the number is read as international.
	if strings.HasPrefix(s, "+") || country == "" {
		d = strings.TrimPrefix(d, "00")
		if inDramaRange(d) {
			return phonenumbers.Parse("+"+d, "")
		}
		p, err := phonenumbers.Parse("+"+d, "")
		if err != nil || !phonenumbers.IsValidNumber(p) {
			return nil, fmt.Errorf("invalid number")
		}
		return p, nil
	}
	p, err := phonenumbers.Parse(d, country)
	if err != nil {
		return nil, err
	}
	if e := digits(phonenumbers.Format(p, phonenumbers.E164)); !validNumber(e) {
		return nil, fmt.Errorf("invalid number")
	}
	return p, nil
}
