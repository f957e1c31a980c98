package numbers

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
)

// Sentinels matched with errors.Is against an *Error (by its error-code,
// or by its HTTP status when the body carried none).
var (
	// ErrInvalidRequest: error-code 400, or an argument the client itself
	// rejected before sending anything.
	ErrInvalidRequest = errors.New("numbers: invalid request")
	// ErrAuth: error-code 401 (or HTTP 401/403), "authentication failed":
	// wrong or disabled api_key/api_secret.
	ErrAuth = errors.New("numbers: authentication failed")
	// ErrMethodFailed: error-code 420, "method failed". Vonage understood
	// the request but would not carry it out. Likely causes:
	//   - Buy: the number was bought by someone else since it was listed, or
	//     the account already owns it; the country needs an address or
	//     documents and numbers there can only be bought in the Dashboard;
	//     the account balance does not cover the first month's rental.
	//   - Cancel/Update: the account does not own the number (wrong msisdn
	//     or country), or it is owned by another (sub)account.
	//   - Update: moHttpUrl did not answer Vonage's check request with 200,
	//     app_id names no application of the account, or a
	//     voiceCallbackType/Value pair is invalid.
	// Label carries Vonage's own explanation; show it to the operator.
	ErrMethodFailed = errors.New("numbers: method failed")
	// ErrThrottled: error-code 429 or HTTP 429, too many requests. The
	// client retries these itself before giving up.
	ErrThrottled = errors.New("numbers: throttled")
	// ErrServer: HTTP 5xx, Vonage failed.
	ErrServer = errors.New("numbers: server error")
	// ErrPagination: ListAll stopped because the server kept answering
	// pages without reaching the count it reported.
	ErrPagination = errors.New("numbers: pagination did not end")
)

// Error is a failed Numbers API call: a body with "error-code" other than
// "200" (whatever the HTTP status), or an HTTP error status.
type Error struct {
	// HTTPStatus is the HTTP status code of the answer.
	HTTPStatus int
	// Code is Vonage's "error-code", e.g. "401", "420"; the HTTP status as
	// a string when the body had none.
	Code string
	// Label is Vonage's "error-code-label", e.g. "authentication failed";
	// the start of the body when it had none.
	Label string

	cause error
}

// Error implements error. It never contains the api_secret.
func (e *Error) Error() string {
	msg := fmt.Sprintf("numbers: error-code %s", e.Code)
	if e.HTTPStatus != 0 && strconv.Itoa(e.HTTPStatus) != e.Code {
		msg += fmt.Sprintf(" (HTTP %d)", e.HTTPStatus)
	}
	if e.Label != "" {
		msg += ": " + e.Label
	}
	return msg
}

// Unwrap returns the underlying HTTP error, if any.
func (e *Error) Unwrap() error { return e.cause }

// Is reports whether target is the sentinel for e's code.
func (e *Error) Is(target error) bool {
	return target != nil && e.sentinel() == target
}

func (e *Error) sentinel() error {
	code, err := strconv.Atoi(e.Code)
	if err != nil {
		code = e.HTTPStatus
	}
	switch {
	case code == http.StatusBadRequest:
		return ErrInvalidRequest
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return ErrAuth
	case code == 420:
		return ErrMethodFailed
	case code == http.StatusTooManyRequests:
		return ErrThrottled
	case code >= 500 && code <= 599:
		return ErrServer
	}
	return nil
}
