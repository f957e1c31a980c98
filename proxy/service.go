package proxy

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/voiceproxy/voiceproxy/internal/voice"
	"github.com/voiceproxy/voiceproxy/ncco"
	"github.com/voiceproxy/voiceproxy/sms"
)

// GeoPolicy says what allocation does when the pool has no usable number
// in a participant's country.
type GeoPolicy int

const (
	// GeoAnyCountry tries the participant's country first and falls back
	// to a number from any country (the default).
	GeoAnyCountry GeoPolicy = iota
	// GeoStrict fails with a *PoolExhaustedError instead.
	GeoStrict
)

// GeoLevel is how closely allocation matches a proxy number to a
// participant's number.
type GeoLevel int

const (
	// GeoCountry prefers a number in the participant's country (the
	// default); AllocationConfig.GeoFallback says what happens when there
	// is none.
	GeoCountry GeoLevel = iota
	// GeoAreaCode prefers, for a participant of the North American
	// Numbering Plan (US, Canada and the Caribbean, country code 1), a
	// number with their area code, as libphonenumber gives it: a
	// local-looking number is answered more often. Without one it falls
	// back to the country, then as AllocationConfig.GeoFallback says.
	GeoAreaCode
)

// StickyPolicy says whether a participant meeting the same counterpart
// again gets the same proxy number.
type StickyPolicy int

const (
	// StickyPrefer gives the number they had last time together, when
	// it is free (the default): saved contacts keep working.
	StickyPrefer StickyPolicy = iota
	// StickyAvoid gives another number when the pool has one: nobody can
	// reach the other side outside a conversation by a number they kept.
	StickyAvoid
)

// Inbound is a call or SMS about to be connected or relayed, as shown to
// Config.Intercept.
type Inbound struct {
	Kind         InteractionKind
	Conversation Conversation
	// Sender is the side calling or texting; the other one would be
	// reached.
	Sender Side
	// Text is the SMS body; empty for calls.
	Text string
}

// Contact is a call or SMS that matched no conversation in use, as shown
// to Config.Hooks.OnUnknownContact and Config.OnUnknownSMS. Numbers are digits
// only.
type Contact struct {
	Kind     InteractionKind // KindCall or KindSMS
	From, To string          // the caller or sender, and the pool number reached
	Text     string          // an SMS's text
}

// UnknownCall is an inbound call that matched no conversation, as shown
// to Hooks.OnUnknownCall. Numbers are digits only as Vonage sent them.
type UnknownCall struct {
	From, To         string
	UUID             string
	ConversationUUID string
}

// Service runs proxied conversations: it allocates proxy numbers, routes
// Vonage's webhooks and records interactions. It is an http.Handler
// serving, relative to where it is mounted (use http.StripPrefix), the
// Voice API's webhooks GET|POST /answer, /fallback, /event and /input,
// the SMS API's GET|POST /inbound-sms and /delivery-receipt, and the
// Messages API's POST /inbound-message and /message-status (see
// routes in webhook.go). Safe for concurrent use.
type Service struct {
	cfg   Config
	store Store
	now   func() time.Time
	log   *slog.Logger
	mux   *http.ServeMux
	owner string // this instance's name on relay leases
	// pseudonymKey is Config.Privacy.PseudonymKey, or a random one.
	pseudonymKey []byte
	// pseudonymMACs holds HMAC-SHA256 hashes keyed with it, for reuse:
	// every allocation computes two pseudonyms.
	pseudonymMACs sync.Pool

	poolCache poolCache // which numbers are the pool's, for CreateConversation
	// inProcessStore: the store is the memory store, which does no I/O,
	// so webhooks need no deadline on it.
	inProcessStore bool
	calls          writeBehind // answered calls' records, for stores that do I/O
	// routeClaims: for a RouteClaimer store, the answer webhook's one
	// round trip (nonce claim and route), grouped; nil otherwise.
	routeClaims *group[RouteClaim, RouteClaimResult]
	// autopilot is Config.Pool.Autopilot with its defaults; nil when off.
	autopilot   *Autopilot
	poolStats   poolStats
	buyingAhead sync.Map // country -> struct{}: a buy-ahead in flight

	tel *telemetry // metrics and traces

	// voice is the call control client; nil when call control is off.
	voice VoiceAPI
	// bg counts background work (hang-up retries, event flushes) still
	// to run.
	bg sync.WaitGroup
	// events holds the events the store could not take.
	events    eventSpool
	reconcile reconcileState // ReconcileCalls' cursor

	warnUnsignedOnce    sync.Once
	warnUnsignedSMSOnce sync.Once
	voiceVerifier       *voice.Verifier // nil when voice webhooks are not verified
	smsVerifier         *sms.Verifier   // nil when SMS webhooks are not verified

	// Precomputed, validated parts of answer NCCOs.
	// answerPrefix[0] is the greeting before the connect; [1] the same
	// after the record action and notice, for recorded conversations.
	answerPrefix [2][]ncco.Action
	fallbackJSON []byte            // the spoken NCCO for calls not connected
	connectOpts  ncco.Connect      // timeout, limit, ringback; no endpoint yet
	tmpl         [2]answerTemplate // answerPrefix[i] and a connect
}

// New checks cfg, applies defaults and returns a Service.
func New(cfg Config) (*Service, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	pkey, randomKey, err := pseudonymKey(&cfg)
	if err != nil {
		return nil, err
	}
	vc, err := callControl(&cfg)
	if err != nil {
		return nil, err
	}
	s := &Service{
		cfg:          cfg,
		now:          cfg.Now,
		log:          slog.New(redactingHandler{cfg.Logger.Handler()}),
		mux:          http.NewServeMux(),
		owner:        newID(cfg.Now()),
		voice:        vc,
		pseudonymKey: pkey,
	}
	s.store = meteredStore{Store: cfg.Store, s: s}
	if s.tel, err = newTelemetry(&cfg.Telemetry); err != nil {
		return nil, fmt.Errorf("proxy: telemetry: %w", err)
	}
	_, s.inProcessStore = cfg.Store.(*memoryStore)
	if randomKey && !s.inProcessStore {
		s.log.Warn("proxy: no Privacy.PseudonymKey nor signature secret: pseudonyms, and the STOP opt-outs kept under them, are forgotten at a restart; set PseudonymKey")
	}
	if cfg.Pool.Autopilot != nil {
		a, err := autopilotConfig(*cfg.Pool.Autopilot)
		if err != nil {
			return nil, err
		}
		s.autopilot = &a
	}
	if rc, ok := cfg.Store.(RouteClaimer); ok {
		s.routeClaims = newGroup("ClaimRoutes", cfg.Webhooks.StoreTimeout, meteredBatch(s, "ClaimRoutes", rc.ClaimRoutes))
	}
	s.calls.s = s
	if err := s.verifiers(); err != nil {
		return nil, err
	}
	if err := s.prepareNCCO(); err != nil {
		return nil, err
	}
	s.routes()
	return s, nil
}

// ServeHTTP dispatches Vonage's webhooks. Unknown paths get 404, wrong
// methods 405.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.serveInstrumented(w, r)
}

// Ready reports whether the store answers, within Config.Webhooks.StoreTimeout:
// for a readiness probe. The error is the store's.
func (s *Service) Ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Webhooks.StoreTimeout)
	defer cancel()
	if _, err := s.store.NumberLegs(ctx, "0"); err != nil {
		return fmt.Errorf("proxy: store not ready: %w", err)
	}
	return nil
}

// Run expires conversations every Config.Conversations.SweepInterval and sends the SMS
// relays that are due every Config.SMS.RelayInterval, until ctx is done, then
// returns ctx.Err(). Errors are logged, not returned. Every instance
// sharing a store should run it: it is what retries a relay that failed
// and sends those an instance left when it stopped.
func (s *Service) Run(ctx context.Context) error {
	sweep := time.NewTicker(s.cfg.Conversations.SweepInterval)
	defer sweep.Stop()
	relay := time.NewTicker(s.cfg.SMS.RelayInterval)
	defer relay.Stop()
	s.runSweep(ctx)
	s.runRelays(ctx)
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-sweep.C:
			s.runSweep(ctx)
		case <-relay.C:
			s.runRelays(ctx)
			if _, err := s.FlushEvents(ctx); err != nil && ctx.Err() == nil {
				s.log.ErrorContext(ctx, "proxy: spooled events not written yet", "err", err)
			}
		}
	}
}

func (s *Service) runSweep(ctx context.Context) {
	if _, err := s.ExpireNow(ctx); err != nil && ctx.Err() == nil {
		s.log.ErrorContext(ctx, "proxy: expiry sweep failed", "err", err)
	}
	if _, err := s.PseudonymizeNow(ctx); err != nil && ctx.Err() == nil {
		s.log.ErrorContext(ctx, "proxy: pseudonymization sweep failed", "err", err)
	}
	if _, err := s.ReleaseIdleNumbers(ctx); err != nil && ctx.Err() == nil {
		s.log.ErrorContext(ctx, "proxy: idle number release failed", "err", err)
	}
	s.runReconcile(ctx)
}

func (s *Service) runRelays(ctx context.Context) {
	if _, err := s.RelayNow(ctx); err != nil && ctx.Err() == nil {
		s.log.ErrorContext(ctx, "proxy: SMS relay sweep failed", "err", err)
	}
}

// ExpireNow ends every active conversation whose deadline has passed and
// returns how many it ended.
func (s *Service) ExpireNow(ctx context.Context) (int, error) {
	const batch = 1000
	total := 0
	for {
		ids, err := s.store.ExpireConversations(ctx, s.now(), batch)
		total += len(ids)
		if err != nil {
			return total, fmt.Errorf("proxy: expire conversations: %w", err)
		}
		for _, id := range ids {
			s.log.InfoContext(ctx, "proxy: conversation expired", "conversation", id)
			s.tel.count(ctx, s.tel.conversations, "event", "expired")
			s.hangUpExpired(ctx, id)
		}
		if len(ids) < batch {
			return total, nil
		}
	}
}
