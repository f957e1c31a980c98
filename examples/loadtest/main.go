// Command loadtest measures the answer webhook the way Vonage drives it,
// against your own build: signed GET requests (a fresh JWT each, as Vonage
// signs them) over loopback HTTP on keep-alive connections, to a Service
// seeded with active conversations, and the same load against a bare
// net/http handler that writes a constant NCCO. Both run in turns, in one
// process, several rounds; it prints the medians and the ratio of the
// Service's throughput to the bare handler's, which is what carries over
// between machines (absolute figures swing a lot on a shared machine).
//
//	go run ./examples/loadtest                          # memory store, 1k and 100k conversations
//	go run ./examples/loadtest -stores memory,sqlite -conversations 1000,100000,1000000
//	go run ./examples/loadtest -stores postgres -pg 'postgres://postgres@127.0.0.1:5432/test?sslmode=disable'
//
// Flags: -stores (memory, sqlite, postgres), -conversations (a list),
// -conns (keep-alive connections, default 16), -duration (per turn,
// default 2s), -rounds (default 3), -pg (a PostgreSQL DSN; each run uses
// a fresh schema, dropped after), -cpuprofile (a file for go tool pprof). Every request loop is bounded by
// -duration and stops by itself; all traffic stays on 127.0.0.1.
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
	if err := fs.Parse(args); err != nil {
		return c, err
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
	if c.conns < 1 || c.rounds < 1 || c.duration <= 0 {
		return c, errors.New("-conns, -rounds and -duration must be positive")
	}
	return c, nil
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
	svc, err := proxy.New(proxy.Config{
		Store:      store,
		Logger:     slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelWarn})),
		Webhooks:   proxy.WebhookConfig{SignatureSecret: secret},
		Allocation: proxy.AllocationConfig{LenientNumbers: true, CoolOff: -1},
	})
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

	var svcs, bares []result
	for range cfg.rounds {
		b, err := drive(ctx, cfg, bareURL, legs)
		if err != nil {
			return row{}, err
		}
		s, err := drive(ctx, cfg, svcURL, legs)
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
		_ = r.URL.Query().Get("from")
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

// drive sends signed answer webhooks to base for cfg.duration from
// cfg.conns connections and returns the throughput and p99.
func drive(ctx context.Context, cfg config, base string, legs []leg) (result, error) {
	tr := &http.Transport{MaxIdleConns: cfg.conns, MaxIdleConnsPerHost: cfg.conns, MaxConnsPerHost: cfg.conns}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	signer := proxy.WebhookSigner{Secret: secret}
	ctx, cancel := context.WithTimeout(ctx, cfg.duration)
	defer cancel()
	var (
		mu        sync.Mutex
		latencies []time.Duration
		errs      atomic.Int64
		seq       atomic.Int64
		wg        sync.WaitGroup
	)
	start := time.Now()
	for range cfg.conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(seq.Add(1)), 7))
			var mine []time.Duration
			for ctx.Err() == nil {
				l := legs[r.IntN(len(legs))]
				id := seq.Add(1)
				q := url.Values{"from": {l.from}, "to": {l.to}, "uuid": {fmt.Sprintf("leg-%d", id)}, "conversation_uuid": {fmt.Sprintf("CON-%d", id)}}
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/answer?"+q.Encode(), nil)
				if err != nil {
					errs.Add(1)
					return
				}
				if err := signer.Sign(req, nil); err != nil {
					errs.Add(1)
					return
				}
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					if ctx.Err() == nil {
						errs.Add(1)
					}
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					errs.Add(1)
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
		return result{}, fmt.Errorf("no request to %s succeeded (%d errors)", base, errs.Load())
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
