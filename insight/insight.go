package insight

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/voiceproxy/voiceproxy/internal/rest"
)

// Request is one lookup. Number is required; the rest are optional.
type Request struct {
	// Number is the phone number, national or international format
	// ("447700900000", "+44 7700 900000", "07700 900000" with Country).
	Number string
	// Country is the ISO 3166-1 alpha-2 code, used when Number lacks a
	// country code. Lower case is accepted and sent upper case.
	Country string
	// CNAM asks for the caller name (US numbers only, extra charge).
	// Standard and Advanced only.
	CNAM bool
	// IP is the device IP to match against the number's location.
	// Advanced only; Vonage has deprecated it and may ignore it.
	IP string
}

// level is one of Vonage's three insight levels.
type level struct {
	name string // "basic", "standard", "advanced"
	cnam bool   // accepts cnam
	ip   bool   // accepts ip
}

var (
	basic    = level{name: "basic"}
	standard = level{name: "standard", cnam: true}
	advanced = level{name: "advanced", cnam: true, ip: true}
)

// Basic returns the number's formats and country.
// Vonage API: GET https://api.nexmo.com/ni/basic/json.
func (c *Client) Basic(ctx context.Context, req Request) (*BasicResponse, error) {
	var out BasicResponse
	if err := c.lookup(ctx, basic, req, &out, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Standard returns Basic's fields plus the number's carriers, porting and,
// with CNAM, the owner's name (US). Statuses 43–45 return the partial
// response together with an error matching ErrLookupNotReturned.
// Vonage API: GET https://api.nexmo.com/ni/standard/json.
func (c *Client) Standard(ctx context.Context, req Request) (*StandardResponse, error) {
	var out StandardResponse
	if err := c.lookup(ctx, standard, req, &out, &out.BasicResponse); err != nil {
		if errors.Is(err, ErrLookupNotReturned) {
			return &out, err
		}
		return nil, err
	}
	return &out, nil
}

// Advanced returns Standard's fields plus validity, reachability and
// roaming (mobile numbers). Statuses 43–45 return the partial response
// together with an error matching ErrLookupNotReturned. Vonage recommends
// the asynchronous variant for this level because it can take seconds;
// give ctx a deadline that allows for that.
// Vonage API: GET https://api.nexmo.com/ni/advanced/json.
func (c *Client) Advanced(ctx context.Context, req Request) (*AdvancedResponse, error) {
	var out AdvancedResponse
	if err := c.lookup(ctx, advanced, req, &out, &out.BasicResponse); err != nil {
		if errors.Is(err, ErrLookupNotReturned) {
			return &out, err
		}
		return nil, err
	}
	return &out, nil
}

// lookup performs one lookup, decoding into out, whose common part is b.
func (c *Client) lookup(ctx context.Context, lv level, req Request, out any, b *BasicResponse) error {
	q, err := lv.query(req)
	if err != nil {
		return err
	}
	err = c.rest.Do(ctx, &rest.Request{
		Method: http.MethodGet,
		Path:   "/ni/" + lv.name + "/json",
		Query:  q,
		Auth:   rest.AuthQuery,
		Check:  check,
	}, out)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		var ie *Error
		if errors.As(err, &ie) {
			return ie
		}
		return fmt.Errorf("insight: %s lookup: %w", lv.name, err)
	}
	if b.Status != 0 {
		// Only the partial statuses 43–45 get here: check turns every
		// other non-zero status into an error before decoding.
		return &Error{HTTPStatus: http.StatusOK, Status: b.Status, StatusMessage: b.StatusMessage, RequestID: b.RequestID}
	}
	return nil
}

// query validates req for the level and builds the query parameters.
func (lv level) query(req Request) (url.Values, error) {
	number := strings.TrimSpace(req.Number)
	if number == "" {
		return nil, fmt.Errorf("%w: number is empty", ErrInvalidRequest)
	}
	digits := 0
	for _, r := range number {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '+' || r == '-' || r == '(' || r == ')' || r == ' ' || r == '\t':
		default:
			return nil, fmt.Errorf("%w: number %q has a character other than digits, spaces, +, -, ( and )", ErrInvalidRequest, number)
		}
	}
	if digits == 0 || digits > 20 {
		return nil, fmt.Errorf("%w: number %q has %d digits", ErrInvalidRequest, number, digits)
	}
	q := url.Values{"number": {number}}
	if req.Country != "" {
		cc := strings.ToUpper(strings.TrimSpace(req.Country))
		if len(cc) != 2 || cc[0] < 'A' || cc[0] > 'Z' || cc[1] < 'A' || cc[1] > 'Z' {
			return nil, fmt.Errorf("%w: country %q is not an ISO 3166-1 alpha-2 code", ErrInvalidRequest, req.Country)
		}
		q.Set("country", cc)
	}
	if req.CNAM {
		if !lv.cnam {
			return nil, fmt.Errorf("%w: cnam is not available on the %s level", ErrInvalidRequest, lv.name)
		}
		q.Set("cnam", "true")
	}
	if req.IP != "" {
		if !lv.ip {
			return nil, fmt.Errorf("%w: ip is only available on the advanced level", ErrInvalidRequest)
		}
		if _, err := netip.ParseAddr(req.IP); err != nil {
			return nil, fmt.Errorf("%w: ip %q is not an IP address", ErrInvalidRequest, req.IP)
		}
		q.Set("ip", req.IP)
	}
	return q, nil
}

// statusProbe reads the fields every Number Insight answer shares, with a
// status that may arrive as a number or a string.
type statusProbe struct {
	Status        json.RawMessage `json:"status"`
	StatusMessage string          `json:"status_message"`
	RequestID     string          `json:"request_id"`
}

// check turns Number Insight failure statuses into *Error: status 1 is
// marked retryable (the lookup was refused, not performed); the partial
// statuses 43–45 on a 2xx answer pass through to be decoded.
func check(r *rest.Response) error {
	var p statusProbe
	status := 0
	if json.Unmarshal(r.Body, &p) == nil && len(p.Status) > 0 {
		raw := string(bytes.Trim(p.Status, `"`))
		if n, err := strconv.Atoi(raw); err == nil {
			status = n
		}
	}
	ok := r.StatusCode >= 200 && r.StatusCode < 300
	if status == 0 {
		if ok {
			return nil
		}
		return &Error{HTTPStatus: r.StatusCode, StatusMessage: r.BodyExcerpt(), cause: r.HTTPError()}
	}
	e := &Error{HTTPStatus: r.StatusCode, Status: status, StatusMessage: p.StatusMessage, RequestID: p.RequestID}
	if !ok {
		e.cause = r.HTTPError()
	}
	switch {
	case status == 1:
		return rest.Retryable(e)
	case ok && status >= 43 && status <= 45:
		return nil
	}
	return e
}
