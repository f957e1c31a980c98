package proxy

import (
	"context"
	"time"
)

// This file times every store call (voiceproxy.store.duration, by
// operation and result) within a span of its own when tracing is on, so
// a webhook's span holds its store calls. The Service calls its store
// through meteredStore; the optional batch interfaces (RouteClaimer,
// BatchClaimer, BatchInteractionAdder) are called on the store
// itself, through observe.

// meteredStore is a Store whose calls are measured.
type meteredStore struct {
	Store
	s *Service
}

// observe times call as store operation op.
func observe[T any](m meteredStore, ctx context.Context, op string, call func(context.Context) (T, error)) (T, error) {
	start := time.Now()
	cctx, span := m.s.tel.startStore(ctx, op)
	v, err := call(cctx)
	m.s.storeDone(ctx, op, start, span, err)
	return v, err
}

// observe0 is observe for a call that returns only an error.
func observe0(m meteredStore, ctx context.Context, op string, call func(context.Context) error) error {
	start := time.Now()
	cctx, span := m.s.tel.startStore(ctx, op)
	err := call(cctx)
	m.s.storeDone(ctx, op, start, span, err)
	return err
}

// meteredBatch is a batch call of the store measured as op.
func meteredBatch[Req, Res any](s *Service, op string, call func(context.Context, []Req) ([]Res, error)) func(context.Context, []Req) ([]Res, error) {
	m := meteredStore{s: s}
	return func(ctx context.Context, reqs []Req) ([]Res, error) {
		return observe(m, ctx, op, func(ctx context.Context) ([]Res, error) { return call(ctx, reqs) })
	}
}

func (m meteredStore) ListConversations(ctx context.Context, f ListFilter) ([]Conversation, string, error) {
	start := time.Now()
	cctx, span := m.s.tel.startStore(ctx, "ListConversations")
	cs, next, err := m.Store.ListConversations(cctx, f)
	m.s.storeDone(ctx, "ListConversations", start, span, err)
	return cs, next, err
}

func (m meteredStore) AddNumbers(ctx context.Context, nums ...PoolNumber) error {
	return observe0(m, ctx, "AddNumbers", func(ctx context.Context) error { return m.Store.AddNumbers(ctx, nums...) })
}

func (m meteredStore) RemoveNumber(ctx context.Context, msisdn string) error {
	return observe0(m, ctx, "RemoveNumber", func(ctx context.Context) error { return m.Store.RemoveNumber(ctx, msisdn) })
}

func (m meteredStore) Pool(ctx context.Context) ([]PoolNumber, error) {
	return observe(m, ctx, "Pool", func(ctx context.Context) ([]PoolNumber, error) { return m.Store.Pool(ctx) })
}

func (m meteredStore) NumberLegs(ctx context.Context, msisdn string) (int, error) {
	return observe(m, ctx, "NumberLegs", func(ctx context.Context) (int, error) { return m.Store.NumberLegs(ctx, msisdn) })
}

func (m meteredStore) RoutePIN(ctx context.Context, proxyNumber, pin string, now time.Time) (Conversation, error) {
	return observe(m, ctx, "RoutePIN", func(ctx context.Context) (Conversation, error) { return m.Store.RoutePIN(ctx, proxyNumber, pin, now) })
}

func (m meteredStore) PINConversations(ctx context.Context, participant, proxyNumber string, now time.Time) ([]Conversation, error) {
	return observe(m, ctx, "PINConversations", func(ctx context.Context) ([]Conversation, error) {
		return m.Store.PINConversations(ctx, participant, proxyNumber, now)
	})
}

func (m meteredStore) Candidates(ctx context.Context, q CandidateQuery) ([]Candidate, error) {
	return observe(m, ctx, "Candidates", func(ctx context.Context) ([]Candidate, error) { return m.Store.Candidates(ctx, q) })
}

func (m meteredStore) CreateConversation(ctx context.Context, c Conversation) error {
	return observe0(m, ctx, "CreateConversation", func(ctx context.Context) error { return m.Store.CreateConversation(ctx, c) })
}

func (m meteredStore) ConversationByKey(ctx context.Context, key string, now time.Time) (Conversation, error) {
	return observe(m, ctx, "ConversationByKey", func(ctx context.Context) (Conversation, error) { return m.Store.ConversationByKey(ctx, key, now) })
}

func (m meteredStore) Conversation(ctx context.Context, id string) (Conversation, error) {
	return observe(m, ctx, "Conversation", func(ctx context.Context) (Conversation, error) { return m.Store.Conversation(ctx, id) })
}

func (m meteredStore) Route(ctx context.Context, participant, proxyNumber string, now time.Time) (Conversation, error) {
	return observe(m, ctx, "Route", func(ctx context.Context) (Conversation, error) {
		return m.Store.Route(ctx, participant, proxyNumber, now)
	})
}

func (m meteredStore) EndConversation(ctx context.Context, id string, status Status, at time.Time) (Conversation, error) {
	return observe(m, ctx, "EndConversation", func(ctx context.Context) (Conversation, error) { return m.Store.EndConversation(ctx, id, status, at) })
}

func (m meteredStore) UpdateConversation(ctx context.Context, id string, u ConversationUpdate, now time.Time) (Conversation, error) {
	return observe(m, ctx, "UpdateConversation", func(ctx context.Context) (Conversation, error) { return m.Store.UpdateConversation(ctx, id, u, now) })
}

func (m meteredStore) ReopenConversation(ctx context.Context, id string, now, expiresAt time.Time) (Conversation, error) {
	return observe(m, ctx, "ReopenConversation", func(ctx context.Context) (Conversation, error) {
		return m.Store.ReopenConversation(ctx, id, now, expiresAt)
	})
}

func (m meteredStore) Touch(ctx context.Context, id string, at time.Time) error {
	return observe0(m, ctx, "Touch", func(ctx context.Context) error { return m.Store.Touch(ctx, id, at) })
}

func (m meteredStore) ExpireConversations(ctx context.Context, now time.Time, limit int) ([]string, error) {
	return observe(m, ctx, "ExpireConversations", func(ctx context.Context) ([]string, error) { return m.Store.ExpireConversations(ctx, now, limit) })
}

func (m meteredStore) AddInteraction(ctx context.Context, in Interaction) error {
	return observe0(m, ctx, "AddInteraction", func(ctx context.Context) error { return m.Store.AddInteraction(ctx, in) })
}

func (m meteredStore) InteractionByExternalID(ctx context.Context, kind InteractionKind, externalID string) (Interaction, error) {
	return observe(m, ctx, "InteractionByExternalID", func(ctx context.Context) (Interaction, error) {
		return m.Store.InteractionByExternalID(ctx, kind, externalID)
	})
}

func (m meteredStore) Interaction(ctx context.Context, id string) (Interaction, error) {
	return observe(m, ctx, "Interaction", func(ctx context.Context) (Interaction, error) { return m.Store.Interaction(ctx, id) })
}

func (m meteredStore) AddInteractionEvent(ctx context.Context, interactionID string, ev InteractionEvent) error {
	return observe0(m, ctx, "AddInteractionEvent", func(ctx context.Context) error { return m.Store.AddInteractionEvent(ctx, interactionID, ev) })
}

func (m meteredStore) Interactions(ctx context.Context, conversationID string) ([]Interaction, error) {
	return observe(m, ctx, "Interactions", func(ctx context.Context) ([]Interaction, error) { return m.Store.Interactions(ctx, conversationID) })
}

func (m meteredStore) OpenCalls(ctx context.Context, q OpenCallQuery) ([]Interaction, error) {
	return observe(m, ctx, "OpenCalls", func(ctx context.Context) ([]Interaction, error) { return m.Store.OpenCalls(ctx, q) })
}

func (m meteredStore) DeleteMessageParts(ctx context.Context, from string, before time.Time) (int, error) {
	return observe(m, ctx, "DeleteMessageParts", func(ctx context.Context) (int, error) { return m.Store.DeleteMessageParts(ctx, from, before) })
}

func (m meteredStore) AddMessagePart(ctx context.Context, p MessagePart, since time.Time) ([]MessagePart, error) {
	return observe(m, ctx, "AddMessagePart", func(ctx context.Context) ([]MessagePart, error) { return m.Store.AddMessagePart(ctx, p, since) })
}

func (m meteredStore) AddRelay(ctx context.Context, in Interaction, job RelayJob) error {
	return observe0(m, ctx, "AddRelay", func(ctx context.Context) error { return m.Store.AddRelay(ctx, in, job) })
}

func (m meteredStore) ClaimRelays(ctx context.Context, q RelayClaim) ([]RelayJob, error) {
	return observe(m, ctx, "ClaimRelays", func(ctx context.Context) ([]RelayJob, error) { return m.Store.ClaimRelays(ctx, q) })
}

func (m meteredStore) FinishRelay(ctx context.Context, id, owner string, ev InteractionEvent) error {
	return observe0(m, ctx, "FinishRelay", func(ctx context.Context) error { return m.Store.FinishRelay(ctx, id, owner, ev) })
}

func (m meteredStore) RetryRelay(ctx context.Context, id, owner string, next time.Time) error {
	return observe0(m, ctx, "RetryRelay", func(ctx context.Context) error { return m.Store.RetryRelay(ctx, id, owner, next) })
}

func (m meteredStore) Pseudonymize(ctx context.Context, q PseudonymQuery) ([]string, error) {
	return observe(m, ctx, "Pseudonymize", func(ctx context.Context) ([]string, error) { return m.Store.Pseudonymize(ctx, q) })
}

func (m meteredStore) Claim(ctx context.Context, key string, now, expires time.Time) error {
	return observe0(m, ctx, "Claim", func(ctx context.Context) error { return m.Store.Claim(ctx, key, now, expires) })
}

func (m meteredStore) ReleaseClaim(ctx context.Context, key string) error {
	return observe0(m, ctx, "ReleaseClaim", func(ctx context.Context) error { return m.Store.ReleaseClaim(ctx, key) })
}
