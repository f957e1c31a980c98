package proxy

import (
	"strconv"
	"time"
)

// PoolNumber is a proxy number: a Vonage virtual number in the pool.
type PoolNumber struct {
	MSISDN  string // digits only, E.164 without "+": "447700900123"
	Country string // ISO 3166-1 alpha-2, upper case: "GB"
	Voice   bool   // can make and receive calls
	SMS     bool   // can send and receive SMS
	// Bought is when the pool autopilot bought the number, zero for a
	// number added otherwise; MonthlyCost is its monthly rental (EUR) as
	// the Numbers API's search gave it. The autopilot's budget counts
	// them. AddNumbers keeps a number's Bought and MonthlyCost when it is
	// given them zero.
	Bought      time.Time
	MonthlyCost float64
	// Legs is how many legs in use the number carries, and LastUsed when
	// a leg on it was last released (zero if none ever was), as
	// Store.Pool reports them; AddNumbers ignores both.
	Legs     int
	LastUsed time.Time
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

// Side names one participant of a conversation: SideA or SideB, the A and
// B of its CreateRequest. It is the index into Conversation.Participants.
type Side int

const (
	SideA Side = 0
	SideB Side = 1
)

// Other is the other side.
func (s Side) Other() Side { return 1 - s }

// String is "A" or "B".
func (s Side) String() string {
	switch s {
	case SideA:
		return "A"
	case SideB:
		return "B"
	}
	return "Side(" + strconv.Itoa(int(s)) + ")"
}

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
	// Participants[SideA] is A, Participants[SideB] is B of the
	// CreateRequest.
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
	// PIN, when set, makes it a shared-number conversation (AccessPIN):
	// both participants have the same ProxyNumber, shared with other PIN
	// conversations, and enter these digits after dialling it. The
	// conversation holds no legs; among conversations in use, a shared
	// number's PINs are unique.
	PIN string
	// Record records its calls (CreateRequest.Record, else Config.Calls.RecordByDefault
	// when it was created).
	Record bool
	// Key is the host's idempotency key (CreateRequest.Key: a job or
	// order ID); "" for none. Among conversations in use, keys are
	// unique.
	Key string
}

// Access is how a conversation's participants reach each other.
type Access string

const (
	// AccessDirect: each participant dials their own proxy number, which
	// routes by itself (the default).
	AccessDirect Access = "direct"
	// AccessPIN: both dial one shared number and enter the
	// conversation's PIN.
	AccessPIN Access = "pin"
)

// Access reports AccessPIN for a conversation with a PIN, else
// AccessDirect.
func (c Conversation) Access() Access {
	if c.PIN != "" {
		return AccessPIN
	}
	return AccessDirect
}

// Deadline is when the conversation stops routing if nothing else ends it:
// the earlier of ExpiresAt and LastActivityAt + IdleTimeout.
func (c Conversation) Deadline() time.Time {
	return deadline(c.ExpiresAt, c.LastActivityAt, c.IdleTimeout)
}

// deadline is Conversation.Deadline of its parts, for stores that keep
// conversations in another shape.
func deadline(expires, lastActivity time.Time, idle time.Duration) time.Time {
	if idle > 0 {
		if d := lastActivity.Add(idle); d.Before(expires) {
			return d
		}
	}
	return expires
}

// statusAt is Conversation.StatusAt of its parts.
func statusAt(status Status, deadline, t time.Time) Status {
	if status == StatusActive && !deadline.After(t) {
		return StatusExpired
	}
	return status
}

// sideOf is the side whose leg is (participant, poolNumber): SideB when
// B holds it, else SideA (the side a routed leg must be).
func (c Conversation) sideOf(participant, poolNumber string) Side {
	if p := c.Participants[SideB]; p.Number == participant && p.ProxyNumber == poolNumber {
		return SideB
	}
	return SideA
}

// InUse reports whether the conversation routes at time t: it is active
// and its deadline is after t.
func (c Conversation) InUse(t time.Time) bool {
	return statusAt(c.Status, c.Deadline(), t) == StatusActive
}

// StatusAt is the status as a caller sees it at time t: an active
// conversation whose deadline has passed is StatusExpired even before the
// sweep has recorded it.
func (c Conversation) StatusAt(t time.Time) Status {
	return statusAt(c.Status, c.Deadline(), t)
}

// InteractionKind is what an interaction carried.
type InteractionKind string

const (
	KindCall InteractionKind = "call"
	KindSMS  InteractionKind = "sms"
	// KindNotification is an SMS the Service sent a participant itself
	// (CreateRequest.Notify): From is the pool number it came from, To
	// the participant.
	KindNotification InteractionKind = "notification"
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
	// Region is a call's region_url, where the Voice API takes requests
	// about it ("https://api-us-3.vonage.com"); "" for the default, and
	// for SMS.
	Region    string
	CreatedAt time.Time
	Events    []InteractionEvent
}

// InteractionEvent is one status change of an interaction.
type InteractionEvent struct {
	Leg      string      // Vonage leg uuid for calls; "" for SMS
	Status   EventStatus // e.g. EventStarted, EventAnswered, EventCompleted, EventRelayed
	At       time.Time   // when it happened (Vonage's timestamp when it gives one)
	Duration int         // seconds, for completed calls
	Price    string      // as Vonage reports it, e.g. "0.00360000"
	Detail   string      // free text: a failure reason, a Vonage status code

	// Direction is the call leg's: "inbound" for the caller's leg (the
	// one Vonage asked the answer URL about), "outbound" for the leg the
	// connect rang. "" for SMS.
	Direction string
	// Fields of a completed call leg, as Vonage reports them.
	Rate           string    // price per minute
	Network        string    // the leg's network (MCCMNC)
	DisconnectedBy string    // who hung up: "user" or "platform"
	StartTime      time.Time // when the leg was answered
	EndTime        time.Time // when it ended
}

// EventStatus is the status of an InteractionEvent: for calls, the status
// Vonage reports in a leg's event webhook (lower case, as Vonage writes
// it, so statuses this package does not name are kept too); for SMS and
// refused calls, one the Service records.
type EventStatus string

// Call statuses from Vonage's event webhook (Voice API reference,
// "Event webhook").
const (
	EventStarted    EventStatus = "started"
	EventRinging    EventStatus = "ringing"
	EventAnswered   EventStatus = "answered"
	EventCompleted  EventStatus = "completed"
	EventBusy       EventStatus = "busy"
	EventCancelled  EventStatus = "cancelled"
	EventUnanswered EventStatus = "unanswered"
	EventRejected   EventStatus = "rejected"
	EventTimeout    EventStatus = "timeout"
)

// Statuses the Service records itself.
const (
	// EventBlocked: a call or SMS that routed to a conversation was
	// refused (an Intercept veto, or a conversation whose mode does not
	// carry it). The event's Detail says why.
	EventBlocked EventStatus = "blocked"
	// EventRelayed: an SMS was sent on to the other participant; Detail
	// holds Vonage's message IDs.
	EventRelayed EventStatus = "relayed"
	// EventFailed: Vonage's event for a failed call leg, or an SMS that
	// could not be relayed; Detail says why.
	EventFailed EventStatus = "failed"
	// EventRecorded: a call's recording is ready; Detail is its URL.
	EventRecorded EventStatus = "recorded"
	// EventError: Vonage reported an error for the call (an NCCO it
	// could not run, a leg it could not create); Detail is its reason.
	EventError EventStatus = "error"
	// EventSent: a notification or message SMS was accepted by Vonage;
	// Detail holds its message IDs.
	EventSent EventStatus = "sent"
)

// SMS delivery statuses from Vonage's delivery receipts (SMS API
// reference, "Delivery receipt"), recorded on the SMS's interaction with
// the message ID as Leg.
const (
	EventDelivered EventStatus = "delivered"
	EventExpired   EventStatus = "expired"
	// EventUndelivered is a receipt whose status is "failed".
	EventUndelivered EventStatus = "undelivered"
	// A receipt "rejected" is recorded as EventRejected.
)
