// Command voiceproxy is the demo server: a small JSON API that creates
// private conversations between two phone numbers, with the voiceproxy
// Service's Vonage webhooks mounted under /vonage/.
//
//	go run ./examples/voiceproxy
//
// With no Vonage credentials in the environment it runs in sandbox mode:
// a simulated Vonage lives in the process, with a pool of sandbox numbers,
// and /sandbox/ endpoints place simulated calls and SMS. With
// VONAGE_API_KEY, VONAGE_API_SECRET and VONAGE_APPLICATION_ID set (and
// VONAGE_SIGNATURE_SECRET, to verify webhooks) it runs live: real API
// clients, and the pool is the application's numbers.
//
// The webhooks under /vonage/ are public and signed. Everything else the
// demo serves (the JSON API, /ops/, /metrics, /sandbox/) is the operator
// surface: same-origin JSON only, and beyond loopback or in live mode
// only with the operator token, VOICEPROXY_OPERATOR_TOKEN (access.go).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/voiceproxy/voiceproxy/proxy"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "voiceproxy:", err)
		if errors.Is(err, errUsage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

// run parses flags, builds the app and serves until ctx is done.
func run(ctx context.Context, args []string, getenv func(string) string, logOut io.Writer) error {
	fs := flag.NewFlagSet("voiceproxy", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	db := fs.String("db", "voiceproxy.db", `SQLite file, ":memory:" for the in-memory store, or a postgres:// URL`)
	publicURL := fs.String("public-url", "", "externally reachable base URL for Vonage's webhooks (default http://<addr>)")
	verbose := fs.Bool("v", false, "debug logging")
	smsAPI := fs.String("sms-api", "sms", `the account's SMS setting: "sms" (the SMS API) or "messages" (the Messages API)`)
	apiTimeout := fs.Duration("api-timeout", DefaultAPITimeout, "deadline of a request to the JSON API, the ops pages and the sandbox, store calls included; past it the answer is 503")
	var host hostOptions
	host.register(fs)
	if err := fromEnv(fs, getenv); err != nil {
		return err
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(fs, logOut)
			return nil
		}
		return fmt.Errorf("%w: %v (-h lists the flags)", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	}
	if *smsAPI != smsAPISMS && *smsAPI != smsAPIMessages {
		return fmt.Errorf("%w: -sms-api must be %q or %q", errUsage, smsAPISMS, smsAPIMessages)
	}
	if *apiTimeout <= 0 {
		return fmt.Errorf("%w: -api-timeout must be positive", errUsage)
	}
	if _, err := host.redactPolicy(false); err != nil {
		return err
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(proxy.MaskingHandler(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: level})))

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	base := *publicURL
	if base == "" {
		base = "http://" + ln.Addr().String()
	}
	h, cleanup, err := newApp(ctx, appConfig{DB: *db, PublicURL: base, Listen: ln.Addr().String(), Getenv: getenv, Logger: log, SMSAPI: *smsAPI, APITimeout: *apiTimeout, Host: host})
	if err != nil {
		ln.Close()
		return err
	}
	defer cleanup()

	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      15 * time.Second,
		IdleTimeout:       time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("listening", "addr", "http://"+ln.Addr().String())

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}
