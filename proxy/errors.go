package proxy

import (
	"errors"
	"fmt"
	"strings"

	"github.com/voiceproxy/voiceproxy/insight"
	"github.com/voiceproxy/voiceproxy/internal/phone"
)

// Sentinel errors; test with errors.Is. Stores return ErrNotFound and
// ErrConflict (possibly wrapped); the Service adds the others, mostly
// through the typed errors below, which match them.
var (
	// ErrNotFound: no such conversation, route, number or interaction.
	ErrNotFound = errors.New("proxy: not found")
	// ErrConflict: the write collides with existing state, e.g. a leg
	// (participant, proxy number) already held by another active
	// conversation, or a duplicate ID, external ID or nonce.
	ErrConflict = errors.New("proxy: conflict")
	// ErrPoolExhausted: no proxy number is left for a participant.
	ErrPoolExhausted = errors.New("proxy: number pool exhausted")
	// ErrPINInUse: CreateRequest.PIN is taken by a conversation in use
	// on every shared number that could carry the conversation.
	ErrPINInUse = errors.New("proxy: PIN in use on the shared number")
	// ErrNumberBeingBought: the pool autopilot (on this instance or
	// another) is buying a number for the country; retry in a moment.
	ErrNumberBeingBought = errors.New("proxy: a number is being bought for this country; retry shortly")
	// ErrPoolBudget: the pool autopilot may not buy (see *BudgetError).
	ErrPoolBudget = errors.New("proxy: pool autopilot budget reached")
	// ErrPurchaseFailed: the pool autopilot's purchase failed (see
	// *PurchaseError); the country is not tried again for
	// Autopilot.Backoff.
	ErrPurchaseFailed = errors.New("proxy: number purchase failed")
	// ErrNoNumbersForSale: the Numbers API offers no number with the
	// features needed in the country.
	ErrNoNumbersForSale = errors.New("proxy: no number for sale")
	// ErrInvalidNumber: a phone number is malformed or not valid. It is
	// the same value as ncco.ErrInvalidNumber.
	ErrInvalidNumber = phone.ErrInvalidNumber
	// ErrPoolNumberParticipant: a participant's number is one of the
	// pool's numbers; calls to it would loop back into the service.
	// Matched by the *NumberError CreateConversation returns.
	ErrPoolNumberParticipant = errors.New("proxy: a pool number cannot be a participant")
	// ErrInvalidRequest: a request's fields are out of range or not
	// text (an unknown mode, a TTL under a minute, a label with a NUL
	// byte); the error says which.
	ErrInvalidRequest = errors.New("proxy: invalid request")
	// ErrSameNumber: both participants are the same phone number.
	ErrSameNumber = errors.New("proxy: participants have the same number")
	// ErrInsightUnavailable is matched by an *InsightError: the Number
	// Insight check could not be made (outage, throttling, credit,
	// timeout). It says nothing about whether the number is valid.
	ErrInsightUnavailable = errors.New("proxy: number insight unavailable")
	// ErrKeyConflict is matched by a *KeyConflictError: CreateRequest.Key
	// is held by a conversation in use between other participants.
	ErrKeyConflict = errors.New("proxy: idempotency key held by another conversation")
	// ErrTooManyConflicts is matched by the error CreateConversation
	// returns when every allocation attempt collided with concurrent
	// writers.
	ErrTooManyConflicts = errors.New("proxy: allocation kept conflicting")
	// ErrUnsignedWebhooks: New was given a Config that would accept
	// webhooks nobody signed (no signature secret, and no
	// Config.Webhooks.InsecureUnsigned).
	ErrUnsignedWebhooks = errors.New("proxy: webhooks would be accepted unsigned")
)

// NumberError reports a phone number that was rejected. It wraps
// ErrInvalidNumber, plus the underlying cause when there is one; Reason
// says why, for a program.
//
// Its text names the participant (by side and label) or the argument,
// says why the number was rejected and what to do, but never holds the
// number itself: errors end up in logs, and a participant's number is
// personal data (the Service logs numbers masked). Input has it.
type NumberError struct {
	// Field names the argument the number came in: "A" or "B" (the
	// participants of a CreateRequest), "Participant" (a ListFilter),
	// "PoolNumber[i]" (the i-th number given to AddNumbers) or "MSISDN"
	// (RemoveNumber).
	Field string
	// Label is the participant's label (CreateRequest.Labels), when it
	// has one.
	Label string
	Input string // the number as given; not in Error's text
	Err   error  // cause; errors.Is(e, ErrInvalidNumber) always holds
}

// NumberReason says why a phone number was rejected (NumberError.Reason).
type NumberReason string

// The reasons of a *NumberError. The first eight come from checking the
// number against libphonenumber's numbering plans
// (IsPossibleNumberWithReason, then validity).
const (
	// ReasonNotANumber: empty, letters or symbols, a misplaced "+".
	ReasonNotANumber = NumberReason(phone.NotANumber)
	// ReasonNoCountryCode: a national number ("07700 900123"); write it
	// with "+" and the country code.
	ReasonNoCountryCode = NumberReason(phone.NoCountryCode)
	// ReasonTooShort, ReasonTooLong: too few or too many digits for any
	// number of the country (or for E.164's 7 to 15).
	ReasonTooShort = NumberReason(phone.TooShort)
	ReasonTooLong  = NumberReason(phone.TooLong)
	// ReasonInvalidCountryCode: no country calling code starts it.
	ReasonInvalidCountryCode = NumberReason(phone.InvalidCountryCode)
	// ReasonInvalidLength: a length the country's numbers never have.
	ReasonInvalidLength = NumberReason(phone.InvalidLength)
	// ReasonUnassigned: of a possible length, but outside every range
	// the country's numbering plan assigns. Config.Allocation.LenientNumbers
	// accepts it.
	ReasonUnassigned = NumberReason(phone.Unassigned)
	// ReasonReserved: in a range reserved for drama and tests, never
	// assigned (Ofcom's +44 7700 900xxx, which Vonage's docs and this
	// package's examples use). Config.Allocation.LenientNumbers accepts it.
	ReasonReserved = NumberReason(phone.Reserved)
	// ReasonPoolNumber: one of the pool's numbers
	// (ErrPoolNumberParticipant).
	ReasonPoolNumber NumberReason = "pool_number"
	// ReasonInsight: Number Insight found the number not valid.
	ReasonInsight NumberReason = "insight"
	// ReasonUnknown: none of the above.
	ReasonUnknown NumberReason = ""
)

// Reason says why the number was rejected.
func (e *NumberError) Reason() NumberReason {
	var pe *phone.Error
	switch {
	case errors.As(e.Err, &pe):
		return NumberReason(pe.Reason)
	case errors.Is(e.Err, ErrPoolNumberParticipant):
		return ReasonPoolNumber
	case errors.Is(e.Err, insight.ErrInvalidRequest):
		return ReasonInsight
	}
	return ReasonUnknown
}

// Error names where the number came from, why it was rejected and, where
// a setting or a fix applies, what to do; never the number.
func (e *NumberError) Error() string {
	where := e.Field
	participant := where == SideA.String() || where == SideB.String()
	if participant {
		where = "participant " + where + labelSuffix(e.Label)
	}
	msg := "proxy: " + where + ": invalid phone number"
	var pe *phone.Error
	switch {
	case e.Err == nil || e.Err == ErrInvalidNumber:
		return msg
	case errors.As(e.Err, &pe):
		if pe.Detail != "" {
			msg += ": " + pe.Detail
		}
	case errors.Is(e.Err, ErrPoolNumberParticipant):
		return msg + ": it is one of the pool's proxy numbers, and calls to it would loop back into the service"
	default:
		// Number Insight's answer; masked in case it quotes the number.
		return msg + ": " + phone.Redact(e.Err.Error())
	}
	switch e.Reason() {
	case ReasonNoCountryCode:
		msg += `; write it in international form, "+" and the country code`
	case ReasonReserved:
		if participant {
			msg += "; Config.Allocation.LenientNumbers accepts it (for tests and demos)"
		}
	case ReasonUnassigned:
		if participant {
			msg += "; check the number (Config.Allocation.LenientNumbers accepts numbers of a possible length outside the assigned ranges)"
		}
	}
	return msg
}

// labelSuffix is ` ("your rider")` for a participant's label, cut to 40
// bytes; "" without one.
func labelSuffix(label string) string {
	if label == "" {
		return ""
	}
	const maxShown = 40
	if len(label) > maxShown {
		label = strings.ToValidUTF8(label[:maxShown], "") + "…"
	}
	return fmt.Sprintf(" (%q)", phone.Redact(label))
}

// Unwrap returns ErrInvalidNumber and the cause, if any.
func (e *NumberError) Unwrap() []error {
	if e.Err == nil || e.Err == ErrInvalidNumber {
		return []error{ErrInvalidNumber}
	}
	return []error{ErrInvalidNumber, e.Err}
}

// InsightError reports that the Number Insight check of a participant
// could not be made. It matches ErrInsightUnavailable and wraps the
// client's error; it does not match ErrInvalidNumber.
type InsightError struct {
	Side Side // the participant whose check failed
	Err  error
}

// Error describes the failed check.
func (e *InsightError) Error() string {
	return fmt.Sprintf("proxy: participant %s: number insight check failed: %v", e.Side, e.Err)
}

// Unwrap returns ErrInsightUnavailable and the client's error.
func (e *InsightError) Unwrap() []error { return []error{ErrInsightUnavailable, e.Err} }

// PoolExhaustedError reports that no proxy number is left for a
// participant. It matches ErrPoolExhausted. Nothing was written.
//
// Its text tells an empty pool ("the pool is empty", and how to fill
// it) from a pool with no number of the country or features asked for,
// and from one whose fitting numbers are all taken for this participant.
type PoolExhaustedError struct {
	Side  Side   // the participant left without a number
	Label string // the participant's label, when it has one
	// Country is the country asked for; "" when any country was
	// allowed.
	Country string
	// Voice and SMS are the features the conversation's mode needs.
	Voice, SMS bool
	// Pool is how many numbers the pool holds; Fitting, how many of
	// them have Country (when set) and the features. All Fitting
	// numbers are taken for the participant: each carries one of its
	// conversations in use, or is cooling off after one
	// (Config.Allocation.CoolOff). CreateConversation counts them when it fails;
	// -1 when not known (the store could not list the pool; Fitting, for
	// a PIN conversation's shared number).
	Pool, Fitting int
	// Autopilot says why the pool autopilot did not add a number
	// (ErrNumberBeingBought, *BudgetError, *PurchaseError); nil when it
	// is off.
	Autopilot error

	counted bool // Pool and Fitting are set
}

// Error names the participant (by side and label, never by number),
// says what the pool lacks and how to add to it, and why the autopilot
// did not help.
func (e *PoolExhaustedError) Error() string {
	msg := fmt.Sprintf("proxy: number pool exhausted for participant %s%s", e.Side, labelSuffix(e.Label))
	in := ""
	if e.Country != "" {
		in = " in " + e.Country
	}
	features := "voice and SMS"
	switch {
	case !e.SMS:
		features = "voice"
	case !e.Voice:
		features = "SMS"
	}
	switch {
	case e.Pool == 0:
		msg += ": the pool is empty; fill it with Service.SyncNumbers (the numbers linked to your Vonage application) or Service.AddNumbers, or set Config.Pool.Autopilot to buy numbers"
	case e.Pool > 0 && e.Fitting == 0:
		msg += fmt.Sprintf(": none of the pool's %d numbers%s has %s; add such numbers", e.Pool, in, features)
		if e.Country != "" {
			msg += " (or set Config.Allocation.GeoFallback to GeoAnyCountry to use other countries' numbers)"
		}
	case e.Fitting > 0:
		msg += fmt.Sprintf(": all %d pool numbers%s with %s are taken for this participant (by its conversations in use, or cooling off after one: Config.Allocation.CoolOff); add numbers or close conversations", e.Fitting, in, features)
	default:
		msg += in
	}
	if e.Autopilot != nil {
		msg += "; autopilot: " + e.Autopilot.Error()
	}
	return msg
}

// Unwrap returns ErrPoolExhausted and the autopilot's error.
func (e *PoolExhaustedError) Unwrap() []error {
	if e.Autopilot == nil {
		return []error{ErrPoolExhausted}
	}
	return []error{ErrPoolExhausted, e.Autopilot}
}

// BudgetError says which of the Autopilot's limits stopped a purchase.
// It matches ErrPoolBudget.
type BudgetError struct {
	Country string
	Limit   string  // "MaxNumbers", "MaxPerCountry", "MaxPurchasesPerHour", "MonthlyBudget"
	Value   float64 // the limit's value
}

func (e *BudgetError) Error() string {
	return fmt.Sprintf("%v: %s %g reached (country %s)", ErrPoolBudget, e.Limit, e.Value, e.Country)
}

// Unwrap returns ErrPoolBudget.
func (e *BudgetError) Unwrap() error { return ErrPoolBudget }

// PurchaseError is a failed purchase by the pool autopilot: the search,
// the buy (Vonage answers 420 when the number was taken meanwhile, the
// country needs documents, or the balance does not cover the first
// month), or linking it to the application (the number is then
// cancelled again). It matches ErrPurchaseFailed and Err (a
// *numbers.Error, or ErrNoNumbersForSale).
type PurchaseError struct {
	Country string
	MSISDN  string // "" when no number was chosen
	Reason  string
	Err     error
}

func (e *PurchaseError) Error() string {
	msg := fmt.Sprintf("%v: %s (country %s", ErrPurchaseFailed, e.Reason, e.Country)
	if e.MSISDN != "" {
		msg += ", number " + e.MSISDN
	}
	return msg + "): " + e.Err.Error()
}

// Unwrap returns ErrPurchaseFailed and Err.
func (e *PurchaseError) Unwrap() []error { return []error{ErrPurchaseFailed, e.Err} }

// ErrLegTaken is matched by a *LegTakenError.
var ErrLegTaken = errors.New("proxy: leg taken by another conversation")

// LegTakenError reports why an ended conversation could not be reopened:
// what it held is held by another conversation in use. Nothing changed.
type LegTakenError struct {
	ConversationID string // the conversation that could not be reopened
	// Side is the participant whose leg (Participant, ProxyNumber) is
	// taken; for a PIN or a Key, SideA, with What saying which.
	Side                     Side
	Participant, ProxyNumber string
	// What is "leg", "pin" or "key".
	What string
	// HeldBy is the conversation holding it, when the store knows.
	HeldBy string
}

func (e *LegTakenError) Error() string {
	switch e.What {
	case "pin":
		return fmt.Sprintf("proxy: conversation %s: its PIN on %s is in use by conversation %s", e.ConversationID, e.ProxyNumber, e.HeldBy)
	case "key":
		return fmt.Sprintf("proxy: conversation %s: its key is held by conversation %s", e.ConversationID, e.HeldBy)
	}
	if e.ConversationID == "" { // a new conversation's
		return fmt.Sprintf("proxy: participant %s's leg on %s is held by conversation %s", e.Side, e.ProxyNumber, e.HeldBy)
	}
	return fmt.Sprintf("proxy: conversation %s: participant %s's leg on %s is held by conversation %s",
		e.ConversationID, e.Side, e.ProxyNumber, e.HeldBy)
}

// Unwrap returns ErrLegTaken and ErrConflict.
func (e *LegTakenError) Unwrap() []error { return []error{ErrLegTaken, ErrConflict} }

// KeyConflictError reports a CreateRequest.Key held by a conversation in
// use whose participants are not the request's: the key names another
// job. Nothing was created.
type KeyConflictError struct {
	Key string
	// ConversationID is the conversation holding the key.
	ConversationID string
}

func (e *KeyConflictError) Error() string {
	return fmt.Sprintf("proxy: key %q is held by conversation %s between other participants", e.Key, e.ConversationID)
}

// Unwrap returns ErrKeyConflict.
func (e *KeyConflictError) Unwrap() error { return ErrKeyConflict }

// NotifyError reports that the notification SMS of one or both
// participants failed: CreateConversation's (the conversation was created
// and is returned alongside this error) or CloseConversation's goodbye
// (WithGoodbye: the conversation was closed, and is returned alongside).
type NotifyError struct {
	// Failed maps SideA and/or SideB to the send error.
	Failed map[Side]error
}

// Error lists the participants whose SMS failed.
func (e *NotifyError) Error() string {
	var b strings.Builder
	b.WriteString("proxy: notification SMS failed for")
	for _, side := range [...]Side{SideA, SideB} {
		if err, ok := e.Failed[side]; ok {
			fmt.Fprintf(&b, " participant %s (%v);", side, err)
		}
	}
	return strings.TrimSuffix(b.String(), ";")
}

// Unwrap returns the send errors, A's first.
func (e *NotifyError) Unwrap() []error {
	var errs []error
	for _, side := range [...]Side{SideA, SideB} {
		if err, ok := e.Failed[side]; ok {
			errs = append(errs, err)
		}
	}
	return errs
}

// ErrNoSMSSender: an SMS cannot be sent for want of Config.SMS.Sender (returned
// by SendMessage, recorded on relays and notifications).
var ErrNoSMSSender = errors.New("proxy: no SMS sender configured")
