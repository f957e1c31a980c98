package insight

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/voiceproxy/voiceproxy/internal/rest"
)

// AsyncResponse is Vonage's acknowledgement of an asynchronous Advanced
// lookup: the result comes later, to the callback URL.
type AsyncResponse struct {
	// RequestID identifies the lookup; the callback carries it too.
	RequestID        string      `json:"request_id"`
	Number           string      `json:"number"`
	RemainingBalance rest.Amount `json:"remaining_balance"`
	RequestPrice     rest.Amount `json:"request_price"`
	// Status is 0 when the lookup was accepted.
	Status int `json:"status"`
	// ErrorText is Vonage's text for Status.
	ErrorText string `json:"error_text"`
}

// AdvancedAsync starts an Advanced lookup whose result Vonage posts, as
// JSON, to callbackURL (an http or https URL you serve; read it with
// ParseAdvancedCallback). Vonage recommends it over Advanced, which can
// take seconds. A refused lookup is an *Error, like the synchronous
// levels'. It is retried like them: the lookup is charged when it is
// performed, and a refused one is not.
// Vonage API: GET https://api.nexmo.com/ni/advanced/async/json.
func (c *Client) AdvancedAsync(ctx context.Context, req Request, callbackURL string) (*AsyncResponse, error) {
	if !strings.HasPrefix(callbackURL, "https://") && !strings.HasPrefix(callbackURL, "http://") {
		return nil, fmt.Errorf("%w: callback %q is not an http or https URL", ErrInvalidRequest, callbackURL)
	}
	q, err := advanced.query(req)
	if err != nil {
		return nil, err
	}
	q.Set("callback", callbackURL)
	var out AsyncResponse
	err = c.rest.Do(ctx, &rest.Request{
		Method: http.MethodGet,
		Path:   "/ni/advanced/async/json",
		Query:  q,
		Auth:   rest.AuthQuery,
		Check:  check,
	}, &out)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, ctxErr
		}
		var ie *Error
		if errors.As(err, &ie) {
			return nil, ie
		}
		return nil, fmt.Errorf("insight: advanced async lookup: %w", err)
	}
	return &out, nil
}

// maxCallbackBytes bounds a callback body.
const maxCallbackBytes = 64 << 10

// ParseAdvancedCallback reads the result of an AdvancedAsync lookup from
// the request Vonage posts to its callback URL: an Advanced response in
// JSON (the API description's asyncCallback). Statuses 43–45 return the
// partial response with an error matching ErrLookupNotReturned; other
// non-zero statuses an *Error and no response. The callback is not
// signed: match its RequestID with one AdvancedAsync returned.
func ParseAdvancedCallback(r *http.Request) (*AdvancedResponse, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxCallbackBytes+1))
	if err != nil {
		return nil, fmt.Errorf("insight: read callback: %w", err)
	}
	if len(body) > maxCallbackBytes {
		return nil, fmt.Errorf("%w: callback body over %d bytes", ErrInvalidRequest, maxCallbackBytes)
	}
	if err := check(&rest.Response{StatusCode: http.StatusOK, Body: body}); err != nil {
		return nil, err
	}
	var out AdvancedResponse
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, fmt.Errorf("%w: callback is not an Advanced response: %v", ErrInvalidRequest, err)
	}
	if out.RequestID == "" {
		return nil, fmt.Errorf("%w: callback has no request_id", ErrInvalidRequest)
	}
	if out.Status != 0 {
		return &out, &Error{HTTPStatus: http.StatusOK, Status: out.Status, StatusMessage: out.StatusMessage, RequestID: out.RequestID}
	}
	return &out, nil
}
