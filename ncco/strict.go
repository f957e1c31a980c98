package ncco

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
)

// ErrUnknownField is wrapped by the *UnmarshalError UnmarshalStrict
// returns for a field this package does not know, which Unmarshal would
// drop.
var ErrUnknownField = errors.New("unknown field")

// fieldAliases are other spellings of a documented key that decoding
// reads, and encoding writes under the documented key: the Node SDK's
// "contentType" for a websocket's "content-type", and its
// "advancedMachineDetection" for a connect's "advanced_machine_detection".
var fieldAliases = map[string]string{
	"contentType":              "content-type",
	"advancedMachineDetection": "advanced_machine_detection",
}

// UnmarshalStrict decodes an NCCO as Unmarshal does, and also fails, with
// an *UnmarshalError wrapping ErrUnknownField that names the action and
// the field's path, when the JSON holds a field this package does not
// know: one that Unmarshal would silently drop, so that re-encoding the
// NCCO would lose it. Fields whose value is empty (false, 0, "", null)
// lose nothing and pass.
//
// Unmarshal follows Vonage, which ignores fields it does not document;
// UnmarshalStrict is for code that stores, edits or forwards NCCOs and
// must not lose what it was given.
func UnmarshalStrict(data []byte) (NCCO, error) {
	n, err := Unmarshal(data)
	if err != nil {
		return nil, err
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(data, &raws); err != nil {
		return nil, &UnmarshalError{Index: -1, Err: err}
	}
	for i, a := range n {
		out, err := json.Marshal(a)
		if err != nil {
			return nil, &UnmarshalError{Index: i, Action: a.Kind(), Err: err}
		}
		var in, back any
		if err := json.Unmarshal(raws[i], &in); err != nil {
			return nil, &UnmarshalError{Index: i, Action: a.Kind(), Err: err}
		}
		if err := json.Unmarshal(out, &back); err != nil {
			return nil, &UnmarshalError{Index: i, Action: a.Kind(), Err: err}
		}
		if path, ok := lost(in, back, ""); ok {
			return nil, &UnmarshalError{Index: i, Action: a.Kind(), Field: path, Err: fmt.Errorf("%w: not kept by this package", ErrUnknownField)}
		}
	}
	return n, nil
}

// lost reports the path of the first value in in that back, the same JSON
// decoded and re-encoded, does not have.
func lost(in, back any, path string) (string, bool) {
	switch in := in.(type) {
	case map[string]any:
		b, _ := back.(map[string]any)
		keys := make([]string, 0, len(in))
		for k := range in {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			v := in[k]
			p := joinPath(path, k)
			bv, ok := b[k]
			if !ok {
				if alias, isAlias := fieldAliases[k]; isAlias {
					if _, ok := b[alias]; ok {
						continue
					}
				}
				if isEmptyJSON(v) {
					continue
				}
				return p, true
			}
			if p, ok := lost(v, bv, p); ok {
				return p, true
			}
		}
	case []any:
		b, _ := back.([]any)
		for i, v := range in {
			p := fmt.Sprintf("%s[%d]", path, i)
			if i >= len(b) {
				return p, true
			}
			if p, ok := lost(v, b[i], p); ok {
				return p, true
			}
		}
	}
	return "", false
}

// isEmptyJSON reports a value whose absence means the same: false, 0, ""
// or null.
func isEmptyJSON(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case bool:
		return !v
	case float64:
		return v == 0
	case string:
		return v == ""
	}
	return false
}
