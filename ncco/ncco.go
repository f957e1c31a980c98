package ncco

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
)

// Action is one step of an NCCO: Record, Conversation, Connect, Talk,
// Stream, Input, Notify, Wait or Transfer. The set is closed: only this package's
// types implement Action.
//
// Use the structs as values (ncco.Talk{...}); pointers to them work too.
type Action interface {
	// Kind is the action's name as written in the JSON "action" field.
	Kind() string
	// Validate reports what Vonage would not accept in this action, as
	// *ValidationError values (several joined with errors.Join), or nil.
	Validate() error

	// problems lists what is wrong with the action; it also seals the
	// interface.
	problems() []*ValidationError
}

// NCCO is a Call Control Object: the list of actions Vonage runs, in order,
// for a call. It marshals to a JSON array in which every action carries its
// own "action" field.
type NCCO []Action

// MarshalJSON writes the NCCO as a JSON array. A nil NCCO is written as an
// empty array (which Validate rejects); a nil action is an error.
func (n NCCO) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('[')
	for i, a := range n {
		if isNil(a) {
			return nil, &ValidationError{Index: i, Reason: "action is nil"}
		}
		b, err := json.Marshal(a)
		if err != nil {
			return nil, fmt.Errorf("ncco: action %d (%s): %w", i, a.Kind(), err)
		}
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(b)
	}
	buf.WriteByte(']')
	return buf.Bytes(), nil
}

// UnmarshalJSON decodes a JSON array of actions; see Unmarshal.
func (n *NCCO) UnmarshalJSON(data []byte) error {
	got, err := Unmarshal(data)
	if err != nil {
		return err
	}
	*n = got
	return nil
}

// Unmarshal decodes an NCCO: a JSON array of action objects, each decoded
// into its typed struct by its "action" field (and each connect endpoint by
// its "type").
//
// It fails with an *UnmarshalError naming the action's index and name when
// an action is missing its "action" field, names an action or endpoint type
// this package does not know (wrapping ErrUnknownAction or
// ErrUnknownEndpoint), or has a field of the wrong JSON type.
//
// Fields this package does not know are ignored, as Vonage itself ignores
// fields it does not document; they are not kept, so they do not survive
// a round trip. UnmarshalStrict refuses them instead, naming where they
// are. Other spellings the SDKs write ("contentType", and
// "advancedMachineDetection") are read as the documented keys.
// Unmarshal does not validate: call Validate on the result for that.
func Unmarshal(data []byte) (NCCO, error) {
	var raws []json.RawMessage
	if err := json.Unmarshal(data, &raws); err != nil {
		return nil, &UnmarshalError{Index: -1, Err: fmt.Errorf("an NCCO must be a JSON array of objects: %w", err)}
	}
	if raws == nil {
		return nil, &UnmarshalError{Index: -1, Err: errors.New("an NCCO must be a JSON array, not null")}
	}
	n := make(NCCO, 0, len(raws))
	for i, raw := range raws {
		a, err := unmarshalAction(raw)
		if err != nil {
			var ue *UnmarshalError
			if errors.As(err, &ue) {
				c := *ue
				c.Index = i
				return nil, &c
			}
			return nil, &UnmarshalError{Index: i, Err: err}
		}
		n = append(n, a)
	}
	return n, nil
}

// actionDecoders maps each action name to a function decoding its JSON.
var actionDecoders = map[string]func([]byte) (Action, error){
	KindRecord:       decodeAs[Record],
	KindConversation: decodeAs[Conversation],
	KindConnect:      decodeAs[Connect],
	KindTalk:         decodeAs[Talk],
	KindStream:       decodeAs[Stream],
	KindInput:        decodeAs[Input],
	KindNotify:       decodeAs[Notify],
	KindWait:         decodeAs[Wait],
	KindTransfer:     decodeAs[Transfer],
}

// decodeAs decodes data into a T. T's own UnmarshalJSON, if any, runs.
func decodeAs[T any, PT interface {
	*T
	Action
}](data []byte) (Action, error) {
	var v T
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, err
	}
	return PT(&v), nil
}

func unmarshalAction(raw []byte) (Action, error) {
	kind, err := discriminator(raw, "action")
	if err != nil {
		return nil, &UnmarshalError{Index: -1, Err: err}
	}
	decode, ok := actionDecoders[kind]
	if !ok {
		return nil, &UnmarshalError{Index: -1, Action: kind, Err: fmt.Errorf("%w %q", ErrUnknownAction, kind)}
	}
	a, err := decode(raw)
	if err != nil {
		return nil, asUnmarshalError(kind, "", err)
	}
	return deref(a), nil
}

// deref turns the *T that decodeAs produced into a T, so decoded NCCOs hold
// values like the ones people write by hand.
func deref(a Action) Action {
	switch v := a.(type) {
	case *Record:
		return *v
	case *Conversation:
		return *v
	case *Connect:
		return *v
	case *Talk:
		return *v
	case *Stream:
		return *v
	case *Input:
		return *v
	case *Notify:
		return *v
	case *Wait:
		return *v
	case *Transfer:
		return *v
	}
	return a
}

// discriminator reads the string member key ("action" or "type") of a JSON
// object, matching the key exactly (encoding/json alone would also accept
// "Action").
func discriminator(raw []byte, key string) (string, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		return "", fmt.Errorf("want a JSON object with a %q field", key)
	}
	v, ok := obj[key]
	if !ok {
		return "", fmt.Errorf("missing %q field", key)
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", fmt.Errorf("%q must be a string", key)
	}
	return s, nil
}

// asUnmarshalError turns a decoding error into an *UnmarshalError for the
// given action, keeping the JSON path of a mistyped field.
func asUnmarshalError(kind, prefix string, err error) error {
	var ue *UnmarshalError
	if errors.As(err, &ue) {
		c := *ue
		c.Action = kind
		if prefix != "" {
			c.Field = joinPath(prefix, c.Field)
		}
		return &c
	}
	field := prefix
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field = joinPath(prefix, te.Field)
	}
	return &UnmarshalError{Index: -1, Action: kind, Field: field, Err: err}
}

func joinPath(prefix, field string) string {
	switch {
	case prefix == "":
		return field
	case field == "":
		return prefix
	}
	return prefix + "." + field
}

// Validate reports everything in the NCCO that Vonage would not accept: an
// empty NCCO, a nil action, and each action's own problems (see the
// Validate method of each action). The result is nil or one or more
// *ValidationError joined with errors.Join; errors.Is(err, ErrInvalid)
// holds for it.
func (n NCCO) Validate() error {
	if len(n) == 0 {
		return &ValidationError{Index: -1, Reason: "an NCCO needs at least one action"}
	}
	var errs []error
	for i, a := range n {
		if isNil(a) {
			errs = append(errs, &ValidationError{Index: i, Reason: "action is nil"})
			continue
		}
		for _, p := range a.problems() {
			p.Index = i
			p.Action = a.Kind()
			errs = append(errs, p)
		}
		if bargesIn(a) && !inputFollows(n[i+1:]) {
			// NCCO reference, talk: with bargeIn, the next non-talk action
			// must be an input.
			errs = append(errs, &ValidationError{Index: i, Action: a.Kind(), Field: "bargeIn",
				Reason: "true, but the next action that is not a talk is not an input"})
		}
	}
	return errors.Join(errs...)
}

// bargesIn reports a talk or stream with bargeIn set.
func bargesIn(a Action) bool {
	switch v := a.(type) {
	case Talk:
		return v.BargeIn
	case *Talk:
		return v.BargeIn
	case Stream:
		return v.BargeIn
	case *Stream:
		return v.BargeIn
	}
	return false
}

// inputFollows reports whether the first action of rest that is not a
// talk is an input.
func inputFollows(rest NCCO) bool {
	for _, a := range rest {
		switch a.(type) {
		case Talk, *Talk:
			continue
		case Input, *Input:
			return true
		}
		return false
	}
	return false
}

// validateAlone implements Action.Validate for an action outside an NCCO.
func validateAlone(kind string, ps []*ValidationError) error {
	if len(ps) == 0 {
		return nil
	}
	errs := make([]error, len(ps))
	for i, p := range ps {
		p.Index = -1
		p.Action = kind
		errs[i] = p
	}
	return errors.Join(errs...)
}

// isNil reports whether v is nil or a nil pointer inside an interface.
func isNil(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	return rv.Kind() == reflect.Pointer && rv.IsNil()
}
