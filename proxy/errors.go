package proxy

import (
	"errors"
	"fmt"
	"strings"

	"github.com/voiceproxy/voiceproxy/ncco"
)

// ErrInsightUnavailable is matched (errors.Is) by an *InsightError: the
// Number Insight check could not be made (outage, throttling, credit,
// timeout). It says nothing about whether the number is valid.
var ErrInsightUnavailable = errors.New("proxy: number insight unavailable")

// ErrTooManyConflicts is matched by the error CreateConversation returns
// when every allocation attempt collided with concurrent writers.
var ErrTooManyConflicts = errors.New("proxy: allocation kept conflicting")

// ErrUnauthorized is matched by the errors the webhook checks produce; the
// handler answers 401 for them.
var ErrUnauthorized = errors.New("proxy: webhook not authenticated")

// NumberError reports a participant number that was rejected. It wraps
// ErrInvalidNumber, plus the underlying cause when there is one.
type NumberError struct {
	Field string // "A" or "B"
	Input string // the number as given
	Err   error  // cause; errors.Is(e, ErrInvalidNumber) always holds
}

// Error describes the rejected number.
func (e *NumberError) Error() string {
	switch {
	case e.Err == nil || e.Err == ErrInvalidNumber:
		return fmt.Sprintf("proxy: participant %s: invalid phone number %q", e.Field, e.Input)
	case errors.Is(e.Err, ncco.ErrInvalidNumber):
		// It already names the number and says what is wrong with it.
		return fmt.Sprintf("proxy: participant %s: %v", e.Field, e.Err)
	}
	return fmt.Sprintf("proxy: participant %s: invalid phone number %q: %v", e.Field, e.Input, e.Err)
}

// Unwrap returns ErrInvalidNumber and the cause, if any.
func (e *NumberError) Unwrap() []error {
	if e.Err == nil || e.Err == ErrInvalidNumber {
		return []error{ErrInvalidNumber}
	}
	return []error{ErrInvalidNumber, e.Err}
}

// InsightError reports that the Number Insight check of a participant
// could not be made. It matches ErrInsightUnavailable and wraps the
// client's error; it does not match ErrInvalidNumber.
type InsightError struct {
	Field string // "A" or "B"
	Err   error
}

// Error describes the failed check.
func (e *InsightError) Error() string {
	return fmt.Sprintf("proxy: participant %s: number insight check failed: %v", e.Field, e.Err)
}

// Unwrap returns ErrInsightUnavailable and the client's error.
func (e *InsightError) Unwrap() []error { return []error{ErrInsightUnavailable, e.Err} }

// PoolExhaustedError reports that no proxy number is left for a
// participant. It matches ErrPoolExhausted. Nothing was written.
type PoolExhaustedError struct {
	Field   string // "A" or "B"
	Country string // the country asked for; "" when any country was allowed
}

// Error names the participant (by side, never by number) and country.
func (e *PoolExhaustedError) Error() string {
	if e.Country == "" {
		return fmt.Sprintf("proxy: number pool exhausted for participant %s", e.Field)
	}
	return fmt.Sprintf("proxy: number pool exhausted for participant %s (country %s)", e.Field, e.Country)
}

// Unwrap returns ErrPoolExhausted.
func (e *PoolExhaustedError) Unwrap() error { return ErrPoolExhausted }

// NotifyError reports that the notification SMS of one or both
// participants failed. The conversation was created and is returned
// alongside this error.
type NotifyError struct {
	// Failed maps "A" and/or "B" to the send error.
	Failed map[string]error
}

// Error lists the participants whose SMS failed.
func (e *NotifyError) Error() string {
	var b strings.Builder
	b.WriteString("proxy: conversation created but notification failed for")
	for _, f := range [...]string{"A", "B"} {
		if err, ok := e.Failed[f]; ok {
			fmt.Fprintf(&b, " participant %s (%v);", f, err)
		}
	}
	return strings.TrimSuffix(b.String(), ";")
}

// Unwrap returns the send errors, A's first.
func (e *NotifyError) Unwrap() []error {
	var errs []error
	for _, f := range [...]string{"A", "B"} {
		if err, ok := e.Failed[f]; ok {
			errs = append(errs, err)
		}
	}
	return errs
}
