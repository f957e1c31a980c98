package sms

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Send status sentinels, one per status code the SMS API documents. A
// *SendError matches (errors.Is) the sentinel of each failed part's status;
// an *HTTPError for HTTP 429 matches ErrThrottled.
var (
	ErrThrottled          = errors.New("sms: throttled (status 1)")
	ErrMissingParams      = errors.New("sms: missing parameters (status 2)")
	ErrInvalidParams      = errors.New("sms: invalid parameters (status 3)")
	ErrInvalidCredentials = errors.New("sms: invalid credentials (status 4)")
	ErrInternal           = errors.New("sms: internal error (status 5)")
	ErrInvalidMessage     = errors.New("sms: invalid message (status 6)")
	ErrNumberBarred       = errors.New("sms: number barred (status 7)")
	ErrAccountBarred      = errors.New("sms: partner account barred (status 8)")
	ErrInsufficientCredit = errors.New("sms: partner quota violation, insufficient credit (status 9)")
	ErrTooManyBinds       = errors.New("sms: too many existing binds (status 10)")
	ErrAccountNotEnabled  = errors.New("sms: account not enabled for HTTP (status 11)")
	ErrMessageTooLong     = errors.New("sms: message too long (status 12)")
	ErrInvalidSignature   = errors.New("sms: invalid signature (status 14)")
	ErrInvalidSender      = errors.New("sms: invalid sender address (status 15)")
	ErrInvalidNetworkCode = errors.New("sms: invalid network code (status 22)")
	ErrInvalidCallback    = errors.New("sms: invalid callback URL (status 23)")
	ErrNonWhitelisted     = errors.New("sms: non-whitelisted destination, demo account (status 29)")
	ErrSignatureAndSecret = errors.New("sms: signature and API secret disallowed (status 32)")
	ErrNumberDeactivated  = errors.New("sms: number de-activated (status 33)")

	// Statuses Vonage no longer uses (Java SDK's MessageStatus marks
	// them so; the 2021 API description lists none of them), named so
	// that an old or unexpected answer still reads as what it was.
	ErrCommsFailure        = errors.New("sms: communication failure (status 13, no longer used)")
	ErrInvalidTTL          = errors.New("sms: invalid TTL (status 16, no longer used)")
	ErrNumberUnreachable   = errors.New("sms: number unreachable (status 17, no longer used)")
	ErrTooManyDestinations = errors.New("sms: too many destinations (status 18, no longer used)")
	ErrFacilityNotAllowed  = errors.New("sms: facility not allowed (status 19, no longer used)")
	ErrInvalidMessageClass = errors.New("sms: invalid message class (status 20, no longer used)")
)

// Other client errors, matched with errors.Is.
var (
	// ErrUnexpectedResponse: a 2xx answer that is not a send result.
	ErrUnexpectedResponse = errors.New("sms: unexpected response from the SMS API")
	// ErrValidation: a Message was refused before sending; see *ValidationError.
	ErrValidation = errors.New("sms: invalid message")
)

// statusSentinel returns the sentinel for a documented status, or nil.
func statusSentinel(status string) error {
	switch status {
	case "1":
		return ErrThrottled
	case "2":
		return ErrMissingParams
	case "3":
		return ErrInvalidParams
	case "4":
		return ErrInvalidCredentials
	case "5":
		return ErrInternal
	case "6":
		return ErrInvalidMessage
	case "7":
		return ErrNumberBarred
	case "8":
		return ErrAccountBarred
	case "9":
		return ErrInsufficientCredit
	case "10":
		return ErrTooManyBinds
	case "11":
		return ErrAccountNotEnabled
	case "12":
		return ErrMessageTooLong
	case "14":
		return ErrInvalidSignature
	case "15":
		return ErrInvalidSender
	case "22":
		return ErrInvalidNetworkCode
	case "23":
		return ErrInvalidCallback
	case "29":
		return ErrNonWhitelisted
	case "32":
		return ErrSignatureAndSecret
	case "33":
		return ErrNumberDeactivated
	case "13":
		return ErrCommsFailure
	case "16":
		return ErrInvalidTTL
	case "17":
		return ErrNumberUnreachable
	case "18":
		return ErrTooManyDestinations
	case "19":
		return ErrFacilityNotAllowed
	case "20":
		return ErrInvalidMessageClass
	}
	return nil
}

// SendError reports a send in which at least one part was not accepted.
// Status and ErrorText are those of the first failed part; Sent lists the
// parts Vonage accepted (they will be delivered and billed), Failed the
// others.
type SendError struct {
	Status    string          // the SMS API status code, e.g. "9"
	ErrorText string          // Vonage's "error-text" for it
	Sent      []MessageStatus // parts with status "0"
	Failed    []MessageStatus // parts with any other status
}

// Error implements error.
func (e *SendError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "sms: send failed: status %s", e.Status)
	if e.ErrorText != "" {
		fmt.Fprintf(&b, " (%s)", e.ErrorText)
	}
	fmt.Fprintf(&b, "; %d of %d parts accepted", len(e.Sent), len(e.Sent)+len(e.Failed))
	return b.String()
}

// Unwrap returns the sentinels of the failed parts' statuses, so
// errors.Is(err, ErrInsufficientCredit) holds when any part failed so.
func (e *SendError) Unwrap() []error {
	var errs []error
	for _, m := range e.Failed {
		if s := statusSentinel(m.Status); s != nil && !slices.Contains(errs, s) {
			errs = append(errs, s)
		}
	}
	if len(errs) == 0 {
		if s := statusSentinel(e.Status); s != nil {
			errs = append(errs, s)
		}
	}
	return errs
}

// Temporary reports whether the failure was throttling only (every failed
// part has status 1 and none was sent), so sending again later is safe.
func (e *SendError) Temporary() bool {
	if len(e.Sent) > 0 || len(e.Failed) == 0 {
		return false
	}
	for _, m := range e.Failed {
		if m.Status != "1" {
			return false
		}
	}
	return true
}

// HTTPError reports a non-2xx answer from the SMS API. After a 5xx or a
// timeout the message may or may not have been sent.
type HTTPError struct {
	StatusCode int    // the HTTP status code
	Method     string // the request method
	URL        string // the request URL (credentials travel in the body)
	Body       string // the start of the response body
}

// Error implements error.
func (e *HTTPError) Error() string {
	msg := fmt.Sprintf("sms: %s %s: HTTP %d", e.Method, e.URL, e.StatusCode)
	if e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}

// Unwrap returns ErrThrottled for HTTP 429 and nil otherwise.
func (e *HTTPError) Unwrap() error {
	if e.StatusCode == 429 {
		return ErrThrottled
	}
	return nil
}

// ValidationError reports a Message field refused before anything is sent.
// It matches ErrValidation.
type ValidationError struct {
	Field  string // the Message field, e.g. "To"
	Reason string
}

// Error implements error.
func (e *ValidationError) Error() string {
	return fmt.Sprintf("sms: invalid message: %s: %s", e.Field, e.Reason)
}

// Unwrap returns ErrValidation.
func (e *ValidationError) Unwrap() error { return ErrValidation }
