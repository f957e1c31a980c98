package proxytest

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"
)

// gsmBasic and gsmExtended are the GSM 03.38 default alphabet and its
// extension table (each extension character takes two septets).
const (
	gsmBasic    = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
	gsmExtended = "^{}\\[~]|€\f"
)

// IsGSM reports whether text can be sent as a "text" (GSM-7) SMS.
func IsGSM(text string) bool {
	for _, c := range text {
		if !strings.ContainsRune(gsmBasic, c) && !strings.ContainsRune(gsmExtended, c) {
			return false
		}
	}
	return true
}

// SplitSMS splits text into the parts Vonage sends it as: for type "text"
// one part of up to 160 septets or parts of 153; for "unicode" one part of
// up to 70 characters or parts of 67. A character is never split.
func SplitSMS(text, typ string) []string {
	single, multi := 160, 153
	size := func(c rune) int {
		if strings.ContainsRune(gsmExtended, c) {
			return 2
		}
		return 1
	}
	if typ == "unicode" {
		single, multi = 70, 67
		size = func(c rune) int {
			if c > 0xFFFF {
				return 2 // a UTF-16 surrogate pair
			}
			return 1
		}
	}
	total := 0
	for _, c := range text {
		total += size(c)
	}
	if total <= single {
		return []string{text}
	}
	var parts []string
	start, n := 0, 0
	for i, c := range text {
		if n+size(c) > multi {
			parts = append(parts, text[start:i])
			start, n = i, 0
		}
		n += size(c)
	}
	return append(parts, text[start:])
}

func smsStatusText(status string) string {
	switch status {
	case "0":
		return ""
	case "1":
		return "Throttled"
	case "2":
		return "Missing params"
	case "3":
		return "Invalid params"
	case "4":
		return "Bad Credentials"
	case "6":
		return "Invalid Message"
	case "9":
		return "Partner Quota Violation"
	case "15":
		return "Illegal Sender Address - rejected"
	default:
		return "Internal Error"
	}
}

func (v *Vonage) sendSMS(w http.ResponseWriter, params url.Values) {
	from, to, text := params.Get("from"), strings.TrimPrefix(params.Get("to"), "+"), params.Get("text")
	typ := params.Get("type")
	fail := func(status, text string) { writeFailure(w, APISMS, Failure{Status: status, Text: text}) }
	switch {
	case from == "":
		fail("2", "Missing from param")
		return
	case params.Get("to") == "":
		fail("2", "Missing to param")
		return
	case len(to) < 7 || len(to) > 15 || digits(to) != to:
		fail("3", "Invalid to address")
		return
	case text == "":
		fail("2", "Missing text param")
		return
	case !utf8.ValidString(text):
		fail("3", "Invalid text param")
		return
	}
	switch typ {
	case "":
		typ = "text"
	case "text", "unicode":
	default:
		fail("3", "Invalid type param: the simulator sends text and unicode only")
		return
	}
	parts := SplitSMS(text, typ)
	ref := params.Get("client-ref")
	v.mu.Lock()
	msg := SentSMS{From: from, To: to, Text: text, Type: typ, ClientRef: ref, Callback: params.Get("callback"), Parts: parts, At: v.now()}
	out := make([]map[string]string, len(parts))
	for i := range parts {
		id := fmt.Sprintf("0A%015X", v.nextSeq())
		msg.MessageIDs = append(msg.MessageIDs, id)
		m := map[string]string{
			"to": to, "message-id": id, "status": "0",
			"remaining-balance": v.charge(SMSPrice), "message-price": SMSPrice, "network": simNetworkCode,
		}
		if ref != "" {
			m["client-ref"] = ref
		}
		out[i] = m
	}
	v.outbox = append(v.outbox, msg)
	v.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"message-count": fmt.Sprint(len(parts)), "messages": out})
}
