package proxy

import (
	"context"
	"time"
)

// Store keeps the pool, conversations, their legs and interactions. Its
// optional interfaces (BatchInteractionAdder, BatchClaimer,
// RouteClaimer) are at the end of this file.
//
// Every method takes the caller's context first and returns values, never
// pointers into the store's own memory: a caller may keep what it gets.
// Implementations must be safe for concurrent use, and — for stores shared
// by several Service instances — enforce the leg invariant themselves: among
// conversations in use, a (participant, proxy number) pair appears at most
// once.
//
// Time is always passed in by the caller (the Service's Config.Now), never
// read from the clock by the store, so tests and the conformance suite
// control it.
//
// A conversation is "in use" at time t when its Status is StatusActive and
// its Deadline() is after t. Legs of conversations not in use never route
// and never block allocation, even before ExpireConversations has swept
// them.
type Store interface {
	// AddNumbers adds numbers to the pool, or updates the country and
	// features of numbers already in it (matched by MSISDN). New numbers go
	// to the end of the pool order; existing ones keep their place.
	AddNumbers(ctx context.Context, nums ...PoolNumber) error
	// RemoveNumber takes a number out of the pool so it is offered for no
	// new conversation. Conversations already using it keep routing until
	// they end. ErrNotFound if it is not in the pool.
	RemoveNumber(ctx context.Context, msisdn string) error
	// Pool lists the pool in pool order (the order numbers were first
	// added). An empty pool is an empty slice and no error.
	Pool(ctx context.Context) ([]PoolNumber, error)
	// NumberLegs counts the legs in use on msisdn, whether or not it is
	// in the pool (0 for a number never seen); each participant of a PIN
	// conversation in use on it counts as one.
	NumberLegs(ctx context.Context, msisdn string) (int, error)

	// RoutePIN returns the PIN conversation (Conversation.PIN) in use at
	// now whose shared number is proxyNumber and whose PIN is pin.
	// ErrNotFound (wrapped) when none is.
	RoutePIN(ctx context.Context, proxyNumber, pin string, now time.Time) (Conversation, error)
	// PINConversations lists the PIN conversations in use at now in which
	// participant reaches the other through the shared number
	// proxyNumber, in ID order; an empty slice when none.
	PINConversations(ctx context.Context, participant, proxyNumber string, now time.Time) ([]Conversation, error)

	// Candidates lists the pool numbers that participant q.Participant may
	// be given for a new conversation with q.Counterpart, best first. See
	// CandidateQuery for the filters and the order. No candidates is an
	// empty slice and no error.
	Candidates(ctx context.Context, q CandidateQuery) ([]Candidate, error)
	// CreateConversation inserts c and its two legs atomically: either all
	// of it is written or none. It returns ErrConflict, writing nothing,
	// when c.ID exists or when either leg's (Number, ProxyNumber) is held
	// by another conversation in use at c.CreatedAt. Legs of conversations
	// not in use at c.CreatedAt do not conflict. A PIN conversation (PIN
	// set; both participants on one ProxyNumber) holds no legs: it
	// conflicts when another PIN conversation in use at c.CreatedAt has
	// the same shared number and PIN. While in use it counts in the shared
	// number's load (one per participant) and keeps its participants from
	// being given the shared number as a direct leg (Candidates). It
	// also returns ErrConflict when c.Key is not empty and another
	// conversation in use at c.CreatedAt has that Key; a holder whose
	// deadline has passed is expired (as the sweep would) and frees it.
	CreateConversation(ctx context.Context, c Conversation) error
	// ConversationByKey returns the conversation in use at now whose Key
	// is key. ErrNotFound (wrapped) when none is.
	ConversationByKey(ctx context.Context, key string, now time.Time) (Conversation, error)
	// Conversation returns the conversation with this ID, in whatever
	// status. ErrNotFound if there is none.
	Conversation(ctx context.Context, id string) (Conversation, error)
	// Route returns the conversation in use at now that has a leg
	// (participant, proxyNumber). ErrNotFound if there is none (unknown,
	// closed, expired). This is the answer webhook's hot path: one indexed
	// lookup, independent of the number of conversations.
	Route(ctx context.Context, participant, proxyNumber string, now time.Time) (Conversation, error)
	// ListConversations returns one page of conversations matching f,
	// ordered by ID ascending, and the cursor for the next page ("" when
	// this is the last page).
	ListConversations(ctx context.Context, f ListFilter) ([]Conversation, string, error)
	// EndConversation sets an active conversation's Status to status
	// (StatusClosed or StatusExpired) and EndedAt to at, releasing its legs
	// at that time. Ending a conversation that has already ended changes
	// nothing and returns it as it is. ErrNotFound if there is none.
	EndConversation(ctx context.Context, id string, status Status, at time.Time) (Conversation, error)
	// UpdateConversation applies u to the conversation with this ID,
	// which must be in use at now, and returns it updated; its deadline
	// follows from the new ExpiresAt and IdleTimeout and the stored
	// LastActivityAt. ErrNotFound if there is none; ErrConflict (wrapped)
	// if it is not in use at now (nothing changes).
	UpdateConversation(ctx context.Context, id string, u ConversationUpdate, now time.Time) (Conversation, error)
	// ReopenConversation makes the ended conversation with this ID active
	// again at now until expiresAt: Status active, EndedAt zero,
	// LastActivityAt now, its legs (or a PIN conversation's shared
	// number and PIN) held again. Atomically: when one of its legs, its
	// PIN or its Key is held by another conversation in use at now
	// (holders past their deadline block nothing, as for
	// CreateConversation), it returns a *LegTakenError matching
	// ErrConflict and changes nothing. A conversation in use at now is returned as it is.
	// ErrNotFound if there is none.
	ReopenConversation(ctx context.Context, id string, now, expiresAt time.Time) (Conversation, error)
	// Touch records activity at time at: LastActivityAt becomes at if that
	// is later, which extends an idle deadline. It does nothing to a
	// conversation that has ended. ErrNotFound if there is none.
	Touch(ctx context.Context, id string, at time.Time) error
	// ExpireConversations ends (StatusExpired, EndedAt = its Deadline())
	// up to limit active conversations whose Deadline() is not after now,
	// and returns their IDs. limit <= 0 means no limit.
	ExpireConversations(ctx context.Context, now time.Time, limit int) ([]string, error)

	// AddInteraction appends an interaction (without events; its Events
	// field is ignored). ErrConflict if one with the same Kind and
	// ExternalID exists: the Service relies on this to relay an SMS once.
	AddInteraction(ctx context.Context, in Interaction) error
	// InteractionByExternalID returns the interaction with this Kind and
	// ExternalID, with its events. ErrNotFound if there is none.
	InteractionByExternalID(ctx context.Context, kind InteractionKind, externalID string) (Interaction, error)
	// Interaction returns the interaction with this ID, with its events
	// (ordered as Interactions orders them). ErrNotFound if there is none.
	Interaction(ctx context.Context, id string) (Interaction, error)
	// AddInteractionEvent appends ev to the interaction's history. An
	// event with the same (Leg, Status) as one already recorded is
	// ignored (nil error): webhooks are delivered at least once.
	// ErrNotFound if the interaction does not exist.
	AddInteractionEvent(ctx context.Context, interactionID string, ev InteractionEvent) error
	// Interactions returns a conversation's interactions ordered by
	// CreatedAt then ID, each with its events ordered by At then insertion.
	// A conversation with none gives an empty slice; ErrNotFound if the
	// conversation does not exist.
	Interactions(ctx context.Context, conversationID string) ([]Interaction, error)
	// OpenCalls lists the call interactions (KindCall) that q selects and
	// that have an open leg: a Leg (not "") with an event whose status is
	// one of LiveLegStatuses and none whose status is one of
	// EndedLegStatuses. Each comes with all its events, as Interaction
	// gives them; they are ordered by ID, at most q.Limit. None is an
	// empty slice and no error. The Service's reconciliation asks the
	// Voice API about these legs, whose last event never came.
	OpenCalls(ctx context.Context, q OpenCallQuery) ([]Interaction, error)

	// AddMessagePart stores one part of a multipart inbound SMS and returns
	// the parts stored for its message, (p.From, p.To, p.Ref), in one
	// atomic step:
	//   - First, parts of the same (From, To, Ref) received before since
	//     are stale: they are deleted and never returned. A sender reuses
	//     its concat-ref (0–255), so an old incomplete message must not
	//     merge into a new one.
	//   - A part whose Part number is already stored (and not stale) is a
	//     redelivery: it changes nothing.
	//   - It returns every part stored for (From, To, Ref), ordered by
	//     Part. When they number p.Total or more (the message is
	//     complete), they are also removed from the store (consumed), so
	//     the ref can be reused and the complete set is handed out once: of
	//     concurrent calls completing the same message, exactly one
	//     receives it complete. A part arriving after that starts a new
	//     set.
	AddMessagePart(ctx context.Context, p MessagePart, since time.Time) ([]MessagePart, error)
	// DeleteMessageParts deletes the stored parts of multipart messages
	// received before before and, when from is not empty, sent by from,
	// and returns how many it deleted. A part waits in the store before
	// any routing, so it is tied to no conversation: the Service's sweep
	// deletes the parts that can no longer complete, and EraseParticipant
	// every part its person sent, with this.
	DeleteMessageParts(ctx context.Context, from string, before time.Time) (int, error)
	// AddRelay stores the interaction in exactly as AddInteraction does
	// (ErrConflict, writing nothing, when one with its Kind and ExternalID
	// exists) together with job, a message to send on its behalf, whose
	// ID must be in.ID: both are written or neither. A stored job stays
	// until FinishRelay, across restarts for a durable store.
	AddRelay(ctx context.Context, in Interaction, job RelayJob) error
	// ClaimRelays leases jobs to q.Owner until q.LeaseUntil and returns
	// them, oldest first: up to q.Limit (<= 0: all) jobs whose NextAttempt
	// is not after q.Now and that no owner holds a lease on past q.Now;
	// with q.ID set, only that job. However many owners claim at once, a
	// job is leased to one of them at a time. None due is an empty slice
	// and no error.
	ClaimRelays(ctx context.Context, q RelayClaim) ([]RelayJob, error)
	// FinishRelay deletes job id, leased to owner, and appends ev to its
	// interaction (as AddInteractionEvent does), in one step. ErrNotFound
	// when there is no such job or owner's lease on it was lost (it
	// expired and another owner claimed the job); nothing changes then.
	FinishRelay(ctx context.Context, id, owner string, ev InteractionEvent) error
	// RetryRelay gives job id, leased to owner, back for another attempt
	// at next: Attempts goes up by one and the lease ends. ErrNotFound as
	// for FinishRelay.
	RetryRelay(ctx context.Context, id, owner string, next time.Time) error

	// Pseudonymize replaces the participant numbers of conversations
	// that ended before q.EndedBefore (with q.Participant set, only that
	// participant's) by q.Pseudonym of each, on the conversation, its
	// legs and its interactions' From and To, and wherever either number
	// appears within its interactions' ExternalID and their events'
	// Detail (an ID built from the sender, an error naming the
	// recipient); it empties both participants' Label (a label is for
	// the other person while the conversation runs, and may name its
	// participant), the interactions' SMS bodies and the Detail of their
	// EventRecorded events (the recordings' URLs). With q.Participant
	// set (an erasure) it also empties the Metadata and the Key: they
	// are the host's, and may name either person. Conversations whose
	// numbers start with PseudonymPrefix are done already and skipped,
	// except that an erasure also empties the Labels, Metadata and Key
	// of the ended conversations already pseudonymized in which
	// q.Pseudonym(q.Participant) takes part (by an earlier retention
	// sweep), when they still hold any, and returns those IDs after the
	// others. It does at most q.Limit conversations (<= 0: all) of the
	// ones it pseudonymizes, oldest EndedAt first (then by ID), and
	// returns their IDs. Afterwards the
	// conversation lists under the pseudonyms, not the real numbers, and
	// counts in the cool-off and sticky rules of a CandidateQuery
	// through its ParticipantPseudonym and CounterpartPseudonym. A relay
	// job still waiting for a pseudonymized conversation's interaction
	// is deleted: it holds the recipient's number and the text.
	Pseudonymize(ctx context.Context, q PseudonymQuery) ([]string, error)

	// Claim is the Store's shared-claim primitive, which several
	// instances use to agree on who does something, or to remember a
	// fact for a time: it claims key until expires, as of now.
	// ErrConflict if key was claimed before and that claim's expiry is
	// after now (it is then left unchanged); otherwise the claim is
	// recorded, or recorded again, until expires. Stores may forget
	// claims whose expiry is not after now (or after the now of
	// ExpireConversations). The Service keys its claims by use: a signed
	// webhook's jti (replay), a STOP opt-out (for good), wrong PINs and
	// PIN lock-outs, purchase leases of the autopilot, an automatic
	// reply sent once.
	Claim(ctx context.Context, key string, now, expires time.Time) error
	// ReleaseClaim forgets the claim of key, live or not, so that key can
	// be claimed again at once; no error when there is none. Used to
	// lift an SMS opt-out (START).
	ReleaseClaim(ctx context.Context, key string) error
}

// PseudonymPrefix starts every pseudonym Store.Pseudonymize writes: no
// phone number does.
const PseudonymPrefix = "anon-"

// PseudonymQuery selects what Store.Pseudonymize replaces.
type PseudonymQuery struct {
	EndedBefore time.Time
	// Participant, when not empty, makes the query an erasure of this
	// participant's conversations; "" for every participant (the
	// retention sweep).
	Participant string
	// Pseudonym maps a participant number to its pseudonym, which starts
	// with PseudonymPrefix.
	Pseudonym func(number string) string
	Limit     int
}

// OpenCallQuery selects the calls Store.OpenCalls lists.
type OpenCallQuery struct {
	// CreatedAfter and CreatedBefore bound the interaction's CreatedAt:
	// after the first (the zero time: no bound) and before the second.
	CreatedAfter, CreatedBefore time.Time
	// QuietBefore keeps calls whose every event is before it: none came
	// at or after QuietBefore.
	QuietBefore time.Time
	// After is the cursor: only IDs greater than After ("" for all).
	After string
	// Limit is the most calls listed; <= 0 means 100.
	Limit int
}

// ConversationUpdate is a change for Store.UpdateConversation; a nil
// field is left as it is.
type ConversationUpdate struct {
	ExpiresAt   *time.Time
	IdleTimeout *time.Duration
	Mode        *Mode
	// Labels are the participants' labels, A's then B's.
	Labels *[2]string
	// Metadata, when not nil, replaces the metadata (an empty map clears
	// it).
	Metadata map[string]string
	Record   *bool
}

// CandidateQuery selects and orders allocation candidates for one
// participant. A pool number is a candidate when all of these hold:
//   - it has the features asked for (Voice, SMS) and, when Country and
//     Prefix are not empty, that country and an MSISDN starting with
//     Prefix;
//   - Participant holds no leg on it in a conversation in use at Now;
//   - Participant did not release a leg on it after ReleasedAfter, unless
//     every such release was from a conversation with Counterpart (a late
//     redial may reach an old contact, never a new stranger). A leg is
//     released at its conversation's EndedAt, or at its Deadline() when
//     that has passed by Now but the conversation was not swept yet.
//
// Candidates are ordered: the sticky number first (the proxy number
// Participant had in its most recent conversation with Counterpart, by
// CreatedAt, if it is a candidate), then by Load ascending, then by pool
// order.
//
// A pseudonymized conversation (Store.Pseudonymize) takes part in both
// rules as its participants' ParticipantPseudonym and
// CounterpartPseudonym, so forgetting a person's number neither ends
// their cool-off early nor loses their sticky number.
type CandidateQuery struct {
	Participant string
	Counterpart string
	// ParticipantPseudonym and CounterpartPseudonym are the two numbers'
	// pseudonyms, as Pseudonymize wrote them; "" when there are none.
	ParticipantPseudonym string
	CounterpartPseudonym string
	Country              string // ISO 3166-1 alpha-2 ("GB"); "" for any country
	// Prefix, when not empty, keeps numbers whose MSISDN starts with it
	// (a NANP area code: "1415").
	Prefix        string
	Voice, SMS    bool // features the number must have
	Now           time.Time
	ReleasedAfter time.Time // Now minus the cool-off period
	Limit         int       // at most this many candidates; <= 0 for all
}

// Candidate is one proxy number a participant may be given.
type Candidate struct {
	PoolNumber PoolNumber
	// Sticky reports that Participant used this number last time with
	// Counterpart.
	Sticky bool
	// Load is the number of legs on this number in conversations in use.
	// A store may also count legs of conversations that have passed their
	// deadline but were not swept yet.
	Load int
}

// ListFilter selects conversations for ListConversations.
type ListFilter struct {
	// Status: "" for every conversation; StatusActive for those in use at
	// Now; StatusClosed or StatusExpired for those that ended that way
	// (StatusExpired also matches active conversations whose deadline
	// passed by Now but were not swept yet).
	Status Status
	Now    time.Time
	// Participant, when not empty, keeps conversations with a leg whose
	// Number is this participant.
	Participant string
	// After is the cursor: only IDs greater than After.
	After string
	// Limit is the page size; <= 0 means 100.
	Limit int
}

// MessagePart is one part of a multipart (concatenated) inbound SMS.
type MessagePart struct {
	From, To   string // sender (participant) and proxy number, digits only
	Ref        string // Vonage concat-ref
	Part       int    // 1-based concat-part
	Total      int    // concat-total
	MessageID  string
	Text       string
	ReceivedAt time.Time
}

// RelayJob is a message the Service has accepted (answered Vonage 2xx
// for) and must still send: an inbound SMS relayed to the other
// participant. It lives in the store so that a restart, or the failure of
// the instance that took it, loses nothing.
type RelayJob struct {
	ID             string // the interaction it belongs to
	ConversationID string
	From           string // the pool number to send from
	To             string // the participant to send to
	Text           string
	Attempts       int       // sends tried so far
	NextAttempt    time.Time // not to be tried before
	CreatedAt      time.Time
}

// RelayClaim selects the jobs ClaimRelays leases.
type RelayClaim struct {
	Owner      string    // who takes the lease (one per Service instance)
	Now        time.Time // jobs due by now, not leased past now
	LeaseUntil time.Time // the lease's end; another owner may claim after
	Limit      int       // at most this many; <= 0 for all due
	ID         string    // when not empty, only this job
}

// The optional interfaces below are Stores that can do more in one
// round trip; the Service uses each when its Store has it, and does
// without otherwise. sqlstore.Store has them all; the memory store, with
// no round trips to save, none.

// BatchInteractionAdder is a Store that can add many interactions in one
// round trip. AddInteractions stores each of ins as AddInteraction would,
// skipping (not failing on) those whose ID, or Kind and ExternalID,
// exist, and returns the ones it stored. sqlstore.Store implements it; the
// Service uses it, when the store has it, to record answered calls off
// the answer webhook's path.
type BatchInteractionAdder interface {
	AddInteractions(ctx context.Context, ins []Interaction) (stored []Interaction, err error)
}

// ClaimRequest is one claim of Claims: key until Expires, as of Now.
type ClaimRequest struct {
	Key          string
	Now, Expires time.Time
}

// BatchClaimer is a Store that can claim many nonces in one round
// trip: fresh[i] reports whether claims[i] was recorded, exactly as
// Claim would have decided it (false for a key claimed and still
// live, or repeated earlier in the batch). sqlstore.Store implements it;
// the Service uses it to claim signed webhooks' jti in groups.
type BatchClaimer interface {
	Claims(ctx context.Context, claims []ClaimRequest) (fresh []bool, err error)
}

// RouteClaim is one request of ClaimRoutes: claim Nonce (unless its Key
// is "") and route (Participant, ProxyNumber) at Now, as Store.Route
// would (no route is looked up when Participant is "").
type RouteClaim struct {
	Nonce                    ClaimRequest
	Participant, ProxyNumber string
	Now                      time.Time
}

// RouteClaimResult answers one RouteClaim: whether its nonce was fresh
// (true when it had none), and the conversation it routes to (Found
// false when none does: what Store.Route reports as ErrNotFound).
type RouteClaimResult struct {
	Fresh        bool
	Found        bool
	Conversation Conversation
}

// RouteClaimer is a Store that claims signed answer webhooks' nonces and
// routes their calls together, for many webhooks in one round trip: each
// result is what Claims and Route would have answered, the nonce
// claimed whether or not the call routes. sqlstore.Store implements it;
// with it the answer webhook of a signed call makes one store round trip
// before it answers instead of two.
type RouteClaimer interface {
	ClaimRoutes(ctx context.Context, reqs []RouteClaim) ([]RouteClaimResult, error)
}
