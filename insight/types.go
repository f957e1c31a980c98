package insight

import (
	"bytes"
	"encoding/json"

	"github.com/voiceproxy/voiceproxy/internal/rest"
)

// BasicResponse is the answer of the Basic level, and the part every level
// shares.
type BasicResponse struct {
	// Status is 0 on success (see the package's error sentinels for the rest).
	Status int `json:"status"`
	// StatusMessage describes Status, e.g. "Success".
	StatusMessage string `json:"status_message"`
	// RequestID identifies the lookup (up to 40 characters).
	RequestID string `json:"request_id"`
	// InternationalFormatNumber is the number in international format
	// without "+", e.g. "447700900000".
	InternationalFormatNumber string `json:"international_format_number"`
	// NationalFormatNumber is the number as written in its country,
	// e.g. "07700 900000".
	NationalFormatNumber string `json:"national_format_number"`
	// CountryCode is the ISO 3166-1 alpha-2 country, e.g. "GB".
	CountryCode string `json:"country_code"`
	// CountryCodeISO3 is the ISO 3166-1 alpha-3 country, e.g. "GBR".
	CountryCodeISO3 string `json:"country_code_iso3"`
	// CountryName is the country's English name, e.g. "United Kingdom".
	CountryName string `json:"country_name"`
	// CountryPrefix is the international dialling prefix, e.g. "44".
	CountryPrefix string `json:"country_prefix"`
}

// StandardResponse is the answer of the Standard level.
type StandardResponse struct {
	BasicResponse
	// RequestPrice is the amount charged in EUR.
	RequestPrice Amount `json:"request_price"`
	// RefundPrice is the amount refunded in EUR (lookup failures, cnam on a
	// non-US number).
	RefundPrice Amount `json:"refund_price"`
	// RemainingBalance is the account balance in EUR after the lookup.
	RemainingBalance Amount `json:"remaining_balance"`
	// CurrentCarrier is the network the number is on now; nil when unknown.
	CurrentCarrier *Carrier `json:"current_carrier"`
	// OriginalCarrier is the network the number was first assigned to.
	OriginalCarrier *Carrier `json:"original_carrier"`
	// Ported is "unknown", "ported", "not_ported", "assumed_not_ported" or
	// "assumed_ported"; empty when absent.
	Ported string `json:"ported"`
	// CallerIdentity holds the owner's details when CNAM was requested.
	CallerIdentity *CallerIdentity `json:"caller_identity"`
	// CallerName, FirstName, LastName and CallerType repeat
	// CallerIdentity at the top level, as Vonage also sends them there.
	CallerName string `json:"caller_name"`
	FirstName  string `json:"first_name"`
	LastName   string `json:"last_name"`
	CallerType string `json:"caller_type"`
}

// AdvancedResponse is the answer of the Advanced level.
type AdvancedResponse struct {
	StandardResponse
	// Roaming is the roaming state (mobile numbers); nil when absent.
	// Vonage sends the bare string "unknown" when it cannot tell, which
	// decodes as Roaming{Status: "unknown"}.
	Roaming *Roaming `json:"roaming"`
	// LookupOutcome is 0 (all information returned), 1 (partial) or 2
	// (failed).
	LookupOutcome int `json:"lookup_outcome"`
	// LookupOutcomeMessage describes LookupOutcome.
	LookupOutcomeMessage string `json:"lookup_outcome_message"`
	// ValidNumber is "unknown", "valid", "not_valid", "inferred" or
	// "inferred_not_valid" (mobile numbers).
	ValidNumber string `json:"valid_number"`
	// Reachable is "unknown", "reachable", "undeliverable", "absent",
	// "bad_number" or "blacklisted" (mobile numbers).
	Reachable string `json:"reachable"`
	// IPWarnings relates to the deprecated ip parameter; Vonage says it can
	// be ignored.
	IPWarnings string `json:"ip_warnings"`
}

// Carrier is a mobile or fixed network.
type Carrier struct {
	// NetworkCode is the MCC+MNC of the network, e.g. "23410".
	NetworkCode string `json:"network_code"`
	// Name is the network's name.
	Name string `json:"name"`
	// Country is the network's ISO 3166-1 alpha-2 country.
	Country string `json:"country"`
	// NetworkType is "mobile", "landline", "landline_premium",
	// "landline_tollfree", "virtual", "unknown" or "pager".
	NetworkType string `json:"network_type"`
}

// CallerIdentity is the owner of a (US) number, returned with CNAM.
type CallerIdentity struct {
	// CallerType is "business", "consumer" or "unknown".
	CallerType string `json:"caller_type"`
	// CallerName is the owner's full name, or "unknown".
	CallerName string `json:"caller_name"`
	// FirstName and LastName are set for individuals.
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
}

// Roaming is a mobile number's roaming state.
type Roaming struct {
	// Status is "roaming", "not_roaming" or "unknown".
	Status string `json:"status"`
	// RoamingCountryCode is the ISO 3166-1 alpha-2 country roamed in.
	RoamingCountryCode string `json:"roaming_country_code"`
	// RoamingNetworkCode is the MCC+MNC of the network roamed on.
	RoamingNetworkCode string `json:"roaming_network_code"`
	// RoamingNetworkName is the name of the network roamed on.
	RoamingNetworkName string `json:"roaming_network_name"`
}

// UnmarshalJSON accepts the documented object or a bare string such as
// "unknown".
func (r *Roaming) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*r = Roaming{Status: s}
		return nil
	}
	type plain Roaming
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*r = Roaming(p)
	return nil
}

// Amount is a money value in EUR exactly as Vonage wrote it, e.g.
// "0.04000000". Vonage documents these as strings but has sent numbers;
// both decode, keeping every digit. It is the Vonage clients' shared
// amount type: a JSON string, number or null (empty) decodes into it, and
// Float64 parses it.
type Amount = rest.Amount
