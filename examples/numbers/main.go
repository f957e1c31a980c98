// Command numbers manages the Vonage numbers that make up a voiceproxy
// pool: search for numbers to buy, buy them, link them to your Vonage
// application, list and cancel them.
//
//	go build -o numbers ./examples/numbers
//	./numbers -sandbox search GB --features VOICE,SMS
//	./numbers -sandbox buy GB 447700900005
//	./numbers -sandbox link GB 447700900001
//	./numbers -sandbox list
//	./numbers -sandbox cancel GB 447700900004
//	./numbers status -db voiceproxy.db
//
// It reads VONAGE_API_KEY, VONAGE_API_SECRET and (for link and list)
// VONAGE_APPLICATION_ID. With -sandbox it talks to the in-process
// simulated Vonage instead, which starts afresh on every run with the
// demo's sandbox pool (GB 447700900001-447700900004, US
// 12015550101-12015550104) and numbers for sale beside them. status
// reads the pool from the service's database instead of Vonage.
//
// Exit codes: 0 success, 1 API or runtime error, 2 usage error. `go run`
// reports every failure as 1; build the binary to see 2.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"text/tabwriter"

	"github.com/voiceproxy/voiceproxy/numbers"
	"github.com/voiceproxy/voiceproxy/proxy"
	"github.com/voiceproxy/voiceproxy/proxy/proxytest"
	"github.com/voiceproxy/voiceproxy/proxy/sqlstore"
)

const usage = `Usage: numbers [-sandbox] <command> [arguments]

Manage the Vonage numbers of a voiceproxy pool.

Commands:
  search COUNTRY [--features VOICE,SMS] [--type mobile-lvn] [--pattern DIGITS] [--size N]
                          list numbers for sale in COUNTRY (ISO code, e.g. GB)
  buy COUNTRY MSISDN      buy a number
  link COUNTRY MSISDN [--app ID]
                          route the number's calls and SMS to your application
                          (default VONAGE_APPLICATION_ID)
  list [--country CC] [--app ID] [--all]
                          list the numbers you own: those linked to your
                          application when VONAGE_APPLICATION_ID is set
                          (--all for every number)
  cancel COUNTRY MSISDN   give a number back
  status [-db PATH|URL]   the pool per country as the service's store has it:
                          numbers, legs in use, the busiest number, what the
                          pool autopilot bought (default -db voiceproxy.db;
                          a postgres:// URL for PostgreSQL)

Environment:
  VONAGE_API_KEY, VONAGE_API_SECRET   your account's credentials
  VONAGE_APPLICATION_ID               the application of your proxy service

Flags:
  -sandbox   use the in-process simulated Vonage (no account needed; it
             starts with the demo's sandbox pool, GB 447700900001-004 and
             US 12015550101-104, and forgets changes on exit)

Exit codes:
  0   success (and -h, help)
  1   the command failed: Vonage refused it, the network or the database
      failed
  2   usage error: an unknown command or flag, wrong arguments, missing
      credentials
  (go run reports every failure as 1: build the binary to tell 2 apart)
`

// usageError is a mistake on the command line: exit code 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// run is the whole program: it returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	err := runErr(ctx, args, stdout, getenv)
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stdout, usage)
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "numbers: %s\n\n%s", ue.msg, usage)
		return 2
	default:
		fmt.Fprintf(stderr, "numbers: %v\n", err)
		return 1
	}
}

// parse reads flags placed anywhere among the arguments (as in
// "search GB --features SMS") and returns the positional ones.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{err.Error()}
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func newFlagSet(name string, sandbox *bool) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.BoolVar(sandbox, "sandbox", *sandbox, "use the simulated Vonage")
	return fs
}

func runErr(ctx context.Context, args []string, stdout io.Writer, getenv func(string) string) error {
	var sandbox bool
	global := newFlagSet("numbers", &sandbox)
	if err := global.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	if global.NArg() == 0 {
		return usageError{"no command given"}
	}
	cmd, rest := global.Arg(0), global.Args()[1:]

	var o options
	fs := newFlagSet(cmd, &sandbox)
	wantArgs := 2
	switch cmd {
	case "search":
		fs.StringVar(&o.features, "features", "", "comma-separated features")
		fs.StringVar(&o.typ, "type", "", "number type")
		fs.StringVar(&o.pattern, "pattern", "", "digits the number starts with")
		fs.IntVar(&o.size, "size", 10, "numbers to show, 1-100")
		wantArgs = 1
	case "buy", "cancel":
	case "link":
		fs.StringVar(&o.app, "app", "", "application ID")
		fs.StringVar(&o.smsURL, "sms-url", "", "inbound-SMS webhook (moHttpUrl), for accounts on the SMS API setting, e.g. https://proxy.example.com/vonage/inbound-sms")
	case "list":
		fs.StringVar(&o.country, "country", "", "only this country")
		fs.StringVar(&o.app, "app", "", "only numbers linked to this application")
		fs.BoolVar(&o.all, "all", false, "every number, linked or not")
		wantArgs = 0
	case "status":
		fs.StringVar(&o.db, "db", "voiceproxy.db", "the service's SQLite file or PostgreSQL URL")
		wantArgs = 0
	case "help":
		return flag.ErrHelp
	default:
		return usageError{fmt.Sprintf("unknown command %q", cmd)}
	}
	pos, err := parse(fs, rest)
	if err != nil {
		return err
	}
	if len(pos) != wantArgs {
		return usageError{fmt.Sprintf("%s takes %d argument(s), got %d", cmd, wantArgs, len(pos))}
	}
	if len(pos) > 0 {
		pos[0] = strings.ToUpper(pos[0])
		if len(pos[0]) != 2 {
			return usageError{fmt.Sprintf("country %q is not an ISO 3166-1 alpha-2 code such as GB", pos[0])}
		}
	}
	if len(pos) > 1 {
		pos[1] = strings.TrimPrefix(pos[1], "+")
	}

	if cmd == "status" {
		return poolStatus(ctx, o.db, stdout)
	}
	client, appID, err := newClient(sandbox, getenv)
	if err != nil {
		return err
	}
	if err := call(ctx, client, appID, cmd, pos, o, stdout); err != nil {
		return commandError(cmd, pos, err)
	}
	return nil
}

// commandError says which command failed and, for Vonage's terse 420
// "method failed", what usually causes it.
func commandError(cmd string, pos []string, err error) error {
	what := strings.Join(append([]string{cmd}, pos...), " ")
	if errors.Is(err, numbers.ErrMethodFailed) {
		return fmt.Errorf("%s failed: %w\n(Vonage would not do it: for buy, the number may not be for sale or may be yours already; for cancel and link, the number may not be yours, or the application ID may be wrong)", what, err)
	}
	return fmt.Errorf("%s failed: %w", what, err)
}

// options are the flags of the commands.
type options struct {
	features, typ, pattern string // search
	app                    string // link, list
	smsURL                 string // link
	country                string // list
	size                   int    // search
	all                    bool   // list
	db                     string // status
}

// poolStatus prints the pool per country from the service's store.
func poolStatus(ctx context.Context, db string, stdout io.Writer) error {
	var (
		store *sqlstore.Store
		err   error
	)
	switch {
	case strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://"):
		store, err = sqlstore.OpenPostgres(ctx, db)
	case db == "" || db == ":memory:":
		return usageError{"status needs the service's database (-db): an in-memory store cannot be read from outside"}
	default:
		if _, serr := os.Stat(db); serr != nil {
			return fmt.Errorf("status: no database at %s (-db names the service's SQLite file or PostgreSQL URL)", db)
		}
		store, err = sqlstore.OpenSQLite(ctx, db)
	}
	if err != nil {
		return fmt.Errorf("status: %w", err)
	}
	defer store.Close()
	// This Service serves no webhooks, it only reads the pool: a secret
	// of its own, which nothing is signed with, keeps it closed anyway.
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return err
	}
	svc, err := proxy.New(proxy.Config{Store: store, Logger: slog.New(slog.DiscardHandler),
		Webhooks: proxy.WebhookConfig{SignatureSecret: hex.EncodeToString(secret)}})
	if err != nil {
		return err
	}
	st, err := svc.PoolStatus(ctx)
	if err != nil {
		return fmt.Errorf("status: %w", err)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "COUNTRY\tNUMBERS\tLEGS IN USE\tBUSIEST NUMBER\tIDLE\tBOUGHT\tBOUGHT LAST HOUR\tMONTHLY (EUR)")
	for _, c := range st {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%.2f\n", c.Country, c.Numbers, c.ActiveLegs, c.BusiestLegs, c.IdleNumbers, c.Bought, c.BoughtLastHour, c.MonthlyCost)
	}
	tw.Flush()
	return nil
}

// call runs one API command and prints its result.
func call(ctx context.Context, client *numbers.Client, appID, cmd string, pos []string, o options, stdout io.Writer) error {
	switch cmd {
	case "search":
		opts := numbers.SearchOptions{Type: o.typ, Pattern: o.pattern, Size: o.size}
		for _, f := range strings.Split(o.features, ",") {
			if f = strings.ToUpper(strings.TrimSpace(f)); f != "" {
				opts.Features = append(opts.Features, f)
			}
		}
		res, err := client.Search(ctx, pos[0], opts)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "MSISDN\tCOUNTRY\tTYPE\tFEATURES\tMONTHLY (EUR)")
		for _, n := range res.Numbers {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", n.MSISDN, n.Country, n.Type, strings.Join(n.Features, ","), n.Cost)
		}
		tw.Flush()
		fmt.Fprintf(stdout, "%d of %d numbers for sale\n", len(res.Numbers), res.Count)
	case "buy":
		if err := client.Buy(ctx, pos[0], pos[1]); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "bought %s (%s)\n", pos[1], pos[0])
	case "cancel":
		if err := client.Cancel(ctx, pos[0], pos[1]); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "cancelled %s (%s)\n", pos[1], pos[0])
	case "link":
		if o.app == "" {
			o.app = appID
		}
		if o.app == "" {
			return usageError{"link needs --app or VONAGE_APPLICATION_ID"}
		}
		if err := client.Update(ctx, numbers.UpdateRequest{Country: pos[0], MSISDN: pos[1], AppID: o.app, MoHTTPURL: o.smsURL}); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "linked %s (%s) to application %s\n", pos[1], pos[0], o.app)
		if o.smsURL != "" {
			fmt.Fprintf(stdout, "inbound SMS to %s go to %s (SMS API setting)\n", pos[1], o.smsURL)
		} else {
			fmt.Fprintf(stdout, "inbound SMS to %s go to the application's Messages inbound URL on the Messages API setting, to the account's default on the SMS API setting (--sms-url sets the number's own)\n", pos[1])
		}
	case "list":
		if o.app == "" && !o.all {
			o.app = appID
		}
		owned, err := client.ListAll(ctx, numbers.ListOptions{ApplicationID: o.app, Country: strings.ToUpper(o.country), Size: 100})
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "MSISDN\tCOUNTRY\tTYPE\tFEATURES\tAPPLICATION")
		for _, n := range owned {
			linked := n.AppID
			if linked == "" {
				linked = "-"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", n.MSISDN, n.Country, n.Type, strings.Join(n.Features, ","), linked)
		}
		tw.Flush()
		what := "numbers owned"
		if o.app != "" {
			what = "numbers linked to " + o.app
		}
		fmt.Fprintf(stdout, "%d %s\n", len(owned), what)
	}
	return nil
}

// newClient returns a Numbers API client for the real Vonage, from the
// environment, or for the in-process simulator; and the application ID
// to link numbers to.
func newClient(sandbox bool, getenv func(string) string) (*numbers.Client, string, error) {
	if sandbox {
		v := proxytest.NewVonage(proxytest.WithOwnedNumbers(proxytest.SandboxNumbers()...))
		c, err := numbers.NewClient(proxytest.APIKey, proxytest.APISecret,
			numbers.WithHTTPClient(v.Client()), numbers.WithBaseURL(proxytest.InProcessURL))
		return c, proxytest.ApplicationID, err
	}
	key, secret := getenv("VONAGE_API_KEY"), getenv("VONAGE_API_SECRET")
	if key == "" || secret == "" {
		return nil, "", usageError{"set VONAGE_API_KEY and VONAGE_API_SECRET, or use -sandbox"}
	}
	c, err := numbers.NewClient(key, secret)
	return c, getenv("VONAGE_APPLICATION_ID"), err
}
