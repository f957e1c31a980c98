package storetest

import (
	"fmt"
	"sync"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/voiceproxy/voiceproxy/proxy"
)

var relayTests = []test{
	{"AddAndClaim", relayAddAndClaim},
	{"Duplicate", relayDuplicate},
	{"Leases", relayLeases},
	{"FinishAndRetry", relayFinishAndRetry},
	{"ConcurrentClaims", relayConcurrentClaims},
}

// relayFixture stores a conversation and returns a relay job (with its
// interaction) for it, numbered n.
func (f *fixture) relayJob(n int, created time.Time) (proxy.Interaction, proxy.RelayJob) {
	id := fmt.Sprintf("sms-%04d", n)
	in := proxy.Interaction{ID: id, ConversationID: "c1", Kind: proxy.KindSMS, ExternalID: "MSG-" + id,
		From: alice, To: gb1, CreatedAt: created}
	job := proxy.RelayJob{ID: id, ConversationID: "c1", From: gb1, To: bob, Text: "hello " + id, NextAttempt: created, CreatedAt: created}
	return in, job
}

func (f *fixture) relayConv() {
	f.t.Helper()
	f.addNumbers(gbNumber(gb1))
	f.create(conv("c1", alice, gb1, bob, gb1, base, time.Hour))
}

func (f *fixture) claimRelays(q proxy.RelayClaim) []string {
	f.t.Helper()
	jobs, err := f.s.ClaimRelays(f.ctx, q)
	if err != nil {
		f.t.Fatalf("ClaimRelays(%+v): %v", q, err)
	}
	ids := []string{}
	for _, j := range jobs {
		ids = append(ids, j.ID)
	}
	return ids
}

// AddRelay writes the interaction and the job; ClaimRelays returns the
// job as stored, oldest first, up to Limit, and only jobs due.
func relayAddAndClaim(f *fixture) {
	f.relayConv()
	for n := range 3 {
		in, job := f.relayJob(n, at(time.Duration(n)*time.Second))
		if err := f.s.AddRelay(f.ctx, in, job); err != nil {
			f.t.Fatalf("AddRelay: %v", err)
		}
	}
	late, lateJob := f.relayJob(9, at(time.Second))
	lateJob.NextAttempt = at(time.Hour)
	if err := f.s.AddRelay(f.ctx, late, lateJob); err != nil {
		f.t.Fatalf("AddRelay: %v", err)
	}
	if _, err := f.s.InteractionByExternalID(f.ctx, proxy.KindSMS, "MSG-sms-0001"); err != nil {
		f.t.Errorf("the relay's interaction was not stored: %v", err)
	}
	q := proxy.RelayClaim{Owner: "a", Now: at(time.Minute), LeaseUntil: at(2 * time.Minute), Limit: 2}
	jobs, err := f.s.ClaimRelays(f.ctx, q)
	if err != nil {
		f.t.Fatal(err)
	}
	_, want0 := f.relayJob(0, at(0))
	_, want1 := f.relayJob(1, at(time.Second))
	if diff := cmp.Diff([]proxy.RelayJob{want0, want1}, jobs, cmpOpts); diff != "" {
		f.t.Errorf("ClaimRelays (-want +got):\n%s", diff)
	}
	q.Limit = 0
	if diff := cmp.Diff([]string{"sms-0002"}, f.claimRelays(q)); diff != "" {
		f.t.Errorf("second ClaimRelays: only the job still unleased and due (-want +got):\n%s", diff)
	}
	q.Now, q.LeaseUntil = at(time.Hour), at(time.Hour+time.Minute)
	if diff := cmp.Diff([]string{"sms-0000", "sms-0001", "sms-0009", "sms-0002"}, f.claimRelays(q)); diff != "" {
		f.t.Errorf("ClaimRelays after the leases ended (-want +got):\n%s", diff)
	}
	if err := f.s.AddRelay(f.ctx, proxy.Interaction{ID: "x1", ConversationID: "c1", Kind: proxy.KindSMS, ExternalID: "MSG-x", CreatedAt: base},
		proxy.RelayJob{ID: "x2", ConversationID: "c1"}); err == nil {
		f.t.Error("AddRelay with a job ID other than the interaction's: no error")
	}
}

// A redelivered message (same Kind and ExternalID) conflicts and adds no
// second job.
func relayDuplicate(f *fixture) {
	f.relayConv()
	in, job := f.relayJob(1, base)
	if err := f.s.AddRelay(f.ctx, in, job); err != nil {
		f.t.Fatal(err)
	}
	again, againJob := in, job
	again.ID, againJob.ID = "sms-again", "sms-again"
	f.wantConflict("AddRelay of a redelivery", f.s.AddRelay(f.ctx, again, againJob))
	if diff := cmp.Diff([]string{"sms-0001"}, f.claimRelays(proxy.RelayClaim{Owner: "a", Now: at(time.Minute), LeaseUntil: at(2 * time.Minute)})); diff != "" {
		f.t.Errorf("jobs after a redelivery (-want +got):\n%s", diff)
	}
	noConv, noConvJob := f.relayJob(2, base)
	noConv.ConversationID, noConvJob.ConversationID = "missing", "missing"
	f.wantNotFound("AddRelay for a missing conversation", f.s.AddRelay(f.ctx, noConv, noConvJob))
	if got := f.claimRelays(proxy.RelayClaim{Owner: "b", Now: at(time.Hour), LeaseUntil: at(2 * time.Hour)}); len(got) != 1 {
		f.t.Errorf("a failed AddRelay left a job: %v", got)
	}
}

// A leased job is not claimed by another owner until its lease ends; ID
// claims just that job.
func relayLeases(f *fixture) {
	f.relayConv()
	for n := range 2 {
		in, job := f.relayJob(n, base)
		if err := f.s.AddRelay(f.ctx, in, job); err != nil {
			f.t.Fatal(err)
		}
	}
	if got := f.claimRelays(proxy.RelayClaim{Owner: "a", Now: at(time.Second), LeaseUntil: at(time.Minute), ID: "sms-0001"}); len(got) != 1 || got[0] != "sms-0001" {
		f.t.Fatalf("claim by ID = %v, want [sms-0001]", got)
	}
	if got := f.claimRelays(proxy.RelayClaim{Owner: "b", Now: at(30 * time.Second), LeaseUntil: at(time.Minute), ID: "sms-0001"}); len(got) != 0 {
		f.t.Errorf("claim of a job leased to another owner = %v, want none", got)
	}
	if diff := cmp.Diff([]string{"sms-0000"}, f.claimRelays(proxy.RelayClaim{Owner: "b", Now: at(30 * time.Second), LeaseUntil: at(time.Minute)})); diff != "" {
		f.t.Errorf("claim while sms-0001 is leased (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"sms-0000", "sms-0001"}, f.claimRelays(proxy.RelayClaim{Owner: "c", Now: at(time.Minute), LeaseUntil: at(2 * time.Minute)})); diff != "" {
		f.t.Errorf("claim once the leases ended (-want +got):\n%s", diff)
	}
	f.wantNotFound("FinishRelay by an owner whose lease was taken over",
		f.s.FinishRelay(f.ctx, "sms-0001", "a", proxy.InteractionEvent{Status: proxy.EventRelayed, At: at(time.Minute)}))
	f.wantNotFound("RetryRelay by an owner whose lease was taken over", f.s.RetryRelay(f.ctx, "sms-0001", "a", at(time.Hour)))
}

// FinishRelay deletes the job and records its event; RetryRelay counts
// the attempt and makes the job due again at next, for any owner.
func relayFinishAndRetry(f *fixture) {
	f.relayConv()
	for n := range 2 {
		in, job := f.relayJob(n, base)
		if err := f.s.AddRelay(f.ctx, in, job); err != nil {
			f.t.Fatal(err)
		}
	}
	f.claimRelays(proxy.RelayClaim{Owner: "a", Now: at(time.Second), LeaseUntil: at(time.Minute)})
	ev := proxy.InteractionEvent{Status: proxy.EventRelayed, At: at(2 * time.Second), Detail: "MSGID-1", Price: "0.03330000"}
	if err := f.s.FinishRelay(f.ctx, "sms-0000", "a", ev); err != nil {
		f.t.Fatalf("FinishRelay: %v", err)
	}
	in, err := f.s.InteractionByExternalID(f.ctx, proxy.KindSMS, "MSG-sms-0000")
	if err != nil {
		f.t.Fatal(err)
	}
	if diff := cmp.Diff([]proxy.InteractionEvent{ev}, in.Events, cmpOpts); diff != "" {
		f.t.Errorf("events after FinishRelay (-want +got):\n%s", diff)
	}
	f.wantNotFound("FinishRelay twice", f.s.FinishRelay(f.ctx, "sms-0000", "a", ev))
	if err := f.s.RetryRelay(f.ctx, "sms-0001", "a", at(10*time.Minute)); err != nil {
		f.t.Fatalf("RetryRelay: %v", err)
	}
	if got := f.claimRelays(proxy.RelayClaim{Owner: "b", Now: at(5 * time.Minute), LeaseUntil: at(6 * time.Minute)}); len(got) != 0 {
		f.t.Errorf("a retried job was claimed before its next attempt: %v", got)
	}
	jobs, err := f.s.ClaimRelays(f.ctx, proxy.RelayClaim{Owner: "b", Now: at(10 * time.Minute), LeaseUntil: at(11 * time.Minute)})
	if err != nil || len(jobs) != 1 || jobs[0].ID != "sms-0001" || jobs[0].Attempts != 1 || !jobs[0].NextAttempt.Equal(at(10*time.Minute)) {
		f.t.Errorf("claim of the retried job = %+v, %v; want sms-0001 with 1 attempt, due at +10m", jobs, err)
	}
	f.wantNotFound("FinishRelay of a missing job", f.s.FinishRelay(f.ctx, "nope", "b", ev))
}

// Many owners claiming at once never get the same job; every job is
// claimed once.
func relayConcurrentClaims(f *fixture) {
	f.relayConv()
	const jobs, owners = 40, 6
	for n := range jobs {
		in, job := f.relayJob(n, at(time.Duration(n)*time.Millisecond))
		if err := f.s.AddRelay(f.ctx, in, job); err != nil {
			f.t.Fatal(err)
		}
	}
	var mu sync.Mutex
	got := map[string]string{}
	var wg sync.WaitGroup
	for o := range owners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			owner := fmt.Sprintf("owner-%d", o)
			for range 10 {
				js, err := f.s.ClaimRelays(f.ctx, proxy.RelayClaim{Owner: owner, Now: at(time.Minute), LeaseUntil: at(time.Hour), Limit: 3})
				if err != nil {
					f.t.Errorf("ClaimRelays: %v", err)
					return
				}
				mu.Lock()
				for _, j := range js {
					if prev, ok := got[j.ID]; ok {
						f.t.Errorf("job %s claimed by %s and %s", j.ID, prev, owner)
					}
					got[j.ID] = owner
				}
				mu.Unlock()
				for _, j := range js {
					if err := f.s.FinishRelay(f.ctx, j.ID, owner, proxy.InteractionEvent{Status: proxy.EventRelayed, At: at(time.Minute)}); err != nil {
						f.t.Errorf("FinishRelay(%s, %s): %v", j.ID, owner, err)
					}
				}
			}
		}()
	}
	wg.Wait()
	if len(got) != jobs {
		f.t.Errorf("%d of %d jobs claimed", len(got), jobs)
	}
}
