package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/voiceproxy/voiceproxy/proxy"
)

// maxResponse bounds what is read of any response: the harness only
// needs the status, and a create's few hundred bytes.
const maxResponse = 64 << 10

// runExternal measures a server in another process: cfg.creates
// conversations made through its JSON API, then signed answer webhooks
// (GET and POST) to cfg.target in turns with the bare handler at
// cfg.bareURL.
func runExternal(ctx context.Context, cfg config, out io.Writer) error {
	client, closeClient := newClient(cfg.conns)
	defer closeClient()
	legs, creates, err := createThroughAPI(ctx, cfg, client)
	if err != nil {
		return err
	}
	type pair struct{ svc, bare []result }
	byMethod := map[string]*pair{}
	for range cfg.rounds {
		for _, m := range cfg.methods {
			p := byMethod[m]
			if p == nil {
				p = &pair{}
				byMethod[m] = p
			}
			b, err := drive(ctx, cfg, client, answerRequests(cfg.bareURL, m, "", ""), legs)
			if err != nil {
				return fmt.Errorf("bare %s: %w", m, err)
			}
			s, err := drive(ctx, cfg, client, answerRequests(cfg.target, m, cfg.secret, cfg.applicationID), legs)
			if err != nil {
				return fmt.Errorf("%s %s: %w", cfg.target, m, err)
			}
			p.bare, p.svc = append(p.bare, b), append(p.svc, s)
		}
	}
	const format = "%-6s %10s %9s %15s %9s %14s %7s\n"
	fmt.Fprintf(out, "target %s, bare %s: %d connections, %d rounds of %s, medians\n", cfg.target, cfg.bareURL, cfg.conns, cfg.rounds, cfg.duration)
	fmt.Fprintf(out, format, "answer", "answers/s", "p99", "bare answers/s", "bare p99", "ratio to bare", "errors")
	var bareFirst float64
	for i, m := range cfg.methods {
		s, b := median(byMethod[m].svc), median(byMethod[m].bare)
		if i == 0 {
			bareFirst = b.perSec
		}
		fmt.Fprintf(out, format, m, fmt.Sprintf("%.0f", s.perSec), ms(s.p99), fmt.Sprintf("%.0f", b.perSec), ms(b.p99),
			fmt.Sprintf("%.2f", s.perSec/b.perSec), strconv.Itoa(s.errors))
	}
	if cfg.creates > 0 {
		c := median(creates)
		fmt.Fprintf(out, "creates: %d through %s, %d concurrent: %.0f/s (median of %d batches), p99 %s, ratio to bare %s answers/s %.3f, errors %d\n",
			cfg.creates, cfg.api+"/conversations", cfg.conns, c.perSec, len(creates), ms(c.p99), cfg.methods[0], c.perSec/bareFirst, c.errors)
	}
	return nil
}

// newClient is an HTTP client with conns keep-alive connections per host.
func newClient(conns int) (*http.Client, func()) {
	tr := &http.Transport{MaxIdleConns: 2 * conns, MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns}
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}, tr.CloseIdleConnections
}

// createBody is the demo's POST /conversations request, as much of it
// as the harness sends.
type createBody struct {
	A string `json:"a"`
	B string `json:"b"`
}

// createdBody is as much of the demo's answer to a create as the harness
// reads: each participant's number and the proxy number they dial.
type createdBody struct {
	Participants []struct {
		Number      string `json:"number"`
		ProxyNumber string `json:"proxy_number"`
	} `json:"participants"`
}

// createThroughAPI makes cfg.creates conversations through cfg.api's
// POST /conversations, cfg.conns at once, in cfg.rounds batches (each
// batch is one figure), and returns up to 4096 of their legs. The
// participants are new UK mobile numbers, from a block picked at random
// per run, so runs against a kept database do not pile conversations on
// the same people. The whole of it is bounded by cfg.createTimeout.
func createThroughAPI(ctx context.Context, cfg config, client *http.Client) ([]leg, []result, error) {
	if cfg.creates == 0 {
		return nil, nil, errors.New("-creates 0: the answers need conversations to route to")
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.createTimeout)
	defer cancel()
	// 20 million participants per block, 20 blocks (participant numbers
	// stay valid up to 500 million): far apart enough for a run of up to
	// 10 million conversations.
	if cfg.creates > 10_000_000 {
		return nil, nil, errors.New("-creates: at most 10 million")
	}
	base := rand.IntN(20) * 20_000_000
	var (
		mu      sync.Mutex
		legs    []leg
		results []result
	)
	every := max(cfg.creates/4096, 1)
	batches := min(cfg.rounds, cfg.creates)
	next := 0
	for batch := range batches {
		size := cfg.creates / batches
		if batch == batches-1 {
			size = cfg.creates - next
		}
		from, to := next, next+size
		next = to
		var (
			seq       atomic.Int64
			errs      atomic.Int64
			latencies []time.Duration
			firstErr  atomic.Value
			wg        sync.WaitGroup
		)
		seq.Store(int64(from))
		start := time.Now()
		for range cfg.conns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var mine []time.Duration
				for ctx.Err() == nil {
					i := int(seq.Add(1) - 1)
					if i >= to {
						break
					}
					t0 := time.Now()
					c, err := createOne(ctx, client, cfg.api, participant(base+2*i), participant(base+2*i+1))
					if err != nil {
						errs.Add(1)
						firstErr.CompareAndSwap(nil, err)
						continue
					}
					mine = append(mine, time.Since(t0))
					if i%every == 0 {
						mu.Lock()
						legs = append(legs, leg{strings.TrimPrefix(c.Participants[0].Number, "+"), strings.TrimPrefix(c.Participants[0].ProxyNumber, "+")})
						mu.Unlock()
					}
				}
				mu.Lock()
				latencies = append(latencies, mine...)
				mu.Unlock()
			}()
		}
		wg.Wait()
		elapsed := time.Since(start)
		if err, _ := firstErr.Load().(error); err != nil && len(latencies) == 0 {
			return nil, nil, fmt.Errorf("no create succeeded: %w", err)
		}
		if err := ctx.Err(); err != nil {
			return nil, nil, fmt.Errorf("creates: %d of %d done within -create-timeout %s: %w", len(latencies), cfg.creates, cfg.createTimeout, err)
		}
		if err, _ := firstErr.Load().(error); err != nil {
			fmt.Fprintf(os.Stderr, "loadtest: %d creates failed, the first: %v\n", errs.Load(), err)
		}
		slices.Sort(latencies)
		results = append(results, result{perSec: float64(len(latencies)) / elapsed.Seconds(), p99: latencies[len(latencies)*99/100], errors: int(errs.Load())})
	}
	return legs, results, nil
}

// createOne creates the conversation of a and b (without "+") through
// api's POST /conversations.
func createOne(ctx context.Context, client *http.Client, api, a, b string) (createdBody, error) {
	body, _ := json.Marshal(createBody{A: "+" + a, B: "+" + b}) // strings always encode
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, api+"/conversations", bytes.NewReader(body))
	if err != nil {
		return createdBody{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return createdBody{}, err
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return createdBody{}, err
	}
	if resp.StatusCode != http.StatusCreated {
		return createdBody{}, fmt.Errorf("POST /conversations: %s: %.200s", resp.Status, got)
	}
	var c createdBody
	if err := json.Unmarshal(got, &c); err != nil {
		return createdBody{}, fmt.Errorf("POST /conversations: %w", err)
	}
	if len(c.Participants) != 2 || c.Participants[0].ProxyNumber == "" {
		return createdBody{}, fmt.Errorf("POST /conversations: no participants with proxy numbers in %.200s", got)
	}
	return c, nil
}

// answerRequests builds answer webhooks to base+"/answer" by method (GET
// with a query, or POST with a JSON body, as Vonage sends either),
// signed with secret unless it is "", for application appID.
func answerRequests(base, method, secret, appID string) requestFunc {
	signer := proxy.WebhookSigner{Secret: secret, ApplicationID: appID}
	return func(ctx context.Context, l leg, id int64) (*http.Request, error) {
		uuid, conv := "leg-"+strconv.FormatInt(id, 10), "CON-"+strconv.FormatInt(id, 10)
		var (
			req  *http.Request
			body []byte
			err  error
		)
		if method == http.MethodPost {
			body, _ = json.Marshal(map[string]string{"from": l.from, "to": l.to, "uuid": uuid, "conversation_uuid": conv}) // strings always encode
			req, err = http.NewRequestWithContext(ctx, method, base+"/answer", bytes.NewReader(body))
			if err == nil {
				req.Header.Set("Content-Type", "application/json")
			}
		} else {
			q := url.Values{"from": {l.from}, "to": {l.to}, "uuid": {uuid}, "conversation_uuid": {conv}}
			req, err = http.NewRequestWithContext(ctx, method, base+"/answer?"+q.Encode(), nil)
		}
		if err != nil || secret == "" {
			return req, err
		}
		return req, signer.Sign(req, body)
	}
}

// serveBare serves the bare handler on addr until the process is
// interrupted or for elapses, whichever is first, so that a forgotten
// one stops by itself.
func serveBare(ctx context.Context, addr string, forDur time.Duration, out io.Writer) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, forDur)
	defer cancel()
	srv := &http.Server{Addr: addr, Handler: bareHandler(), ReadHeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	fmt.Fprintf(out, "bare handler on %s for at most %s\n", addr, forDur)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shut, cancelShut := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancelShut()
	return srv.Shutdown(shut)
}
