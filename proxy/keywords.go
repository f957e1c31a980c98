package proxy

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// This file is what relayed SMS owe the networks and the users: STOP and
// HELP keywords handled rather than relayed (carriers require both:
// the CTIA's messaging principles for US short and long codes, the UK's
// PhonepayPlus-era practice), START and UNSTOP undoing a STOP, and, by
// policy, contact details removed
// from relayed text so that users cannot take the conversation off the
// platform.

// Keywords, matched against a whole SMS, trimmed and in any case.
var (
	stopWords  = map[string]bool{"STOP": true, "STOPALL": true, "UNSUBSCRIBE": true, "CANCEL": true, "END": true, "QUIT": true}
	helpWords  = map[string]bool{"HELP": true, "INFO": true}
	startWords = map[string]bool{"START": true, "UNSTOP": true}
)

// Default replies to the keywords (Config.StopReply, HelpReply,
// StartReply).
const (
	defaultStopReply  = "You are unsubscribed: you will get no more messages from this number."
	defaultHelpReply  = "Messages to this number reach your contact without showing your number. Reply STOP to get no more."
	defaultStartReply = "You are subscribed again: messages from this number reach you."
)

// Statuses of keyword handling and redaction on an SMS's interaction.
const (
	// EventOptedOut: the SMS was a STOP keyword; it was not relayed,
	// and the sender gets nothing more from that proxy number.
	EventOptedOut EventStatus = "opted-out"
	// EventHelp: the SMS was a HELP keyword, answered with
	// Config.HelpReply and not relayed.
	EventHelp EventStatus = "help"
	// EventOptedIn: the SMS was a START keyword; it was not relayed,
	// and the sender's STOP on that proxy number is lifted.
	EventOptedIn EventStatus = "opted-in"
	// EventRedacted: contact details were removed from the SMS before it
	// was relayed; Detail says what, never the details themselves.
	EventRedacted EventStatus = "redacted"
)

// keywordReply defaults the keyword reply *r: def when empty, none
// ("") when "-".
func keywordReply(r *string, def string) {
	switch *r {
	case "":
		*r = def
	case "-":
		*r = ""
	}
}

// optOutLifetime is how long a STOP holds: for good, as far as a store's
// clock goes.
const optOutLifetime = 100 * 365 * 24 * time.Hour

// optOutKey is the store claim (ClaimNonce) recording that participant
// sent STOP to proxyNumber. It holds the participant's pseudonym, never
// their number: an opt-out outlives every retention and every erasure
// (whoever erased themselves after a STOP still gets nothing), and the
// pseudonym key (Config.PseudonymKey, else derived from the signature
// secret) keeps it the same across instances and restarts.
func (s *Service) optOutKey(participant, proxyNumber string) string {
	return "optout:" + s.Pseudonym(participant) + ":" + proxyNumber
}

// legacyOptOutKey is the claim that recorded a STOP before opt-outs were
// always kept under pseudonyms: a Service without Config.PseudonymKey
// kept the number. "" when there can be none (the key was set, and keyed
// the opt-outs then too).
func (s *Service) legacyOptOutKey(participant, proxyNumber string) string {
	if len(s.cfg.PseudonymKey) > 0 {
		return ""
	}
	return "optout:" + participant + ":" + proxyNumber
}

// keyword reports the keyword text is, "STOP", "HELP" or "START", or "".
func keyword(text string) string {
	w := strings.ToUpper(strings.Trim(strings.TrimSpace(text), ".!"))
	switch {
	case stopWords[w]:
		return "STOP"
	case helpWords[w]:
		return "HELP"
	case startWords[w]:
		return "START"
	}
	return ""
}

// recordOptOut records that participant sent STOP to proxyNumber, for
// every instance sharing the store.
func (s *Service) recordOptOut(ctx context.Context, participant, proxyNumber string, now time.Time) error {
	err := s.store.ClaimNonce(ctx, s.optOutKey(participant, proxyNumber), now, now.Add(optOutLifetime))
	if errors.Is(err, ErrConflict) {
		return nil // sent STOP before
	}
	return err
}

// liftOptOut forgets that participant sent STOP to proxyNumber (START),
// under its pseudonym and under its number (legacyOptOutKey).
func (s *Service) liftOptOut(ctx context.Context, participant, proxyNumber string) error {
	if err := s.store.ReleaseNonce(ctx, s.optOutKey(participant, proxyNumber)); err != nil {
		return fmt.Errorf("proxy: lift opt-out: %w", err)
	}
	if legacy := s.legacyOptOutKey(participant, proxyNumber); legacy != "" {
		if err := s.store.ReleaseNonce(ctx, legacy); err != nil {
			return fmt.Errorf("proxy: lift opt-out: %w", err)
		}
	}
	return nil
}

// optedOut reports whether participant sent STOP to proxyNumber. It
// probes with a claim that has expired already (the zero time): it
// conflicts only with the opt-out's own claim, and never blocks another
// probe, however the probes' clocks interleave.
//
// An opt-out found under the number (legacyOptOutKey) is moved under the
// pseudonym; the probe of the number, which the store would otherwise
// keep until its sweep, is deleted at once.
func (s *Service) optedOut(ctx context.Context, participant, proxyNumber string, now time.Time) (bool, error) {
	out, err := s.probeOptOut(ctx, s.optOutKey(participant, proxyNumber), now)
	legacy := s.legacyOptOutKey(participant, proxyNumber)
	if out || err != nil || legacy == "" {
		return out, err
	}
	if out, err = s.probeOptOut(ctx, legacy, now); err != nil {
		return false, err
	}
	if out {
		if err := s.recordOptOut(ctx, participant, proxyNumber, now); err != nil {
			return true, fmt.Errorf("proxy: move opt-out under its pseudonym: %w", err)
		}
	}
	if err := s.store.ReleaseNonce(ctx, legacy); err != nil {
		return out, fmt.Errorf("proxy: check opt-out: %w", err)
	}
	return out, nil
}

// probeOptOut reports whether the opt-out claim key is live at now.
func (s *Service) probeOptOut(ctx context.Context, key string, now time.Time) (bool, error) {
	switch err := s.store.ClaimNonce(ctx, key, now, time.Time{}); {
	case errors.Is(err, ErrConflict):
		return true, nil
	case err != nil:
		return false, fmt.Errorf("proxy: check opt-out: %w", err)
	}
	return false, nil
}

// RedactPolicy says which contact details are removed from relayed SMS
// (Config.Redact). The zero value removes nothing.
type RedactPolicy struct {
	// Phones removes phone numbers: seven or more digits, with spaces,
	// dots, dashes, brackets or a leading "+" between them; a date
	// written 2026-12-02, 02.12.2026 or 12-02-2026 stays.
	Phones bool
	// Emails removes e-mail addresses.
	Emails bool
	// URLs removes links: http(s):// and www. addresses.
	URLs bool
	// Replacement stands in for each removed detail. Default "[removed]".
	Replacement string
}

// Patterns of the contact details RedactPolicy removes.
var (
	phonePattern = regexp.MustCompile(`\+?\(?\d(?:[\s().-]*\d){6,}`)
	emailPattern = regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}`)
	urlPattern   = regexp.MustCompile(`(?i)\b(?:https?://|www\.)\S+`)
	// datePattern is a date the phone pattern would take: year first
	// with dashes, or year last with dots or dashes.
	datePattern = regexp.MustCompile(`^(?:(?:19|20)\d\d-\d\d-\d\d|\d\d[.-]\d\d[.-](?:19|20)\d\d)$`)
)

// isDate reports whether a phone-pattern match is a date instead: the
// shape of datePattern with a month of 1 to 12 and a day of 1 to 31 (in
// either order when the year is last).
func isDate(m string) bool {
	if !datePattern.MatchString(m) {
		return false
	}
	n := func(s string) int { v, _ := strconv.Atoi(s); return v }
	day := func(v int) bool { return v >= 1 && v <= 31 }
	month := func(v int) bool { return v >= 1 && v <= 12 }
	if m[4] == '-' { // 2026-12-02
		return month(n(m[5:7])) && day(n(m[8:10]))
	}
	a, b := n(m[0:2]), n(m[3:5])
	return (day(a) && month(b)) || (month(a) && day(b))
}

// redact removes what p says from text and returns the text and what was
// removed ("2 phone numbers, 1 URL"), "" when nothing was.
func (p RedactPolicy) redact(text string) (string, string) {
	if !p.Phones && !p.Emails && !p.URLs {
		return text, ""
	}
	repl := p.Replacement
	if repl == "" {
		repl = "[removed]"
	}
	var removed []string
	for _, r := range []struct {
		on        bool
		re        *regexp.Regexp
		keep      func(string) bool
		one, many string
	}{
		{p.URLs, urlPattern, nil, "URL", "URLs"}, // before e-mails and phones: a URL may hold both
		{p.Emails, emailPattern, nil, "e-mail address", "e-mail addresses"},
		{p.Phones, phonePattern, isDate, "phone number", "phone numbers"},
	} {
		if !r.on {
			continue
		}
		n := 0
		text = r.re.ReplaceAllStringFunc(text, func(m string) string {
			if r.keep != nil && r.keep(m) {
				return m
			}
			n++
			return repl
		})
		if n == 0 {
			continue
		}
		what := r.one
		if n > 1 {
			what = r.many
		}
		removed = append(removed, fmt.Sprintf("%d %s", n, what))
	}
	return text, strings.Join(removed, ", ")
}
