// Command loadtest measures the answer webhook the way Vonage drives it:
// signed requests (a fresh JWT each, as Vonage signs them) over loopback
// HTTP on keep-alive connections, in turns with a bare net/http handler
// that writes a constant NCCO, several rounds; it prints the medians and
// the ratio of the server's throughput to the bare handler's, which is
// what carries over between machines (absolute figures swing a lot on a
// shared machine).
//
// # What a host runs: an external server
//
// With -target it drives a server in another process: first -creates
// conversations (default 5,000) through its JSON API's POST
// /conversations, -conns at once, in -rounds batches; then answer
// webhooks to -target's /answer, GET (a query) and POST (a JSON body),
// each in turns with the bare handler of another process (-bare). For the
// demo server as shipped, in sandbox mode, with each store:
//
//	go build -o /tmp/lt/voiceproxy ./examples/voiceproxy
//	go build -o /tmp/lt/loadtest ./examples/loadtest
//	/tmp/lt/loadtest -bare 127.0.0.1:8090 &
//	VOICEPROXY_SANDBOX_SECRET=lt-secret /tmp/lt/voiceproxy -addr 127.0.0.1:8080 -db :memory: 2>/tmp/lt/demo.log &
//	/tmp/lt/loadtest -target http://127.0.0.1:8080/vonage -bare-url http://127.0.0.1:8090 -secret lt-secret -rounds 5
//
// and the same with -db /tmp/lt/demo.db (SQLite) or -db
// 'postgres://postgres@127.0.0.1:5432/test?sslmode=disable'. The operator
// API needs no token on loopback in sandbox mode; the sandbox's pool (its
// four GB numbers) serves the created conversations, each between two
// new participants. -secret defaults to $VOICEPROXY_SANDBOX_SECRET, and
// -application-id (the tokens' application_id) to the sandbox's.
// -api is the JSON API's base URL (default: -target without /vonage);
// -methods the answers' methods (default GET,POST); -create-timeout
// bounds the creates (default 10m); -bare-for stops a -bare server by
// itself (default 1h). Every URL must be on 127.0.0.1.
//
// # In process, for profiling
//
// Without -target, it seeds a Service straight into a store in its own
// process (so the generator's CPU is charged to both sides) and serves it
// and the bare handler on loopback:
//
//	go run ./examples/loadtest                          # memory store, 1k and 100k conversations
//	go run ./examples/loadtest -stores memory,sqlite -conversations 1000,100000,1000000
//	go run ./examples/loadtest -stores postgres -pg 'postgres://postgres@127.0.0.1:5432/test?sslmode=disable'
//	go run ./examples/loadtest -telemetry -conversations 5000 -cpuprofile /tmp/cpu.out
//
// Flags: -stores (memory, sqlite, postgres), -conversations (a list),
// -pg (a PostgreSQL DSN; each run uses a fresh schema, dropped after),
// -telemetry (the Service set up as the demo sets it up: the
// OpenTelemetry SDK and Prometheus exporter, Info logging, masked and
// formatted as text, then discarded), -cpuprofile (a file for go tool
// pprof; in either mode, of this process).
//
// Both modes: -conns (keep-alive connections, default 16), -duration
// (per turn, default 2s), -rounds (default 3). Every request loop is
// bounded by -duration (the creates by -creates and -create-timeout) and
// stops by itself; all traffic stays on 127.0.0.1.
package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/voiceproxy/voiceproxy/proxy"
	"github.com/voiceproxy/voiceproxy/proxy/proxytest"
	"github.com/voiceproxy/voiceproxy/proxy/sqlstore"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

// config is what the flags set.
type config struct {
	stores        []string
	conversations []int
	conns         int
	duration      time.Duration
	rounds        int
	pg            string
	cpuProfile    string
	telemetry     bool

	// The external mode (-target) and the bare server (-bare).
	target, api, bareURL, secret string
	applicationID                string
	methods                      []string
	creates                      int
	createTimeout                time.Duration
	bareAddr                     string
	bareFor                      time.Duration
}

func parseFlags(args []string) (config, error) {
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	stores := fs.String("stores", "memory", "stores to measure: memory, sqlite, postgres (comma-separated)")
	convs := fs.String("conversations", "1000,100000", "active conversations to seed, a comma-separated list")
	c := config{}
	fs.IntVar(&c.conns, "conns", 16, "keep-alive connections")
	fs.DurationVar(&c.duration, "duration", 2*time.Second, "length of each turn")
	fs.IntVar(&c.rounds, "rounds", 3, "rounds (each a bare turn and a Service turn)")
	fs.StringVar(&c.pg, "pg", os.Getenv("VOICEPROXY_TEST_POSTGRES"), "PostgreSQL DSN for -stores postgres")
	fs.StringVar(&c.cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run to this file")
	fs.BoolVar(&c.telemetry, "telemetry", false, "in process: the Service as the demo sets it up, with the OpenTelemetry SDK and Prometheus exporter and Info logging (masked, text, discarded)")
	fs.StringVar(&c.target, "target", "", "drive this external server's webhooks instead (base URL, e.g. http://127.0.0.1:8080/vonage)")
	fs.StringVar(&c.api, "api", "", "with -target: the base URL of its JSON API's POST /conversations (default: -target without a trailing /vonage)")
	fs.StringVar(&c.bareURL, "bare-url", "", "with -target: the bare handler to compare with, served by another process (loadtest -bare)")
	fs.StringVar(&c.secret, "secret", os.Getenv("VOICEPROXY_SANDBOX_SECRET"), "with -target: the signature secret the webhooks are signed with (default $VOICEPROXY_SANDBOX_SECRET)")
	fs.StringVar(&c.applicationID, "application-id", proxytest.ApplicationID, "with -target: the application_id claim of the tokens (default: the demo sandbox's application)")
	methods := fs.String("methods", "GET,POST", "with -target: the answer webhook's methods, in turns")
	fs.IntVar(&c.creates, "creates", 5000, "with -target: conversations to create through the API first, in -rounds batches")
	fs.DurationVar(&c.createTimeout, "create-timeout", 10*time.Minute, "with -target: bound on all the creates")
	fs.StringVar(&c.bareAddr, "bare", "", "serve only the bare handler on this address (e.g. 127.0.0.1:8090), for -bare-url")
	fs.DurationVar(&c.bareFor, "bare-for", time.Hour, "with -bare: stop after this long")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if c.bareAddr != "" {
		if c.bareFor <= 0 {
			return c, errors.New("-bare-for must be positive")
		}
		return c, nil
	}
	if c.conns < 1 || c.rounds < 1 || c.duration <= 0 {
		return c, errors.New("-conns, -rounds and -duration must be positive")
	}
	if c.target != "" {
		return c, externalFlags(&c, *methods)
	}
	c.stores = strings.Split(*stores, ",")
	for _, s := range c.stores {
		if s != "memory" && s != "sqlite" && s != "postgres" {
			return c, fmt.Errorf("unknown store %q (memory, sqlite or postgres)", s)
		}
		if s == "postgres" && c.pg == "" {
			return c, errors.New("-stores postgres needs -pg DSN (or VOICEPROXY_TEST_POSTGRES)")
		}
	}
	for _, f := range strings.Split(*convs, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return c, fmt.Errorf("-conversations: %q is not a positive number", f)
		}
		c.conversations = append(c.conversations, n)
	}
	return c, nil
}

// externalFlags checks and completes the flags of the external mode.
func externalFlags(c *config, methods string) error {
	for _, u := range []*string{&c.target, &c.bareURL, &c.api} {
		*u = strings.TrimSuffix(*u, "/")
	}
	if c.api == "" {
		c.api = strings.TrimSuffix(c.target, "/vonage")
	}
	if c.bareURL == "" {
		return errors.New("-target needs -bare-url, a bare handler in another process (loadtest -bare 127.0.0.1:8090)")
	}
	if c.secret == "" {
		return errors.New("-target needs -secret (or VOICEPROXY_SANDBOX_SECRET): the server verifies the webhooks")
	}
	for _, u := range []string{c.target, c.api, c.bareURL} {
		if err := loopbackURL(u); err != nil {
			return err
		}
	}
	if c.creates < 1 || c.createTimeout <= 0 {
		return errors.New("-creates and -create-timeout must be positive: the answers route to created conversations")
	}
	for _, m := range strings.Split(methods, ",") {
		m = strings.ToUpper(strings.TrimSpace(m))
		if m != http.MethodGet && m != http.MethodPost {
			return fmt.Errorf("-methods: %q is not GET or POST", m)
		}
		c.methods = append(c.methods, m)
	}
	return nil
}

// loopbackURL refuses a URL that is not http on 127.0.0.1 (or ::1,
// localhost): the harness sends traffic to this machine only.
func loopbackURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return fmt.Errorf("%q is not an http:// URL", raw)
	}
	switch u.Hostname() {
	case "127.0.0.1", "::1", "localhost":
		return nil
	}
	return fmt.Errorf("%q is not on this machine (127.0.0.1): the harness drives loopback only", raw)
}

// result is one turn's figures.
type result struct {
	perSec float64
	p99    time.Duration
	errors int
}

func run(ctx context.Context, args []string, out io.Writer) error {
	cfg, err := parseFlags(args)
	if err != nil {
		return err
	}
	if cfg.bareAddr != "" {
		return serveBare(ctx, cfg.bareAddr, cfg.bareFor, out)
	}
	if cfg.cpuProfile != "" {
		f, err := os.Create(cfg.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if cfg.target != "" {
		return runExternal(ctx, cfg, out)
	}
	const format = "%-9s %13s %10s %9s %15s %9s %14s %7s %11s\n"
	fmt.Fprintf(out, format, "store", "conversations", "answers/s", "p99", "bare answers/s", "bare p99", "ratio to bare", "errors", "RSS B/conv")
	for _, kind := range cfg.stores {
		for _, n := range cfg.conversations {
			row, err := measure(ctx, cfg, kind, n)
			if err != nil {
				return fmt.Errorf("%s with %d conversations: %w", kind, n, err)
			}
			fmt.Fprintf(out, format, kind, strconv.Itoa(n),
				fmt.Sprintf("%.0f", row.svc.perSec), ms(row.svc.p99), fmt.Sprintf("%.0f", row.bare.perSec), ms(row.bare.p99),
				fmt.Sprintf("%.2f", row.svc.perSec/row.bare.perSec), strconv.Itoa(row.svc.errors), row.rssPerConv)
		}
	}
	return nil
}

// ms writes a latency in milliseconds.
func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }

// row is the medians of one configuration, and the resident memory each
// seeded conversation added to the process ("-" where not measured: SQL
// stores keep them on disk, and only Linux says).
type row struct {
	svc, bare  result
	rssPerConv string
}

// secret signs the webhooks; the Service verifies them, as in production.
const secret = "loadtest-signature-secret"

func measure(ctx context.Context, cfg config, kind string, n int) (row, error) {
	store, cleanup, err := openStore(ctx, cfg, kind)
	if err != nil {
		return row{}, err
	}
	defer cleanup()
	pcfg := proxy.Config{
		Store:      store,
		Logger:     slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelWarn})),
		Webhooks:   proxy.WebhookConfig{SignatureSecret: secret},
		Allocation: proxy.AllocationConfig{LenientNumbers: true, CoolOff: -1},
	}
	if cfg.telemetry {
		stop, err := demoTelemetry(&pcfg)
		if err != nil {
			return row{}, err
		}
		defer stop()
	}
	svc, err := proxy.New(pcfg)
	if err != nil {
		return row{}, err
	}
	rssBefore, rssOK := residentBytes()
	legs, err := seed(ctx, store, n)
	if err != nil {
		return row{}, err
	}
	perConv := "-"
	if rssAfter, ok := residentBytes(); ok && rssOK && kind == "memory" {
		perConv = fmt.Sprintf("%.0f", float64(rssAfter-rssBefore)/float64(n))
	}
	svcURL, stopSvc, err := serve(svc)
	if err != nil {
		return row{}, err
	}
	defer stopSvc()
	bareURL, stopBare, err := serve(bareHandler())
	if err != nil {
		return row{}, err
	}
	defer stopBare()

	client, closeClient := newClient(cfg.conns)
	defer closeClient()
	var svcs, bares []result
	for range cfg.rounds {
		b, err := drive(ctx, cfg, client, answerRequests(bareURL, http.MethodGet, "", ""), legs)
		if err != nil {
			return row{}, err
		}
		s, err := drive(ctx, cfg, client, answerRequests(svcURL, http.MethodGet, secret, ""), legs)
		if err != nil {
			return row{}, err
		}
		bares, svcs = append(bares, b), append(svcs, s)
	}
	return row{svc: median(svcs), bare: median(bares), rssPerConv: perConv}, nil
}

// residentBytes is the process's resident set (VmRSS of
// /proc/self/status) after a collection that returns freed memory to the
// system; false where that file does not exist.
func residentBytes() (int64, bool) {
	debug.FreeOSMemory()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, false
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb * 1024, err == nil
		}
	}
	return 0, false
}

// openStore opens a fresh store of the kind.
func openStore(ctx context.Context, cfg config, kind string) (proxy.Store, func(), error) {
	switch kind {
	case "sqlite":
		dir, err := os.MkdirTemp("", "voiceproxy-loadtest")
		if err != nil {
			return nil, nil, err
		}
		s, err := sqlstore.OpenSQLite(ctx, filepath.Join(dir, "load.db"))
		if err != nil {
			os.RemoveAll(dir)
			return nil, nil, err
		}
		return s, func() { s.Close(); os.RemoveAll(dir) }, nil
	case "postgres":
		schema := fmt.Sprintf("voiceproxy_load_%d", time.Now().UnixNano())
		s, err := sqlstore.OpenPostgres(ctx, cfg.pg, sqlstore.WithSchema(schema), sqlstore.WithMaxConns(cfg.conns))
		if err != nil {
			return nil, nil, err
		}
		return s, func() {
			s.Close()
			if db, err := sql.Open("pgx", cfg.pg); err == nil {
				db.Exec(`DROP SCHEMA IF EXISTS "` + schema + `" CASCADE`)
				db.Close()
			}
		}, nil
	}
	return proxy.NewMemoryStore(), func() {}, nil
}

// leg is one (caller, dialed pool number) that routes.
type leg struct{ from, to string }

// seed stores n active conversations straight into the store (no number
// checks, no allocation search: the point is the answer path), over a
// pool of 100 numbers, and returns up to 4096 of their legs to call.
func seed(ctx context.Context, store proxy.Store, n int) ([]leg, error) {
	const poolSize = 100
	pool := make([]proxy.PoolNumber, poolSize)
	for i := range pool {
		pool[i] = proxy.PoolNumber{MSISDN: fmt.Sprintf("4477009%05d", i), Country: "GB", Voice: true, SMS: true}
	}
	if err := store.AddNumbers(ctx, pool...); err != nil {
		return nil, err
	}
	now := time.Now()
	var legs []leg
	var mu sync.Mutex
	var failed atomic.Value
	var wg sync.WaitGroup
	const workers = 8
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				a, b := participant(2*i), participant(2*i+1)
				p := pool[i%poolSize].MSISDN
				c := proxy.Conversation{
					ID: fmt.Sprintf("load%012d", i), Status: proxy.StatusActive, Mode: proxy.ModeBoth,
					Participants: [2]proxy.Participant{{Number: a, ProxyNumber: p}, {Number: b, ProxyNumber: p}},
					CreatedAt:    now, ExpiresAt: now.Add(24 * time.Hour), LastActivityAt: now,
				}
				if err := store.CreateConversation(ctx, c); err != nil {
					failed.Store(err)
					return
				}
				if i%max(n/4096, 1) == 0 {
					mu.Lock()
					legs = append(legs, leg{a, p})
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	return legs, nil
}

// participant is the i-th distinct UK mobile number.
func participant(i int) string { return fmt.Sprintf("447%d%08d", 1+i/100_000_000, i%100_000_000) }

// bareHandler writes a constant connect NCCO: the floor any answer
// webhook pays on this machine.
func bareHandler() http.Handler {
	body := []byte(`[{"action":"connect","from":"447700900001","endpoint":[{"type":"phone","number":"447123456789"}]}]`)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, maxResponse))
		} else {
			_ = r.URL.Query().Get("from")
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		_, _ = w.Write(body)
	})
}

// serve runs h on a loopback port and returns its base URL.
func serve(h http.Handler) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String(), func() { srv.Close() }, nil
}

// requestFunc builds the id-th request of a turn, to leg l.
type requestFunc func(ctx context.Context, l leg, id int64) (*http.Request, error)

// drive sends the requests next builds for cfg.duration from cfg.conns
// connections and returns the throughput and p99 of those answered 200.
func drive(ctx context.Context, cfg config, client *http.Client, next requestFunc, legs []leg) (result, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.duration)
	defer cancel()
	var (
		mu        sync.Mutex
		latencies []time.Duration
		errs      atomic.Int64
		seq       atomic.Int64
		firstErr  atomic.Value
		wg        sync.WaitGroup
	)
	fail := func(err error) {
		errs.Add(1)
		firstErr.CompareAndSwap(nil, err)
	}
	start := time.Now()
	for range cfg.conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(seq.Add(1)), 7))
			var mine []time.Duration
			for ctx.Err() == nil {
				req, err := next(ctx, legs[r.IntN(len(legs))], seq.Add(1))
				if err != nil {
					fail(err)
					return
				}
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					if ctx.Err() == nil {
						fail(err)
					}
					continue
				}
				_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponse))
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					fail(fmt.Errorf("%s %s: %s", req.Method, req.URL.Path, resp.Status))
					continue
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			latencies = append(latencies, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if len(latencies) == 0 {
		err, _ := firstErr.Load().(error)
		return result{}, fmt.Errorf("no request succeeded (%d errors; the first: %v)", errs.Load(), err)
	}
	slices.Sort(latencies)
	return result{
		perSec: float64(len(latencies)) / elapsed.Seconds(),
		p99:    latencies[len(latencies)*99/100],
		errors: int(errs.Load()),
	}, nil
}

// median takes each figure's median over the rounds.
func median(rs []result) result {
	var out result
	ps, ls := make([]float64, len(rs)), make([]time.Duration, len(rs))
	for i, r := range rs {
		ps[i], ls[i] = r.perSec, r.p99
		out.errors += r.errors
	}
	slices.Sort(ps)
	slices.Sort(ls)
	out.perSec, out.p99 = ps[len(ps)/2], ls[len(ls)/2]
	return out
}
