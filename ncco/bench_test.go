package ncco_test

import (
	"encoding/json"
	"testing"

	"github.com/voiceproxy/voiceproxy/ncco"
)

func maskedCall() ncco.NCCO {
	return ncco.NCCO{
		ncco.Talk{Text: "Connecting you now.", Language: "en-GB"},
		ncco.Connect{From: "447700900001", Endpoint: []ncco.Endpoint{ncco.PhoneEndpoint{Number: "447700900123"}}},
	}
}

// BenchmarkAnswer measures what an answer webhook does per call: build,
// validate and marshal the masked-call NCCO.
func BenchmarkAnswer(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		n := maskedCall()
		if err := n.Validate(); err != nil {
			b.Fatal(err)
		}
		if _, err := json.Marshal(n); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnmarshal(b *testing.B) {
	data, err := json.Marshal(maskedCall())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ncco.Unmarshal(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNormalizeNumber(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ncco.NormalizeNumber("+44 7700 900123"); err != nil {
			b.Fatal(err)
		}
	}
}
