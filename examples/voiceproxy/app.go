package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/voiceproxy/voiceproxy/insight"
	"github.com/voiceproxy/voiceproxy/numbers"
	"github.com/voiceproxy/voiceproxy/proxy"
	"github.com/voiceproxy/voiceproxy/proxy/proxytest"
	"github.com/voiceproxy/voiceproxy/proxy/sqlstore"
	"github.com/voiceproxy/voiceproxy/sms"
)

// sandboxSecretEnv names the environment variable that fixes the sandbox's
// webhook signature secret; without it each start makes a random one.
const sandboxSecretEnv = "VOICEPROXY_SANDBOX_SECRET"

// appConfig is what newApp needs from flags and the environment.
type appConfig struct {
	// DB is a SQLite path, ":memory:" for the memory store, or a
	// postgres:// URL.
	DB string
	// PublicURL is the base URL Vonage reaches the demo at.
	PublicURL string
	// Listen is the listener's address (host:port). On a loopback
	// address in sandbox mode the operator surface needs no token;
	// anywhere else, "" included, it does.
	Listen string
	// Getenv reads the environment (os.Getenv).
	Getenv func(string) string
	// Logger receives the logs.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// VonageURL, when set, replaces Vonage's API hosts in live mode (tests
	// point it at a simulator).
	VonageURL string
	// SMSAPI is the account's SMS setting the demo expects: smsAPISMS
	// ("" too) or smsAPIMessages.
	SMSAPI string
	// APITimeout bounds each request to the JSON API, the ops pages and
	// the sandbox endpoints; 0 means DefaultAPITimeout.
	APITimeout time.Duration
	// Host are the Service's settings the host chose (flags).
	Host hostOptions
}

// The account's SMS settings (-sms-api).
const (
	smsAPISMS      = "sms"      // the SMS API: /inbound-sms, delivery receipts
	smsAPIMessages = "messages" // the Messages API: /inbound-message, /message-status
)

// app is the demo: the Service, its store, and in sandbox mode the
// simulated Vonage and the simulator aimed at the demo's own webhooks.
type app struct {
	svc    *proxy.Service
	log    *slog.Logger
	now    func() time.Time
	vonage *proxytest.Vonage    // sandbox only
	sim    *proxytest.Simulator // sandbox only
	// sandboxSecret signs the simulated Vonage's webhooks, so the demo
	// checks signatures exactly as it does live (sandbox only).
	sandboxSecret string
	// access guards the operator surface.
	access *access
	// failures are the webhooks not answered 2xx, for the ops page.
	failures failureLog
	// apiTimeout bounds each operator request (appConfig.APITimeout).
	apiTimeout time.Duration
}

// newApp builds the demo's handler. cleanup stops the background sweep
// and closes the store; call it once the server has stopped.
func newApp(ctx context.Context, cfg appConfig) (h http.Handler, cleanup func(), err error) {
	log := demoLogger(cfg.Logger)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	store, closeStore, err := openStore(ctx, cfg.DB)
	if err != nil {
		return nil, nil, err
	}
	defer func() {
		if err != nil {
			closeStore()
		}
	}()
	env := cfg.Getenv
	if env == nil {
		env = func(string) string { return "" }
	}
	creds, live, err := readCredentials(env)
	if err != nil {
		return nil, nil, err
	}
	token := env(operatorTokenEnv)
	guard, err := operatorGuard(cfg, token, live)
	if err != nil {
		return nil, nil, err
	}
	a := &app{log: log, now: cfg.Now, access: guard, apiTimeout: cfg.APITimeout}
	if a.apiTimeout <= 0 {
		a.apiTimeout = DefaultAPITimeout
	}
	reg, meters, err := newMetrics()
	if err != nil {
		return nil, nil, err
	}

	// The Service's configuration: the host's settings, then Vonage's.
	pcfg := proxy.Config{Store: store, Logger: log, Now: cfg.Now, Telemetry: proxy.TelemetryConfig{MeterProvider: meters}}
	if err := cfg.Host.apply(&pcfg, live); err != nil {
		return nil, nil, err
	}
	setPseudonymKey(&pcfg, env, live, log)
	base := strings.TrimSuffix(cfg.PublicURL, "/")
	// Calls the demo starts (click-to-call) send their events to its own
	// event webhook, tagged with their conversation.
	pcfg.CallControl.EventURL = base + "/vonage/event"
	var opts clientOptions
	if live {
		opts, err = liveVonage(&pcfg, cfg, env, creds)
	} else {
		creds, opts, err = a.sandboxVonage(&pcfg, cfg, env)
	}
	if err != nil {
		return nil, nil, err
	}
	messages := cfg.SMSAPI == smsAPIMessages
	numbersClient, err := newClients(&pcfg, cfg, creds, opts, live, messages, base)
	if err != nil {
		return nil, nil, err
	}
	if !live || env("VOICEPROXY_AUTOPILOT") == "on" {
		pcfg.Pool.Autopilot = autopilot(numbersClient, creds.appID, log)
	}

	a.svc, err = proxy.New(pcfg)
	if err != nil {
		return nil, nil, err
	}
	pool, err := a.loadPool(ctx)
	if err != nil {
		return nil, nil, err
	}
	mux := a.handler(guard, reg, live, messages, cfg.Now)
	a.logReady(cfg, pcfg, pool, live, messages, base, token)
	return mux, a.runSweeps(ctx, closeStore, meters), nil
}

// demoLogger is l (slog.Default() when nil) behind the Service's
// masking: every line the demo logs goes through it, its own too, as
// they quote the Service's errors.
func demoLogger(l *slog.Logger) *slog.Logger {
	if l == nil {
		l = slog.Default()
	}
	return slog.New(proxy.MaskingHandler(l.Handler()))
}

// operatorGuard guards the operator surface with token; without one it
// is open only on a loopback listener in sandbox mode (errNoToken
// otherwise).
func operatorGuard(cfg appConfig, token string, live bool) (*access, error) {
	if token == "" && (live || !isLoopback(cfg.Listen)) {
		return nil, errNoToken
	}
	return newAccess(token, cfg.PublicURL, cfg.Now)
}

// vonageCreds are the account's credentials the API clients use: the
// sandbox's own in sandbox mode.
type vonageCreds struct {
	key, secret, appID string
}

// readCredentials reads the account's credentials from the environment:
// all three set is live mode, none sandbox mode, some an error.
func readCredentials(env func(string) string) (creds vonageCreds, live bool, err error) {
	creds = vonageCreds{key: env("VONAGE_API_KEY"), secret: env("VONAGE_API_SECRET"), appID: env("VONAGE_APPLICATION_ID")}
	live = creds.key != "" || creds.secret != "" || creds.appID != ""
	if live && (creds.key == "" || creds.secret == "" || creds.appID == "") {
		return vonageCreds{}, false, errors.New("live mode needs VONAGE_API_KEY, VONAGE_API_SECRET and VONAGE_APPLICATION_ID (unset all three for sandbox mode)")
	}
	return creds, live, nil
}

// newMetrics makes the Service's meter provider and the registry that
// serves its metrics at /metrics in Prometheus's format, through
// OpenTelemetry's Prometheus exporter: the library speaks the
// OpenTelemetry API, and the exporter turns it into the text format
// with no second instrumentation. The registry is the app's own. The
// series carry no otel_scope_* labels: every metric comes from the one
// library, so they would repeat the same three values on every line.
func newMetrics() (*prometheus.Registry, *sdkmetric.MeterProvider, error) {
	reg := prometheus.NewRegistry()
	exporter, err := otelprom.New(otelprom.WithRegisterer(reg), otelprom.WithoutScopeInfo())
	if err != nil {
		return nil, nil, fmt.Errorf("metrics exporter: %w", err)
	}
	return reg, sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter)), nil
}

// setPseudonymKey sets the pseudonyms' key from VOICEPROXY_PSEUDONYM_KEY:
// it must be the same on every instance and kept for good, or
// pseudonyms split and opt-outs are forgotten (proxy.Config). The
// sandbox has a fixed one; live mode without it warns.
func setPseudonymKey(pcfg *proxy.Config, env func(string) string, live bool, log *slog.Logger) {
	if k := env("VOICEPROXY_PSEUDONYM_KEY"); k != "" {
		pcfg.Privacy.PseudonymKey = []byte(k)
	} else if !live {
		pcfg.Privacy.PseudonymKey = []byte("voiceproxy sandbox pseudonyms")
	} else {
		log.Warn("VOICEPROXY_PSEUDONYM_KEY is not set: pseudonyms differ per process, and SMS opt-outs are stored under phone numbers")
	}
}

// clientOptions point the API clients at Vonage, or elsewhere: at the
// simulated Vonage in sandbox mode, at appConfig.VonageURL when set.
type clientOptions struct {
	sms     []sms.Option
	numbers []numbers.Option
	insight []insight.Option
	// messagesURL is the Messages API's base URL; "" means Vonage's.
	messagesURL string
}

// liveVonage configures pcfg for the account of creds: the
// application, its private key for call control, the webhooks'
// signature secret; and returns the clients' options.
func liveVonage(pcfg *proxy.Config, cfg appConfig, env func(string) string, creds vonageCreds) (clientOptions, error) {
	var opts clientOptions
	pcfg.ApplicationID = creds.appID
	// Call control (hang-up on close, click-to-call, recordings)
	// needs the application's private key, the file the dashboard
	// gave when the application was made.
	if path := env("VONAGE_PRIVATE_KEY"); path != "" {
		pem, err := os.ReadFile(path)
		if err != nil {
			return opts, fmt.Errorf("VONAGE_PRIVATE_KEY: %w", err)
		}
		pcfg.CallControl.ApplicationKey = pem
	}
	// Live webhooks are verified: without the secret, anyone could
	// read a participant's real number from a forged answer webhook.
	pcfg.Webhooks.SignatureSecret = env("VONAGE_SIGNATURE_SECRET")
	if pcfg.Webhooks.SignatureSecret == "" {
		return opts, errors.New("VONAGE_SIGNATURE_SECRET is not set: live mode verifies Vonage's webhooks with the account's signature secret (dashboard: API settings)")
	}
	pcfg.Webhooks.SMSSignatureSecret = pcfg.Webhooks.SignatureSecret
	pcfg.Webhooks.SMSSignatureMethod = sms.SigMethod(env("VONAGE_SIGNATURE_METHOD"))
	if cfg.VonageURL != "" {
		opts.sms = append(opts.sms, sms.WithBaseURL(cfg.VonageURL))
		opts.numbers = append(opts.numbers, numbers.WithBaseURL(cfg.VonageURL))
		opts.insight = append(opts.insight, insight.WithBaseURL(cfg.VonageURL))
		opts.messagesURL = strings.TrimSuffix(cfg.VonageURL, "/") + "/v1/messages"
		pcfg.CallControl.APIURL = strings.TrimSuffix(cfg.VonageURL, "/") + "/v1/calls"
	}
	return opts, nil
}

// sandboxVonage makes the simulated Vonage (a.vonage) with an
// application whose key pair is made afresh, and the sandbox's webhook
// signature secret (a.sandboxSecret, fixed by sandboxSecretEnv or
// random), and configures pcfg for them. It returns the sandbox's
// credentials and the clients' options, all aimed at the simulator.
func (a *app) sandboxVonage(pcfg *proxy.Config, cfg appConfig, env func(string) string) (vonageCreds, clientOptions, error) {
	creds := vonageCreds{key: proxytest.APIKey, secret: proxytest.APISecret, appID: proxytest.ApplicationID}
	// The sandbox application's key pair, made afresh: the simulated
	// Voice API checks the demo's JWTs with its public half.
	appKey, keyPEM, err := sandboxKey()
	if err != nil {
		return creds, clientOptions{}, err
	}
	a.vonage = proxytest.NewVonage(proxytest.WithOwnedNumbers(proxytest.SandboxNumbers()...), proxytest.WithClock(cfg.Now),
		proxytest.WithBalance(50), // notifications, relays and a few purchases
		proxytest.WithApplication(creds.appID, &appKey.PublicKey))
	pcfg.CallControl.ApplicationKey, pcfg.CallControl.HTTPClient = keyPEM, a.vonage.Client()
	opts := clientOptions{
		sms:         []sms.Option{sms.WithHTTPClient(a.vonage.Client()), sms.WithBaseURL(proxytest.InProcessURL)},
		numbers:     []numbers.Option{numbers.WithHTTPClient(a.vonage.Client()), numbers.WithBaseURL(proxytest.InProcessURL)},
		insight:     []insight.Option{insight.WithHTTPClient(a.vonage.Client()), insight.WithBaseURL(proxytest.InProcessURL)},
		messagesURL: proxytest.InProcessURL + "/v1/messages",
	}
	pcfg.ApplicationID = creds.appID
	a.sandboxSecret = env(sandboxSecretEnv)
	if a.sandboxSecret == "" {
		if a.sandboxSecret, err = randomSecret(); err != nil {
			return creds, clientOptions{}, err
		}
	}
	pcfg.Webhooks.SignatureSecret = a.sandboxSecret
	pcfg.Webhooks.SMSSignatureSecret = a.sandboxSecret
	// Participants may use Ofcom's drama range (+44 7700 900xxx), as
	// Vonage's own examples do.
	pcfg.Allocation.LenientNumbers = true
	return creds, opts, nil
}

// newClients makes the SMS (SMS API, or with messages the Messages
// API), Numbers and Number Insight clients and sets them in pcfg; it
// returns the Numbers client for the autopilot.
func newClients(pcfg *proxy.Config, cfg appConfig, creds vonageCreds, opts clientOptions, live, messages bool, base string) (*numbers.Client, error) {
	var smsClient proxy.SMSSender
	var err error
	if messages {
		// The application JWT when the key is there (as in the sandbox),
		// else the account's key and secret.
		auth := sms.MessagesAuth{APIKey: creds.key, APISecret: creds.secret}
		if pcfg.CallControl.ApplicationKey != nil {
			auth = sms.MessagesAuth{ApplicationID: creds.appID, PrivateKey: pcfg.CallControl.ApplicationKey}
		}
		mopts := append(opts.sms, sms.WithClock(cfg.Now))
		if opts.messagesURL != "" {
			mopts = append(mopts, sms.WithBaseURL(opts.messagesURL))
		}
		smsClient, err = sms.NewMessagesClient(auth, mopts...)
	} else {
		smsClient, err = sms.NewClient(creds.key, creds.secret, opts.sms...)
		if live {
			// On the SMS API setting a number's own inbound-SMS webhook
			// wins over the account's: point each at the demo.
			pcfg.Webhooks.InboundSMSURL = base + "/vonage/inbound-sms"
		}
	}
	if err != nil {
		return nil, err
	}
	numbersClient, err := numbers.NewClient(creds.key, creds.secret, opts.numbers...)
	if err != nil {
		return nil, err
	}
	insightClient, err := insight.NewClient(creds.key, creds.secret, opts.insight...)
	if err != nil {
		return nil, err
	}
	pcfg.SMS.Sender, pcfg.Pool.Numbers, pcfg.Allocation.Insight = smsClient, numbersClient, insightClient
	return numbersClient, nil
}

// autopilot is the pool autopilot the demo runs: numbers bought when a
// participant has none left in their country, idle ones given back
// after a day. In sandbox mode it buys from the simulated Vonage.
func autopilot(numbersClient *numbers.Client, appID string, log *slog.Logger) *proxy.Autopilot {
	return &proxy.Autopilot{
		Numbers: numbersClient, ApplicationID: appID,
		MaxNumbers: 20, MaxPerCountry: 10, MaxPurchasesPerHour: 5, MonthlyBudget: 25,
		ReleaseIdle: 24 * time.Hour, Floor: 4,
		OnPoolChange: func(ctx context.Context, c proxy.PoolChange) {
			log.InfoContext(ctx, "pool changed", "kind", c.Kind, "country", c.Country, "number", c.MSISDN, "reason", c.Reason, "err", c.Err)
		},
	}
}

// loadPool syncs the number pool with the account (SyncNumbers) and
// returns it: an error when no number could be kept or linked, a
// warning when some could not, or when the pool is empty.
func (a *app) loadPool(ctx context.Context) ([]proxy.PoolNumber, error) {
	res, err := a.svc.SyncNumbers(ctx)
	if err != nil {
		if len(res.Kept)+len(res.Linked) == 0 {
			return nil, fmt.Errorf("load the number pool: %w", err)
		}
		a.log.Warn("some numbers could not be linked", "err", err)
	}
	pool, err := a.svc.Pool(ctx)
	if err != nil {
		return nil, err
	}
	if len(pool) == 0 {
		a.log.Warn("the number pool is empty: buy numbers and link them to the application (go run ./examples/numbers)")
	}
	return pool, nil
}

// handler is the listener's mux: Vonage's webhooks, the health checks,
// the ops pages' stylesheet and login, and under "/" the operator
// surface, op, behind its guard (its /metrics served from reg). In
// sandbox mode it also makes the simulator (a.sim), aimed at the
// demo's own webhooks, and the sandbox's routes.
func (a *app) handler(guard *access, reg *prometheus.Registry, live, messages bool, now func() time.Time) *http.ServeMux {
	mux, op := http.NewServeMux(), http.NewServeMux()
	mux.Handle("/", guard.operator(op))
	a.routes(op)
	op.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := a.svc.Ready(r.Context()); err != nil {
			a.log.WarnContext(r.Context(), "not ready", "err", err)
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "store unavailable"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	mux.Handle("/vonage/", a.recordFailures(http.StripPrefix("/vonage", a.svc)))
	a.opsRoutes(mux, op)
	a.loginRoutes(mux)
	if live {
		return mux
	}
	a.sim = &proxytest.Simulator{
		Handler:         mux,
		AnswerPath:      "/vonage/answer",
		EventPath:       "/vonage/event",
		FallbackPath:    "/vonage/fallback",
		InboundSMSPath:  "/vonage/inbound-sms",
		SignatureSecret: a.sandboxSecret,
		Vonage:          a.vonage,
		Now:             now,
	}
	if messages {
		a.sim.SMSAPI, a.sim.InboundMessagePath = proxytest.SMSAPIMessages, "/vonage/inbound-message"
		a.vonage.StatusTo(mux, "/vonage/message-status", a.sandboxSecret)
	}
	a.vonage.Attach(a.sim)
	// The simulated SMS API reports delivery as Vonage does.
	a.vonage.ReceiptsTo(mux, "/vonage/delivery-receipt", a.sandboxSecret, "")
	a.sandboxRoutes(op)
	return mux
}

// logReady logs that the demo is ready: its mode, store, pool and SMS
// setting, then what to configure at Vonage (live mode) or how to try
// the sandbox, and how the operator surface is guarded.
func (a *app) logReady(cfg appConfig, pcfg proxy.Config, pool []proxy.PoolNumber, live, messages bool, base, token string) {
	log := a.log
	mode := "sandbox"
	if live {
		mode = "live"
	}
	nums := make([]string, len(pool))
	for i, n := range pool {
		nums[i] = n.Country + ":" + n.MSISDN
	}
	smsSetting := "SMS API"
	if messages {
		smsSetting = "Messages API"
	}
	log.Info("voiceproxy demo ready", "mode", mode, "store", storeKind(cfg.DB), "pool", strings.Join(nums, " "), "sms_api", smsSetting)
	if live {
		log.Info("configure your Vonage application with these webhooks",
			"answer_url", "GET "+base+"/vonage/answer",
			"event_url", "POST "+base+"/vonage/event",
			"fallback_url", "GET "+base+"/vonage/fallback")
		if messages {
			log.Info("the demo expects the account's SMS setting to be the Messages API (dashboard: API settings, SMS settings); set the application's Messages webhooks",
				"inbound_url", "POST "+base+"/vonage/inbound-message",
				"status_url", "POST "+base+"/vonage/message-status")
		} else {
			log.Info("the demo expects the account's SMS setting to be the SMS API (dashboard: API settings, SMS settings); set the account's SMS webhooks (each number's inbound URL is set at start-up)",
				"inbound_sms_url", "POST "+base+"/vonage/inbound-sms",
				"delivery_receipt_url", "POST "+base+"/vonage/delivery-receipt")
		}
		if pcfg.CallControl.ApplicationKey == nil {
			log.Warn("VONAGE_PRIVATE_KEY is not set: call control is off (calls are not hung up on close; no click-to-call or recordings)")
		}
	} else {
		log.Info("sandbox mode: no Vonage account used; try POST " + base + "/sandbox/calls")
		// The secret is the sandbox's own, for signing a hand-made
		// webhook (README, "Signing a webhook by hand").
		log.Info("sandbox webhooks are signed", "signature_secret", a.sandboxSecret, "fixed_by", sandboxSecretEnv)
	}
	if token == "" {
		log.Info("the operator surface is open to this machine: listening on loopback in sandbox mode, no " + operatorTokenEnv)
	} else {
		log.Info("the operator surface needs the operator token: Authorization: Bearer, or log in at " + base + "/ops/login")
	}
}

// runSweeps starts the Service's expiry and relay sweeps (Run) and
// returns the cleanup that stops them, then closes the store and the
// meter provider; it may be called more than once.
func (a *app) runSweeps(ctx context.Context, closeStore func(), meters *sdkmetric.MeterProvider) (cleanup func()) {
	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := a.svc.Run(runCtx); err != nil && !errors.Is(err, context.Canceled) {
			a.log.Error("expiry and relay sweeps stopped", "err", err)
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			stop()
			wg.Wait()
			closeStore()
			_ = meters.Shutdown(context.Background())
		})
	}
}

// openStore opens the store named by db.
func openStore(ctx context.Context, db string) (proxy.Store, func(), error) {
	switch {
	case db == ":memory:":
		return proxy.NewMemoryStore(), func() {}, nil
	case strings.HasPrefix(db, "postgres://"), strings.HasPrefix(db, "postgresql://"):
		s, err := sqlstore.OpenPostgres(ctx, db)
		if err != nil {
			return nil, nil, fmt.Errorf("open PostgreSQL: %w", err)
		}
		return s, func() { s.Close() }, nil
	case db == "":
		return nil, nil, errors.New("-db is empty")
	default:
		s, err := sqlstore.OpenSQLite(ctx, db)
		if err != nil {
			return nil, nil, fmt.Errorf("open SQLite %s: %w", db, err)
		}
		return s, func() { s.Close() }, nil
	}
}

func storeKind(db string) string {
	switch {
	case db == ":memory:":
		return "memory"
	case strings.HasPrefix(db, "postgres"):
		return "postgres"
	default:
		return "sqlite:" + db
	}
}
