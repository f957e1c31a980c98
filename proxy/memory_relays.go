package proxy

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"
)

// memRelay is a stored relay job and its lease.
type memRelay struct {
	job        RelayJob
	owner      string
	leaseUntil time.Time
}

// AddRelay stores an interaction and its relay job together.
func (s *memoryStore) AddRelay(ctx context.Context, in Interaction, job RelayJob) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if job.ID != in.ID {
		return fmt.Errorf("proxy: relay job %q for interaction %q: the IDs must match", job.ID, in.ID)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.addInteraction(in); err != nil {
		return err
	}
	s.relays[job.ID] = &memRelay{job: job}
	return nil
}

// ClaimRelays leases due jobs to an owner.
func (s *memoryStore) ClaimRelays(ctx context.Context, q RelayClaim) ([]RelayJob, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	claimable := func(r *memRelay) bool {
		return !r.job.NextAttempt.After(q.Now) && (r.owner == "" || !r.leaseUntil.After(q.Now))
	}
	var due []*memRelay
	if q.ID != "" {
		if r := s.relays[q.ID]; r != nil && claimable(r) {
			due = append(due, r)
		}
	} else {
		// Pending jobs are few (each lives seconds when sending works),
		// so a scan beats keeping an index.
		for _, r := range s.relays {
			if claimable(r) {
				due = append(due, r)
			}
		}
		slices.SortFunc(due, func(a, b *memRelay) int {
			if c := a.job.CreatedAt.Compare(b.job.CreatedAt); c != 0 {
				return c
			}
			return cmp.Compare(a.job.ID, b.job.ID)
		})
		if q.Limit > 0 && len(due) > q.Limit {
			due = due[:q.Limit]
		}
	}
	out := make([]RelayJob, len(due))
	for i, r := range due {
		r.owner, r.leaseUntil = q.Owner, q.LeaseUntil
		out[i] = r.job
	}
	return out, nil
}

// leased returns job id if owner holds it.
func (s *memoryStore) leased(id, owner string) (*memRelay, error) {
	r := s.relays[id]
	if r == nil || r.owner != owner {
		return nil, fmt.Errorf("proxy: relay job %q leased to %q: %w", id, owner, ErrNotFound)
	}
	return r, nil
}

// FinishRelay deletes a leased job and records its outcome.
func (s *memoryStore) FinishRelay(ctx context.Context, id, owner string, ev InteractionEvent) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.leased(id, owner); err != nil {
		return err
	}
	delete(s.relays, id)
	if mi := s.ints[id]; mi != nil {
		mi.addEvent(ev)
	}
	return nil
}

// RetryRelay gives a leased job back for a later attempt.
func (s *memoryStore) RetryRelay(ctx context.Context, id, owner string, next time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.leased(id, owner)
	if err != nil {
		return err
	}
	r.job.Attempts++
	r.job.NextAttempt = next
	r.owner, r.leaseUntil = "", time.Time{}
	return nil
}
