package proxy

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// BatchInteractionAdder is a Store that can add many interactions in one
// round trip. AddInteractions stores each of ins as AddInteraction would,
// skipping (not failing on) those whose ID, or Kind and ExternalID,
// exist, and returns the ones it stored. sqlstore.Store implements it; the
// Service uses it, when the store has it, to record answered calls off
// the answer webhook's path.
type BatchInteractionAdder interface {
	AddInteractions(ctx context.Context, ins []Interaction) (stored []Interaction, err error)
}

// Write-behind timing: a batch goes when it has writeBehindBatch
// interactions or its first one has waited writeBehindWait; the writer
// stops after writeBehindIdle without work and starts again on demand.
const (
	writeBehindBatch = 256
	writeBehindWait  = 5 * time.Millisecond
	writeBehindIdle  = time.Second
	writeBehindQueue = 16384
)

// writeBehind records answered calls' interactions after the answer: at
// once on the in-memory store, in batches on stores that do I/O: the connection that carried the answer
// webhook is free for Vonage's next request at once, and many inserts
// share a round trip. What it has not written when the process stops is
// not lost for good: the call's event webhooks create the interaction
// from the route when they find none (see interactionForEvent).
type writeBehind struct {
	s       *Service
	mu      sync.Mutex
	queue   chan Interaction
	running bool
}

// add queues in; on the in-memory store, which does no I/O, or when the
// queue is full, it stores it at once.
func (w *writeBehind) add(ctx context.Context, in Interaction) {
	if w.s.inProcessStore {
		w.s.recordCall(ctx, in)
		return
	}
	w.mu.Lock()
	if w.queue == nil {
		w.queue = make(chan Interaction, writeBehindQueue)
	}
	select {
	case w.queue <- in:
	default:
		w.mu.Unlock()
		w.s.recordCall(ctx, in)
		return
	}
	if !w.running {
		w.running = true
		go w.run(context.WithoutCancel(ctx))
	}
	w.mu.Unlock()
}

// run writes batches until the queue has been empty for writeBehindIdle.
func (w *writeBehind) run(ctx context.Context) {
	idle := time.NewTimer(writeBehindIdle)
	defer idle.Stop()
	batch := make([]Interaction, 0, writeBehindBatch)
	for {
		select {
		case in := <-w.queue:
			batch = append(batch[:0], in)
			deadline := time.NewTimer(writeBehindWait)
		fill:
			for len(batch) < writeBehindBatch {
				select {
				case in := <-w.queue:
					batch = append(batch, in)
				case <-deadline.C:
					break fill
				}
			}
			deadline.Stop()
			w.flush(ctx, batch)
			idle.Reset(writeBehindIdle)
		case <-idle.C:
			w.mu.Lock()
			if len(w.queue) > 0 {
				w.mu.Unlock()
				idle.Reset(writeBehindIdle)
				continue
			}
			w.running = false
			w.mu.Unlock()
			return
		}
	}
}

// flush stores a batch: in one round trip when the store can, else one
// by one.
func (w *writeBehind) flush(ctx context.Context, batch []Interaction) {
	s := w.s
	// A batch is one statement, bigger than a webhook's: more time.
	wctx, cancel := context.WithTimeout(ctx, 4*s.cfg.StoreTimeout)
	defer cancel()
	if b, ok := s.store.(BatchInteractionAdder); ok {
		stored, err := b.AddInteractions(wctx, batch)
		if err == nil {
			for _, in := range stored {
				s.interactionChanged(wctx, in)
			}
			return
		}
		s.log.WarnContext(wctx, "proxy: batch of call records failed; storing them one by one", "calls", len(batch), "err", err)
	}
	for _, in := range batch {
		s.recordCall(wctx, in)
	}
}

// recordCall stores an answered call's interaction now, logging a failure
// (the call's event webhooks make it again from the route).
func (s *Service) recordCall(ctx context.Context, in Interaction) {
	if _, err := s.addInteraction(ctx, in); err != nil {
		s.log.ErrorContext(ctx, "proxy: record call failed", "conversation", in.ConversationID, "err", err)
	}
}

// NonceClaim is one claim of ClaimNonces: key until Expires, as of Now.
type NonceClaim struct {
	Key          string
	Now, Expires time.Time
}

// BatchNonceClaimer is a Store that can claim many nonces in one round
// trip: fresh[i] reports whether claims[i] was recorded, exactly as
// ClaimNonce would have decided it (false for a key claimed and still
// live, or repeated earlier in the batch). sqlstore.Store implements it;
// the Service uses it to claim signed webhooks' jti in groups.
type BatchNonceClaimer interface {
	ClaimNonces(ctx context.Context, claims []NonceClaim) (fresh []bool, err error)
}

// claimGroup claims webhook nonces in groups, as a database groups
// commits: a claim that arrives while a group is being written waits for
// the next one, which takes every claim that arrived meanwhile in one
// round trip. A lone claim goes at once, so grouping adds no delay; each
// caller still hears whether its own claim was fresh before it answers,
// so replay protection is what ClaimNonce gives.
type claimGroup struct {
	b       BatchNonceClaimer
	timeout time.Duration

	mu       sync.Mutex
	pending  []*claimRequest
	flushing bool
}

type claimRequest struct {
	c     NonceClaim
	done  chan struct{}
	fresh bool
	err   error
}

func (g *claimGroup) claim(ctx context.Context, c NonceClaim) (bool, error) {
	r := &claimRequest{c: c, done: make(chan struct{})}
	g.mu.Lock()
	g.pending = append(g.pending, r)
	lead := !g.flushing
	g.flushing = true
	g.mu.Unlock()
	if lead {
		go g.flush(context.WithoutCancel(ctx))
	}
	select {
	case <-r.done:
		return r.fresh, r.err
	case <-ctx.Done():
		return false, ctx.Err()
	}
}

// flush writes groups until none is waiting.
func (g *claimGroup) flush(ctx context.Context) {
	for {
		g.mu.Lock()
		batch := g.pending
		g.pending = nil
		if len(batch) == 0 {
			g.flushing = false
			g.mu.Unlock()
			return
		}
		g.mu.Unlock()
		claims := make([]NonceClaim, len(batch))
		for i, r := range batch {
			claims[i] = r.c
		}
		fctx, cancel := context.WithTimeout(ctx, g.timeout)
		fresh, err := g.b.ClaimNonces(fctx, claims)
		cancel()
		if err == nil && len(fresh) != len(batch) {
			err = fmt.Errorf("proxy: ClaimNonces answered %d claims for %d", len(fresh), len(batch))
		}
		for i, r := range batch {
			r.err = err
			if err == nil {
				r.fresh = fresh[i]
			}
			close(r.done)
		}
	}
}
