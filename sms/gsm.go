package sms

// gsmBasic holds the characters of the GSM 03.38 default alphabet (3GPP TS
// 23.038 §6.2.1) other than the ASCII letters and digits, which it also
// contains. ESC (0x1B) is not listed: it only introduces the extension table.
const gsmBasic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./:;<=>?¡ÄÖÑÜ§¿äöñüà"

// gsmExtension holds the characters of the default alphabet's extension
// table, each sent as ESC plus one byte.
const gsmExtension = "\f^{}\\[~]|€"

var gsmSet = func() map[rune]bool {
	m := make(map[rune]bool, 128)
	for _, r := range gsmBasic + gsmExtension {
		m[r] = true
	}
	return m
}()

// isGSM reports whether text can be sent with type "text": every character
// is in the GSM default alphabet or its extension table.
func isGSM(text string) bool {
	for _, r := range text {
		switch {
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9':
		case gsmSet[r]:
		default:
			return false
		}
	}
	return true
}

// messageType returns "unicode" when text needs it and "text" otherwise.
func messageType(text string) string {
	if isGSM(text) {
		return "text"
	}
	return "unicode"
}
