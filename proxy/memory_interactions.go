package proxy

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"
)

// memInteraction is a stored interaction; its events are kept apart from
// the Interaction value so that appending one copies nothing.
type memInteraction struct {
	in     Interaction // Events unused; see events
	events []InteractionEvent
}

func (m *memInteraction) value() Interaction {
	out := m.in
	out.Events = slices.Clone(m.events)
	slices.SortStableFunc(out.Events, func(a, b InteractionEvent) int { return a.At.Compare(b.At) })
	if out.Events == nil {
		out.Events = []InteractionEvent{}
	}
	return out
}

type memExtKey struct {
	kind InteractionKind
	ext  string
}

// AddInteraction appends an interaction to a conversation.
func (s *memoryStore) AddInteraction(ctx context.Context, in Interaction) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addInteraction(in)
}

// addInteraction is AddInteraction with the lock held.
func (s *memoryStore) addInteraction(in Interaction) error {
	c := s.convs[in.ConversationID]
	if c == nil {
		return fmt.Errorf("proxy: interaction %s: conversation %s: %w", in.ID, in.ConversationID, ErrNotFound)
	}
	if _, ok := s.ints[in.ID]; ok {
		return fmt.Errorf("proxy: interaction %s exists: %w", in.ID, ErrConflict)
	}
	k := memExtKey{in.Kind, in.ExternalID}
	if _, ok := s.intsByExt[k]; ok && in.ExternalID != "" {
		return fmt.Errorf("proxy: %s interaction %s exists: %w", in.Kind, in.ExternalID, ErrConflict)
	}
	in.Events = nil
	mi := &memInteraction{in: in}
	s.ints[in.ID] = mi
	if in.ExternalID != "" {
		s.intsByExt[k] = mi
	}
	s.intsByConv[c] = append(s.intsByConv[c], mi)
	return nil
}

// InteractionByExternalID finds an interaction by Vonage's ID.
func (s *memoryStore) InteractionByExternalID(ctx context.Context, kind InteractionKind, externalID string) (Interaction, error) {
	if err := ctx.Err(); err != nil {
		return Interaction{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	mi := s.intsByExt[memExtKey{kind, externalID}]
	if mi == nil {
		return Interaction{}, fmt.Errorf("proxy: %s interaction %s: %w", kind, externalID, ErrNotFound)
	}
	return mi.value(), nil
}

// Interaction finds an interaction by its ID.
func (s *memoryStore) Interaction(ctx context.Context, id string) (Interaction, error) {
	if err := ctx.Err(); err != nil {
		return Interaction{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	mi := s.ints[id]
	if mi == nil {
		return Interaction{}, fmt.Errorf("proxy: interaction %s: %w", id, ErrNotFound)
	}
	return mi.value(), nil
}

// AddInteractionEvent appends a status change, once per (Leg, Status).
func (s *memoryStore) AddInteractionEvent(ctx context.Context, interactionID string, ev InteractionEvent) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	mi := s.ints[interactionID]
	if mi == nil {
		return fmt.Errorf("proxy: interaction %s: %w", interactionID, ErrNotFound)
	}
	mi.addEvent(ev)
	return nil
}

// addEvent appends ev unless an event of the same (Leg, Status) is there.
func (m *memInteraction) addEvent(ev InteractionEvent) {
	for _, e := range m.events {
		if e.Leg == ev.Leg && e.Status == ev.Status {
			return
		}
	}
	m.events = append(m.events, ev)
}

// Interactions lists a conversation's interactions with their events.
func (s *memoryStore) Interactions(ctx context.Context, conversationID string) ([]Interaction, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	c := s.convs[conversationID]
	if c == nil {
		return nil, fmt.Errorf("proxy: conversation %s: %w", conversationID, ErrNotFound)
	}
	list := s.intsByConv[c]
	out := make([]Interaction, len(list))
	for i, mi := range list {
		out[i] = mi.value()
	}
	slices.SortStableFunc(out, func(a, b Interaction) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out, nil
}

// defaultOpenCallLimit is OpenCallQuery's default Limit.
const defaultOpenCallLimit = 100

// OpenCalls lists the calls with an open leg that q selects. It walks
// every interaction the store holds (the retention period's): the memory
// store is for one process and a modest history.
func (s *memoryStore) OpenCalls(ctx context.Context, q OpenCallQuery) ([]Interaction, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	limit := q.Limit
	if limit <= 0 {
		limit = defaultOpenCallLimit
	}
	s.mu.RLock()
	var found []*memInteraction
	for _, mi := range s.ints {
		if mi.in.Kind == KindCall && mi.in.ID > q.After && mi.in.CreatedAt.After(q.CreatedAfter) &&
			mi.in.CreatedAt.Before(q.CreatedBefore) && mi.quietBefore(q.QuietBefore) && mi.hasOpenLeg() {
			found = append(found, mi)
		}
	}
	slices.SortFunc(found, func(a, b *memInteraction) int { return cmp.Compare(a.in.ID, b.in.ID) })
	found = found[:min(len(found), limit)]
	out := make([]Interaction, len(found))
	for i, mi := range found {
		out[i] = mi.value()
	}
	s.mu.RUnlock()
	return out, nil
}

// quietBefore reports that every event of m is before t.
func (m *memInteraction) quietBefore(t time.Time) bool {
	for _, ev := range m.events {
		if !ev.At.Before(t) {
			return false
		}
	}
	return true
}

// hasOpenLeg reports a leg with a live status and no ending one.
func (m *memInteraction) hasOpenLeg() bool {
	ended := map[string]bool{}
	for _, ev := range m.events {
		if ev.Leg != "" && legEnded(ev.Status) {
			ended[ev.Leg] = true
		}
	}
	for _, ev := range m.events {
		if ev.Leg != "" && legLive(ev.Status) && !ended[ev.Leg] {
			return true
		}
	}
	return false
}
