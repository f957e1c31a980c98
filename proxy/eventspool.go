package proxy

import (
	"context"
	"net/url"
	"sync"
	"time"

	"github.com/voiceproxy/voiceproxy/internal/voice"
)

// An event webhook that the store cannot take is answered 503, and
// Vonage sends it on to the fallback URL (Voice API webhook reference,
// "Fallback URL": the 2021 reference sends only the events that expect an
// NCCO there, after two tries at the event URL; today's sends any event
// webhook that fails). The fallback is the last delivery: an event it
// cannot store either is kept here, in the process, and written when the
// store answers again, so that a store outage loses no event Vonage
// delivered. The spool does not survive the process: an instance that
// stops while its store is down loses what it holds (the README's
// Failover section says so).

// maxSpooledEvents bounds the spool: about 1 KiB an event, 10 MiB in all.
// Past it the oldest event is dropped (and logged), so that an outage
// that never ends cannot take the process's memory.
const maxSpooledEvents = 10_000

// spooledEvent is one event waiting for the store: its parameters, the
// click-to-call tag of the URL it was sent to, and when it arrived (it
// routes as of then).
type spooledEvent struct {
	p   voice.Params
	c2c string
	at  time.Time
}

// eventSpool is a bounded FIFO of events the store could not take.
type eventSpool struct {
	// flushing is held by the one flush that writes the spool at a
	// time: two that peeked the same event would each pop one, and the
	// second pop would drop an event nobody wrote.
	flushing sync.Mutex
	mu       sync.Mutex
	q        []spooledEvent
	dropped  int // events dropped for want of room, since start
}

// add queues e, dropping the oldest event when full; it reports whether
// one was dropped.
func (sp *eventSpool) add(e spooledEvent) (dropped bool) {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if len(sp.q) >= maxSpooledEvents {
		sp.q = sp.q[1:]
		sp.dropped++
		dropped = true
	}
	sp.q = append(sp.q, e)
	return dropped
}

// peek returns the oldest event.
func (sp *eventSpool) peek() (spooledEvent, bool) {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if len(sp.q) == 0 {
		return spooledEvent{}, false
	}
	return sp.q[0], true
}

// pop removes the oldest event.
func (sp *eventSpool) pop() {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if len(sp.q) > 0 {
		sp.q[0] = spooledEvent{}
		sp.q = sp.q[1:]
	}
}

// len is how many events wait.
func (sp *eventSpool) len() int {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	return len(sp.q)
}

// spoolEvent keeps an event the fallback URL could not store.
func (s *Service) spoolEvent(ctx context.Context, p *voice.Params, now time.Time) {
	e := spooledEvent{p: *p, c2c: clickToCallTag(string(p.OriginalRequest.URL)), at: now}
	if s.events.add(e) {
		s.log.ErrorContext(ctx, "proxy: event spool full: the oldest event was dropped", "spooled", maxSpooledEvents)
	}
	s.log.WarnContext(ctx, "proxy: event kept until the store answers", "call", string(p.UUID), "status", string(p.Status))
}

// clickToCallTag is the c2c parameter of the URL an event was first sent
// to (the fallback's original_request url), or "".
func clickToCallTag(rawURL string) string {
	if rawURL == "" {
		return ""
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return ""
	}
	return u.Query().Get(clickToCallParam)
}

// FlushEvents writes the events the store could not take (see the
// Failover section of the README) and returns how many it wrote; it stops
// at the first store error, keeping that event and those after it for
// the next try. Run calls it every Config.SMS.RelayInterval; an event the
// store takes again also sets it off.
func (s *Service) FlushEvents(ctx context.Context) (int, error) {
	s.events.flushing.Lock()
	defer s.events.flushing.Unlock()
	return s.flushEvents(ctx)
}

// flushEvents is FlushEvents for a caller holding events.flushing.
func (s *Service) flushEvents(ctx context.Context) (int, error) {
	n := 0
	for {
		e, ok := s.events.peek()
		if !ok {
			return n, nil
		}
		sctx, cancel := s.storeContext(ctx)
		err := s.recordCallEvent(sctx, &e.p, e.c2c, e.at)
		cancel()
		if err != nil {
			return n, err
		}
		s.events.pop()
		n++
	}
}

// flushEventsAfter sets FlushEvents off in the background after the
// store took an event, when some wait; one flush at a time.
func (s *Service) flushEventsAfter() {
	if s.events.len() == 0 || !s.events.flushing.TryLock() {
		return
	}
	s.bg.Go(func() {
		defer s.events.flushing.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := s.flushEvents(ctx); err != nil {
			s.log.ErrorContext(ctx, "proxy: spooled events not written yet", "err", err)
		}
	})
}
