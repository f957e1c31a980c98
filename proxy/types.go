package proxy

import "time"

// Number is a proxy number: a Vonage virtual number in the pool.
type Number struct {
	MSISDN  string // digits only, E.164 without "+": "447700900123"
	Country string // ISO 3166-1 alpha-2, upper case: "GB"
	Voice   bool   // can make and receive calls
	SMS     bool   // can send and receive SMS
}

// Mode says what a conversation may carry.
type Mode string

const (
	ModeBoth  Mode = "both" // calls and SMS (the default)
	ModeVoice Mode = "voice"
	ModeSMS   Mode = "sms"
)

// Status of a conversation as stored.
type Status string

const (
	StatusActive  Status = "active"
	StatusClosed  Status = "closed"  // ended by CloseConversation
	StatusExpired Status = "expired" // ended by its TTL or idle timeout
)

// Participant is one side of a conversation: a real user's number and the
// proxy number that user dials, and sees calls and SMS from, to reach the
// other side. (Number, ProxyNumber) is the leg.
type Participant struct {
	Number      string // real number, digits only
	ProxyNumber string // pool number, digits only
	// Label names this participant to the other one in notifications,
	// e.g. "your driver". Optional.
	Label string
}

// Conversation lets two participants reach each other through proxy
// numbers until it is closed or expires.
type Conversation struct {
	ID     string
	Status Status
	Mode   Mode
	// Participants[0] is A, Participants[1] is B of the CreateRequest.
	Participants [2]Participant
	Metadata     map[string]string // from the host; never interpreted
	CreatedAt    time.Time
	// ExpiresAt is the absolute end (CreatedAt + TTL).
	ExpiresAt time.Time
	// IdleTimeout, when positive, ends the conversation that long after
	// LastActivityAt.
	IdleTimeout    time.Duration
	LastActivityAt time.Time
	// EndedAt is when it was closed or expired; zero while active.
	EndedAt time.Time
}

// Deadline is when the conversation stops routing if nothing else ends it:
// the earlier of ExpiresAt and LastActivityAt + IdleTimeout.
func (c Conversation) Deadline() time.Time {
	d := c.ExpiresAt
	if c.IdleTimeout > 0 {
		if idle := c.LastActivityAt.Add(c.IdleTimeout); idle.Before(d) {
			d = idle
		}
	}
	return d
}

// InUse reports whether the conversation routes at time t: it is active
// and its deadline is after t.
func (c Conversation) InUse(t time.Time) bool {
	return c.Status == StatusActive && c.Deadline().After(t)
}

// StatusAt is the status as a caller sees it at time t: an active
// conversation whose deadline has passed is StatusExpired even before the
// sweep has recorded it.
func (c Conversation) StatusAt(t time.Time) Status {
	if c.Status == StatusActive && !c.Deadline().After(t) {
		return StatusExpired
	}
	return c.Status
}

// InteractionKind is what an interaction carried.
type InteractionKind string

const (
	KindCall InteractionKind = "call"
	KindSMS  InteractionKind = "sms"
)

// Interaction is one call or one relayed SMS inside a conversation, with
// its status history: the audit trail.
type Interaction struct {
	ID             string
	ConversationID string
	Kind           InteractionKind
	// ExternalID is Vonage's ID: the call's conversation_uuid, or the
	// inbound SMS messageId (for multipart SMS, a key built from the
	// sender and concat-ref). Unique per Kind.
	ExternalID string
	From       string // the participant who called or texted (real number)
	To         string // the proxy number dialed or texted
	Text       string // SMS body; empty unless the Service stores bodies
	CreatedAt  time.Time
	Events     []InteractionEvent
}

// InteractionEvent is one status change of an interaction.
type InteractionEvent struct {
	Leg      string    // Vonage leg uuid for calls; "" for SMS
	Status   string    // e.g. "started", "answered", "completed", "relayed", "failed"
	At       time.Time // when it happened (Vonage's timestamp when it gives one)
	Duration int       // seconds, for completed calls
	Price    string    // as Vonage reports it, e.g. "0.00360000"
	Detail   string    // free text: a failure reason, a Vonage status code
}
