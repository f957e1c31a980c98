package ncco_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/voiceproxy/voiceproxy/ncco"
)

// FuzzUnmarshal checks that decoding never panics, and that whatever
// decodes survives Marshal → Unmarshal → Marshal unchanged, and that
// Validate never panics on it.
func FuzzUnmarshal(f *testing.F) {
	files, err := filepath.Glob(filepath.Join(goldenDir, "*.json"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no golden files to seed from: %v", err)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`[{"action":"connect","endpoint":[{"type":"phone","number":"1","onAnswer":{"ringback":"x"}}]}]`))
	f.Add([]byte(`[{"action":"talk","text":"\ud800","level":1e308}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := ncco.Unmarshal(data)
		if err != nil {
			if err.Error() == "" {
				t.Error("empty error message")
			}
			return
		}
		_ = n.Validate()
		first, err := json.Marshal(n)
		if err != nil {
			t.Fatalf("Marshal of decoded %q: %v", data, err)
		}
		again, err := ncco.Unmarshal(first)
		if err != nil {
			t.Fatalf("Unmarshal of own output %s: %v", first, err)
		}
		second, err := json.Marshal(again)
		if err != nil {
			t.Fatalf("second Marshal: %v", err)
		}
		if !bytes.Equal(first, second) {
			t.Fatalf("round trip not stable:\n first %s\nsecond %s", first, second)
		}
		if (n.Validate() == nil) != (again.Validate() == nil) {
			t.Fatalf("validity changed across a round trip of %s", first)
		}
	})
}
