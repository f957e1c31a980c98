// Package voice speaks Vonage's voice webhook protocol: it reads the
// parameters of the answer, fallback and event webhooks (GET query, JSON
// or form body) and verifies, or makes for tests, the HS256 JWT Vonage
// signs them with ("Signed webhooks" in Vonage's Voice API reference).
// The replay check is behind the one-method ReplayGuard, so any store
// that can claim a key once across instances can back it.
package voice
