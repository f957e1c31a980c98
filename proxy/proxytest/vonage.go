package proxytest

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/voiceproxy/voiceproxy/proxy"
)

// Credentials of the simulated account. A Vonage made with no
// WithCredentials option accepts exactly these.
const (
	APIKey        = "sandbox1"
	APISecret     = "sandbox-secret"
	ApplicationID = "aaaaaaaa-bbbb-4ccc-8ddd-0123456789ab"
	// SignatureSecret is the signature secret a Simulator signs webhooks
	// with unless told another: set the same in the Service under test
	// (proxy.Config.Webhooks.SignatureSecret). It is public: use it in tests only.
	SignatureSecret = "proxytest-signature-secret"
)

// InProcessURL is a base URL for clients that use Vonage.Client: that
// client never opens a socket, so the host is never resolved.
const InProcessURL = "http://vonage.invalid"

// API names one simulated endpoint, for failure injection and the request
// log.
type API string

// The endpoints the simulator serves.
const (
	APINumberSearch    API = "number-search"    // GET /number/search
	APINumberBuy       API = "number-buy"       // POST /number/buy
	APINumberCancel    API = "number-cancel"    // POST /number/cancel
	APINumberUpdate    API = "number-update"    // POST /number/update
	APIAccountNumbers  API = "account-numbers"  // GET /account/numbers
	APIInsightBasic    API = "insight-basic"    // GET|POST /ni/basic/json
	APIInsightStandard API = "insight-standard" // GET|POST /ni/standard/json
	APIInsightAdvanced API = "insight-advanced" // GET|POST /ni/advanced/json
	APISMS             API = "sms"              // POST /sms/json
)

// Prices the simulated account is charged, in EUR as Vonage writes them.
const (
	SMSPrice           = "0.03330000" // per SMS part
	InsightStdPrice    = "0.00500000" // Number Insight standard
	InsightAdvPrice    = "0.03000000" // Number Insight advanced
	StartBalance       = 10.0         // account balance at start, EUR
	simNetworkCode     = "00101"      // the ITU test network
	defaultCallRate    = "0.00600000"
	numbersPageDefault = 10
	numbersPageMax     = 100
)

// OwnedNumber is a number the simulated account owns, as
// GET /account/numbers reports it.
type OwnedNumber struct {
	Country  string   // ISO 3166-1 alpha-2
	MSISDN   string   // digits only
	Type     string   // "mobile-lvn", "landline"; "" reads as "mobile-lvn"
	Features []string // e.g. {"SMS", "VOICE"}; nil reads as both
	// AppID is the Vonage application the number is linked to; "" for none.
	AppID                 string
	MoHTTPURL             string
	MoSMPPSysType         string
	VoiceCallbackType     string
	VoiceCallbackValue    string
	VoiceStatusCallback   string
	MessagesCallbackType  string
	MessagesCallbackValue string
}

// SentSMS is one message the simulated SMS API accepted: one send request,
// split into parts as Vonage would bill them.
type SentSMS struct {
	From       string    `json:"from"` // as given
	To         string    `json:"to"`   // any leading "+" removed
	Text       string    `json:"text"`
	Type       string    `json:"type"` // "text" or "unicode"
	ClientRef  string    `json:"client_ref,omitempty"`
	Callback   string    `json:"callback,omitempty"`
	Parts      []string  `json:"parts"`       // the text of each part, in order
	MessageIDs []string  `json:"message_ids"` // one per part
	At         time.Time `json:"at"`
}

// Request is one request the simulator answered.
type Request struct {
	API    API
	Method string
	Path   string
	Status int // HTTP status of the answer
	// Host is the host the request was sent to (the Voice API's go to a
	// call's region).
	Host string
}

// Failure is an injected failure answered instead of the next request to
// one API.
type Failure struct {
	// HTTPStatus of the answer; 0 means 200.
	HTTPStatus int
	// Status is the API's own status code in the body: the numbers
	// "error-code", the Number Insight "status", the SMS message "status".
	// "" picks one from HTTPStatus.
	Status string
	// Text is the status text; "" picks one.
	Text string
	// RetryAfter, when not empty, is sent as the Retry-After header.
	RetryAfter string
}

// Vonage is a simulated Vonage REST API: the Numbers API, Number Insight
// and the SMS API, with the answers and error shapes the real ones give.
// It is an http.Handler; serve it with httptest (NewServer) or call it in
// process through Client. It is safe for concurrent use.
//
// Its answers are deterministic:
//   - Credentials: api_key and api_secret from the query, the form, a JSON
//     body or HTTP Basic auth must match (APIKey/APISecret unless
//     WithCredentials). Wrong ones get each API's documented answer: HTTP
//     401 {"error-code":"401"} from the Numbers API, status 4 from Number
//     Insight, message status "4" from the SMS API.
//   - Numbers for sale (see Available) are 100 per country: GB
//     447700900000–447700900099 (Ofcom's drama range), US
//     12015550100–12015550199, other countries libphonenumber's example
//     mobile with its last two digits 00–99 (valid ones only). Numbers
//     ending in 9 are landlines with VOICE only; the others are mobile-lvn
//     with SMS and VOICE. Owned numbers are not for sale.
//   - Buying a number that is owned or not for sale (see WithStock), or
//     whose monthly cost the balance does not cover, and cancelling or
//     updating one not owned, answers HTTP 420 "method failed" (the
//     Numbers API description's response420: the label says what
//     happened). A purchase charges the number's monthly cost.
//   - Number Insight reports status 3 for numbers libphonenumber rejects,
//     except the GB drama range 447700900000–447700900999, which it treats
//     as valid mobiles. Valid numbers are reachable, not ported, not
//     roaming, on network "00101".
//   - The SMS API splits text as Vonage bills it (GSM-7: 160 characters or
//     153 per part; unicode: 70 or 67 per part), gives each part a message
//     ID, and records the message in the Outbox.
type Vonage struct {
	key, secret string
	now         func() time.Time
	mux         *http.ServeMux

	mu       sync.Mutex
	owned    []OwnedNumber
	outbox   []SentSMS
	requests []Request
	failures map[API][]Failure
	latency  map[API]time.Duration
	throttle int

	receipts        *receiptTarget
	receiptQueue    []Receipt
	receiptFailures int
	seq             int
	balance         float64
	stock           map[string]int    // numbers for sale per country, when limited
	optOuts         map[optOutKey]int // STOPs and the messages sent since (optout.go)
	violations      []SentSMS

	voiceState // the Voice API's application, calls and recordings
}

// Option configures a Vonage.
type Option func(*Vonage)

// WithCredentials sets the API key and secret the simulator accepts.
func WithCredentials(apiKey, apiSecret string) Option {
	return func(v *Vonage) { v.key, v.secret = apiKey, apiSecret }
}

// WithOwnedNumbers starts the account owning these numbers, as if bought
// (and, for those with an AppID, linked) already.
func WithOwnedNumbers(nums ...OwnedNumber) Option {
	return func(v *Vonage) {
		for _, n := range nums {
			v.owned = append(v.owned, normalizeOwned(n))
		}
	}
}

// WithBalance sets the account balance at start (EUR; default
// StartBalance).
func WithBalance(eur float64) Option {
	return func(v *Vonage) { v.balance = eur }
}

// WithStock limits the numbers for sale in country to its first n of
// Available (default: all of them), as when a country's numbers are
// scarce. Bought numbers count against the stock: once n are owned,
// searches there find none.
func WithStock(country string, n int) Option {
	return func(v *Vonage) { v.stock[strings.ToUpper(country)] = n }
}

// WithClock sets the clock used for timestamps (default time.Now).
func WithClock(now func() time.Time) Option {
	return func(v *Vonage) { v.now = now }
}

// NewVonage returns a simulated Vonage account.
func NewVonage(opts ...Option) *Vonage {
	v := &Vonage{
		key: APIKey, secret: APISecret, now: time.Now,
		failures: map[API][]Failure{}, balance: StartBalance, stock: map[string]int{},
	}
	v.files = map[string][]byte{}
	for _, o := range opts {
		o(v)
	}
	m := http.NewServeMux()
	m.HandleFunc("GET /number/search", v.endpoint(APINumberSearch, v.search))
	m.HandleFunc("POST /number/buy", v.endpoint(APINumberBuy, v.buy))
	m.HandleFunc("POST /number/cancel", v.endpoint(APINumberCancel, v.cancel))
	m.HandleFunc("POST /number/update", v.endpoint(APINumberUpdate, v.update))
	m.HandleFunc("GET /account/numbers", v.endpoint(APIAccountNumbers, v.list))
	for _, lvl := range []struct {
		api  API
		path string
	}{{APIInsightBasic, "basic"}, {APIInsightStandard, "standard"}, {APIInsightAdvanced, "advanced"}} {
		h := v.endpoint(lvl.api, v.insight(lvl.api))
		m.HandleFunc("GET /ni/"+lvl.path+"/json", h)
		m.HandleFunc("POST /ni/"+lvl.path+"/json", h)
	}
	m.HandleFunc("POST /sms/json", v.endpoint(APISMS, v.sendSMS))
	m.HandleFunc("POST /v1/messages", v.voiceEndpoint(APIMessages, v.sendMessage))
	m.HandleFunc("POST /v1/calls", v.voiceEndpoint(APICallCreate, v.createCall))
	m.HandleFunc("GET /v1/calls/{uuid}", v.voiceEndpoint(APICallGet, v.getCall))
	m.HandleFunc("PUT /v1/calls/{uuid}", v.voiceEndpoint(APICallUpdate, v.updateCall))
	m.HandleFunc("GET /v1/files/{id}", v.voiceEndpoint(APIRecording, v.file))
	v.mux = m
	return v
}

// ServeHTTP answers one request as Vonage would.
func (v *Vonage) ServeHTTP(w http.ResponseWriter, r *http.Request) { v.mux.ServeHTTP(w, r) }

// Client returns an HTTP client that hands every request straight to the
// simulator, in process, whatever its host: point API clients at it with
// WithHTTPClient(v.Client()) and WithBaseURL(InProcessURL).
func (v *Vonage) Client() *http.Client { return HandlerClient(v) }

// Owned lists the numbers the account owns, in the order they were bought.
func (v *Vonage) Owned() []OwnedNumber {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := make([]OwnedNumber, len(v.owned))
	for i, n := range v.owned {
		n.Features = slices.Clone(n.Features)
		out[i] = n
	}
	return out
}

// AddOwned gives the account numbers without buying them (no checks, no
// charge); a number already owned is replaced.
func (v *Vonage) AddOwned(nums ...OwnedNumber) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, n := range nums {
		n = normalizeOwned(n)
		if i := v.ownedIndex(n.MSISDN); i >= 0 {
			v.owned[i] = n
		} else {
			v.owned = append(v.owned, n)
		}
	}
}

// maxKept bounds the request log and the outbox: a long-running sandbox
// keeps the latest maxKept of each, not everything it ever saw.
const maxKept = 10000

// keepLast drops the oldest entries of s beyond n, in batches so that the
// copy is rare.
func keepLast[T any](s []T, n int) []T {
	if len(s) <= n+n/4 {
		return s
	}
	return append(s[:0:0], s[len(s)-n:]...)
}

// Outbox lists the SMS the account sent, oldest first (the latest 10,000
// or so in a long run).
func (v *Vonage) Outbox() []SentSMS {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := make([]SentSMS, len(v.outbox))
	for i, m := range v.outbox {
		m.Parts = slices.Clone(m.Parts)
		m.MessageIDs = slices.Clone(m.MessageIDs)
		out[i] = m
	}
	return out
}

// Requests lists the requests answered, oldest first (the latest 10,000
// or so in a long run).
func (v *Vonage) Requests() []Request {
	v.mu.Lock()
	defer v.mu.Unlock()
	return slices.Clone(v.requests)
}

// Count returns how many requests to api were answered.
func (v *Vonage) Count(api API) int {
	v.mu.Lock()
	defer v.mu.Unlock()
	n := 0
	for _, r := range v.requests {
		if r.API == api {
			n++
		}
	}
	return n
}

// Balance returns the account balance in EUR.
func (v *Vonage) Balance() float64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.balance
}

// FailNext makes the next request to api fail with this HTTP status, with
// a body in that API's error shape. Calls queue up: two FailNext calls fail
// the next two requests.
func (v *Vonage) FailNext(api API, httpStatus int) {
	v.Fail(api, Failure{HTTPStatus: httpStatus})
}

// Fail queues f as the answer to the next request to api.
func (v *Vonage) Fail(api API, f Failure) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.failures[api] = append(v.failures[api], f)
}

// Slow makes every request to api wait d before it is answered (0 stops
// it), as an API under load does. A client that gives up first sees a
// timeout, but the request is still carried out.
func (v *Vonage) Slow(api API, d time.Duration) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.latency == nil {
		v.latency = map[API]time.Duration{}
	}
	v.latency[api] = d
}

// Throttle makes the next n requests, to any API, throttled the way each
// API says so: HTTP 429 from the Numbers API, status 1 from Number Insight
// and message status "1" from the SMS API. Throttle(0) stops it.
func (v *Vonage) Throttle(n int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.throttle = max(n, 0)
}

// Reset forgets the outbox, the request log, the opt-out violations and
// pending failures; opt-outs, owned numbers and the balance stay.
func (v *Vonage) Reset() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.outbox, v.requests, v.violations, v.throttle = nil, nil, nil, 0
	v.failures = map[API][]Failure{}
}

// endpoint wraps an API handler with parameter parsing, the request log,
// injected failures, throttling and the credential check, in that order.
func (v *Vonage) endpoint(api API, h func(http.ResponseWriter, url.Values)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rec := &proxy.StatusRecorder{ResponseWriter: w}
		defer v.logRequest(api, r, rec)
		params, err := readParams(r)
		if err != nil {
			writeFailure(rec, api, Failure{HTTPStatus: http.StatusBadRequest, Text: "unreadable request"})
			return
		}
		v.delay(api, r)
		if f, ok := v.takeFailure(api); ok {
			writeFailure(rec, api, f)
			return
		}
		key, secret := params.Get("api_key"), params.Get("api_secret")
		if u, p, ok := r.BasicAuth(); ok {
			key, secret = u, p
		}
		if key != v.key || secret != v.secret {
			writeAuthFailure(rec, api)
			return
		}
		h(rec, params)
	}
}

// logRequest keeps r, answered rec.Status, in the request log.
func (v *Vonage) logRequest(api API, r *http.Request, rec *proxy.StatusRecorder) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.requests = keepLast(append(v.requests, Request{API: api, Method: r.Method, Path: r.URL.Path, Host: r.Host, Status: rec.Status}), maxKept)
}

// delay waits the latency set for api (Slow), or until the client gives
// up: a real API may still act on the request then, and this one does.
func (v *Vonage) delay(api API, r *http.Request) {
	v.mu.Lock()
	d := v.latency[api]
	v.mu.Unlock()
	if d > 0 {
		select {
		case <-time.After(d):
		case <-r.Context().Done():
		}
	}
}

// takeFailure pops the next injected failure or throttle for api.
func (v *Vonage) takeFailure(api API) (Failure, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if q := v.failures[api]; len(q) > 0 {
		v.failures[api] = q[1:]
		return q[0], true
	}
	if v.throttle > 0 {
		v.throttle--
		switch api {
		case APIInsightBasic, APIInsightStandard, APIInsightAdvanced:
			return Failure{Status: "1", Text: "Throttled"}, true
		case APISMS:
			return Failure{Status: "1", Text: "Throughput Rate Exceeded - please wait [ 1000 ] and retry"}, true
		default:
			return Failure{HTTPStatus: http.StatusTooManyRequests, Text: "too many requests", RetryAfter: "1"}, true
		}
	}
	return Failure{}, false
}

func writeAuthFailure(w http.ResponseWriter, api API) {
	switch api {
	case APIInsightBasic, APIInsightStandard, APIInsightAdvanced:
		writeFailure(w, api, Failure{Status: "4", Text: "Invalid credentials"})
	case APISMS:
		writeFailure(w, api, Failure{Status: "4", Text: "Bad Credentials"})
	default:
		writeFailure(w, api, Failure{HTTPStatus: http.StatusUnauthorized, Text: "authentication failed"})
	}
}

// writeFailure answers f in api's error shape.
func writeFailure(w http.ResponseWriter, api API, f Failure) {
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	code := f.HTTPStatus
	switch api {
	case APIInsightBasic, APIInsightStandard, APIInsightAdvanced:
		status := f.Status
		if status == "" {
			status = "5"
		}
		n, _ := strconv.Atoi(status)
		text := f.Text
		if text == "" {
			text = insightStatusText(n)
		}
		writeJSON(w, orOK(code), map[string]any{"status": n, "status_message": text, "error_text": text})
	case APISMS:
		status := f.Status
		if status == "" {
			status = "5"
		}
		text := f.Text
		if text == "" {
			text = smsStatusText(status)
		}
		writeJSON(w, orOK(code), map[string]any{
			"message-count": "1",
			"messages":      []map[string]string{{"status": status, "error-text": text}},
		})
	default:
		status := f.Status
		if code == 0 {
			code = 420
			if n, err := strconv.Atoi(status); err == nil && n >= 400 && n < 600 {
				code = n
			}
		}
		if status == "" {
			status = strconv.Itoa(code)
		}
		text := f.Text
		if text == "" {
			text = strings.ToLower(http.StatusText(code))
			if code == 420 {
				text = "method failed"
			}
		}
		writeJSON(w, code, map[string]string{"error-code": status, "error-code-label": text})
	}
}

func orOK(code int) int {
	if code == 0 {
		return http.StatusOK
	}
	return code
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// readParams merges the query string with a form or JSON body, the three
// ways Vonage's REST APIs take parameters.
func readParams(r *http.Request) (url.Values, error) {
	r.Body = http.MaxBytesReader(nil, r.Body, 1<<20)
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/json" {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		params := r.URL.Query()
		if len(body) > 0 {
			var m map[string]any
			if err := json.Unmarshal(body, &m); err != nil {
				return nil, err
			}
			for k, val := range m {
				switch x := val.(type) {
				case string:
					params.Set(k, x)
				case nil:
				default:
					b, _ := json.Marshal(x)
					params.Set(k, string(b))
				}
			}
		}
		return params, nil
	}
	if err := r.ParseForm(); err != nil {
		return nil, err
	}
	return r.Form, nil
}

// HandlerClient returns an HTTP client whose transport hands each request
// to h in process, without a socket, whatever the URL's host.
func HandlerClient(h http.Handler) *http.Client {
	return &http.Client{Transport: handlerTransport{h}}
}

type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if err := r.Context().Err(); err != nil {
		if r.Body != nil {
			r.Body.Close()
		}
		return nil, err
	}
	// The server side may parse and replace fields of the request; the
	// client's copy must stay as it was.
	in := r.Clone(r.Context())
	if r.Body == nil {
		in.Body = http.NoBody
	} else {
		defer r.Body.Close()
	}
	in.RequestURI = r.URL.RequestURI()
	if in.Host == "" {
		in.Host = r.URL.Host
	}
	// The handler runs apart so that a request's deadline is honoured as
	// a real client's would be: a handler slower than that fails the
	// request (and sees its context canceled), like a socket timeout.
	rec := httptest.NewRecorder()
	done := make(chan struct{})
	go func() {
		defer close(done)
		t.h.ServeHTTP(rec, in)
	}()
	select {
	case <-done:
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
	resp := rec.Result()
	resp.Request = r
	return resp, nil
}

func (v *Vonage) nextSeq() int {
	v.seq++
	return v.seq
}

func (v *Vonage) ownedIndex(msisdn string) int {
	return slices.IndexFunc(v.owned, func(n OwnedNumber) bool { return n.MSISDN == msisdn })
}

func normalizeOwned(n OwnedNumber) OwnedNumber {
	n.MSISDN = digits(n.MSISDN)
	n.Country = strings.ToUpper(n.Country)
	if n.Type == "" {
		n.Type = "mobile-lvn"
	}
	if n.Features == nil {
		n.Features = []string{"SMS", "VOICE"}
	} else {
		n.Features = slices.Clone(n.Features)
	}
	return n
}

// digits keeps only the ASCII digits of s.
func digits(s string) string {
	var b strings.Builder
	for _, c := range s {
		if c >= '0' && c <= '9' {
			b.WriteRune(c)
		}
	}
	return b.String()
}

func money(eur float64) string { return fmt.Sprintf("%.8f", eur) }

func (v *Vonage) charge(price string) string {
	p, _ := strconv.ParseFloat(price, 64)
	v.balance -= p
	return money(v.balance)
}
