package voice

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/voiceproxy/voiceproxy/internal/appjwt"
	"github.com/voiceproxy/voiceproxy/internal/rest"
	"github.com/voiceproxy/voiceproxy/ncco"
)

// This file is the Voice API's REST client: create a call, read one, and
// control one in progress (hang up, mute, earmuff, transfer), on the
// shared internal/rest core. Requests carry an application JWT (Vonage's
// "Authentication: JWTs" guide; the Voice API description's bearerAuth):
// RS256 with the application's private key, claims application_id, iat,
// jti and exp, minted afresh for every attempt.

// DefaultAPIURL is the Voice API's calls endpoint (the API description's
// server). A call's own region_url (from its answer webhook) replaces the
// scheme and host for requests about that call.
const DefaultAPIURL = "https://api.nexmo.com/v1/calls"

// Sentinels matched with errors.Is against an *APIError.
var (
	ErrAPIAuth      = errors.New("voice: API authentication failed") // 401: bad JWT, key or application
	ErrAPIForbidden = errors.New("voice: API request forbidden")     // 403
	ErrCallNotFound = errors.New("voice: call not found")            // 404: unknown UUID, or the call has ended
	ErrAPIConflict  = errors.New("voice: API request conflicts")     // 409: the call's state refuses it
	ErrAPIThrottled = errors.New("voice: API request throttled")     // 429 (retried first)
	ErrAPIServer    = errors.New("voice: API server error")          // 5xx
	ErrAPIRequest   = errors.New("voice: API request refused")       // any other 4xx
	ErrPrivateKey   = errors.New("voice: application private key unusable")
)

// APIError is a Voice API answer with an error status. Title and Detail
// are the body's (an RFC 7807 problem document) when it has them.
type APIError struct {
	HTTPStatus    int
	Title, Detail string
	sentinel      error
	http          *rest.HTTPError
}

func (e *APIError) Error() string {
	msg := fmt.Sprintf("%v (HTTP %d)", e.sentinel, e.HTTPStatus)
	if e.Title != "" {
		msg += ": " + e.Title
	}
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return msg
}

// Unwrap returns the sentinel and the HTTP error.
func (e *APIError) Unwrap() []error { return []error{e.sentinel, e.http} }

func sentinelFor(status int) error {
	switch {
	case status == http.StatusUnauthorized:
		return ErrAPIAuth
	case status == http.StatusForbidden:
		return ErrAPIForbidden
	case status == http.StatusNotFound:
		return ErrCallNotFound
	case status == http.StatusConflict:
		return ErrAPIConflict
	case status == http.StatusTooManyRequests:
		return ErrAPIThrottled
	case status >= 300 && status < 400:
		return ErrRedirected
	case status >= 500:
		return ErrAPIServer
	}
	return ErrAPIRequest
}

// newAPIError is the *APIError of an error status whose body is body
// (an RFC 7807 problem document when Vonage gives one).
func newAPIError(status int, body []byte, he *rest.HTTPError) *APIError {
	e := &APIError{HTTPStatus: status, sentinel: sentinelFor(status), http: he}
	var p struct {
		Title  string `json:"title"`
		Detail string `json:"detail"`
	}
	if json.Unmarshal(body, &p) == nil {
		e.Title, e.Detail = truncate(p.Title), p.Detail
		if len(e.Detail) > 200 {
			e.Detail = e.Detail[:200] + "…"
		}
	}
	return e
}

// checkResponse turns an error status into an *APIError; a 429 is marked
// retryable (the request was refused, not acted on).
func checkResponse(r *rest.Response) error {
	if r.StatusCode >= 200 && r.StatusCode < 300 {
		return nil
	}
	e := newAPIError(r.StatusCode, r.Body, r.HTTPError())
	if r.StatusCode == http.StatusTooManyRequests {
		return rest.Retryable(e)
	}
	return e
}

// ClientOption configures NewClient.
type ClientOption func(*clientConfig) error

type clientConfig struct {
	rest         rest.Config
	now          func() time.Time
	maxRecording int64
}

// WithAPIURL sets the calls endpoint (tests, a proxy).
func WithAPIURL(u string) ClientOption {
	return func(c *clientConfig) error { c.rest.BaseURL = u; return nil }
}

// WithHTTPClient sets the HTTP client. The client uses a copy whose
// CheckRedirect stops at the first redirect: no request carrying the JWT
// follows one (a 3xx answer is an *APIError matching ErrRedirected).
func WithHTTPClient(hc *http.Client) ClientOption {
	return func(c *clientConfig) error { return c.rest.SetHTTPClient("voice", hc) }
}

// WithMaxRetries sets how often a failed request that may be retried is
// tried again; 0 never.
func WithMaxRetries(n int) ClientOption {
	return func(c *clientConfig) error { return c.rest.SetMaxRetries("voice", n) }
}

// WithSleep replaces the wait between retries (tests).
func WithSleep(sleep func(ctx context.Context, d time.Duration) error) ClientOption {
	return func(c *clientConfig) error { c.rest.Sleep = sleep; return nil }
}

// DefaultMaxRecordingBytes bounds a recording download when
// WithMaxRecordingBytes is not given: 256 MiB, more than two hours (the
// record action's longest timeOut) of 32-channel WAV would need, well
// above any two-party MP3.
const DefaultMaxRecordingBytes int64 = 256 << 20

// WithMaxRecordingBytes bounds how many bytes Recording reads of one
// recording; n must be positive. Default DefaultMaxRecordingBytes.
func WithMaxRecordingBytes(n int64) ClientOption {
	return func(c *clientConfig) error {
		if n <= 0 {
			return fmt.Errorf("voice: recording limit %d is not positive", n)
		}
		c.maxRecording = n
		return nil
	}
}

// WithClock sets the clock of the JWT's iat and exp.
func WithClock(now func() time.Time) ClientOption {
	return func(c *clientConfig) error { c.now = now; return nil }
}

// Client calls the Voice API as one Vonage application. It is safe for
// concurrent use.
type Client struct {
	rest *rest.Client
	jwt  *appjwt.Signer
	// apiScheme and apiHost are the configured API URL's, trusted with
	// the JWT besides Vonage's own hosts (see trusted).
	apiScheme, apiHost string
	// files downloads recordings: the configured HTTP client, else one
	// without an overall timeout (ctx bounds the download), never
	// following a redirect.
	files *http.Client
	// maxRecording bounds one recording download.
	maxRecording int64
}

// ParsePrivateKey reads an application's private key (see
// appjwt.ParsePrivateKey); its error matches ErrPrivateKey.
func ParsePrivateKey(pemBytes []byte) (*rsa.PrivateKey, error) {
	k, err := appjwt.ParsePrivateKey(pemBytes)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrPrivateKey, err)
	}
	return k, nil
}

// NewClient returns a Voice API client for the application applicationID
// whose private key is privateKeyPEM.
func NewClient(applicationID string, privateKeyPEM []byte, opts ...ClientOption) (*Client, error) {
	if strings.TrimSpace(applicationID) == "" {
		return nil, errors.New("voice: empty application ID")
	}
	key, err := ParsePrivateKey(privateKeyPEM)
	if err != nil {
		return nil, err
	}
	signer := &appjwt.Signer{ApplicationID: applicationID, Key: key}
	cfg := clientConfig{rest: rest.Config{BaseURL: DefaultAPIURL}, now: time.Now, maxRecording: DefaultMaxRecordingBytes}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	api, err := url.Parse(cfg.rest.BaseURL)
	if err != nil || api.Host == "" || (api.Scheme != "https" && api.Scheme != "http") {
		return nil, fmt.Errorf("voice: API URL %q is not an absolute http(s) URL", cfg.rest.BaseURL)
	}
	signer.Now = cfg.now
	c := &Client{jwt: signer, apiScheme: api.Scheme, apiHost: strings.ToLower(api.Host), maxRecording: cfg.maxRecording}
	// Neither the REST requests nor the downloads follow a redirect: the
	// JWT would go with it (net/http keeps Authorization on a redirect to
	// the same host, plain http included), and the answer would come from
	// a host never checked. A 3xx is an error instead.
	if cfg.rest.HTTPClient == nil {
		c.files = noRedirects(&http.Client{})
		cfg.rest.HTTPClient = noRedirects(&http.Client{Timeout: rest.DefaultTimeout})
	} else {
		c.files = noRedirects(cfg.rest.HTTPClient)
		cfg.rest.HTTPClient = c.files
	}
	cfg.rest.Token = c.Token
	if c.rest, err = rest.New(cfg.rest); err != nil {
		return nil, fmt.Errorf("voice: %w", err)
	}
	return c, nil
}

// maxLengthTimer is the longest a call may last, in seconds: 24 hours
// (the Java SDK's Call, "Length timer must be between 1 and 86400"; the
// Python SDK's voice models since 1.4.0). A connect action's limit stays
// 1–7200 (ncco.Connect).
const maxLengthTimer = 86400

// Token mints an application JWT for one request.
func (c *Client) Token() (string, error) { return c.jwt.Token() }

// Errors of the URLs a webhook hands the client (region_url,
// recording_url) and of recording downloads.
var (
	// ErrUntrustedURL: a region_url or recording_url that is not one of
	// Vonage's API hosts over https (or the configured API URL's host),
	// or not shaped as Vonage gives it. The application JWT is never
	// sent to it: a forged webhook must not collect a token.
	ErrUntrustedURL = errors.New("voice: URL is not a Vonage API URL")
	// ErrRedirected: the Voice API answered a recording download or a
	// request with a redirect. It is not followed (the JWT stays here).
	ErrRedirected = errors.New("voice: API answered with a redirect")
	// ErrRecordingTooLarge: a recording's Content-Length, or the bytes
	// read of it, exceed the client's limit (WithMaxRecordingBytes).
	ErrRecordingTooLarge = errors.New("voice: recording larger than the limit")
)

// vonageAPIHosts are the hosts trusted with the application JWT, by exact
// name, https only:
//   - api.nexmo.com, the Voice API description's server (and the
//     recording guide's recording_url), and api.vonage.com;
//   - the regional data centres a call's region_url names: the
//     Application API's VoiceRegion list (na-east api-us-3, na-west
//     api-us-4, eu-west api-eu-3, eu-east api-eu-4, apac-sng api-ap-3,
//     apac-australia api-ap-4, all .vonage.com; also the Java SDK's
//     application Region enum);
//   - the geographic API hosts api-us, api-eu and api-ap.vonage.com (the
//     .NET SDK's VonageUrls EMEA, AMER and APAC defaults);
//   - api-us.nexmo.com and api-eu.nexmo.com, the hosts of regional
//     recording_urls (the NCCO reference's input webhook example and the
//     PHP SDK's recording download test use api-us.nexmo.com/v1/files/…).
//
// No wildcard: Vonage Cloud Runtime and other products put hosts and
// paths that customers control under vonage.com (which is also why the
// paths are checked, see regionBase and Recording).
var vonageAPIHosts = map[string]bool{
	"api.nexmo.com": true, "api.vonage.com": true,
	"api-us-3.vonage.com": true, "api-us-4.vonage.com": true,
	"api-eu-3.vonage.com": true, "api-eu-4.vonage.com": true,
	"api-ap-3.vonage.com": true, "api-ap-4.vonage.com": true,
	"api-us.vonage.com": true, "api-eu.vonage.com": true, "api-ap.vonage.com": true,
	"api-us.nexmo.com": true, "api-eu.nexmo.com": true,
}

// trusted reports whether the JWT may go to u's host: https on one of
// vonageAPIHosts (no port, no user info), or the configured API URL's
// scheme and host (a test server, a proxy).
func (c *Client) trusted(u *url.URL) bool {
	if u.User != nil {
		return false
	}
	host := strings.ToLower(u.Host)
	if u.Scheme == c.apiScheme && host == c.apiHost {
		return true
	}
	return u.Scheme == "https" && vonageAPIHosts[host]
}

// noRedirects is a copy of hc that stops at a redirect and returns it
// (then answered as an error), so no request with the JWT follows one.
func noRedirects(hc *http.Client) *http.Client {
	c := *hc
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// regionBase is the calls endpoint in a call's region: region is the
// answer webhook's region_url ("https://api-us-3.vonage.com"), "" for
// the client's default. It must be a bare origin on a trusted host: a
// path would be another service's on the same host.
func (c *Client) regionBase(region string) (*url.URL, error) {
	if region == "" {
		return nil, nil
	}
	u, err := url.Parse(strings.TrimRight(region, "/"))
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("%w: region_url %q is not an absolute URL", ErrAPIRequest, truncate(region))
	}
	if !c.trusted(u) || u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return nil, fmt.Errorf("%w: region_url %q", ErrUntrustedURL, truncate(region))
	}
	u.Path = "/v1/calls"
	return u, nil
}

// Endpoint is a phone endpoint of a call to create (to, from).
type Endpoint struct {
	Type   string `json:"type"` // "phone"
	Number string `json:"number"`
}

// Phone is a phone Endpoint.
func Phone(number string) Endpoint { return Endpoint{Type: "phone", Number: number} }

// CreateCallRequest is the body of POST /v1/calls (the API description's
// CreateCallRequestBase with an NCCO or an answer URL).
type CreateCallRequest struct {
	To               []Endpoint `json:"to"`
	From             *Endpoint  `json:"from,omitempty"`
	RandomFromNumber bool       `json:"random_from_number,omitempty"`
	NCCO             ncco.NCCO  `json:"ncco,omitempty"`
	AnswerURL        []string   `json:"answer_url,omitempty"`
	AnswerMethod     string     `json:"answer_method,omitempty"`
	EventURL         []string   `json:"event_url,omitempty"`
	EventMethod      string     `json:"event_method,omitempty"`
	MachineDetection string     `json:"machine_detection,omitempty"` // "continue" or "hangup"
	LengthTimer      int        `json:"length_timer,omitempty"`      // seconds, 1–86400
	RingingTimer     int        `json:"ringing_timer,omitempty"`     // seconds, 1–120
}

// validate checks what Vonage would refuse.
func (r CreateCallRequest) validate() error {
	switch {
	case len(r.To) == 0:
		return errors.New("no to endpoint")
	case (r.NCCO == nil) == (len(r.AnswerURL) == 0):
		return errors.New("exactly one of NCCO and AnswerURL is needed")
	case r.From != nil && r.RandomFromNumber:
		return errors.New("from and random_from_number cannot be used together")
	case r.From == nil && !r.RandomFromNumber:
		return errors.New("from or random_from_number is needed")
	case r.LengthTimer < 0 || r.LengthTimer > maxLengthTimer:
		return fmt.Errorf("length_timer %d is not 1 to %d", r.LengthTimer, maxLengthTimer)
	case r.RingingTimer < 0 || r.RingingTimer > 120:
		return fmt.Errorf("ringing_timer %d is not 1 to 120", r.RingingTimer)
	}
	if r.NCCO != nil {
		return r.NCCO.Validate()
	}
	return nil
}

// CallInfo is what the Voice API says of a call: CreateCallResponse
// (uuid, conversation_uuid, status, direction) and GetCallResponse (Voice
// API reference, ../shared/vonage-api/voice.yml, operation getCall, "Get
// detail of a specific call"), which adds rate, price, duration,
// start_time, end_time and network, sent only once status is completed.
type CallInfo struct {
	UUID             string `json:"uuid"`
	ConversationUUID string `json:"conversation_uuid"`
	Status           string `json:"status"`
	Direction        string `json:"direction"`
	Rate             string `json:"rate,omitempty"`
	Price            string `json:"price,omitempty"`
	// Duration is in seconds; a string in the API description. Value
	// takes a number too.
	Duration Value `json:"duration,omitempty"`
	// StartTime and EndTime are "YYYY-MM-DD HH:MM:SS" in the API
	// description; ParseCallTime reads that and RFC 3339.
	StartTime string `json:"start_time,omitempty"`
	EndTime   string `json:"end_time,omitempty"`
	Network   string `json:"network,omitempty"` // MCCMNC of the carrier network
}

// ParseCallTime reads a start_time or end_time of the Voice API: RFC 3339
// (as event webhooks write them) or "YYYY-MM-DD HH:MM:SS", UTC (as the
// API description of GetCallResponse gives them). The zero time and false
// when it is neither.
func ParseCallTime(s string) (time.Time, bool) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), true
	}
	if t, err := time.Parse(time.DateTime, s); err == nil {
		return t, true
	}
	return time.Time{}, false
}

// CreateCall creates an outbound call. It is never retried once Vonage
// may have accepted it (a 5xx or a timeout returns the error): a second
// try could ring the phone twice.
func (c *Client) CreateCall(ctx context.Context, req CreateCallRequest) (*CallInfo, error) {
	if err := req.validate(); err != nil {
		return nil, fmt.Errorf("%w: create call: %v", ErrAPIRequest, err)
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("voice: create call: %w", err)
	}
	var out CallInfo
	if err := c.rest.Do(ctx, &rest.Request{Method: http.MethodPost, Path: "", JSON: body, Auth: rest.AuthBearer, Check: checkResponse}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Call reads a call. region is its region_url ("" for the default).
func (c *Client) Call(ctx context.Context, uuid, region string) (*CallInfo, error) {
	base, err := c.regionBase(region)
	if err != nil {
		return nil, err
	}
	var out CallInfo
	if err := c.rest.Do(ctx, &rest.Request{Method: http.MethodGet, Path: "/" + url.PathEscape(uuid), Base: base, Auth: rest.AuthBearer, Check: checkResponse}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Call control actions of PUT /v1/calls/{uuid}.
const (
	ActionHangup    = "hangup"
	ActionMute      = "mute"
	ActionUnmute    = "unmute"
	ActionEarmuff   = "earmuff"
	ActionUnearmuff = "unearmuff"
)

// Control applies one of the Action constants to a call in progress. They
// may be repeated harmlessly, so a failure that may pass is retried.
func (c *Client) Control(ctx context.Context, uuid, region, action string) error {
	switch action {
	case ActionHangup, ActionMute, ActionUnmute, ActionEarmuff, ActionUnearmuff:
	default:
		return fmt.Errorf("%w: unknown call action %q", ErrAPIRequest, truncate(action))
	}
	body, _ := json.Marshal(map[string]string{"action": action})
	return c.update(ctx, uuid, region, body, true)
}

// Transfer moves a call in progress to a new NCCO. It is not retried
// after it may have been applied (the NCCO would start over).
func (c *Client) Transfer(ctx context.Context, uuid, region string, n ncco.NCCO) error {
	if err := n.Validate(); err != nil {
		return fmt.Errorf("%w: transfer: %v", ErrAPIRequest, err)
	}
	body, err := json.Marshal(map[string]any{"action": "transfer", "destination": map[string]any{"type": "ncco", "ncco": n}})
	if err != nil {
		return fmt.Errorf("voice: transfer: %w", err)
	}
	return c.update(ctx, uuid, region, body, false)
}

func (c *Client) update(ctx context.Context, uuid, region string, body []byte, idempotent bool) error {
	if uuid == "" {
		return fmt.Errorf("%w: empty call UUID", ErrAPIRequest)
	}
	base, err := c.regionBase(region)
	if err != nil {
		return err
	}
	return c.rest.Do(ctx, &rest.Request{Method: http.MethodPut, Path: "/" + url.PathEscape(uuid), Base: base, JSON: body,
		Auth: rest.AuthBearer, Idempotent: idempotent, Check: checkResponse}, nil)
}

// recordingPath is the path of a recording_url: /v1/files/{id}, the id a
// UUID (Voice API reference, the record webhook's recording_url).
var recordingPath = regexp.MustCompile(`^/v1/files/[A-Za-z0-9-]{1,64}$`)

// Recording streams a recording: recordingURL is the recording event's
// recording_url ("https://api.nexmo.com/v1/files/…"), fetched with the
// application JWT (Voice API reference, "Recording"; Vonage keeps
// recordings 30 days). The caller reads and closes the body; ctx bounds
// the whole download. It is retried on nothing: a GET that failed is the
// caller's to repeat.
//
// The URL must be https on one of Vonage's API hosts by exact name (or
// the configured API URL's host) with a /v1/files/{id} path; a redirect
// is not followed; at most the client's limit (WithMaxRecordingBytes) is
// read. Errors: ErrUntrustedURL for any other URL, before any request;
// ErrRecordingTooLarge when Content-Length says more than the limit,
// and from the body's Read once more than the limit has come; an
// *APIError (ErrCallNotFound for a 404: unknown or deleted;
// ErrRedirected for a 3xx) for a status other than 2xx; else the
// transport's.
func (c *Client) Recording(ctx context.Context, recordingURL string) (io.ReadCloser, error) {
	u, err := url.Parse(recordingURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("%w: recording URL %q is not an absolute URL", ErrAPIRequest, truncate(recordingURL))
	}
	if !c.trusted(u) || !recordingPath.MatchString(u.Path) || u.RawPath != "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("%w: recording URL %q", ErrUntrustedURL, truncate(recordingURL))
	}
	tok, err := c.Token()
	if err != nil {
		return nil, fmt.Errorf("voice: recording: mint token: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("voice: recording: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := c.files.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("voice: recording: %w", err)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if resp.ContentLength > c.maxRecording {
			resp.Body.Close()
			return nil, fmt.Errorf("%w: Content-Length %d, limit %d", ErrRecordingTooLarge, resp.ContentLength, c.maxRecording)
		}
		return &limitedBody{rc: resp.Body, left: c.maxRecording, limit: c.maxRecording}, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if len(b) > 512 {
		b = b[:512]
	}
	return nil, newAPIError(resp.StatusCode, b, &rest.HTTPError{StatusCode: resp.StatusCode, Method: http.MethodGet, URL: u.Redacted(), Body: string(b)})
}

// limitedBody reads at most limit bytes of rc; past them, Read fails with
// ErrRecordingTooLarge (io.LimitReader would end in a silent, truncated
// io.EOF).
type limitedBody struct {
	rc          io.ReadCloser
	left, limit int64
}

func (l *limitedBody) Read(p []byte) (int, error) {
	if l.left <= 0 {
		// One byte more than the limit tells a body of exactly the
		// limit (io.EOF) from a longer one.
		var one [1]byte
		n, err := l.rc.Read(one[:])
		if n > 0 {
			return 0, fmt.Errorf("%w: more than %d bytes", ErrRecordingTooLarge, l.limit)
		}
		return 0, err
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.rc.Read(p)
	l.left -= int64(n)
	return n, err
}

func (l *limitedBody) Close() error { return l.rc.Close() }
