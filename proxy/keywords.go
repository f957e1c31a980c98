package proxy

import (
	"strings"
)

// This file is what relayed SMS owe the networks and the users: STOP and
// HELP keywords handled rather than relayed (carriers require both:
// the CTIA's messaging principles for US short and long codes, the UK's
// PhonepayPlus-era practice), START and UNSTOP undoing a STOP (the
// records of both are in optout.go), and, by
// policy, contact details removed (redact.go)
// from relayed text so that users cannot take the conversation off the
// platform.

// Keywords, matched against a whole SMS, trimmed and in any case.
var (
	stopWords  = map[string]bool{"STOP": true, "STOPALL": true, "UNSUBSCRIBE": true, "CANCEL": true, "END": true, "QUIT": true}
	helpWords  = map[string]bool{"HELP": true, "INFO": true}
	startWords = map[string]bool{"START": true, "UNSTOP": true}
)

// Default replies to the keywords (Config.SMS.StopReply, HelpReply,
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
	// Config.SMS.HelpReply and not relayed.
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
