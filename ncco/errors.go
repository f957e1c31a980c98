package ncco

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// ErrInvalid is matched by errors.Is for every *ValidationError, so callers
// can tell "this NCCO would be rejected" from other failures.
var ErrInvalid = errors.New("invalid NCCO")

// ErrUnknownAction is wrapped when decoding meets an action name this
// package does not know (Vonage would reject the NCCO too).
var ErrUnknownAction = errors.New("unknown action")

// ErrUnknownEndpoint is wrapped when decoding meets a connect endpoint type
// this package does not know.
var ErrUnknownEndpoint = errors.New("unknown endpoint type")

// ValidationError says what in an NCCO Vonage would not accept.
// Validate returns one per problem, several joined with errors.Join.
type ValidationError struct {
	// Index is the action's position in the NCCO, or -1 when an action was
	// validated on its own (or the problem is with the NCCO as a whole).
	Index int
	// Action is the action name ("connect"), empty for the NCCO as a whole.
	Action string
	// Field is the JSON name of the field at fault, with a path for nested
	// values ("endpoint[0].number", "speech.maxDuration"); empty when the
	// problem is with the action or NCCO as a whole.
	Field string
	// Reason says what is wrong, in words.
	Reason string
	// Err is an underlying cause, such as an error wrapping
	// ErrInvalidNumber, or nil.
	Err error
}

// Error formats the error as "ncco: action 1 (connect): endpoint[0].number: reason".
func (e *ValidationError) Error() string {
	return "ncco: " + where(e.Index, e.Action, e.Field) + e.Reason
}

// Unwrap returns the underlying cause, if any.
func (e *ValidationError) Unwrap() error { return e.Err }

// Is reports whether target is ErrInvalid.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

// UnmarshalError says where decoding an NCCO failed: an unknown action or
// endpoint type, a missing "action", or a field whose JSON type is wrong.
type UnmarshalError struct {
	// Index is the action's position in the NCCO, or -1 when a single
	// action was decoded on its own.
	Index int
	// Action is the action name as written in the JSON (may be empty when
	// it was missing).
	Action string
	// Field is the JSON path of the field at fault ("loop",
	// "endpoint[0].number"), or empty.
	Field string
	// Err is the cause: ErrUnknownAction, ErrUnknownEndpoint, or an error
	// from encoding/json.
	Err error
}

// Error formats the error as "ncco: action 2 (talk): loop: reason".
func (e *UnmarshalError) Error() string {
	msg := "<nil>"
	if e.Err != nil {
		msg = e.Err.Error()
		if te, ok := e.Err.(*json.UnmarshalTypeError); ok {
			msg = fmt.Sprintf("JSON %s cannot be decoded into a Go %v", te.Value, te.Type)
		}
	}
	return "ncco: " + where(e.Index, e.Action, e.Field) + msg
}

// Unwrap returns the cause.
func (e *UnmarshalError) Unwrap() error { return e.Err }

func where(index int, action, field string) string {
	s := ""
	switch {
	case index >= 0 && action != "":
		s = "action " + strconv.Itoa(index) + " (" + action + "): "
	case index >= 0:
		s = "action " + strconv.Itoa(index) + ": "
	case action != "":
		s = action + ": "
	}
	if field != "" {
		s += field + ": "
	}
	return s
}
