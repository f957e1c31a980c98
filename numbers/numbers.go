package numbers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/voiceproxy/voiceproxy/internal/rest"
)

// maxPageSize is the largest page Vonage serves.
const maxPageSize = 100

// maxListPages bounds ListAll whatever the server reports (100 000
// numbers at the largest page size).
const maxListPages = 1000

// Search lists numbers available to buy in country.
// Vonage API: GET https://rest.nexmo.com/number/search.
func (c *Client) Search(ctx context.Context, country string, opts SearchOptions) (*SearchResult, error) {
	cc, err := checkCountry(country)
	if err != nil {
		return nil, err
	}
	q := url.Values{"country": {cc}}
	if opts.Type != "" {
		q.Set("type", opts.Type)
	}
	if err := setPattern(q, opts.Pattern, opts.SearchPattern); err != nil {
		return nil, err
	}
	if len(opts.Features) > 0 {
		f, err := features(opts.Features)
		if err != nil {
			return nil, err
		}
		q.Set("features", f)
	}
	if err := setPage(q, opts.Size, opts.Index); err != nil {
		return nil, err
	}
	var out SearchResult
	if err := c.do(ctx, http.MethodGet, "/number/search", q, nil, true, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Buy rents msisdn (E.164, "+" optional) in country for the account. It is
// never retried once Vonage may have acted on it: only a 429 or a failure
// to connect is tried again. An *Error matching ErrMethodFailed (420) means
// Vonage refused; see ErrMethodFailed for the usual reasons.
// Vonage API: POST https://rest.nexmo.com/number/buy.
func (c *Client) Buy(ctx context.Context, country, msisdn string, opts ...ActionOption) error {
	return c.numberAction(ctx, "/number/buy", country, msisdn, opts)
}

// Cancel ends the account's rental of msisdn in country. Like Buy, it is
// never retried once Vonage may have acted on it.
// Vonage API: POST https://rest.nexmo.com/number/cancel.
func (c *Client) Cancel(ctx context.Context, country, msisdn string, opts ...ActionOption) error {
	return c.numberAction(ctx, "/number/cancel", country, msisdn, opts)
}

// ActionOption adds to a Buy or Cancel request.
type ActionOption func(url.Values)

// ForSubaccount buys or cancels the number for the subaccount with this
// API key (the target_api_key parameter) instead of for the account
// itself.
func ForSubaccount(apiKey string) ActionOption {
	return func(form url.Values) {
		if apiKey != "" {
			form.Set("target_api_key", apiKey)
		}
	}
}

func (c *Client) numberAction(ctx context.Context, path, country, msisdn string, opts []ActionOption) error {
	form, err := numberForm(country, msisdn)
	if err != nil {
		return err
	}
	for _, o := range opts {
		o(form)
	}
	return c.do(ctx, http.MethodPost, path, nil, form, false, nil)
}

// Update changes a number's routing: link it to an application (AppID) or
// set its webhooks and voice forwarding. Only non-empty fields are sent,
// and moHttpUrl empty when ClearMoHTTPURL asks for it (which removes the
// inbound-SMS webhook).
// Setting the same values twice is harmless, so Update is retried like a
// read.
// Vonage API: POST https://rest.nexmo.com/number/update.
func (c *Client) Update(ctx context.Context, req UpdateRequest) error {
	form, err := numberForm(req.Country, req.MSISDN)
	if err != nil {
		return err
	}
	if (req.VoiceCallbackType == "") != (req.VoiceCallbackValue == "") {
		return fmt.Errorf("%w: voiceCallbackType and voiceCallbackValue must be set together", ErrInvalidRequest)
	}
	switch req.VoiceCallbackType {
	case "", "sip", "tel", "app":
	default:
		return fmt.Errorf("%w: voiceCallbackType %q is not sip, tel or app", ErrInvalidRequest, req.VoiceCallbackType)
	}
	if (req.MessagesCallbackType == "") != (req.MessagesCallbackValue == "") {
		return fmt.Errorf("%w: messagesCallbackType and messagesCallbackValue must be set together", ErrInvalidRequest)
	}
	if req.ClearMoHTTPURL && req.MoHTTPURL != "" {
		return fmt.Errorf("%w: MoHTTPURL and ClearMoHTTPURL together", ErrInvalidRequest)
	}
	if req.ClearMoHTTPURL {
		form.Set("moHttpUrl", "")
	}
	for _, kv := range [...][2]string{
		{"app_id", req.AppID},
		{"moHttpUrl", req.MoHTTPURL},
		{"moSmppSysType", req.MoSMPPSysType},
		{"voiceCallbackType", req.VoiceCallbackType},
		{"voiceCallbackValue", req.VoiceCallbackValue},
		{"voiceStatusCallback", req.VoiceStatusCallback},
		{"messagesCallbackType", req.MessagesCallbackType},
		{"messagesCallbackValue", req.MessagesCallbackValue},
	} {
		if kv[1] != "" {
			form.Set(kv[0], kv[1])
		}
	}
	return c.do(ctx, http.MethodPost, "/number/update", nil, form, true, nil)
}

// List returns one page of the numbers the account owns.
// Vonage API: GET https://rest.nexmo.com/account/numbers.
func (c *Client) List(ctx context.Context, opts ListOptions) (*ListResult, error) {
	q := url.Values{}
	if opts.ApplicationID != "" {
		q.Set("application_id", opts.ApplicationID)
	}
	if opts.HasApplication != nil {
		q.Set("has_application", strconv.FormatBool(*opts.HasApplication))
	}
	if opts.Country != "" {
		cc, err := checkCountry(opts.Country)
		if err != nil {
			return nil, err
		}
		q.Set("country", cc)
	}
	if err := setPattern(q, opts.Pattern, opts.SearchPattern); err != nil {
		return nil, err
	}
	if err := setPage(q, opts.Size, opts.Index); err != nil {
		return nil, err
	}
	var out ListResult
	if err := c.do(ctx, http.MethodGet, "/account/numbers", q, nil, true, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListAll walks every page of List (100 numbers a page unless opts.Size
// says otherwise, from opts.Index or page 1) and returns the numbers, each
// once. It stops when it holds as many numbers as the reported count or
// meets an empty page; a server that keeps answering without getting
// there (a page with nothing new, or more pages than the count allows)
// gives an error matching ErrPagination.
func (c *Client) ListAll(ctx context.Context, opts ListOptions) ([]OwnedNumber, error) {
	if opts.Size == 0 {
		opts.Size = maxPageSize
	}
	if opts.Index == 0 {
		opts.Index = 1
	}
	var all []OwnedNumber
	seen := map[string]bool{}
	limit := maxListPages
	for pages := 0; ; pages++ {
		if pages >= limit {
			return nil, fmt.Errorf("%w: %d pages read, %d numbers held", ErrPagination, pages, len(all))
		}
		page, err := c.List(ctx, opts)
		if err != nil {
			return nil, err
		}
		if pages == 0 {
			// The count bounds the pages; allow one extra for numbers
			// added while walking.
			limit = min(maxListPages, (page.Count+opts.Size-1)/opts.Size+1)
		}
		if len(page.Numbers) == 0 {
			return all, nil
		}
		added := 0
		for _, n := range page.Numbers {
			k := n.Country + "/" + n.MSISDN
			if !seen[k] {
				seen[k] = true
				all = append(all, n)
				added++
			}
		}
		if len(all) >= page.Count {
			return all, nil
		}
		if added == 0 {
			return nil, fmt.Errorf("%w: page %d repeated numbers already seen", ErrPagination, opts.Index)
		}
		opts.Index++
	}
}

// do sends one request. The credentials go in the query string, for POSTs
// too, as the published API description's security schemes say (api_key
// and api_secret "in: query" for every operation); or in a Basic header
// with WithBasicAuth.
func (c *Client) do(ctx context.Context, method, path string, q, form url.Values, idempotent bool, out any) error {
	auth := rest.AuthQuery
	if c.basicAuth {
		auth = rest.AuthBasic
	}
	err := c.rest.Do(ctx, &rest.Request{
		Method:     method,
		Path:       path,
		Query:      q,
		Form:       form,
		Auth:       auth,
		Idempotent: idempotent,
		Check:      check,
	}, out)
	if err == nil {
		return nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	var ne *Error
	if errors.As(err, &ne) {
		return ne
	}
	return fmt.Errorf("numbers: %s %s: %w", method, path, err)
}

// codeProbe reads a Numbers API status body; error-code is documented as a
// string but read as a number too.
type codeProbe struct {
	Code  json.RawMessage `json:"error-code"`
	Label string          `json:"error-code-label"`
}

// check turns {"error-code","error-code-label"} failures and HTTP errors
// into *Error. A 429 code is marked retryable: the request was refused.
func check(r *rest.Response) error {
	var p codeProbe
	code := ""
	if json.Unmarshal(r.Body, &p) == nil && len(p.Code) > 0 {
		code = string(bytes.Trim(p.Code, `"`))
	}
	ok := r.StatusCode >= 200 && r.StatusCode < 300
	switch {
	case ok && (code == "" || code == "200"):
		return nil
	case code == "" || code == "200":
		return &Error{HTTPStatus: r.StatusCode, Code: strconv.Itoa(r.StatusCode), Label: r.BodyExcerpt(), cause: r.HTTPError()}
	}
	e := &Error{HTTPStatus: r.StatusCode, Code: code, Label: p.Label}
	if !ok {
		e.cause = r.HTTPError()
	}
	if code == "429" {
		return rest.Retryable(e)
	}
	return e
}

func checkCountry(country string) (string, error) {
	cc := strings.ToUpper(strings.TrimSpace(country))
	if len(cc) != 2 || cc[0] < 'A' || cc[0] > 'Z' || cc[1] < 'A' || cc[1] > 'Z' {
		return "", fmt.Errorf("%w: country %q is not an ISO 3166-1 alpha-2 code", ErrInvalidRequest, country)
	}
	return cc, nil
}

// numberForm validates a country and msisdn and starts a POST form.
func numberForm(country, msisdn string) (url.Values, error) {
	cc, err := checkCountry(country)
	if err != nil {
		return nil, err
	}
	m := strings.TrimPrefix(strings.TrimSpace(msisdn), "+")
	if len(m) < 6 || len(m) > 15 {
		return nil, fmt.Errorf("%w: msisdn %q is not 6 to 15 digits", ErrInvalidRequest, msisdn)
	}
	for _, r := range m {
		if r < '0' || r > '9' {
			return nil, fmt.Errorf("%w: msisdn %q is not digits only (E.164 without spaces)", ErrInvalidRequest, msisdn)
		}
	}
	return url.Values{"country": {cc}, "msisdn": {m}}, nil
}

func setPattern(q url.Values, pattern string, searchPattern int) error {
	if searchPattern < SearchStartsWith || searchPattern > SearchEndsWith {
		return fmt.Errorf("%w: search_pattern %d is not 0, 1 or 2", ErrInvalidRequest, searchPattern)
	}
	if pattern == "" {
		if searchPattern != SearchStartsWith {
			return fmt.Errorf("%w: search_pattern without a pattern", ErrInvalidRequest)
		}
		return nil
	}
	q.Set("pattern", pattern)
	q.Set("search_pattern", strconv.Itoa(searchPattern))
	return nil
}

func setPage(q url.Values, size, index int) error {
	if size < 0 || size > maxPageSize {
		return fmt.Errorf("%w: size %d is not 1 to %d", ErrInvalidRequest, size, maxPageSize)
	}
	if index < 0 {
		return fmt.Errorf("%w: negative index %d", ErrInvalidRequest, index)
	}
	if size > 0 {
		q.Set("size", strconv.Itoa(size))
	}
	if index > 0 {
		q.Set("index", strconv.Itoa(index))
	}
	return nil
}

// featureSets maps a sorted feature set to the spelling the Numbers API
// documents for it.
var featureSets = map[string]string{
	"SMS":           "SMS",
	"VOICE":         "VOICE",
	"MMS":           "MMS",
	"SMS,VOICE":     "SMS,VOICE",
	"MMS,SMS":       "SMS,MMS",
	"MMS,VOICE":     "VOICE,MMS",
	"MMS,SMS,VOICE": "SMS,MMS,VOICE",
}

// features validates fs and spells the set as the API documents it.
func features(fs []string) (string, error) {
	set := map[string]bool{}
	for _, f := range fs {
		u := strings.ToUpper(strings.TrimSpace(f))
		if u != FeatureSMS && u != FeatureVoice && u != FeatureMMS {
			return "", fmt.Errorf("%w: feature %q is not SMS, VOICE or MMS", ErrInvalidRequest, f)
		}
		set[u] = true
	}
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return featureSets[strings.Join(keys, ",")], nil
}
