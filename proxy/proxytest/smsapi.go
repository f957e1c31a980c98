package proxytest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/voiceproxy/voiceproxy/sms"
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
	v.outbox = keepLast(append(v.outbox, msg), maxKept)
	v.checkOptOut(msg)
	receipts := v.receipts
	var statuses []Receipt
	if receipts != nil {
		for range parts {
			r := Receipt{Status: "delivered"}
			if len(v.receiptQueue) > 0 {
				r, v.receiptQueue = v.receiptQueue[0], v.receiptQueue[1:]
			}
			statuses = append(statuses, r)
		}
	}
	at := v.now()
	v.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"message-count": fmt.Sprint(len(parts)), "messages": out})
	if receipts != nil {
		// Real receipts come seconds later; these come once the send has
		// been answered, in the same goroutine, so tests need not wait.
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		for i, st := range statuses {
			receipts.send(msg, msg.MessageIDs[i], st, at)
		}
	}
}

// Receipt is the outcome a simulated delivery receipt reports.
type Receipt struct {
	Status  string // "delivered", "failed", "expired", "rejected", "accepted", "buffered" or "unknown"
	ErrCode int    // "err-code": 0 for none
}

// receiptTarget is where delivery receipts go.
type receiptTarget struct {
	v      *Vonage
	h      http.Handler
	path   string
	secret string
	method sms.SigMethod
}

// ReceiptsTo makes the SMS API post a delivery receipt for each message
// part it sends, as Vonage posts them to the account's delivery-receipt
// webhook: a form POST to path of h with msisdn, to, network-code,
// messageId, price, status, scts, err-code, api-key, message-timestamp and
// client-ref, signed with "sig" (method, default MD5 hash) when secret is
// set. Receipts say "delivered" unless FailDelivery queued otherwise.
// Receipts the handler does not answer 2xx are counted in
// ReceiptFailures.
func (v *Vonage) ReceiptsTo(h http.Handler, path, secret string, method sms.SigMethod) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if method == "" {
		method = sms.MD5Hash
	}
	v.receipts = &receiptTarget{v: v, h: h, path: path, secret: secret, method: method}
}

// FailDelivery queues the outcomes of the next delivery receipts, one per
// message part sent.
func (v *Vonage) FailDelivery(rs ...Receipt) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.receiptQueue = append(v.receiptQueue, rs...)
}

// ReceiptFailures counts delivery receipts that were not answered 2xx.
func (v *Vonage) ReceiptFailures() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.receiptFailures
}

func (t *receiptTarget) send(msg SentSMS, id string, r Receipt, at time.Time) {
	p := url.Values{
		"msisdn": {msg.To}, "to": {msg.From}, "network-code": {simNetworkCode}, "messageId": {id},
		"price": {SMSPrice}, "status": {r.Status}, "scts": {at.UTC().Format("0601021504")},
		"err-code": {strconv.Itoa(r.ErrCode)}, "api-key": {t.v.key},
		"message-timestamp": {at.UTC().Format("2006-01-02 15:04:05")},
	}
	if msg.ClientRef != "" {
		p.Set("client-ref", msg.ClientRef)
	}
	if t.secret != "" {
		p.Set("timestamp", strconv.FormatInt(at.Unix(), 10))
		p.Set("nonce", newUUID())
		sms.SignParams(p, t.secret, t.method)
	}
	req := httptest.NewRequest(http.MethodPost, t.path, strings.NewReader(p.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, req)
	if rec.Code < 200 || rec.Code > 299 {
		t.v.mu.Lock()
		t.v.receiptFailures++
		t.v.mu.Unlock()
	}
}
