package rest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// Amount is a money value in EUR exactly as Vonage wrote it, e.g. "1.25"
// or "0.04000000". Vonage documents these as strings but has sent numbers;
// both decode, keeping every digit. insight.Amount and numbers.Amount are
// aliases of it.
type Amount string

// UnmarshalJSON accepts a JSON string, a JSON number or null (the empty
// amount).
func (a *Amount) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*a = ""
		return nil
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*a = Amount(s)
		return nil
	default:
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return fmt.Errorf("amount %s is neither a string nor a number", b)
		}
		*a = Amount(n.String())
		return nil
	}
}

// Float64 parses the amount; an empty amount is 0.
func (a Amount) Float64() (float64, error) {
	if a == "" {
		return 0, nil
	}
	return strconv.ParseFloat(string(a), 64)
}
