package storetest

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/voiceproxy/voiceproxy/proxy"
)

var concurrentTests = []test{
	{"Allocation", concurrentAllocation},
	{"RouteTouchEvents", concurrentRouteTouchEvents},
	{"MessageParts", concurrentMessageParts},
}

// allocRecord is what the allocation test knows about one conversation it
// created. Times are positions on a global sequence counter taken right
// before and right after each store call, so they bracket the moment the
// store applied the call:
//
//	createStart < created < createEnd,  closeStart < closed < closeEnd.
type allocRecord struct {
	c                      proxy.Conversation
	createStart, createEnd int64
	closeStart, closeEnd   int64 // first close call's; MaxInt64 while open
}

// exhaustion is one "no candidates" answer for participant p, given
// between sequence positions start and end.
type exhaustion struct {
	p          string
	start, end int64
}

// concurrentAllocation runs what the Service does when it creates
// conversations — Candidates for both sides, CreateConversation, retry on
// ErrConflict a few times, "no candidates" means the pool is exhausted —
// from many goroutines over 3 numbers and 8 participants, while
// conversations are being closed. Every call happens at the same instant
// (base) with no cool-off, so a participant is exhausted exactly when it
// holds an in-use leg on all 3 numbers.
//
// Checks, all sound under any interleaving:
//   - No two conversations sharing a leg were in use at the same time:
//     for two such conversations, a conversation is certainly in use from
//     its createEnd to its closeStart; if those windows overlap, both were
//     in use at once. (The converse cannot be observed and is not claimed.)
//   - Every exhaustion is explained: the store answered at some moment
//     between start and end, and at that moment p held a leg on each
//     number. So for each number there must be a conversation of p on it
//     that may have been in use then: created before the answer
//     (createStart < end) and not yet closed (closeEnd > start). A store
//     that reports exhaustion wrongly fails this unless a conversation on
//     every number happened to overlap the call.
//   - At rest: conversations in use (ListConversations) are exactly those
//     created and not closed, their legs are unique, each leg routes to
//     its conversation, and each number's Load is its number of legs.
func concurrentAllocation(f *fixture) {
	nums := []string{gb1, gb2, gb3}
	for _, n := range nums {
		f.addNumbers(gbNumber(n))
	}
	var people []string
	for i := range 8 {
		people = append(people, participant(i))
	}
	const (
		workers  = 8
		ops      = 40
		attempts = 5
	)
	var (
		seq       atomic.Int64
		conflicts atomic.Int64
		nextID    atomic.Int64
		mu        sync.Mutex // guards the slices below
		records   []*allocRecord
		exhausted []exhaustion
		gaveUp    int
		wg        sync.WaitGroup
	)
	fail := func(format string, args ...any) { f.t.Errorf(format, args...) } // t.Errorf is goroutine-safe
	// create allocates like the Service; when stale is set it skips
	// Candidates and picks numbers at random, like an instance acting on
	// an outdated view, so the store's own leg check is what stops
	// collisions.
	create := func(r *rand.Rand, a, b string, stale bool) {
		for range attempts {
			var picks [2]string
			for i, side := range [2][2]string{{a, b}, {b, a}} {
				if stale {
					picks[i] = nums[r.IntN(len(nums))]
					continue
				}
				start := seq.Add(1)
				cs, err := f.s.Candidates(f.ctx, proxy.CandidateQuery{
					Participant: side[0], Counterpart: side[1], Voice: true, SMS: true,
					Now: base, ReleasedAfter: at(24 * time.Hour), Limit: len(nums),
				})
				end := seq.Add(1)
				if err != nil {
					fail("Candidates(%s): %v", side[0], err)
					return
				}
				if len(cs) == 0 {
					mu.Lock()
					exhausted = append(exhausted, exhaustion{side[0], start, end})
					mu.Unlock()
					return
				}
				picks[i] = cs[0].PoolNumber.MSISDN
			}
			c := conv(fmt.Sprintf("conc-%05d", nextID.Add(1)), a, picks[0], b, picks[1], base, 24*time.Hour)
			start := seq.Add(1)
			err := f.s.CreateConversation(f.ctx, c)
			end := seq.Add(1)
			if errors.Is(err, proxy.ErrConflict) {
				conflicts.Add(1)
				continue
			}
			if err != nil {
				fail("CreateConversation(%s): %v", c.ID, err)
				return
			}
			mu.Lock()
			records = append(records, &allocRecord{c: c, createStart: start, createEnd: end,
				closeStart: math.MaxInt64, closeEnd: math.MaxInt64})
			mu.Unlock()
			return
		}
		mu.Lock()
		gaveUp++
		mu.Unlock()
	}
	closeOne := func(r *rand.Rand) {
		mu.Lock()
		if len(records) == 0 {
			mu.Unlock()
			return
		}
		rec := records[r.IntN(len(records))] // may be closed already: idempotent
		mu.Unlock()
		start := seq.Add(1)
		got, err := f.s.EndConversation(f.ctx, rec.c.ID, proxy.StatusClosed, base)
		end := seq.Add(1)
		if err != nil {
			fail("EndConversation(%s): %v", rec.c.ID, err)
			return
		}
		if got.Status != proxy.StatusClosed {
			fail("EndConversation(%s) status %q, want closed", rec.c.ID, got.Status)
		}
		mu.Lock()
		rec.closeStart = min(rec.closeStart, start)
		rec.closeEnd = min(rec.closeEnd, end)
		mu.Unlock()
	}
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 42))
			for range ops {
				if r.IntN(3) == 0 {
					closeOne(r)
					continue
				}
				i := r.IntN(len(people))
				j := (i + 1 + r.IntN(len(people)-1)) % len(people)
				create(r, people[i], people[j], r.IntN(3) == 0)
			}
		}()
	}
	wg.Wait()
	if f.t.Failed() {
		return
	}

	type leg struct{ p, n string }
	legsOf := func(c proxy.Conversation) [2]leg {
		return [2]leg{{c.Participants[0].Number, c.Participants[0].ProxyNumber}, {c.Participants[1].Number, c.Participants[1].ProxyNumber}}
	}
	byLeg := map[leg][]*allocRecord{}
	for _, rec := range records {
		for _, l := range legsOf(rec.c) {
			byLeg[l] = append(byLeg[l], rec)
		}
	}
	for l, recs := range byLeg {
		for i, x := range recs {
			for _, y := range recs[i+1:] {
				if x.createEnd < y.closeStart && y.createEnd < x.closeStart {
					f.t.Errorf("leg %s via %s was in use in %s and %s at the same time", l.p, l.n, x.c.ID, y.c.ID)
				}
			}
		}
	}
	for _, e := range exhausted {
		for _, n := range nums {
			explained := slices.ContainsFunc(byLeg[leg{e.p, n}], func(r *allocRecord) bool {
				return r.createStart < e.end && r.closeEnd > e.start
			})
			if !explained {
				f.t.Errorf("Candidates(%s) was empty between %d and %d, but %s held no leg on %s then", e.p, e.start, e.end, e.p, n)
			}
		}
	}

	var open []string
	load := map[string]int{}
	for _, rec := range records {
		if rec.closeStart == math.MaxInt64 {
			open = append(open, rec.c.ID)
			for _, l := range legsOf(rec.c) {
				load[l.n]++
				f.wantRoute(l.p, l.n, base, rec.c.ID)
			}
		}
	}
	slices.Sort(open)
	inUse := f.listAll(proxy.ListFilter{Status: proxy.StatusActive, Now: base, Limit: 7})
	if diff := cmp.Diff(open, inUse, cmpOpts); diff != "" {
		f.t.Errorf("conversations in use at rest (-created and not closed +listed):\n%s", diff)
	}
	cs, err := f.s.Candidates(f.ctx, query(participant(99), participant(98), base, base))
	if err != nil {
		f.t.Fatal(err)
	}
	for _, c := range cs {
		if c.Load != load[c.PoolNumber.MSISDN] {
			f.t.Errorf("Load of %s = %d, want %d legs in use", c.PoolNumber.MSISDN, c.Load, load[c.PoolNumber.MSISDN])
		}
	}
	f.t.Logf("%d conversations created, %d open at the end, %d exhaustions checked, %d conflicts, %d gave up after %d attempts",
		len(records), len(open), len(exhausted), conflicts.Load(), gaveUp, attempts)
}

// concurrentRouteTouchEvents mixes the webhook paths on a few
// conversations: Route (always in use here), Touch at random times,
// AddInteractionEvent with duplicates, AddInteraction and Claim
// racing on the same keys. Afterwards LastActivityAt is the latest touch,
// each interaction holds each distinct (Leg, Status) once, and each
// contested key was won exactly once.
func concurrentRouteTouchEvents(f *fixture) {
	const (
		convs   = 4
		workers = 8
		ops     = 60
	)
	var ids []string
	for i := range convs {
		c := conv(fmt.Sprintf("c%d", i), participant(2*i), gb1, participant(2*i+1), gb2, base, time.Hour)
		c.IdleTimeout = 30 * time.Minute
		f.create(c)
		f.addInteraction(call(fmt.Sprintf("i%d", i), c.ID, fmt.Sprintf("uuid-%d", i), base))
		ids = append(ids, c.ID)
	}
	legs := []string{"leg-a", "leg-b", "leg-c"}
	statuses := []proxy.EventStatus{proxy.EventStarted, proxy.EventRinging, proxy.EventAnswered, proxy.EventCompleted}
	var (
		mu         sync.Mutex
		lastTouch  = map[string]time.Time{}
		wonNonce   = map[string]int{}
		wonAdd     = map[string]int{}
		wantEvents = map[string]map[[2]string]bool{}
		wg         sync.WaitGroup
	)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 7))
			for op := range ops {
				i := r.IntN(convs)
				switch r.IntN(5) {
				case 0:
					side := r.IntN(2)
					proxyNum := []string{gb1, gb2}[side]
					c, err := f.s.Route(f.ctx, participant(2*i+side), proxyNum, at(time.Minute))
					if err != nil || c.ID != ids[i] {
						f.t.Errorf("Route(%s) = %q, %v; want %s", participant(2*i+side), c.ID, err, ids[i])
					}
				case 1:
					when := at(time.Duration(1+r.IntN(600)) * time.Second)
					if err := f.s.Touch(f.ctx, ids[i], when); err != nil {
						f.t.Errorf("Touch: %v", err)
					}
					mu.Lock()
					if when.After(lastTouch[ids[i]]) {
						lastTouch[ids[i]] = when
					}
					mu.Unlock()
				case 2:
					ev := proxy.InteractionEvent{
						Leg: legs[r.IntN(len(legs))], Status: statuses[r.IntN(len(statuses))],
						At: at(time.Duration(r.IntN(60)) * time.Second),
					}
					iid := fmt.Sprintf("i%d", i)
					if err := f.s.AddInteractionEvent(f.ctx, iid, ev); err != nil {
						f.t.Errorf("AddInteractionEvent: %v", err)
					}
					mu.Lock()
					if wantEvents[iid] == nil {
						wantEvents[iid] = map[[2]string]bool{}
					}
					wantEvents[iid][[2]string{ev.Leg, string(ev.Status)}] = true
					mu.Unlock()
				case 3:
					key := fmt.Sprintf("nonce-%d", op%10)
					err := f.s.Claim(f.ctx, key, at(time.Minute), at(2*time.Hour))
					if err != nil && !errors.Is(err, proxy.ErrConflict) {
						f.t.Errorf("Claim: %v", err)
					}
					mu.Lock()
					wonNonce[key] += map[bool]int{true: 1}[err == nil]
					mu.Unlock()
				case 4:
					ext := fmt.Sprintf("sms-%d", op%10)
					in := proxy.Interaction{ID: fmt.Sprintf("w%d-%d", w, op), ConversationID: ids[i],
						Kind: proxy.KindSMS, ExternalID: ext, From: participant(2 * i), To: gb1, CreatedAt: at(time.Second)}
					err := f.s.AddInteraction(f.ctx, in)
					if err != nil && !errors.Is(err, proxy.ErrConflict) {
						f.t.Errorf("AddInteraction: %v", err)
					}
					mu.Lock()
					wonAdd[ext] += map[bool]int{true: 1}[err == nil]
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()

	for _, id := range ids {
		c := f.get(id)
		want := base
		if t, ok := lastTouch[id]; ok {
			want = t
		}
		if !c.LastActivityAt.Equal(want) {
			f.t.Errorf("%s LastActivityAt = %s, want the latest touch %s", id, c.LastActivityAt.Sub(base), want.Sub(base))
		}
	}
	for i := range convs {
		iid := fmt.Sprintf("i%d", i)
		in, err := f.s.InteractionByExternalID(f.ctx, proxy.KindCall, fmt.Sprintf("uuid-%d", i))
		if err != nil {
			f.t.Fatal(err)
		}
		got := map[[2]string]bool{}
		for _, ev := range in.Events {
			k := [2]string{ev.Leg, string(ev.Status)}
			if got[k] {
				f.t.Errorf("%s has event %v twice", iid, k)
			}
			got[k] = true
		}
		if diff := cmp.Diff(wantEvents[iid], got, cmpOpts); diff != "" {
			f.t.Errorf("%s events (-added +stored):\n%s", iid, diff)
		}
	}
	for key, n := range wonNonce {
		if n != 1 {
			f.t.Errorf("Claim(%s) succeeded %d times, want once", key, n)
		}
	}
	for ext, n := range wonAdd {
		if n != 1 {
			f.t.Errorf("AddInteraction(sms %s) succeeded %d times, want once", ext, n)
		}
	}
}

// concurrentMessageParts delivers the parts of several multipart messages
// at once, in random order, one part of each twice, and then races copies
// of the last part of one more message. Every message must be handed out
// complete exactly once, with its own parts.
func concurrentMessageParts(f *fixture) {
	const (
		msgs    = 6
		total   = 3
		workers = 6
	)
	since := at(-time.Hour)
	part := func(ref string, n int) proxy.MessagePart {
		return proxy.MessagePart{From: alice, To: gb1, Ref: ref, Part: n, Total: total,
			MessageID: fmt.Sprintf("m%s-%d", ref, n), Text: fmt.Sprintf("%s.%d ", ref, n), ReceivedAt: at(time.Duration(n) * time.Second)}
	}
	r := rand.New(rand.NewPCG(1, 2))
	var deliveries []proxy.MessagePart
	for m := range msgs {
		ref := fmt.Sprint(m)
		for n := 1; n <= total; n++ {
			deliveries = append(deliveries, part(ref, n))
		}
		deliveries = append(deliveries, part(ref, 1+r.IntN(total))) // a redelivery
	}
	r.Shuffle(len(deliveries), func(i, j int) { deliveries[i], deliveries[j] = deliveries[j], deliveries[i] })

	var (
		mu       sync.Mutex
		complete = map[string][][]proxy.MessagePart{}
		next     atomic.Int64
		wg       sync.WaitGroup
	)
	deliver := func(p proxy.MessagePart) {
		got, err := f.s.AddMessagePart(f.ctx, p, since)
		if err != nil {
			f.t.Errorf("AddMessagePart(%s part %d): %v", p.Ref, p.Part, err)
			return
		}
		if len(got) >= total {
			mu.Lock()
			complete[p.Ref] = append(complete[p.Ref], got)
			mu.Unlock()
		}
	}
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1) - 1; i < int64(len(deliveries)); i = next.Add(1) - 1 {
				deliver(deliveries[i])
			}
		}()
	}
	wg.Wait()

	// Two parts of one more message stored; copies of its last part race.
	last := fmt.Sprint(msgs)
	for n := 1; n < total; n++ {
		deliver(part(last, n))
	}
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			deliver(part(last, total))
		}()
	}
	wg.Wait()
	checkCompleteOnce(f, complete, msgs+1, total, part)
}

// checkCompleteOnce checks that each of the messages "0" to
// fmt.Sprint(msgs-1) was handed out complete (in complete, by ref) once,
// with its total parts in order as part makes them.
func checkCompleteOnce(f *fixture, complete map[string][][]proxy.MessagePart, msgs, total int, part func(string, int) proxy.MessagePart) {
	for m := range msgs {
		ref := fmt.Sprint(m)
		sets := complete[ref]
		if len(sets) != 1 {
			f.t.Errorf("message %s handed out complete %d times, want once", ref, len(sets))
			continue
		}
		var want []proxy.MessagePart
		for n := 1; n <= total; n++ {
			want = append(want, part(ref, n))
		}
		if diff := cmp.Diff(want, sets[0], cmpOpts); diff != "" {
			f.t.Errorf("message %s (-want +got):\n%s", ref, diff)
		}
	}
}
