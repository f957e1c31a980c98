package numbers

import "github.com/voiceproxy/voiceproxy/internal/rest"

// Search patterns: how Pattern is matched against E.164 numbers (which
// start with the country code).
const (
	SearchStartsWith = 0
	SearchContains   = 1
	SearchEndsWith   = 2
)

// Number types accepted in SearchOptions.Type.
const (
	TypeLandline         = "landline"
	TypeMobileLVN        = "mobile-lvn"
	TypeLandlineTollFree = "landline-toll-free"
)

// Features a number can have.
const (
	FeatureSMS   = "SMS"
	FeatureVoice = "VOICE"
	FeatureMMS   = "MMS"
)

// SearchOptions filters a search for numbers to buy. Zero fields are not
// sent.
type SearchOptions struct {
	// Type is TypeLandline, TypeMobileLVN or TypeLandlineTollFree.
	Type string
	// Pattern is matched according to SearchPattern.
	Pattern string
	// SearchPattern is SearchStartsWith (default), SearchContains or
	// SearchEndsWith; sent only with a Pattern.
	SearchPattern int
	// Features the numbers must all have, e.g. {FeatureVoice, FeatureSMS}.
	Features []string
	// Size is the page size, 1–100 (Vonage's default: 10).
	Size int
	// Index is the 1-based page index (Vonage's default: 1).
	Index int
}

// SearchResult is one page of numbers available to buy.
type SearchResult struct {
	// Count is the total number of matching numbers.
	Count int `json:"count"`
	// Numbers is this page.
	Numbers []AvailableNumber `json:"numbers"`
}

// AvailableNumber is a number that can be bought.
type AvailableNumber struct {
	// Country is the ISO 3166-1 alpha-2 country.
	Country string `json:"country"`
	// MSISDN is the number in E.164 without "+", e.g. "447700900000".
	MSISDN string `json:"msisdn"`
	// Type is the number type, e.g. "mobile-lvn".
	Type string `json:"type"`
	// Cost is the monthly rental in EUR, e.g. "1.25".
	Cost Amount `json:"cost"`
	// Features lists the capabilities, e.g. ["VOICE","SMS"].
	Features []string `json:"features"`
}

// ListOptions filters the account's own numbers. Zero fields are not sent.
type ListOptions struct {
	// ApplicationID restricts to numbers linked to this application.
	ApplicationID string
	// Country restricts to one ISO 3166-1 alpha-2 country.
	Country string
	// Pattern is matched according to SearchPattern.
	Pattern string
	// SearchPattern is SearchStartsWith (default), SearchContains or
	// SearchEndsWith; sent only with a Pattern.
	SearchPattern int
	// HasApplication: nil does not filter; true keeps numbers linked to any
	// application; false keeps numbers linked to none.
	HasApplication *bool
	// Size is the page size, 1–100 (Vonage's default: 10; ListAll's: 100).
	Size int
	// Index is the 1-based page index (default 1).
	Index int
}

// ListResult is one page of the account's numbers.
type ListResult struct {
	// Count is the total number of matching numbers the account owns.
	Count int `json:"count"`
	// Numbers is this page.
	Numbers []OwnedNumber `json:"numbers"`
}

// OwnedNumber is a number the account rents, with its routing.
type OwnedNumber struct {
	// Country is the ISO 3166-1 alpha-2 country.
	Country string `json:"country"`
	// MSISDN is the number in E.164 without "+".
	MSISDN string `json:"msisdn"`
	// Type is the number type, e.g. "mobile-lvn".
	Type string `json:"type"`
	// Features lists the capabilities, e.g. ["VOICE","SMS"].
	Features []string `json:"features"`
	// AppID is the application the number is linked to.
	AppID string `json:"app_id"`
	// MoHTTPURL is the inbound-SMS webhook.
	MoHTTPURL string `json:"moHttpUrl"`
	// VoiceCallbackType is "sip", "tel" or "app".
	VoiceCallbackType string `json:"voiceCallbackType"`
	// VoiceCallbackValue is a SIP URI, number or application ID.
	VoiceCallbackValue string `json:"voiceCallbackValue"`
	// VoiceStatusCallback is the call-end webhook.
	VoiceStatusCallback string `json:"voiceStatusCallback"`
	// MessagesCallbackType is "app" (deprecated in favour of AppID).
	MessagesCallbackType string `json:"messagesCallbackType"`
	// MessagesCallbackValue is an application ID (deprecated).
	MessagesCallbackValue string `json:"messagesCallbackValue"`
}

// HasFeature reports whether n lists feature (e.g. FeatureVoice).
func (n OwnedNumber) HasFeature(feature string) bool {
	for _, f := range n.Features {
		if f == feature {
			return true
		}
	}
	return false
}

// UpdateRequest changes how a number the account owns is routed. Country
// and MSISDN are required; every other non-empty field is sent, empty ones
// are left out (Vonage then keeps their current value).
type UpdateRequest struct {
	// Country is the number's ISO 3166-1 alpha-2 country.
	Country string
	// MSISDN is the number in E.164, with or without "+".
	MSISDN string
	// AppID links the number to an application (voice and messages).
	AppID string
	// MoHTTPURL is the inbound-SMS webhook; Vonage checks it answers 200.
	MoHTTPURL string
	// ClearMoHTTPURL removes the inbound-SMS webhook (sends moHttpUrl
	// empty, which the API description says removes it). Not with
	// MoHTTPURL.
	ClearMoHTTPURL bool
	// MoSMPPSysType is the SMPP system type for inbound messages.
	MoSMPPSysType string
	// VoiceCallbackType is "sip", "tel" or "app"; needs VoiceCallbackValue.
	VoiceCallbackType string
	// VoiceCallbackValue is the SIP URI or number; needs VoiceCallbackType.
	VoiceCallbackValue string
	// VoiceStatusCallback is the webhook called when a call ends.
	VoiceStatusCallback string
	// MessagesCallbackType is "app" (deprecated, prefer AppID); needs
	// MessagesCallbackValue.
	MessagesCallbackType string
	// MessagesCallbackValue is the application ID (deprecated); needs
	// MessagesCallbackType.
	MessagesCallbackValue string
}

// Amount is a money value in EUR exactly as Vonage wrote it, e.g. "1.25".
// Vonage documents it as a string; a JSON number decodes too, and null
// gives the empty amount. It is the Vonage clients' shared amount type,
// with the methods UnmarshalJSON and Float64.
type Amount = rest.Amount
