package insight

import (
	"errors"
	"fmt"
	"net/http"
)

// Sentinels matched with errors.Is against an *Error (by its Vonage status,
// or by its HTTP status when the answer carried none).
var (
	// ErrThrottled: status 1, or HTTP 429. More requests per second than the
	// account allows; the client retries these itself before giving up.
	ErrThrottled = errors.New("insight: throttled")
	// ErrInvalidRequest: status 3, the number or another parameter is
	// missing or invalid. Also wrapped by the client's own input checks.
	ErrInvalidRequest = errors.New("insight: invalid request")
	// ErrAuth: status 4, or HTTP 401/403. Bad or disabled api_key/api_secret.
	ErrAuth = errors.New("insight: invalid credentials")
	// ErrInternal: HTTP 5xx. Vonage failed to process the lookup.
	ErrInternal = errors.New("insight: internal error")
	// ErrInvalidNumber: status 5, which the API description words
	// "Internal Error - the format of the recipient address is not
	// valid": the number itself was refused, so this is bad input, not an
	// outage. It matches ErrInvalidRequest too.
	ErrInvalidNumber = errors.New("insight: the number's format is not valid")
	// ErrInsufficientCredit: status 9, "partner quota exceeded": the
	// account lacks credit for the lookup.
	ErrInsufficientCredit = errors.New("insight: insufficient credit")
	// ErrFacilityNotAllowed: status 19, the request uses a feature not
	// enabled on the account.
	ErrFacilityNotAllowed = errors.New("insight: facility not allowed")
	// ErrLookupNotReturned: statuses 43, 44 and 45, the live mobile lookup
	// did not answer. Standard and Advanced return the partial response
	// together with the error.
	ErrLookupNotReturned = errors.New("insight: live lookup not returned")
	// ErrUnparseable: status 999, Vonage could not parse the request.
	ErrUnparseable = errors.New("insight: request unparseable")
)

// Error is a failed lookup: a non-zero Number Insight status in the body,
// or an HTTP error status. Use errors.Is with the sentinels above to tell
// the kinds apart and errors.As to read the details.
type Error struct {
	// HTTPStatus is the HTTP status code of the answer (200 for most
	// Number Insight failures, which arrive in the body).
	HTTPStatus int
	// Status is Vonage's status code; 0 when the answer had none (an HTTP
	// error without a Number Insight body).
	Status int
	// StatusMessage is Vonage's status_message, or the start of the body
	// for HTTP errors without one.
	StatusMessage string
	// RequestID is Vonage's request_id when present.
	RequestID string

	cause error
}

// Error implements error. It never contains the api_secret.
func (e *Error) Error() string {
	msg := ""
	if e.Status != 0 {
		msg = fmt.Sprintf("insight: status %d", e.Status)
		if e.HTTPStatus != 0 && e.HTTPStatus != http.StatusOK {
			msg += fmt.Sprintf(" (HTTP %d)", e.HTTPStatus)
		}
	} else {
		msg = fmt.Sprintf("insight: HTTP %d", e.HTTPStatus)
	}
	if e.StatusMessage != "" {
		msg += ": " + e.StatusMessage
	}
	if e.RequestID != "" {
		msg += " (request " + e.RequestID + ")"
	}
	return msg
}

// Unwrap returns the underlying HTTP error, if any.
func (e *Error) Unwrap() error { return e.cause }

// Is reports whether target is the sentinel for e's status (status 5
// matches ErrInvalidRequest as well as ErrInvalidNumber).
func (e *Error) Is(target error) bool {
	if target == nil {
		return false
	}
	s := e.sentinel()
	return s == target || (s == ErrInvalidNumber && target == ErrInvalidRequest)
}

func (e *Error) sentinel() error {
	switch e.Status {
	case 0:
	case 1:
		return ErrThrottled
	case 3:
		return ErrInvalidRequest
	case 4:
		return ErrAuth
	case 5:
		return ErrInvalidNumber
	case 9:
		return ErrInsufficientCredit
	case 19:
		return ErrFacilityNotAllowed
	case 43, 44, 45:
		return ErrLookupNotReturned
	case 999:
		return ErrUnparseable
	default:
		return nil
	}
	switch {
	case e.HTTPStatus == http.StatusTooManyRequests:
		return ErrThrottled
	case e.HTTPStatus == http.StatusUnauthorized || e.HTTPStatus == http.StatusForbidden:
		return ErrAuth
	case e.HTTPStatus >= 500:
		return ErrInternal
	case e.HTTPStatus == http.StatusBadRequest:
		return ErrInvalidRequest
	}
	return nil
}
