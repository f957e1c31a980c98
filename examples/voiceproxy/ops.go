package main

import (
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/voiceproxy/voiceproxy/proxy"
)

// The ops page: server-rendered HTML (html/template, assets embedded, no
// JavaScript) for the people running the service: conversations with
// search and paging, one conversation's timeline, the pool per country,
// recent webhook failures. Participant numbers are masked except on a
// conversation's own page. The pages sit behind the same access as the
// JSON API (access.go), with a login form for the operator token.

//go:embed ops
var opsFiles embed.FS

// opsTemplates are the pages, parsed once.
var opsTemplates = func() map[string]*template.Template {
	pages := map[string]*template.Template{}
	for _, name := range []string{"conversations", "conversation", "pool", "failures", "login"} {
		pages[name] = template.Must(template.ParseFS(opsFiles, "ops/layout.html", "ops/"+name+".html"))
	}
	return pages
}()

// opsRoutes serves the stylesheet on mux, in public (the login page
// needs it), and the pages on op, the operator surface.
func (a *app) opsRoutes(mux, op *http.ServeMux) {
	static, _ := fs.Sub(opsFiles, "ops")
	mux.Handle("GET /ops/static/", http.StripPrefix("/ops/static/", http.FileServerFS(static)))
	op.HandleFunc("GET /ops/{$}", bounded(a.apiTimeout, a.opsConversations))
	op.HandleFunc("GET /ops/conversations/{id}", bounded(a.apiTimeout, a.opsConversation))
	op.HandleFunc("GET /ops/pool", bounded(a.apiTimeout, a.opsPool))
	op.HandleFunc("GET /ops/failures", a.opsFailures)
}

// render writes page with data, or a 500.
func (a *app) render(w http.ResponseWriter, r *http.Request, status int, page string, data any) {
	var b strings.Builder
	if err := opsTemplates[page].ExecuteTemplate(&b, page+".html", data); err != nil {
		a.log.ErrorContext(r.Context(), "ops page failed", "page", page, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(b.String()))
}

// opsTime formats a time for the pages.
func opsTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05")
}

type opsConvRow struct {
	ID, Status, Mode, PIN string
	A, AProxy, ALabel     string
	B, BProxy, BLabel     string
	Created, Ends         string
}

func (a *app) opsRow(c proxy.Conversation, masked bool) opsConvRow {
	num := func(n string) string {
		if masked {
			return proxy.MaskNumber(n)
		}
		return "+" + n
	}
	pa, pb := c.Participants[proxy.SideA], c.Participants[proxy.SideB]
	ends := c.Deadline()
	if !c.EndedAt.IsZero() {
		ends = c.EndedAt
	}
	return opsConvRow{
		ID: c.ID, Status: string(c.StatusAt(a.now())), Mode: string(c.Mode), PIN: c.PIN,
		A: num(pa.Number), AProxy: "+" + pa.ProxyNumber, ALabel: pa.Label,
		B: num(pb.Number), BProxy: "+" + pb.ProxyNumber, BLabel: pb.Label,
		Created: opsTime(c.CreatedAt), Ends: opsTime(ends),
	}
}

// opsConversations lists conversations: ?participant= (any number form),
// ?status= (active, closed, expired, all), ?after= (the paging cursor).
func (a *app) opsConversations(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	data := struct {
		Title, Nav, Participant, Status, Error, Next string
		Statuses                                     []string
		Conversations                                []opsConvRow
	}{Title: "Conversations", Nav: "conversations", Participant: q.Get("participant"), Status: q.Get("status"),
		Statuses: []string{"active", "closed", "expired", "all"}}
	if data.Status == "" {
		data.Status = "active"
	}
	f := proxy.ListFilter{Now: a.now(), After: q.Get("after"), Participant: data.Participant, Limit: 20}
	if data.Status != "all" {
		f.Status = proxy.Status(data.Status)
	}
	cs, next, err := a.svc.Conversations(r.Context(), f)
	status := http.StatusOK
	switch {
	case errors.Is(err, proxy.ErrInvalidNumber):
		data.Error, status = "That is not a phone number.", http.StatusBadRequest
	case errors.Is(err, proxy.ErrInvalidRequest):
		data.Error, status = "Unknown status or cursor.", http.StatusBadRequest
	case err != nil:
		a.log.ErrorContext(r.Context(), "ops: list conversations failed", "err", err)
		data.Error, status = "The store did not answer; try again.", http.StatusServiceUnavailable
		w.Header().Set("Retry-After", retryAfter)
	}
	for _, c := range cs {
		data.Conversations = append(data.Conversations, a.opsRow(c, true))
	}
	if next != "" {
		v := url.Values{"status": {data.Status}, "after": {next}}
		if data.Participant != "" {
			v.Set("participant", data.Participant)
		}
		data.Next = "/ops/?" + v.Encode()
	}
	a.render(w, r, status, "conversations", data)
}

// opsUnavailable answers a page whose store call failed: 503, to retry.
func (a *app) opsUnavailable(w http.ResponseWriter, r *http.Request, err error) {
	a.log.ErrorContext(r.Context(), "ops: page failed", "path", r.URL.Path, "err", err)
	w.Header().Set("Retry-After", retryAfter)
	http.Error(w, "the store did not answer; try again", http.StatusServiceUnavailable)
}

type opsEvent struct{ At, Status, Detail string }

type opsInteraction struct {
	Kind, From, To, Outcome, Price, Recording, At string
	Duration                                      int
	Events                                        []opsEvent
}

// opsConversation shows one conversation, unmasked, with its timeline.
func (a *app) opsConversation(w http.ResponseWriter, r *http.Request) {
	c, err := a.svc.Conversation(r.Context(), r.PathValue("id"))
	if err != nil {
		if errors.Is(err, proxy.ErrNotFound) {
			http.Error(w, "no such conversation", http.StatusNotFound)
			return
		}
		a.opsUnavailable(w, r, err)
		return
	}
	ins, err := a.svc.Interactions(r.Context(), c.ID)
	if err != nil {
		a.opsUnavailable(w, r, err)
		return
	}
	data := struct {
		Title, Nav string
		C          opsConvRow
		Timeline   []opsInteraction
	}{Title: "Conversation " + c.ID, Nav: "conversations", C: a.opsRow(c, false)}
	for _, in := range ins {
		sum := proxy.Summarize(in)
		oi := opsInteraction{Kind: string(in.Kind), From: "+" + in.From, To: "+" + in.To, Outcome: string(sum.Status),
			Duration: sum.Duration, Price: decimal(sum.Price), At: opsTime(in.CreatedAt)}
		if strings.HasPrefix(in.From, proxy.PseudonymPrefix) {
			oi.From = in.From
		}
		for _, ev := range in.Events {
			oi.Events = append(oi.Events, opsEvent{At: opsTime(ev.At), Status: string(ev.Status), Detail: proxy.MaskNumbers(ev.Detail)})
			if ev.Status == proxy.EventRecorded && ev.Detail != "" {
				oi.Recording = "/interactions/" + in.ID + "/recording"
			}
		}
		data.Timeline = append(data.Timeline, oi)
	}
	a.render(w, r, http.StatusOK, "conversation", data)
}

type opsCountry struct {
	Country                                               string
	Numbers, ActiveLegs, BusiestLegs, IdleNumbers, Bought int
	Utilisation, MonthlyCost                              string
}

// opsPool shows the pool per country and per number.
func (a *app) opsPool(w http.ResponseWriter, r *http.Request) {
	status, err := a.svc.PoolStatus(r.Context())
	if err != nil {
		a.opsUnavailable(w, r, err)
		return
	}
	pool, err := a.svc.Pool(r.Context())
	if err != nil {
		a.opsUnavailable(w, r, err)
		return
	}
	type number struct {
		MSISDN, Country, Features string
		Legs                      int
	}
	data := struct {
		Title, Nav string
		Countries  []opsCountry
		Numbers    []number
	}{Title: "Number pool", Nav: "pool"}
	for _, c := range status {
		u := "0"
		if c.Numbers > 0 {
			u = fmt.Sprintf("%.1f", float64(c.ActiveLegs)/float64(c.Numbers))
		}
		data.Countries = append(data.Countries, opsCountry{Country: c.Country, Numbers: c.Numbers, ActiveLegs: c.ActiveLegs,
			BusiestLegs: c.BusiestLegs, IdleNumbers: c.IdleNumbers, Bought: c.Bought, Utilisation: u, MonthlyCost: fmt.Sprintf("%.2f", c.MonthlyCost)})
	}
	for _, n := range pool {
		var f []string
		if n.Voice {
			f = append(f, "voice")
		}
		if n.SMS {
			f = append(f, "SMS")
		}
		data.Numbers = append(data.Numbers, number{MSISDN: "+" + n.MSISDN, Country: n.Country, Features: strings.Join(f, ", "), Legs: n.Legs})
	}
	a.render(w, r, http.StatusOK, "pool", data)
}

// webhookFailure is one webhook the demo did not answer 2xx.
type webhookFailure struct {
	At, Method, Path, Meaning string
	Status                    int
}

// failureLog keeps the last failures of the webhooks, no numbers.
type failureLog struct {
	mu   sync.Mutex
	last []webhookFailure
}

const maxFailures = 50

func (l *failureLog) add(f webhookFailure) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.last = append(l.last, f)
	if len(l.last) > maxFailures {
		l.last = l.last[len(l.last)-maxFailures:]
	}
}

func (l *failureLog) list() []webhookFailure {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]webhookFailure, len(l.last))
	for i, f := range l.last {
		out[len(l.last)-1-i] = f
	}
	return out
}

// recordFailures wraps the webhooks' handler to log what it did not
// answer 2xx.
func (a *app) recordFailures(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &proxy.StatusRecorder{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		if sw.Status >= 300 {
			meaning := map[int]string{
				http.StatusUnauthorized:       "bad or missing signature",
				http.StatusServiceUnavailable: "the store failed or was slow: Vonage retries",
				http.StatusNotFound:           "no such webhook",
				http.StatusMethodNotAllowed:   "wrong method",
			}[sw.Status]
			// Anyone may send the request: what is kept of it is cut short.
			a.failures.add(webhookFailure{At: opsTime(a.now()), Method: shorten(r.Method, 16), Path: shorten(r.URL.Path, maxFailurePath), Status: sw.Status, Meaning: meaning})
		}
	})
}

// maxFailurePath bounds the path a webhook failure keeps: Vonage's are
// a few dozen bytes.
const maxFailurePath = 128

// shorten is s cut to at most n bytes, at a character's boundary, with
// "…" when cut.
func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func (a *app) opsFailures(w http.ResponseWriter, r *http.Request) {
	a.render(w, r, http.StatusOK, "failures", struct {
		Title, Nav string
		Max        int
		Failures   []webhookFailure
	}{"Webhook failures", "failures", maxFailures, a.failures.list()})
}
