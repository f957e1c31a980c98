package proxytest

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// AvailableNumber is a number for sale, as GET /number/search reports it.
type AvailableNumber struct {
	Country  string   `json:"country"`
	MSISDN   string   `json:"msisdn"`
	Type     string   `json:"type"`
	Cost     string   `json:"cost"`
	Features []string `json:"features"`
}

// Available lists every number the simulator sells in country (ISO
// 3166-1 alpha-2), owned ones included, in a fixed order. An unknown
// country has none.
func Available(country string) []AvailableNumber {
	country = strings.ToUpper(country)
	var prefix string
	switch country {
	case "GB":
		prefix = "4477009000" // Ofcom's drama range, 07700 900000–900999
	case "US":
		prefix = "120155501" // 555-0100–555-0199, reserved for fiction
	default:
		ex := phonenumbers.GetExampleNumberForType(country, phonenumbers.MOBILE)
		if ex == nil {
			return nil
		}
		e164 := digits(phonenumbers.Format(ex, phonenumbers.E164))
		if len(e164) < 8 {
			return nil
		}
		prefix = e164[:len(e164)-2]
	}
	out := make([]AvailableNumber, 0, 100)
	for i := range 100 {
		msisdn := prefix + twoDigits(i)
		if country != "GB" && country != "US" && !validNumber(msisdn) {
			continue
		}
		n := AvailableNumber{Country: country, MSISDN: msisdn, Type: "mobile-lvn", Cost: "1.25", Features: []string{"SMS", "VOICE"}}
		if i%10 == 9 {
			n.Type, n.Cost, n.Features = "landline", "0.90", []string{"VOICE"}
		}
		out = append(out, n)
	}
	return out
}

func twoDigits(i int) string {
	s := strconv.Itoa(i)
	if len(s) < 2 {
		s = "0" + s
	}
	return s
}

// matchPattern applies the Numbers API's pattern/search_pattern filter:
// 0 starts with, 1 contains, 2 ends with.
func matchPattern(msisdn string, params url.Values) bool {
	p := params.Get("pattern")
	if p == "" {
		return true
	}
	switch params.Get("search_pattern") {
	case "1":
		return strings.Contains(msisdn, p)
	case "2":
		return strings.HasSuffix(msisdn, p)
	default:
		return strings.HasPrefix(msisdn, p)
	}
}

// hasFeatures reports whether have holds every feature in the
// comma-separated list want.
func hasFeatures(have []string, want string) bool {
	for _, f := range strings.Split(want, ",") {
		f = strings.ToUpper(strings.TrimSpace(f))
		if f != "" && !slices.Contains(have, f) {
			return false
		}
	}
	return true
}

// page cuts items to the page asked for by size (default 10, at most 100)
// and the 1-based index.
func page[T any](items []T, params url.Values) []T {
	size, err := strconv.Atoi(params.Get("size"))
	if err != nil || size <= 0 {
		size = numbersPageDefault
	}
	size = min(size, numbersPageMax)
	index, err := strconv.Atoi(params.Get("index"))
	if err != nil || index < 1 {
		index = 1
	}
	start := (index - 1) * size
	if start >= len(items) {
		return nil
	}
	return items[start:min(start+size, len(items))]
}

func (v *Vonage) search(w http.ResponseWriter, params url.Values) {
	country := strings.ToUpper(params.Get("country"))
	if len(country) != 2 {
		writeFailure(w, APINumberSearch, Failure{HTTPStatus: http.StatusBadRequest, Text: "country is required"})
		return
	}
	v.mu.Lock()
	var matches []AvailableNumber
	for _, n := range v.forSale(country) {
		if v.ownedIndex(n.MSISDN) >= 0 ||
			(params.Get("type") != "" && params.Get("type") != n.Type) ||
			!hasFeatures(n.Features, params.Get("features")) ||
			!matchPattern(n.MSISDN, params) {
			continue
		}
		matches = append(matches, n)
	}
	v.mu.Unlock()
	body := map[string]any{"count": len(matches)}
	if p := page(matches, params); len(p) > 0 {
		body["numbers"] = p
	}
	writeJSON(w, http.StatusOK, body)
}

func writeNumbersOK(w http.ResponseWriter) {
	writeJSON(w, http.StatusOK, map[string]string{"error-code": "200", "error-code-label": "success"})
}

func (v *Vonage) buy(w http.ResponseWriter, params url.Values) {
	country, msisdn := strings.ToUpper(params.Get("country")), digits(params.Get("msisdn"))
	if country == "" || msisdn == "" {
		writeFailure(w, APINumberBuy, Failure{HTTPStatus: http.StatusBadRequest, Text: "country and msisdn are required"})
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	sale := v.forSale(country)
	i := slices.IndexFunc(sale, func(n AvailableNumber) bool { return n.MSISDN == msisdn })
	if i < 0 || v.ownedIndex(msisdn) >= 0 {
		writeFailure(w, APINumberBuy, Failure{HTTPStatus: 420, Text: "method failed: the number is not for sale or is owned already"})
		return
	}
	a := sale[i]
	if cost, _ := strconv.ParseFloat(a.Cost, 64); cost > v.balance {
		writeFailure(w, APINumberBuy, Failure{HTTPStatus: 420, Text: "method failed: the balance does not cover the first month"})
		return
	}
	v.charge(a.Cost)
	v.owned = append(v.owned, OwnedNumber{Country: a.Country, MSISDN: a.MSISDN, Type: a.Type, Features: a.Features})
	writeNumbersOK(w)
}

// forSale is Available(country) cut to the country's stock (WithStock).
// Call with v.mu held.
func (v *Vonage) forSale(country string) []AvailableNumber {
	all := Available(country)
	if n, ok := v.stock[country]; ok && n < len(all) {
		return all[:max(n, 0)]
	}
	return all
}

// ownedFor finds the owned number named by params (country and msisdn);
// -1 if the account does not own it. Call with v.mu held.
func (v *Vonage) ownedFor(params url.Values) int {
	country, msisdn := strings.ToUpper(params.Get("country")), digits(params.Get("msisdn"))
	i := v.ownedIndex(msisdn)
	if i < 0 || msisdn == "" || v.owned[i].Country != country {
		return -1
	}
	return i
}

func (v *Vonage) cancel(w http.ResponseWriter, params url.Values) {
	v.mu.Lock()
	defer v.mu.Unlock()
	i := v.ownedFor(params)
	if i < 0 {
		writeFailure(w, APINumberCancel, Failure{HTTPStatus: 420})
		return
	}
	v.owned = slices.Delete(v.owned, i, i+1)
	writeNumbersOK(w)
}

func (v *Vonage) update(w http.ResponseWriter, params url.Values) {
	v.mu.Lock()
	defer v.mu.Unlock()
	i := v.ownedFor(params)
	if i < 0 {
		writeFailure(w, APINumberUpdate, Failure{HTTPStatus: 420})
		return
	}
	n := &v.owned[i]
	set := func(key string, dst *string) {
		if _, ok := params[key]; ok {
			*dst = params.Get(key)
		}
	}
	if _, ok := params["app_id"]; ok {
		// Linking to an application routes voice and messages to it, which
		// is how Vonage reports the number afterwards.
		n.AppID = params.Get("app_id")
		typ := "app"
		if n.AppID == "" {
			typ = ""
		}
		n.VoiceCallbackType, n.VoiceCallbackValue = typ, n.AppID
		n.MessagesCallbackType, n.MessagesCallbackValue = typ, n.AppID
	}
	set("moHttpUrl", &n.MoHTTPURL)
	set("moSmppSysType", &n.MoSMPPSysType)
	set("voiceCallbackType", &n.VoiceCallbackType)
	set("voiceCallbackValue", &n.VoiceCallbackValue)
	set("voiceStatusCallback", &n.VoiceStatusCallback)
	set("messagesCallbackType", &n.MessagesCallbackType)
	set("messagesCallbackValue", &n.MessagesCallbackValue)
	writeNumbersOK(w)
}

type ownedJSON struct {
	Country               string   `json:"country"`
	MSISDN                string   `json:"msisdn"`
	Type                  string   `json:"type"`
	Features              []string `json:"features"`
	AppID                 string   `json:"app_id,omitempty"`
	MoHTTPURL             string   `json:"moHttpUrl,omitempty"`
	VoiceCallbackType     string   `json:"voiceCallbackType,omitempty"`
	VoiceCallbackValue    string   `json:"voiceCallbackValue,omitempty"`
	VoiceStatusCallback   string   `json:"voiceStatusCallback,omitempty"`
	MessagesCallbackType  string   `json:"messagesCallbackType,omitempty"`
	MessagesCallbackValue string   `json:"messagesCallbackValue,omitempty"`
}

func (v *Vonage) list(w http.ResponseWriter, params url.Values) {
	v.mu.Lock()
	var matches []ownedJSON
	for _, n := range v.owned {
		if app := params.Get("application_id"); app != "" && n.AppID != app {
			continue
		}
		if has := params.Get("has_application"); has != "" && (has == "true") != (n.AppID != "") {
			continue
		}
		if c := params.Get("country"); c != "" && !strings.EqualFold(c, n.Country) {
			continue
		}
		if !matchPattern(n.MSISDN, params) {
			continue
		}
		matches = append(matches, ownedJSON{
			Country: n.Country, MSISDN: n.MSISDN, Type: n.Type, Features: slices.Clone(n.Features),
			AppID: n.AppID, MoHTTPURL: n.MoHTTPURL, VoiceCallbackType: n.VoiceCallbackType,
			VoiceCallbackValue: n.VoiceCallbackValue, VoiceStatusCallback: n.VoiceStatusCallback,
			MessagesCallbackType: n.MessagesCallbackType, MessagesCallbackValue: n.MessagesCallbackValue,
		})
	}
	v.mu.Unlock()
	body := map[string]any{"count": len(matches)}
	if p := page(matches, params); len(p) > 0 {
		body["numbers"] = p
	}
	writeJSON(w, http.StatusOK, body)
}

// SandboxNumbers is a ready-made pool for demos: four GB numbers
// (447700900001–447700900004) and four US numbers
// (12015550101–12015550104), each with SMS and VOICE, linked to
// ApplicationID. Pass it to WithOwnedNumbers.
func SandboxNumbers() []OwnedNumber {
	var out []OwnedNumber
	for _, n := range []struct{ country, prefix string }{{"GB", "4477009000"}, {"US", "120155501"}} {
		for i := 1; i <= 4; i++ {
			out = append(out, OwnedNumber{
				Country: n.country, MSISDN: n.prefix + twoDigits(i), Type: "mobile-lvn",
				Features: []string{"SMS", "VOICE"}, AppID: ApplicationID,
				VoiceCallbackType: "app", VoiceCallbackValue: ApplicationID,
				MessagesCallbackType: "app", MessagesCallbackValue: ApplicationID,
			})
		}
	}
	return out
}
