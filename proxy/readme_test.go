package proxy_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/voiceproxy/voiceproxy/numbers"
	"github.com/voiceproxy/voiceproxy/proxy"
	"github.com/voiceproxy/voiceproxy/proxy/proxytest"
	"github.com/voiceproxy/voiceproxy/sms"
)

// The README's "Mount it in your mux" section shows mount and connect
// below; TestREADMEMount checks they are the same, word for word, and
// runs them as a host's program would, against proxytest.

// mount serves the proxy's webhooks under /vonage/ on mux, with the pool
// filled from the numbers of your Vonage account, and runs its
// background work until ctx is done.
func mount(ctx context.Context, mux *http.ServeMux, smsClient *sms.Client, numbersClient *numbers.Client, appID, secret string) (*proxy.Service, error) {
	svc, err := proxy.New(proxy.Config{
		Store:         proxy.NewMemoryStore(), // or a shared SQL store (package sqlstore)
		ApplicationID: appID,
		Webhooks: proxy.WebhookConfig{
			SignatureSecret: secret, // required: verifies every webhook Vonage sends
		},
		SMS:   proxy.SMSConfig{Sender: smsClient},       // notifications and relays
		Pool:  proxy.PoolConfig{Numbers: numbersClient}, // for svc.SyncNumbers
		Calls: proxy.CallConfig{Greeting: "Connecting you now."},
		// Allocation: proxy.AllocationConfig{Insight: insightClient}, // an optional Number Insight check
	})
	if err != nil {
		return nil, err
	}
	// The pool starts empty. SyncNumbers links the account's numbers that
	// have no application to appID and takes every number linked to it;
	// svc.AddNumbers adds numbers by hand, Config.Pool.Autopilot buys them.
	if _, err := svc.SyncNumbers(ctx); err != nil {
		return nil, err
	}
	mux.Handle("/vonage/", http.StripPrefix("/vonage", svc))
	go svc.Run(ctx) // expires conversations, retries SMS relays, until ctx is done
	return svc, nil
}

// connect gives a rider and a driver a conversation: each is sent a
// proxy number to call or text the other on.
func connect(ctx context.Context, svc *proxy.Service, rider, driver string) (proxy.Conversation, error) {
	conv, err := svc.CreateConversation(ctx, proxy.CreateRequest{
		A: rider, B: driver, TTL: 2 * time.Hour, IdleTimeout: 30 * time.Minute,
		Labels: proxy.Labels{A: "your rider", B: "your driver"}, Notify: true,
	})
	var nerr *proxy.NotifyError
	switch {
	case errors.As(err, &nerr):
		// conv exists; the notification SMS failed for the participants
		// nerr names: give them their proxy numbers another way
		log.Printf("conversation %s: %v", conv.ID, err)
	case errors.Is(err, proxy.ErrInvalidNumber), errors.Is(err, proxy.ErrSameNumber),
		errors.Is(err, proxy.ErrInvalidRequest):
		// bad input (a malformed number, one of your pool numbers, a TTL
		// under a second, a label that is not text): nothing was written;
		// err says why, naming the participant but not the number
		return proxy.Conversation{}, fmt.Errorf("bad request: %w", err)
	case errors.Is(err, proxy.ErrPoolExhausted):
		// nothing was written; err says whether the pool is empty or
		// its numbers are all taken for this participant
		return proxy.Conversation{}, err
	case err != nil:
		return proxy.Conversation{}, err
	}
	// conv.Participants[0].ProxyNumber is the number the rider dials.
	return conv, nil
}

// TestREADMEMount is a host's first program: the README's mount and
// connect, word for word, serving a real HTTP server that the simulated
// Vonage sends signed webhooks to. On the first try, a call is connected
// and an SMS relayed.
func TestREADMEMount(t *testing.T) {
	t.Parallel()
	checkREADMEFunctions(t, "Mount it in your mux", "mount", "connect")

	ctx := t.Context()
	// The account owns two numbers linked to no application yet.
	v := proxytest.NewVonage(proxytest.WithOwnedNumbers(
		proxytest.OwnedNumber{Country: "GB", MSISDN: "447700900001"},
		proxytest.OwnedNumber{Country: "GB", MSISDN: "447700900002"}))
	smsClient, err := sms.NewClient(proxytest.APIKey, proxytest.APISecret,
		sms.WithHTTPClient(v.Client()), sms.WithBaseURL(proxytest.InProcessURL))
	if err != nil {
		t.Fatal(err)
	}
	numbersClient, err := numbers.NewClient(proxytest.APIKey, proxytest.APISecret,
		numbers.WithHTTPClient(v.Client()), numbers.WithBaseURL(proxytest.InProcessURL))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	svc, err := mount(ctx, mux, smsClient, numbersClient, proxytest.ApplicationID, proxytest.SignatureSecret)
	if err != nil {
		t.Fatalf("mount: %v", err)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	sim := &proxytest.Simulator{BaseURL: srv.URL + "/vonage", Client: srv.Client(), Vonage: v}
	v.Attach(sim)

	const rider, driver = "447400123456", "447400654321"
	conv, err := connect(ctx, svc, "+44 7400 123456", "+44 7400 654321")
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	riderProxy, driverProxy := conv.Participants[proxy.SideA].ProxyNumber, conv.Participants[proxy.SideB].ProxyNumber
	if sent := v.Outbox(); len(sent) != 2 {
		t.Errorf("notifications sent: %+v; want one to each participant", sent)
	}
	call, err := sim.PlaceCall(ctx, rider, riderProxy)
	if err != nil {
		t.Fatalf("the rider calls %s: %v", riderProxy, err)
	}
	if call.Connected != driver || call.CallerID != riderProxy {
		t.Errorf("call connected to %q showing %q; want the driver %s showing %s", call.Connected, call.CallerID, driver, riderProxy)
	}
	out, err := sim.SendSMS(ctx, driver, driverProxy, "Outside in a blue Prius")
	if err != nil {
		t.Fatalf("the driver texts %s: %v", driverProxy, err)
	}
	if len(out.Relayed) != 1 || out.Relayed[0].To != rider || out.Relayed[0].Text != "Outside in a blue Prius" {
		t.Errorf("SMS outcome %+v; want the text relayed to the rider", out)
	}
}

// checkREADMEFunctions checks that the Go blocks of the README section
// titled section are, in order, the named functions of this file (with
// their doc comments), byte for byte: the test runs what the README
// shows.
func checkREADMEFunctions(t *testing.T, section string, names ...string) {
	t.Helper()
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	self, err := os.ReadFile("readme_test.go")
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	start := strings.Index(text, "\n## "+section+"\n")
	if start < 0 {
		t.Fatalf("README has no section %q", section)
	}
	body := text[start+1:]
	if end := strings.Index(body[3:], "\n## "); end >= 0 {
		body = body[:end+3]
	}
	blocks := regexp.MustCompile("(?s)```go\n(.*?)```").FindAllStringSubmatch(body, -1)
	if len(blocks) != len(names) {
		t.Fatalf("README section %q has %d Go blocks, want %d (%v)", section, len(blocks), len(names), names)
	}
	for i, name := range names {
		fn := regexp.MustCompile(`(?ms)^(// ` + name + ` .*?^func ` + name + `\(.*?^}\n)`).FindString(string(self))
		if fn == "" {
			t.Fatalf("readme_test.go has no documented func %s", name)
		}
		if blocks[i][1] != fn {
			t.Errorf("README block %d is not readme_test.go's %s word for word:\nREADME:\n%s\nreadme_test.go:\n%s", i+1, name, blocks[i][1], fn)
		}
	}
}

// Every Go block of the two READMEs is one TestREADMEMount compiles and
// runs: the two of "Mount it in your mux". The rest of the Go API is
// shown by the Example functions, which go test runs.
func TestREADMEGoBlocksAreTested(t *testing.T) {
	t.Parallel()
	goBlock := regexp.MustCompile("(?m)^ *```go\n")
	for path, want := range map[string]int{"../README.md": 2, "../examples/voiceproxy/README.md": 0} {
		readme, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(goBlock.FindAllIndex(readme, -1)); n != want {
			t.Errorf("%s has %d Go blocks, want %d: a block no test compiles will rot (show an Example function instead)", path, n, want)
		}
	}
}
