package ncco_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/voiceproxy/voiceproxy/ncco"
)

// NCCOs in the shapes the official SDKs write them (testdata/ncco/sdk/,
// each naming the SDK classes it mirrors) decode strictly, validate, and
// re-encode without losing anything: the same JSON but for the documented
// spelling of aliased keys and fields left out because they were empty.
func TestSDKShapesRoundTrip(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("..", "testdata", "ncco", "sdk", "*.json"))
	if err != nil || len(files) < 5 {
		t.Fatalf("SDK fixtures: %v, %v", files, err)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			t.Parallel()
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var fx struct {
				Mirrors string          `json:"mirrors"`
				NCCO    json.RawMessage `json:"ncco"`
			}
			if err := json.Unmarshal(raw, &fx); err != nil || fx.Mirrors == "" {
				t.Fatalf("fixture: %v (it must name the SDK classes it mirrors)", err)
			}
			n, err := ncco.UnmarshalStrict(fx.NCCO)
			if err != nil {
				t.Fatalf("UnmarshalStrict: %v", err)
			}
			if err := n.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			out, err := json.Marshal(n)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(normalize(decodeAny(t, fx.NCCO)), normalize(decodeAny(t, out))); diff != "" {
				t.Errorf("re-encoded NCCO differs (-sdk +ours):\n%s", diff)
			}
		})
	}
}

// normalize writes aliased keys under their documented names and drops
// empty values, which mean the same as absent ones.
func normalize(v any) any {
	aliases := map[string]string{"contentType": "content-type", "advancedMachineDetection": "advanced_machine_detection"}
	switch v := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, x := range v {
			switch x := x.(type) {
			case nil:
				continue
			case bool:
				if !x {
					continue
				}
			case string:
				if x == "" {
					continue
				}
			}
			if a, ok := aliases[k]; ok {
				k = a
			}
			out[k] = normalize(x)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = normalize(x)
		}
		return out
	}
	return v
}

// UnmarshalStrict refuses what Unmarshal would drop, naming where it is;
// Unmarshal keeps ignoring it, as Vonage does.
func TestUnmarshalStrict(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, json, field string
	}{
		{"unknown action field", `[{"action":"talk","text":"hi","newOption":"x"}]`, "newOption"},
		{"unknown nested field", `[{"action":"input","type":["dtmf"],"dtmf":{"maxDigits":4,"future":true}}]`, "dtmf.future"},
		{"unknown endpoint field", `[{"action":"connect","endpoint":[{"type":"phone","number":"447700900123","shaken2":"x"}]}]`, "endpoint[0].shaken2"},
		{"unknown field in the second action", `[{"action":"talk","text":"hi"},{"action":"wait","timeout":1,"unit":"s"}]`, "unit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ncco.UnmarshalStrict([]byte(tt.json))
			var ue *ncco.UnmarshalError
			if !errors.Is(err, ncco.ErrUnknownField) || !errors.As(err, &ue) || ue.Field != tt.field {
				t.Fatalf("UnmarshalStrict = %v, want ErrUnknownField at %q", err, tt.field)
			}
			if !strings.Contains(err.Error(), tt.field) {
				t.Errorf("error %q does not name %s", err, tt.field)
			}
			if _, err := ncco.Unmarshal([]byte(tt.json)); err != nil {
				t.Errorf("Unmarshal = %v, want the field ignored", err)
			}
		})
	}
	// Empty values and aliases lose nothing.
	for _, ok := range []string{
		`[{"action":"talk","text":"hi","bargeIn":false,"unknownButEmpty":""}]`,
		`[{"action":"connect","advancedMachineDetection":{"behavior":"hangup"},"endpoint":[{"type":"websocket","uri":"wss://e.com","contentType":"audio/l16;rate=8000"}]}]`,
		`[{"action":"wait","timeout":0}]`,
	} {
		if _, err := ncco.UnmarshalStrict([]byte(ok)); err != nil {
			t.Errorf("UnmarshalStrict(%s) = %v, want nil", ok, err)
		}
	}
}

// A wait of 0 read from JSON is kept (Vonage pauses 0.1 s for it), not
// turned into the 10-second default.
func TestWaitZeroKept(t *testing.T) {
	t.Parallel()
	n, err := ncco.Unmarshal([]byte(`[{"action":"wait","timeout":0}]`))
	if err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(n)
	if string(out) != `[{"action":"wait","timeout":0}]` || n.Validate() != nil {
		t.Errorf("wait 0 re-encoded as %s (Validate %v), want it kept and valid", out, n.Validate())
	}
}
