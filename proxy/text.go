package proxy

import (
	"strings"
	"unicode/utf8"
)

// isText reports whether s is valid UTF-8 without NUL bytes.
func isText(s string) bool { return utf8.ValidString(s) && !strings.Contains(s, "\x00") }

// cleanText makes s safe to store and quote: invalid UTF-8 and NUL bytes
// become U+FFFD. Webhook fields pass through it before they are stored,
// so every store keeps the same audit trail.
func cleanText(s string) string {
	if isText(s) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}
