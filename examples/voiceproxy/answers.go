package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The shape of the API's answers and the wording of its errors: one
// shape per endpoint ([] for an empty list, never null), prices as
// decimal strings, and errors in the caller's terms (JSON field names,
// never Go types).

// decimal writes a price as Vonage's decimal string without trailing
// zeros: "0.03330000" is "0.0333", "1.50" is "1.5", "2.000" is "2". What
// is not a plain decimal number is dropped ("").
func decimal(s string) string {
	if !decimalRE.MatchString(s) {
		return ""
	}
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if s == "-0" {
		return "0"
	}
	return s
}

var decimalRE = regexp.MustCompile(`^-?[0-9]{1,12}(\.[0-9]{1,12})?$`)

// decimalOf writes an amount kept as a float (a monthly cost) as a
// decimal string, to Vonage's 8 places and without trailing zeros.
func decimalOf(f float64) string {
	return decimal(strconv.FormatFloat(f, 'f', 8, 64))
}

var jsonMarshaler = reflect.TypeFor[json.Marshaler]()

// emptySlices returns v with every nil slice inside it (in structs,
// pointers, slices, maps and interfaces) made empty, so that a list
// with nothing in it is [] in JSON, as it is when it has something,
// and never null. Types that marshal themselves, and byte slices, are
// left as they are. It may change the values v points to.
func emptySlices(v reflect.Value) reflect.Value {
	t := v.Type()
	if t.Implements(jsonMarshaler) || reflect.PointerTo(t).Implements(jsonMarshaler) {
		return v
	}
	switch v.Kind() {
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return v
		}
		if v.IsNil() {
			return reflect.MakeSlice(t, 0, 0)
		}
		for i := range v.Len() {
			v.Index(i).Set(emptySlices(v.Index(i)))
		}
	case reflect.Pointer:
		if !v.IsNil() {
			v.Elem().Set(emptySlices(v.Elem()))
		}
	case reflect.Struct:
		c := reflect.New(t).Elem()
		c.Set(v)
		for i := range t.NumField() {
			if f := c.Field(i); f.CanSet() {
				f.Set(emptySlices(f))
			}
		}
		return c
	case reflect.Interface:
		if !v.IsNil() {
			c := reflect.New(t).Elem()
			c.Set(emptySlices(v.Elem()))
			return c
		}
	case reflect.Map:
		switch t.Elem().Kind() {
		case reflect.Slice, reflect.Struct, reflect.Pointer, reflect.Interface, reflect.Map:
			for _, k := range v.MapKeys() {
				v.SetMapIndex(k, emptySlices(v.MapIndex(k)))
			}
		}
	}
	return v
}

// userTerms rewrites what the Service's errors say in Go's terms (its
// package prefix, CreateRequest and Update field names) in the API's
// (its JSON field names).
var userTerms = strings.NewReplacer(
	"proxy: invalid request: ", "",
	"proxy: ", "",
	"ExpiresAt", "expires_at",
	"IdleTimeout", "idle_timeout",
	"TTL", "ttl",
	"Key is", "key is",
	"AccessPIN conversations", `"access": "pin" conversations`,
	"participant A", `participant "a"`,
	"participant B", `participant "b"`,
)

// userMessage is err's text in the API's terms.
func userMessage(err error) string {
	return userTerms.Replace(err.Error())
}

// fieldHints say, after the JSON type a field takes, what it holds.
var fieldHints = map[string]string{
	"a": "a phone number", "b": "a phone number", "from": "a phone number", "to": "a phone number",
	"ttl": `a duration such as "2h"`, "idle_timeout": `a duration such as "30m"`,
	"mode": `"both", "voice" or "sms"`, "access": `"direct" or "pin"`, "side": `"a" or "b"`,
	"pin": "4 to 8 digits", "labels": `{"a": ..., "b": ...}`,
}

// jsonKind names what a Go type takes in JSON.
func jsonKind(t reflect.Type) string {
	if t == reflect.TypeFor[time.Time]() {
		return "an RFC 3339 time"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Map:
		return "an object of " + strings.TrimPrefix(strings.TrimPrefix(jsonKind(t.Elem()), "a "), "an ") + "s"
	case reflect.Slice, reflect.Array:
		return "an array of " + strings.TrimPrefix(strings.TrimPrefix(jsonKind(t.Elem()), "a "), "an ") + "s"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	}
	return "an object"
}

// jsonFields lists the JSON names of v's fields (v points to a struct).
func jsonFields(v any) []string {
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var names []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.IsExported() && name != "-" && name != "" {
			names = append(names, strconv.Quote(name))
		}
	}
	return names
}

// fieldType is the type of the field of v (a pointer to a struct)
// whose JSON name is name.
func fieldType(v any, name string) (reflect.Type, bool) {
	t := reflect.TypeOf(v).Elem()
	for i := range t.NumField() {
		f := t.Field(i)
		if n, _, _ := strings.Cut(f.Tag.Get("json"), ","); n == name {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			return ft, true
		}
	}
	return nil, false
}

// timeFields lists the JSON names of v's time fields.
func timeFields(v any) []string {
	t := reflect.TypeOf(v).Elem()
	var names []string
	for i := range t.NumField() {
		f := t.Field(i)
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if ft == reflect.TypeFor[time.Time]() {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			names = append(names, strconv.Quote(name))
		}
	}
	return names
}

// article is "a" or "an" before word.
func article(word string) string {
	if strings.ContainsRune("aeiouAEIOU", rune(word[0])) {
		return "an"
	}
	return "a"
}

// decodeMessage says in the caller's terms why a body could not be read
// into v (a pointer to the endpoint's body struct).
func decodeMessage(err error, v any) string {
	var (
		syntax  *json.SyntaxError
		typ     *json.UnmarshalTypeError
		timeErr *time.ParseError
	)
	switch {
	case errors.Is(err, io.EOF):
		return "the body is empty: send a JSON object with the fields " + strings.Join(jsonFields(v), ", ")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "the body is not valid JSON: it ends too early"
	case errors.As(err, &syntax):
		return fmt.Sprintf("the body is not valid JSON (at byte %d)", syntax.Offset)
	case errors.As(err, &typ):
		if typ.Field == "" {
			return fmt.Sprintf("the body must be a JSON object with the fields %s, not %s %s", strings.Join(jsonFields(v), ", "), article(typ.Value), typ.Value)
		}
		field, want := typ.Field, typ.Type
		// In a map or an array the error names the field and the
		// element's type: say what the field is, and what is in it.
		ft, ok := fieldType(v, field)
		inside := ok && ft != want
		if inside {
			want = ft
		}
		msg := fmt.Sprintf("field %q must be %s", field, jsonKind(want))
		if hint, ok := fieldHints[field]; ok {
			msg += " (" + hint + ")"
		}
		if inside {
			return msg + fmt.Sprintf("; it holds %s %s", article(typ.Value), typ.Value)
		}
		return msg + fmt.Sprintf(", not %s %s", article(typ.Value), typ.Value)
	case errors.As(err, &timeErr):
		return fmt.Sprintf(`%s must be an RFC 3339 time such as "2026-03-02T09:00:00Z"`, strings.Join(timeFields(v), " or "))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		// encoding/json gives this one no type of its own.
		name := strings.TrimPrefix(err.Error(), "json: unknown field ")
		return fmt.Sprintf("unknown field %s: the fields are %s", name, strings.Join(jsonFields(v), ", "))
	}
	return "the body is not the expected JSON object"
}
