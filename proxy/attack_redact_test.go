package proxy

import "testing"

// attackEvasions are contact details written to get past redaction,
// beyond the battery of redact_test.go.
// documented marks the misses RedactPolicy's doc already owns (other
// languages' numbers, a word between groups).
var documentedMiss = map[string]bool{"digits with words for separators": true}

var attackEvasions = []struct{ class, in string }{
	{"tabs between groups", "07700\t900\t123"},
	{"line breaks between digits", "0\n7\n7\n0\n0\n9\n0\n0\n1\n2\n3"},
	{"full-width hyphens", "07700－900－123"},
	{"x between groups", "07700x900x123"},
	{"percent signs", "07700%900%123"},
	{"right-to-left override, reversed", "\u202e321 009 00770\u202c"},
	{"Thai digits", "๐๗๗๐๐๙๐๐๑๒๓"},
	{"monospace mathematical digits", "𝟶𝟽𝟽𝟶𝟶𝟿𝟶𝟶𝟷𝟸𝟹"},
	{"keycaps without the variation selector", "0\u20e37\u20e37\u20e30\u20e30\u20e39\u20e30\u20e30\u20e31\u20e32\u20e33\u20e3"},
	{"Greek capital omicron for 0", "Ο77ΟΟ9ΟΟ123"},
	{"Chinese numerals", "零七七零零九零零一二三"},
	{"ideographic zero", "〇七七〇〇九〇〇一二三"},
	{"a letter between every digit", "0a7b7c0d0e9f0g0h1i2j3"},
	{"one dot leader in an address", "bob@gmail\u2024com"},
	{"comma for the dot of an address", "bob@gmail,com"},
	{"quoted local part", "\"bob\"@gmail.com"},
	{"plus address on a subdomain", "bob+x@mail.example.co.uk"},
	{"Cyrillic о in a domain", "see evil.cоm"},
	{"upper-case scheme", "HTTPS://EVIL.EXAMPLE/PAY"},
	{"a dot as (.)", "example(.)com/pay"},
	{"at sign spelled with brackets and spaces", "bob ( at ) gmail ( dot ) com"},
	{"digits with words for separators", "07700 dash 900 dash 123"},
	{"fraction slash", "07700⁄900⁄123"},
	{"digits in HTML entities", "&#48;&#55;&#55;&#48;&#48;&#57;&#48;&#48;&#49;&#50;&#51;"},
}

// TestAttackRedactEvasions counts the fresh evasions redaction catches;
// each one it misses is an error, until redaction catches it or
// RedactPolicy's doc lists it among the misses.
func TestAttackRedactEvasions(t *testing.T) {
	t.Parallel()
	caught := 0
	for _, tc := range attackEvasions {
		if out, what := redactAll.redact(tc.in); what != "" && out != tc.in {
			caught++
			t.Logf("caught %s: %q -> %q", tc.class, tc.in, out)
		} else if documentedMiss[tc.class] {
			t.Logf("missed, as documented, %s: %q", tc.class, tc.in)
		} else {
			t.Errorf("missed %s: %q relayed as %q", tc.class, tc.in, out)
		}
	}
	t.Logf("fresh evasions caught: %d of %d", caught, len(attackEvasions))
	// The whole battery: redact_test.go's evasions and known misses, and
	// these.
	inputs := map[string]bool{}
	for _, tc := range evasions {
		inputs[tc.in] = true
	}
	for _, tc := range evasionMisses {
		inputs[tc.in] = true
	}
	for _, tc := range attackEvasions {
		inputs[tc.in] = true
	}
	all := len(evasions) + len(evasionMisses) + len(attackEvasions)
	if len(inputs) != all {
		t.Errorf("%d of the battery's %d evasions repeat another's text: the count would count them twice", all-len(inputs), all)
	}
	t.Logf("whole battery: %d of %d evasions caught (%.0f%%)", len(evasions)+caught, all, 100*float64(len(evasions)+caught)/float64(all))
}
