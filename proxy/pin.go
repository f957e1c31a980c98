package proxy

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"slices"
	"time"
)

// This file is shared-number (PIN) access: conversations whose two
// participants dial one number of the pool, shared with other PIN
// conversations, and key in the conversation's PIN (see webhook_input.go for
// the calls and webhook_sms.go for the SMS).

// PIN defaults.
const (
	defaultPINLength           = 6
	defaultPINAttempts         = 3
	defaultPINMaxFailures      = 5
	defaultPINNumberFailures   = 30
	defaultPINLockout          = 15 * time.Minute
	defaultPINPrompt           = "Please enter your PIN, then press hash."
	defaultPINRetryPrompt      = "That PIN is not right. Please enter it again, then press hash."
	defaultPINLockedText       = "Too many wrong PINs. Please try again later."
	defaultPINRefusedText      = "That PIN is not right. Goodbye."
	defaultPINSMSReply         = "You have more than one conversation on this number: please use the app, or call and enter your PIN."
	minPINLength, maxPINLength = 4, 8
	// pinTries bounds how many generated PINs CreateConversation tries
	// on one number before the next.
	pinTries = 5
)

// pinConfig checks and completes the PIN settings of cfg.
func pinConfig(cfg *Config) error {
	if cfg.PIN.Length != 0 && (cfg.PIN.Length < minPINLength || cfg.PIN.Length > maxPINLength) {
		return fmt.Errorf("proxy: Config.PIN.Length %d is not %d to %d", cfg.PIN.Length, minPINLength, maxPINLength)
	}
	if cfg.PIN.Attempts < 0 || cfg.PIN.MaxFailures < 0 || cfg.PIN.MaxNumberFailures < 0 || cfg.PIN.Lockout < 0 {
		return errors.New("proxy: negative PIN attempts, failures or lock-out in Config")
	}
	if cfg.PIN.InputURL != "" {
		u, err := url.Parse(cfg.PIN.InputURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("proxy: Config.PIN.InputURL %q is not an absolute http(s) URL", cfg.PIN.InputURL)
		}
	}
	setDefault(&cfg.PIN.Length, defaultPINLength)
	setDefault(&cfg.PIN.Attempts, defaultPINAttempts)
	setDefault(&cfg.PIN.MaxFailures, defaultPINMaxFailures)
	setDefault(&cfg.PIN.MaxNumberFailures, defaultPINNumberFailures)
	setDefault(&cfg.PIN.Lockout, defaultPINLockout)
	setDefault(&cfg.PIN.Prompt, defaultPINPrompt)
	setDefault(&cfg.PIN.RetryPrompt, defaultPINRetryPrompt)
	setDefault(&cfg.PIN.LockedText, defaultPINLockedText)
	setDefault(&cfg.PIN.RefusedText, defaultPINRefusedText)
	setDefault(&cfg.PIN.SMSReply, defaultPINSMSReply)
	return nil
}

// checkPIN checks a host-given PIN: 4 to 8 digits.
func checkPIN(pin string) error {
	ok := len(pin) >= minPINLength && len(pin) <= maxPINLength
	for i := 0; ok && i < len(pin); i++ {
		ok = pin[i] >= '0' && pin[i] <= '9'
	}
	if !ok {
		return fmt.Errorf("%w: PIN must be %d to %d digits", ErrInvalidRequest, minPINLength, maxPINLength)
	}
	return nil
}

// newPIN returns n random decimal digits.
func newPIN(n int) (string, error) {
	b := make([]byte, n)
	ten := big.NewInt(10)
	for i := range b {
		d, err := rand.Int(rand.Reader, ten)
		if err != nil {
			return "", err
		}
		b[i] = byte('0' + d.Int64())
	}
	return string(b), nil
}

// createPIN stores a PIN conversation between a and b (digits, region of
// a) on a shared number: a pool number with the features mode needs, in
// a's country when one has them (else any), on which neither participant
// holds a direct leg in use, least loaded first. A generated PIN taken on
// that number is drawn again; a host's PIN taken there moves on to the
// next number, and ErrPINInUse when it is taken on all of them.
func (s *Service) createPIN(ctx context.Context, c Conversation, pin, region string) (Conversation, error) {
	pool, err := s.store.Pool(ctx)
	if err != nil {
		return Conversation{}, fmt.Errorf("proxy: list pool for a PIN conversation: %w", err)
	}
	now := c.CreatedAt
	a, b := c.Participants[SideA].Number, c.Participants[SideB].Number
	// usable: the number has the features, and neither participant holds
	// a direct leg on it (calls from them would route there, never to
	// the PIN prompt). One Route per participant and number: PIN access
	// is for small pools.
	usable := func(n PoolNumber, country string) (bool, error) {
		if (c.Mode != ModeSMS && !n.Voice) || (c.Mode != ModeVoice && !n.SMS) || (country != "" && n.Country != country) {
			return false, nil
		}
		for _, p := range [...]string{a, b} {
			switch _, err := s.store.Route(ctx, p, n.MSISDN, now); {
			case err == nil:
				return false, nil
			case !errors.Is(err, ErrNotFound):
				return false, fmt.Errorf("proxy: route for a PIN conversation: %w", err)
			}
		}
		return true, nil
	}
	var shared []PoolNumber
	for _, country := range []string{region, ""} {
		for _, n := range pool {
			ok, err := usable(n, country)
			if err != nil {
				return Conversation{}, err
			}
			if ok {
				shared = append(shared, n)
			}
		}
		if len(shared) > 0 || region == "" {
			break
		}
	}
	if len(shared) == 0 {
		return Conversation{}, &PoolExhaustedError{Side: SideA, Country: region}
	}
	slices.SortStableFunc(shared, func(x, y PoolNumber) int { return x.Legs - y.Legs })
	for _, n := range shared {
		c.Participants[SideA].ProxyNumber, c.Participants[SideB].ProxyNumber = n.MSISDN, n.MSISDN
		for range pinTries {
			c.PIN = pin
			if c.PIN == "" {
				if c.PIN, err = newPIN(s.cfg.PIN.Length); err != nil {
					return Conversation{}, fmt.Errorf("proxy: generate PIN: %w", err)
				}
			}
			err = s.store.CreateConversation(ctx, c)
			if err == nil {
				return c, nil
			}
			if !errors.Is(err, ErrConflict) {
				return Conversation{}, fmt.Errorf("proxy: store conversation: %w", err)
			}
			if c.Key != "" {
				if err := s.keyConflict(ctx, c.Key, c.Participants[SideA].Number, c.Participants[SideB].Number); err != nil {
					return Conversation{}, err
				}
			}
			if pin != "" {
				break // the host's PIN is taken here: try the next number
			}
		}
	}
	if pin != "" {
		return Conversation{}, ErrPINInUse
	}
	return Conversation{}, fmt.Errorf("%w: no free PIN found on %d shared numbers", ErrTooManyConflicts, len(shared))
}
