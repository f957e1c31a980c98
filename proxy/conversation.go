package proxy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/voiceproxy/voiceproxy/internal/phone"
	"github.com/voiceproxy/voiceproxy/internal/phone/numplan"
)

// Labels name each participant to the other in notifications ("your
// driver", "your rider").
type Labels struct {
	A, B string
}

// CreateRequest asks for a new conversation between A and B.
type CreateRequest struct {
	// A and B are the participants' real numbers, in any accepted form
	// ("+447700900123", "447700900123", "+44 7700 900123", "0044…").
	A, B string
	// TTL is the absolute lifetime; 0 means Config.DefaultTTL.
	TTL time.Duration
	// IdleTimeout, when positive, also ends the conversation that long
	// after its last call or SMS.
	IdleTimeout time.Duration
	// Mode is what the conversation may carry; "" means ModeBoth.
	Mode Mode
	// Labels name the participants to each other in notifications.
	Labels Labels
	// Metadata is kept with the conversation and never interpreted.
	Metadata map[string]string
	// Notify sends each participant an SMS from its proxy number saying
	// how to reach the other (needs Config.SMS.Sender); not to one who sent
	// STOP to that number (ErrOptedOut in the *NotifyError).
	Notify bool
	// Access is AccessDirect (the default: each participant gets a
	// proxy number of their own) or AccessPIN (both share one number of
	// the pool and enter a PIN; for countries where numbers are scarce).
	Access Access
	// PIN is a PIN conversation's PIN, 4 to 8 digits, unique among the
	// shared number's conversations in use (ErrPINInUse otherwise).
	// Default "": one of Config.PIN.Length digits is generated.
	PIN string
	// Record records the conversation's calls (a record action before
	// the connect; Config.Calls.RecordingNotice is spoken first when set);
	// Service.Recording fetches them. Default nil: Config.Record.
	Record *bool
	// ProxyA, when set, is A's proxy number instead of one allocated: a
	// pool number with the features the mode needs, on which A holds no
	// leg in use (a *LegTakenError otherwise). Cool-off does not apply:
	// A chose it. Used for contacts started by A dialling a published
	// number (Config.Hooks.OnUnknownContact). Default "": allocated. Direct
	// access only.
	ProxyA string
	// Key makes the create idempotent: the host's job or order ID, up
	// to MaxKeyLength bytes of text. While a conversation with this Key
	// is in use, creating another with it returns that conversation
	// (same A and B, whatever the other fields; no notification is sent
	// again) or a *KeyConflictError (other participants). The store
	// enforces it, across instances. Default "": no key.
	Key string
}

// MaxKeyLength bounds CreateRequest.Key.
const MaxKeyLength = 256

// CreateConversation validates and normalises both numbers (and checks
// them with Number Insight when Config.Allocation.Insight is set), allocates a proxy
// number for each participant and stores the conversation. Errors:
// ErrInvalidRequest (an unknown mode, a TTL or idle timeout out of range,
// a label or metadata that is not text), *NumberError (ErrInvalidNumber;
// also ErrPoolNumberParticipant when a participant is one of the pool's
// numbers), ErrSameNumber, *InsightError
// (ErrInsightUnavailable), *PoolExhaustedError (ErrPoolExhausted, nothing
// written), ErrTooManyConflicts. When notifications were asked for and
// some failed, it returns the stored conversation together with a
// *NotifyError.
//
// Every error about one participant names it by side and label, never by
// number: a *NumberError says why its number was rejected (Reason) and,
// for a number of Ofcom's drama range or outside the assigned ranges,
// that Config.Allocation.LenientNumbers accepts it; a *PoolExhaustedError tells an
// empty pool (fill it with SyncNumbers or AddNumbers, or set
// Config.Pool.Autopilot) from one whose fitting numbers are all taken.
func (s *Service) CreateConversation(ctx context.Context, req CreateRequest) (Conversation, error) {
	mode, access, err := checkCreateRequest(req)
	if err != nil {
		return Conversation{}, err
	}
	a, b, regionA, regionB, err := s.parseParticipants(ctx, req)
	if err != nil {
		return Conversation{}, err
	}
	if req.ProxyA != "" {
		if access != AccessDirect {
			return Conversation{}, fmt.Errorf("%w: ProxyA is for direct access", ErrInvalidRequest)
		}
		if err := s.checkProxyA(ctx, a, req.ProxyA, mode); err != nil {
			return Conversation{}, err
		}
	}
	if req.Key != "" {
		// A retried create finds its conversation before allocating.
		if c, held, err := s.keyHolder(ctx, req.Key, a, b); held || err != nil {
			return c, err
		}
	}
	if err := s.checkInsight(ctx, a, b); err != nil {
		return Conversation{}, labelNumberError(err, req.Labels)
	}
	c, err := s.place(ctx, access, req.PIN, a, b, regionA, regionB, mode, req.ProxyA, s.conversationMaker(req, mode, a, b))
	if err != nil {
		return s.notPlaced(ctx, err, req.Labels, mode)
	}
	s.created(ctx, c, a, b)
	if req.Notify {
		if err := s.notify(ctx, c); err != nil {
			return c, err
		}
	}
	return c, nil
}

// checkCreateRequest checks what a CreateRequest says apart from its
// numbers, and returns its mode and access with their defaults filled
// in. Its errors are ErrInvalidRequest's (or checkPIN's).
func checkCreateRequest(req CreateRequest) (Mode, Access, error) {
	mode := req.Mode
	if mode == "" {
		mode = ModeBoth
	}
	if mode != ModeBoth && mode != ModeVoice && mode != ModeSMS {
		return "", "", fmt.Errorf("%w: unknown mode %q", ErrInvalidRequest, cleanText(string(req.Mode)))
	}
	if err := checkDurations(req.TTL, req.IdleTimeout); err != nil {
		return "", "", err
	}
	access := req.Access
	switch {
	case access == "":
		access = AccessDirect
	case access != AccessDirect && access != AccessPIN:
		return "", "", fmt.Errorf("%w: unknown access %q", ErrInvalidRequest, cleanText(string(req.Access)))
	}
	if req.PIN != "" {
		if access != AccessPIN {
			return "", "", fmt.Errorf("%w: a PIN is for AccessPIN conversations", ErrInvalidRequest)
		}
		if err := checkPIN(req.PIN); err != nil {
			return "", "", err
		}
	}
	if err := checkTexts(req); err != nil {
		return "", "", err
	}
	if len(req.Key) > MaxKeyLength || !isText(req.Key) {
		return "", "", fmt.Errorf("%w: Key is not text of at most %d bytes", ErrInvalidRequest, MaxKeyLength)
	}
	return mode, access, nil
}

// parseParticipants normalises the request's two numbers, a and b in
// E.164 digits, with the region each is in: a *NumberError for a number
// that is invalid or one of the pool's, ErrSameNumber for one person on
// both sides.
func (s *Service) parseParticipants(ctx context.Context, req CreateRequest) (a, b, regionA, regionB string, err error) {
	// A pool number is refused first: "invalid" by the strict rules or
	// not, it is ours, and calls to it would loop.
	labels := [...]string{SideA: req.Labels.A, SideB: req.Labels.B}
	for side, input := range [...]string{SideA: req.A, SideB: req.B} {
		d, err := phone.Normalize(input)
		if err != nil {
			return "", "", "", "", &NumberError{Field: Side(side).String(), Label: labels[side], Input: input, Err: err}
		}
		in, err := s.isPoolNumber(ctx, d)
		if err != nil {
			return "", "", "", "", fmt.Errorf("proxy: list pool numbers: %w", err)
		}
		if in {
			return "", "", "", "", &NumberError{Field: Side(side).String(), Label: labels[side], Input: input, Err: ErrPoolNumberParticipant}
		}
	}
	a, regionA, err = numplan.Parse(req.A, s.cfg.Allocation.LenientNumbers)
	if err != nil {
		return "", "", "", "", &NumberError{Field: SideA.String(), Label: req.Labels.A, Input: req.A, Err: err}
	}
	b, regionB, err = numplan.Parse(req.B, s.cfg.Allocation.LenientNumbers)
	if err != nil {
		return "", "", "", "", &NumberError{Field: SideB.String(), Label: req.Labels.B, Input: req.B, Err: err}
	}
	if a == b {
		return "", "", "", "", ErrSameNumber
	}
	return a, b, regionA, regionB, nil
}

// labelNumberError gives a *NumberError in err that names no label the
// label of its side, and returns err.
func labelNumberError(err error, l Labels) error {
	var ne *NumberError
	if errors.As(err, &ne) && ne.Label == "" {
		ne.Label = l.A
		if ne.Field == SideB.String() {
			ne.Label = l.B
		}
	}
	return err
}

// conversationMaker returns the function that makes the conversation
// req asks for between a and b, on the proxy numbers it is given (""
// for a PIN conversation), created now with req's or the Config's TTL
// and recording.
func (s *Service) conversationMaker(req CreateRequest, mode Mode, a, b string) func(pa, pb string) Conversation {
	ttl := req.TTL
	if ttl == 0 {
		ttl = s.cfg.Conversations.DefaultTTL
	}
	record := s.cfg.Calls.RecordByDefault
	if req.Record != nil {
		record = *req.Record
	}
	return func(pa, pb string) Conversation {
		now := s.now()
		return Conversation{
			ID:     newID(now),
			Status: StatusActive,
			Mode:   mode,
			Participants: [2]Participant{
				SideA: {Number: a, ProxyNumber: pa, Label: req.Labels.A},
				SideB: {Number: b, ProxyNumber: pb, Label: req.Labels.B},
			},
			Metadata:       cloneMap(req.Metadata),
			CreatedAt:      now,
			ExpiresAt:      now.Add(ttl),
			IdleTimeout:    req.IdleTimeout,
			LastActivityAt: now,
			Record:         record,
			Key:            req.Key,
		}
	}
}

// notPlaced answers a create whose conversation place did not store
// (err): the conversation a create with the same key stored first, or
// the error, an exhausted pool described in the log. Each is counted.
func (s *Service) notPlaced(ctx context.Context, err error, labels Labels, mode Mode) (Conversation, error) {
	var kh *keyHeld
	var pe *PoolExhaustedError
	switch {
	case errors.As(err, &kh):
		s.tel.count(ctx, s.tel.allocations, "result", "key_held")
		return kh.c, nil // a create with the key of this conversation won first
	case errors.As(err, &pe):
		s.describeExhausted(ctx, pe, labels, mode)
		s.tel.count(ctx, s.tel.allocations, "result", "pool_exhausted", "country", pe.Country)
		return Conversation{}, err
	default:
		s.tel.count(ctx, s.tel.allocations, "result", "error")
		return Conversation{}, err
	}
}

// created counts and logs the conversation c just stored between a and
// b (their numbers masked, at Debug only).
func (s *Service) created(ctx context.Context, c Conversation, a, b string) {
	s.tel.count(ctx, s.tel.allocations, "result", "allocated", "access", string(c.Access()))
	s.tel.count(ctx, s.tel.conversations, "event", "created")
	s.log.InfoContext(ctx, "proxy: conversation created", "conversation", c.ID, "mode", c.Mode, "access", c.Access(), "expires_at", c.ExpiresAt)
	s.log.DebugContext(ctx, "proxy: conversation legs", "conversation", c.ID,
		"a", phone.Mask(a), "a_proxy", c.Participants[SideA].ProxyNumber, "b", phone.Mask(b), "b_proxy", c.Participants[SideB].ProxyNumber)
}

// place stores the conversation newConv makes: a PIN conversation on a
// shared number, or one with a proxy number allocated per participant
// (a PIN conversation when the pool is exhausted and
// Config.PIN.WhenExhausted says so).
func (s *Service) place(ctx context.Context, access Access, pin, a, b, regionA, regionB string, mode Mode, proxyA string, newConv func(pa, pb string) Conversation) (Conversation, error) {
	if access == AccessPIN {
		return s.createPIN(ctx, newConv("", ""), pin, regionA)
	}
	c, err := s.allocate(ctx, a, b, regionA, regionB, mode, proxyA, newConv)
	if proxyA != "" {
		return c, err // no PIN fallback: A dialled that number
	}
	var pe *PoolExhaustedError
	if err == nil || !errors.As(err, &pe) || !s.cfg.PIN.WhenExhausted {
		return c, err
	}
	s.log.InfoContext(ctx, "proxy: pool exhausted; creating a PIN conversation", "reason", err)
	if c, err = s.createPIN(ctx, newConv("", ""), "", regionA); err != nil {
		return Conversation{}, errors.Join(pe, err)
	}
	return c, nil
}

// allocate picks a proxy number for each participant and stores the
// conversation newConv makes of them, going round again when another
// writer took a number first.
func (s *Service) allocate(ctx context.Context, a, b, regionA, regionB string, mode Mode, proxyA string, newConv func(pa, pb string) Conversation) (Conversation, error) {
	// The cool-off and sticky rules also see the participants'
	// pseudonymized conversations.
	anonA, anonB := s.Pseudonym(a), s.Pseudonym(b)
	for attempt := range maxAllocAttempts {
		now := s.now()
		pa := proxyA
		if pa == "" {
			var err error
			if pa, err = s.pick(ctx, SideA, a, b, [2]string{anonA, anonB}, regionA, mode, now, attempt); err != nil {
				return Conversation{}, err
			}
		}
		pb, err := s.pick(ctx, SideB, b, a, [2]string{anonB, anonA}, regionB, mode, now, attempt)
		if err != nil {
			return Conversation{}, err
		}
		c := newConv(pa, pb)
		err = s.store.CreateConversation(ctx, c)
		if err == nil {
			return c, nil
		}
		if !errors.Is(err, ErrConflict) {
			return Conversation{}, fmt.Errorf("proxy: store conversation: %w", err)
		}
		if proxyA != "" {
			// A's fixed leg may be what was taken meanwhile.
			if err := s.checkProxyA(ctx, a, proxyA, mode); err != nil {
				return Conversation{}, err
			}
		}
		if c.Key != "" {
			// The key, taken meanwhile by another create, may be what
			// conflicted.
			if err := s.keyConflict(ctx, c.Key, a, b); err != nil {
				return Conversation{}, err
			}
		}
		s.log.DebugContext(ctx, "proxy: allocation collided, retrying", "attempt", attempt+1)
	}
	return Conversation{}, fmt.Errorf("%w after %d attempts", ErrTooManyConflicts, maxAllocAttempts)
}

// checkProxyA checks that a may be given proxyA: a pool number with
// mode's features on which a holds no leg in use.
func (s *Service) checkProxyA(ctx context.Context, a, proxyA string, mode Mode) error {
	pool, err := s.store.Pool(ctx)
	if err != nil {
		return fmt.Errorf("proxy: list pool numbers: %w", err)
	}
	i := slices.IndexFunc(pool, func(n PoolNumber) bool { return n.MSISDN == proxyA })
	if i < 0 {
		return fmt.Errorf("%w: ProxyA %s is not a pool number", ErrInvalidRequest, cleanText(proxyA))
	}
	if n := pool[i]; (mode != ModeSMS && !n.Voice) || (mode != ModeVoice && !n.SMS) {
		return fmt.Errorf("%w: ProxyA %s cannot carry mode %q", ErrInvalidRequest, proxyA, mode)
	}
	switch c, err := s.store.Route(ctx, a, proxyA, s.now()); {
	case err == nil:
		return &LegTakenError{Side: SideA, Participant: a, ProxyNumber: proxyA, What: "leg", HeldBy: c.ID}
	case !errors.Is(err, ErrNotFound):
		return fmt.Errorf("proxy: check ProxyA: %w", err)
	}
	return nil
}

// keyHeld is what keyConflict returns for a key held by a conversation
// of the same participants: CreateConversation returns that one.
type keyHeld struct{ c Conversation }

func (k *keyHeld) Error() string { return "proxy: key held by conversation " + k.c.ID }

// keyConflict is keyHolder for a create that conflicted: nil when the
// key is free (the conflict was a leg's), else a *keyHeld, a
// *KeyConflictError or the store's error.
func (s *Service) keyConflict(ctx context.Context, key, a, b string) error {
	c, held, err := s.keyHolder(ctx, key, a, b)
	if held && err == nil {
		return &keyHeld{c}
	}
	return err
}

// keyHolder looks up the conversation in use holding key. held is false,
// with a nil error, when none does; with the holder's participants a and
// b it returns the holder, else a *KeyConflictError.
func (s *Service) keyHolder(ctx context.Context, key, a, b string) (c Conversation, held bool, err error) {
	now := s.now()
	c, err = s.store.ConversationByKey(ctx, key, now)
	switch {
	case errors.Is(err, ErrNotFound):
		return Conversation{}, false, nil
	case err != nil:
		return Conversation{}, false, fmt.Errorf("proxy: look up key: %w", err)
	case c.Participants[SideA].Number != a || c.Participants[SideB].Number != b:
		return Conversation{}, true, &KeyConflictError{Key: key, ConversationID: c.ID}
	}
	s.log.InfoContext(ctx, "proxy: create with a key in use: its conversation returned", "conversation", c.ID)
	c.Status = c.StatusAt(now)
	return c, true, nil
}

// Bounds on a conversation's TTL and idle timeout, checked by
// CreateConversation: a positive duration under a second would give a
// conversation that is over before it is stored (a TTL of "1ns"); the
// upper bound is far beyond any job and inside what every store can
// represent (SQLite keeps times to the year 2261).
const (
	MinTTL = time.Second
	MaxTTL = 10 * 365 * 24 * time.Hour
)

// checkDurations checks a CreateRequest's TTL and IdleTimeout (0 means
// the default, or none).
func checkDurations(ttl, idle time.Duration) error {
	for _, d := range [...]struct {
		name string
		v    time.Duration
	}{{"TTL", ttl}, {"IdleTimeout", idle}} {
		if d.v != 0 && (d.v < MinTTL || d.v > MaxTTL) {
			return fmt.Errorf("%w: %s %v is outside %v to %v", ErrInvalidRequest, d.name, d.v, MinTTL, MaxTTL)
		}
	}
	return nil
}

// checkTexts checks that labels and metadata are text every store can
// keep: valid UTF-8 without NUL bytes (PostgreSQL refuses those).
func checkTexts(req CreateRequest) error {
	check := func(what, v string) error {
		if !isText(v) {
			return fmt.Errorf("%w: %s is not valid UTF-8 text (or holds a NUL byte)", ErrInvalidRequest, what)
		}
		return nil
	}
	if err := errors.Join(check("Labels.A", req.Labels.A), check("Labels.B", req.Labels.B)); err != nil {
		return err
	}
	for k, v := range req.Metadata {
		if err := errors.Join(check("a Metadata key", k), check("Metadata value of "+cleanText(k), v)); err != nil {
			return err
		}
	}
	return nil
}

func cloneMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Conversation returns the conversation with this ID, its Status as seen
// now (an active one past its deadline reads StatusExpired). ErrNotFound
// if there is none.
func (s *Service) Conversation(ctx context.Context, id string) (Conversation, error) {
	if !isText(id) {
		return Conversation{}, fmt.Errorf("proxy: conversation %q: %w", cleanText(id), ErrNotFound)
	}
	c, err := s.store.Conversation(ctx, id)
	if err != nil {
		return Conversation{}, fmt.Errorf("proxy: conversation %s: %w", id, err)
	}
	c.Status = c.StatusAt(s.now())
	return c, nil
}

// Conversations returns one page of conversations matching f, in creation
// order, and the cursor to pass as f.After for the next page ("" at the
// end). f.Now defaults to the Service's clock; f.Participant may be in
// any accepted number form.
func (s *Service) Conversations(ctx context.Context, f ListFilter) ([]Conversation, string, error) {
	now := s.now()
	if f.Now.IsZero() {
		f.Now = now
	}
	if !isText(f.After) {
		return nil, "", fmt.Errorf("%w: the cursor is not one this Service gave", ErrInvalidRequest)
	}
	switch f.Status {
	case "", StatusActive, StatusClosed, StatusExpired:
	default:
		return nil, "", fmt.Errorf("%w: unknown status %q", ErrInvalidRequest, cleanText(string(f.Status)))
	}
	if f.Participant != "" {
		p, _, err := numplan.Parse(f.Participant, true)
		if err != nil {
			return nil, "", &NumberError{Field: "Participant", Input: f.Participant, Err: err}
		}
		f.Participant = p
	}
	cs, next, err := s.store.ListConversations(ctx, f)
	if err != nil {
		return nil, "", fmt.Errorf("proxy: list conversations: %w", err)
	}
	for i := range cs {
		cs[i].Status = cs[i].StatusAt(f.Now)
	}
	return cs, next, nil
}

// CloseConversation ends a conversation now: its numbers stop routing and
// its legs are released (subject to Config.Allocation.CoolOff). Closing one that has
// already ended returns it unchanged; one whose deadline passed before the
// sweep is recorded as expired at its deadline. ErrNotFound if there is
// none.
//
// With call control on (Config.CallControl.ApplicationKey), its calls in progress are
// hung up, unless KeepCalls is given: a conversation is closed because the
// job is done or something is wrong (fraud, a user blocked), and in both
// cases a call left running would outlive the reason it was allowed. A
// leg that cannot be hung up does not undo the close: the conversation is
// returned with a *HangupError, and the hang-up is retried in the
// background. Closing again tries again.
func (s *Service) CloseConversation(ctx context.Context, id string, opts ...CloseOption) (Conversation, error) {
	var o closeOptions
	for _, opt := range opts {
		opt(&o)
	}
	now := s.now()
	if !isText(id) {
		return Conversation{}, fmt.Errorf("proxy: close conversation %q: %w", cleanText(id), ErrNotFound)
	}
	c, err := s.store.Conversation(ctx, id)
	if err != nil {
		return Conversation{}, fmt.Errorf("proxy: close conversation %s: %w", id, err)
	}
	status, at := StatusClosed, now
	inUse := c.InUse(now)
	if c.Status == StatusActive && !inUse {
		status, at = StatusExpired, c.Deadline()
	}
	c, err = s.store.EndConversation(ctx, id, status, at)
	if err != nil {
		return Conversation{}, fmt.Errorf("proxy: close conversation %s: %w", id, err)
	}
	s.log.InfoContext(ctx, "proxy: conversation ended", "conversation", id, "status", c.Status)
	if inUse && c.Status == StatusClosed {
		s.tel.count(ctx, s.tel.conversations, "event", "closed")
	}
	var errs []error
	if end, why := endsCalls(c, now); end && !o.keepCalls {
		errs = append(errs, s.hangUpCalls(ctx, c, why, 1))
	}
	if o.goodbye != "" && inUse && c.Status == StatusClosed && c.Mode != ModeVoice {
		errs = append(errs, s.goodbye(ctx, c, o.goodbye))
	}
	return c, errors.Join(errs...)
}

// goodbye sends text to both participants of the just-closed c. A failure
// to store it is a *NotifyError; a failed send is retried as a relay. A
// participant who sent STOP to their proxy number is skipped
// (ErrOptedOut in the *NotifyError).
func (s *Service) goodbye(ctx context.Context, c Conversation, text string) error {
	if s.cfg.SMS.Sender == nil {
		return &NotifyError{Failed: map[Side]error{SideA: ErrNoSMSSender, SideB: ErrNoSMSSender}}
	}
	if text == "" || !isText(text) || len(text) > MaxMessageLength {
		return fmt.Errorf("%w: goodbye text must be 1 to %d characters of UTF-8 text", ErrInvalidRequest, MaxMessageLength)
	}
	failed := map[Side]error{}
	for _, side := range [...]Side{SideA, SideB} {
		if _, err := s.sendMessage(ctx, c, side, text); err != nil {
			failed[side] = err
		}
	}
	if len(failed) > 0 {
		return &NotifyError{Failed: failed}
	}
	return nil
}

// Interactions returns a conversation's calls and SMS, oldest first, each
// with its status history. ErrNotFound if the conversation does not exist.
func (s *Service) Interactions(ctx context.Context, conversationID string) ([]Interaction, error) {
	if !isText(conversationID) {
		return nil, fmt.Errorf("proxy: interactions of %q: %w", cleanText(conversationID), ErrNotFound)
	}
	in, err := s.store.Interactions(ctx, conversationID)
	if err != nil {
		return nil, fmt.Errorf("proxy: interactions of %s: %w", conversationID, err)
	}
	for i := range in {
		sortEvents(in[i].Events)
	}
	return in, nil
}
