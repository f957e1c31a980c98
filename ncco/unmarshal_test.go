package ncco_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/voiceproxy/voiceproxy/ncco"
)

func TestUnmarshalErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		in     string
		index  int
		action string
		field  string
		is     error  // sentinel the error must wrap, or nil
		msg    string // substring of Error()
	}{
		{"not json", `[`, -1, "", "", nil, "JSON array"},
		{"object", `{"action":"talk","text":"hi"}`, -1, "", "", nil, "JSON array"},
		{"null", `null`, -1, "", "", nil, "not null"},
		{"element not object", `[{"action":"talk","text":"x"}, 5]`, 1, "", "", nil, `"action" field`},
		{"element null", `[null]`, 0, "", "", nil, `"action" field`},
		{"missing action", `[{"text":"hi"}]`, 0, "", "", nil, `missing "action"`},
		{"action case", `[{"Action":"talk","text":"hi"}]`, 0, "", "", nil, `missing "action"`},
		{"action not string", `[{"action":1}]`, 0, "", "", nil, `"action" must be a string`},
		{"unknown action", `[{"action":"talk","text":"a"},{"action":"hangup"}]`, 1, "hangup", "", ncco.ErrUnknownAction, `action 1 (hangup): unknown action "hangup"`},
		{"action upper case", `[{"action":"TALK","text":"a"}]`, 0, "TALK", "", ncco.ErrUnknownAction, "unknown action"},
		{"wrong type", `[{"action":"talk","text":"a","loop":"2"}]`, 0, "talk", "loop", nil, "action 0 (talk): loop: JSON string"},
		{"wrong bool", `[{"action":"talk","text":"a","bargeIn":"yes"}]`, 0, "talk", "bargeIn", nil, "bargeIn"},
		{"wrong nested", `[{"action":"input","type":["dtmf"],"dtmf":{"maxDigits":"4"}}]`, 0, "input", "dtmf.maxDigits", nil, "dtmf.maxDigits"},
		{"event url string", `[{"action":"record","eventUrl":"https://example.com"}]`, 0, "record", "eventUrl", nil, "eventUrl"},
		{"fraction for int", `[{"action":"connect","endpoint":[],"timeout":1.5}]`, 0, "connect", "timeout", nil, "timeout"},
		{"unknown endpoint", `[{"action":"connect","endpoint":[{"type":"fax","number":"1"}]}]`, 0, "connect", "endpoint[0]", ncco.ErrUnknownEndpoint, `action 0 (connect): endpoint[0]: unknown endpoint type "fax"`},
		{"endpoint without type", `[{"action":"connect","endpoint":[{"number":"447700900123"}]}]`, 0, "connect", "endpoint[0]", nil, `missing "type"`},
		{"endpoint not object", `[{"action":"connect","endpoint":["447700900123"]}]`, 0, "connect", "endpoint[0]", nil, `"type" field`},
		{"endpoint not array", `[{"action":"connect","endpoint":{"type":"phone"}}]`, 0, "connect", "endpoint", nil, "endpoint"},
		{"endpoint bad field", `[{"action":"talk","text":"a"},{"action":"connect","endpoint":[{"type":"phone","number":447700900123}]}]`, 1, "connect", "endpoint[0].number", nil, "action 1 (connect): endpoint[0].number: JSON number"},
		{"on answer bad", `[{"action":"connect","endpoint":[{"type":"phone","number":"447700900123","onAnswer":"https://x"}]}]`, 0, "connect", "endpoint[0].onAnswer", nil, "onAnswer"},
		{"headers not object", `[{"action":"connect","endpoint":[{"type":"sip","uri":"sip:a@b","headers":["x"]}]}]`, 0, "connect", "endpoint[0].headers", nil, "headers"},
		{"trailing data", `[{"action":"wait"}] x`, -1, "", "", nil, "JSON array"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			n, err := ncco.Unmarshal([]byte(tt.in))
			if err == nil {
				t.Fatalf("Unmarshal = %#v, want an error", n)
			}
			var ue *ncco.UnmarshalError
			if !errors.As(err, &ue) {
				t.Fatalf("error %T %v is not an *UnmarshalError", err, err)
			}
			if ue.Index != tt.index || ue.Action != tt.action || ue.Field != tt.field {
				t.Errorf("Index, Action, Field = %d, %q, %q; want %d, %q, %q", ue.Index, ue.Action, ue.Field, tt.index, tt.action, tt.field)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.is)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not contain %q", err, tt.msg)
			}
			// json.Unmarshal into an NCCO fails the same way.
			var viaJSON ncco.NCCO
			if err := json.Unmarshal([]byte(tt.in), &viaJSON); err == nil {
				t.Errorf("json.Unmarshal into NCCO succeeded")
			}
		})
	}
}

func TestUnmarshalLenient(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want ncco.NCCO
	}{
		{
			"unknown fields ignored",
			`[{"action":"talk","text":"hi","newOption":"Amy","future":{"x":1}}]`,
			ncco.NCCO{ncco.Talk{Text: "hi"}},
		},
		{
			"legacy ringback key",
			`[{"action":"connect","endpoint":[{"type":"phone","number":"447700900123","onAnswer":{"url":"https://example.com/a","ringback":"https://example.com/r.mp3"}}]}]`,
			ncco.NCCO{ncco.Connect{Endpoint: []ncco.Endpoint{ncco.PhoneEndpoint{
				Number:   "447700900123",
				OnAnswer: &ncco.OnAnswer{URL: "https://example.com/a", RingbackTone: "https://example.com/r.mp3"},
			}}}},
		},
		{
			"ringbackTone wins over ringback",
			`[{"action":"connect","endpoint":[{"type":"phone","number":"447700900123","onAnswer":{"url":"https://example.com/a","ringback":"https://example.com/old.mp3","ringbackTone":"https://example.com/new.mp3"}}]}]`,
			ncco.NCCO{ncco.Connect{Endpoint: []ncco.Endpoint{ncco.PhoneEndpoint{
				Number:   "447700900123",
				OnAnswer: &ncco.OnAnswer{URL: "https://example.com/a", RingbackTone: "https://example.com/new.mp3"},
			}}}},
		},
		{
			"null fields are absent",
			`[{"action":"talk","text":"hi","loop":null,"level":null}]`,
			ncco.NCCO{ncco.Talk{Text: "hi"}},
		},
		{
			"empty array",
			`[]`,
			ncco.NCCO{},
		},
		{
			"empty endpoint list kept",
			`[{"action":"connect","endpoint":[]}]`,
			ncco.NCCO{ncco.Connect{Endpoint: []ncco.Endpoint{}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ncco.Unmarshal([]byte(tt.in))
			if err != nil {
				t.Fatalf("Unmarshal: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestUnmarshalSingleAction(t *testing.T) {
	t.Parallel()
	var c ncco.Connect
	err := json.Unmarshal([]byte(`{"action":"connect","endpoint":[{"type":"vbc","extension":"12"}],"from":"447700900001"}`), &c)
	if err != nil {
		t.Fatal(err)
	}
	want := ncco.Connect{Endpoint: []ncco.Endpoint{ncco.VBCEndpoint{Extension: "12"}}, From: "447700900001"}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	err = json.Unmarshal([]byte(`{"endpoint":[{"type":"pigeon"}]}`), &c)
	var ue *ncco.UnmarshalError
	if !errors.As(err, &ue) || ue.Index != -1 || ue.Action != "connect" || !errors.Is(err, ncco.ErrUnknownEndpoint) {
		t.Errorf("err = %v, want an *UnmarshalError for connect wrapping ErrUnknownEndpoint", err)
	}
	if !strings.HasPrefix(err.Error(), "ncco: connect: endpoint[0]: ") {
		t.Errorf("error %q", err)
	}
}

func TestMarshalNil(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		n    ncco.NCCO
	}{
		{"nil action", ncco.NCCO{ncco.Talk{Text: "a"}, nil}},
		{"nil pointer action", ncco.NCCO{(*ncco.Talk)(nil)}},
		{"nil endpoint", ncco.NCCO{ncco.Connect{Endpoint: []ncco.Endpoint{nil}}}},
		{"nil pointer endpoint", ncco.NCCO{ncco.Connect{Endpoint: []ncco.Endpoint{(*ncco.SIPEndpoint)(nil)}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, err := json.Marshal(tt.n)
			if err == nil {
				t.Errorf("Marshal = %s, want an error", b)
			}
		})
	}
	t.Run("nil NCCO is an empty array", func(t *testing.T) {
		t.Parallel()
		b, err := json.Marshal(ncco.NCCO(nil))
		if err != nil || string(b) != "[]" {
			t.Errorf("Marshal(nil) = %s, %v; want [], nil", b, err)
		}
	})
}

func TestMarshalPointers(t *testing.T) {
	t.Parallel()
	n := ncco.NCCO{&ncco.Talk{Text: "hi"}, &ncco.Connect{Endpoint: []ncco.Endpoint{&ncco.AppEndpoint{User: "bob"}}}}
	b, err := json.Marshal(n)
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"action":"talk","text":"hi"},{"action":"connect","endpoint":[{"type":"app","user":"bob"}]}]`
	if diff := cmp.Diff(want, string(b)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
