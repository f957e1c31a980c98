package proxy

import (
	"context"
	"fmt"
	"sync"
	"time"
)

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
	wctx, cancel := context.WithTimeout(ctx, 4*s.cfg.Webhooks.StoreTimeout)
	defer cancel()
	if b, ok := s.cfg.Store.(BatchInteractionAdder); ok {
		stored, err := meteredBatch(s, "AddInteractions", b.AddInteractions)(wctx, batch)
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

// group sends requests to a batch call in groups, as a database groups
// commits: a request that arrives while a group is in flight waits for
// the next one, which takes every request that arrived meanwhile in one
// round trip. A lone request goes at once, so grouping adds no delay, and
// each caller hears its own answer before it goes on: grouped nonce
// claims refuse replays exactly as Claim does.
type group[Req, Res any] struct {
	call    func(context.Context, []Req) ([]Res, error)
	name    string // of call, in errors
	timeout time.Duration

	mu       sync.Mutex
	pending  []*groupRequest[Req, Res]
	flushing bool
}

type groupRequest[Req, Res any] struct {
	req  Req
	done chan struct{}
	res  Res
	err  error
}

func newGroup[Req, Res any](name string, timeout time.Duration, call func(context.Context, []Req) ([]Res, error)) *group[Req, Res] {
	return &group[Req, Res]{call: call, name: name, timeout: timeout}
}

// do sends req in the next group and waits for its answer or ctx.
func (g *group[Req, Res]) do(ctx context.Context, req Req) (Res, error) {
	r := &groupRequest[Req, Res]{req: req, done: make(chan struct{})}
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
		return r.res, r.err
	case <-ctx.Done():
		var zero Res
		return zero, ctx.Err()
	}
}

// flush sends groups until none is waiting.
func (g *group[Req, Res]) flush(ctx context.Context) {
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
		reqs := make([]Req, len(batch))
		for i, r := range batch {
			reqs[i] = r.req
		}
		fctx, cancel := context.WithTimeout(ctx, g.timeout)
		res, err := g.call(fctx, reqs)
		cancel()
		if err == nil && len(res) != len(batch) {
			err = fmt.Errorf("proxy: %s answered %d requests for %d", g.name, len(res), len(batch))
		}
		for i, r := range batch {
			r.err = err
			if err == nil {
				r.res = res[i]
			}
			close(r.done)
		}
	}
}
