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
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	// Every line the demo logs goes through the Service's masking, its
	// own too: they quote the Service's errors.
	log = slog.New(proxy.MaskingHandler(log.Handler()))
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
	key, secret, appID := env("VONAGE_API_KEY"), env("VONAGE_API_SECRET"), env("VONAGE_APPLICATION_ID")
	live := key != "" || secret != "" || appID != ""
	if live && (key == "" || secret == "" || appID == "") {
		return nil, nil, errors.New("live mode needs VONAGE_API_KEY, VONAGE_API_SECRET and VONAGE_APPLICATION_ID (unset all three for sandbox mode)")
	}

	token := env(operatorTokenEnv)
	if token == "" && (live || !isLoopback(cfg.Listen)) {
		return nil, nil, errNoToken
	}
	guard, err := newAccess(token, cfg.PublicURL, cfg.Now)
	if err != nil {
		return nil, nil, err
	}
	a := &app{log: log, now: cfg.Now, access: guard, apiTimeout: cfg.APITimeout}
	if a.apiTimeout <= 0 {
		a.apiTimeout = DefaultAPITimeout
	}
	// The service's metrics, served at /metrics in Prometheus's format by
	// OpenTelemetry's Prometheus exporter: the library speaks the
	// OpenTelemetry API, and the exporter turns it into the text format
	// with no second instrumentation. The registry is the app's own.
	// The series carry no otel_scope_* labels: every metric comes from
	// the one library, so they would repeat the same three values on
	// every line.
	reg := prometheus.NewRegistry()
	exporter, err := otelprom.New(otelprom.WithRegisterer(reg), otelprom.WithoutScopeInfo())
	if err != nil {
		return nil, nil, fmt.Errorf("metrics exporter: %w", err)
	}
	meters := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter))
	pcfg := proxy.Config{Store: store, Logger: log, Now: cfg.Now, Telemetry: proxy.TelemetryConfig{MeterProvider: meters}}
	if err := cfg.Host.apply(&pcfg, live); err != nil {
		return nil, nil, err
	}
	// The pseudonyms' key: the same on every instance and kept for good,
	// or pseudonyms split and opt-outs are forgotten (proxy.Config).
	if k := env("VOICEPROXY_PSEUDONYM_KEY"); k != "" {
		pcfg.Privacy.PseudonymKey = []byte(k)
	} else if !live {
		pcfg.Privacy.PseudonymKey = []byte("voiceproxy sandbox pseudonyms")
	} else {
		log.Warn("VOICEPROXY_PSEUDONYM_KEY is not set: pseudonyms differ per process, and SMS opt-outs are stored under phone numbers")
	}
	var (
		smsOpts     []sms.Option
		numbersOpts []numbers.Option
		insightOpts []insight.Option
	)
	base := strings.TrimSuffix(cfg.PublicURL, "/")
	// Calls the demo starts (click-to-call) send their events to its own
	// event webhook, tagged with their conversation.
	pcfg.CallControl.EventURL = base + "/vonage/event"
	if live {
		pcfg.ApplicationID = appID
		// Call control (hang-up on close, click-to-call, recordings)
		// needs the application's private key, the file the dashboard
		// gave when the application was made.
		if path := env("VONAGE_PRIVATE_KEY"); path != "" {
			pem, err := os.ReadFile(path)
			if err != nil {
				return nil, nil, fmt.Errorf("VONAGE_PRIVATE_KEY: %w", err)
			}
			pcfg.CallControl.ApplicationKey = pem
		}
		// Live webhooks are verified: without the secret, anyone could
		// read a participant's real number from a forged answer webhook.
		pcfg.Webhooks.SignatureSecret = env("VONAGE_SIGNATURE_SECRET")
		if pcfg.Webhooks.SignatureSecret == "" {
			return nil, nil, errors.New("VONAGE_SIGNATURE_SECRET is not set: live mode verifies Vonage's webhooks with the account's signature secret (dashboard: API settings)")
		}
		pcfg.Webhooks.SMSSignatureSecret = pcfg.Webhooks.SignatureSecret
		pcfg.Webhooks.SMSSignatureMethod = sms.SigMethod(env("VONAGE_SIGNATURE_METHOD"))
		if cfg.VonageURL != "" {
			smsOpts = append(smsOpts, sms.WithBaseURL(cfg.VonageURL))
			numbersOpts = append(numbersOpts, numbers.WithBaseURL(cfg.VonageURL))
			insightOpts = append(insightOpts, insight.WithBaseURL(cfg.VonageURL))
			pcfg.CallControl.APIURL = strings.TrimSuffix(cfg.VonageURL, "/") + "/v1/calls"
		}
	} else {
		key, secret, appID = proxytest.APIKey, proxytest.APISecret, proxytest.ApplicationID
		// The sandbox application's key pair, made afresh: the simulated
		// Voice API checks the demo's JWTs with its public half.
		appKey, keyPEM, err := sandboxKey()
		if err != nil {
			return nil, nil, err
		}
		a.vonage = proxytest.NewVonage(proxytest.WithOwnedNumbers(proxytest.SandboxNumbers()...), proxytest.WithClock(cfg.Now),
			proxytest.WithBalance(50), // notifications, relays and a few purchases
			proxytest.WithApplication(appID, &appKey.PublicKey))
		pcfg.CallControl.ApplicationKey, pcfg.CallControl.HTTPClient = keyPEM, a.vonage.Client()
		smsOpts = []sms.Option{sms.WithHTTPClient(a.vonage.Client()), sms.WithBaseURL(proxytest.InProcessURL)}
		numbersOpts = []numbers.Option{numbers.WithHTTPClient(a.vonage.Client()), numbers.WithBaseURL(proxytest.InProcessURL)}
		insightOpts = []insight.Option{insight.WithHTTPClient(a.vonage.Client()), insight.WithBaseURL(proxytest.InProcessURL)}
		pcfg.ApplicationID = appID
		a.sandboxSecret = env(sandboxSecretEnv)
		if a.sandboxSecret == "" {
			if a.sandboxSecret, err = randomSecret(); err != nil {
				return nil, nil, err
			}
		}
		pcfg.Webhooks.SignatureSecret = a.sandboxSecret
		pcfg.Webhooks.SMSSignatureSecret = a.sandboxSecret
		// Participants may use Ofcom's drama range (+44 7700 900xxx), as
		// Vonage's own examples do.
		pcfg.Allocation.LenientNumbers = true
	}
	messages := cfg.SMSAPI == smsAPIMessages
	var smsClient proxy.SMSSender
	if messages {
		// The application JWT when the key is there (as in the sandbox),
		// else the account's key and secret.
		auth := sms.MessagesAuth{APIKey: key, APISecret: secret}
		if pcfg.CallControl.ApplicationKey != nil {
			auth = sms.MessagesAuth{ApplicationID: appID, PrivateKey: pcfg.CallControl.ApplicationKey}
		}
		mopts := append(smsOpts, sms.WithClock(cfg.Now))
		if !live {
			mopts = append(mopts, sms.WithBaseURL(proxytest.InProcessURL+"/v1/messages"))
		} else if cfg.VonageURL != "" {
			mopts = append(mopts, sms.WithBaseURL(strings.TrimSuffix(cfg.VonageURL, "/")+"/v1/messages"))
		}
		smsClient, err = sms.NewMessagesClient(auth, mopts...)
	} else {
		smsClient, err = sms.NewClient(key, secret, smsOpts...)
		if live {
			// On the SMS API setting a number's own inbound-SMS webhook
			// wins over the account's: point each at the demo.
			pcfg.Webhooks.InboundSMSURL = base + "/vonage/inbound-sms"
		}
	}
	if err != nil {
		return nil, nil, err
	}
	numbersClient, err := numbers.NewClient(key, secret, numbersOpts...)
	if err != nil {
		return nil, nil, err
	}
	insightClient, err := insight.NewClient(key, secret, insightOpts...)
	if err != nil {
		return nil, nil, err
	}
	pcfg.SMS.Sender, pcfg.Pool.Numbers, pcfg.Allocation.Insight = smsClient, numbersClient, insightClient
	if !live || env("VOICEPROXY_AUTOPILOT") == "on" {
		// The pool autopilot: numbers bought when a participant has none
		// left in their country, idle ones given back after a day. In
		// sandbox mode it buys from the simulated Vonage.
		pcfg.Pool.Autopilot = &proxy.Autopilot{
			Numbers: numbersClient, ApplicationID: appID,
			MaxNumbers: 20, MaxPerCountry: 10, MaxPurchasesPerHour: 5, MonthlyBudget: 25,
			ReleaseIdle: 24 * time.Hour, Floor: 4,
			OnPoolChange: func(ctx context.Context, c proxy.PoolChange) {
				log.InfoContext(ctx, "pool changed", "kind", c.Kind, "country", c.Country, "number", c.MSISDN, "reason", c.Reason, "err", c.Err)
			},
		}
	}

	a.svc, err = proxy.New(pcfg)
	if err != nil {
		return nil, nil, err
	}
	res, err := a.svc.SyncNumbers(ctx)
	if err != nil {
		if len(res.Kept)+len(res.Linked) == 0 {
			return nil, nil, fmt.Errorf("load the number pool: %w", err)
		}
		log.Warn("some numbers could not be linked", "err", err)
	}
	pool, err := a.svc.Pool(ctx)
	if err != nil {
		return nil, nil, err
	}
	if len(pool) == 0 {
		log.Warn("the number pool is empty: buy numbers and link them to the application (go run ./examples/numbers)")
	}

	// mux is the listener's: Vonage's webhooks, the health checks, the
	// ops pages' stylesheet and login, and under "/" the operator
	// surface, op, behind its guard.
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
	if !live {
		a.sim = &proxytest.Simulator{
			Handler:         mux,
			AnswerPath:      "/vonage/answer",
			EventPath:       "/vonage/event",
			FallbackPath:    "/vonage/fallback",
			InboundSMSPath:  "/vonage/inbound-sms",
			SignatureSecret: a.sandboxSecret,
			Vonage:          a.vonage,
			Now:             cfg.Now,
		}
		if messages {
			a.sim.SMSAPI, a.sim.InboundMessagePath = proxytest.SMSAPIMessages, "/vonage/inbound-message"
			a.vonage.StatusTo(mux, "/vonage/message-status", a.sandboxSecret)
		}
		a.vonage.Attach(a.sim)
		// The simulated SMS API reports delivery as Vonage does.
		a.vonage.ReceiptsTo(mux, "/vonage/delivery-receipt", a.sandboxSecret, "")
		a.sandboxRoutes(op)
	}

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

	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := a.svc.Run(runCtx); err != nil && !errors.Is(err, context.Canceled) {
			log.Error("expiry and relay sweeps stopped", "err", err)
		}
	}()
	var once sync.Once
	cleanup = func() {
		once.Do(func() {
			stop()
			wg.Wait()
			closeStore()
			_ = meters.Shutdown(context.Background())
		})
	}
	return mux, cleanup, nil
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
