package proxy

import (
	"errors"
	"strings"
	"testing"

	"github.com/voiceproxy/voiceproxy/insight"
)

// Every rejected participant number is described by side and label,
// with why and, where a setting or a fix applies, what to do; the error
// still matches ErrInvalidNumber, Reason says why for a program, and the
// number itself is never in the text.
func TestCreateInvalidNumberErrors(t *testing.T) {
	t.Parallel()
	s, _ := newTestService(t, gbPool(gbP1, gbP2), nil)
	tests := []struct {
		name, a string
		reason  NumberReason
		want    string
	}{
		{"letters", "call me", ReasonNotANumber,
			`proxy: participant A ("your rider"): invalid phone number: contains a character that is not a digit`},
		{"empty", "", ReasonNotANumber,
			`proxy: participant A ("your rider"): invalid phone number: no digits`},
		{"national format", "07700 900123", ReasonNoCountryCode,
			`proxy: participant A ("your rider"): invalid phone number: starts with 0: a national number, the country code is missing; write it in international form, "+" and the country code`},
		{"too short for E.164", "+44 77", ReasonTooShort,
			`proxy: participant A ("your rider"): invalid phone number: 4 digits, want at least 7`},
		{"too short for its country", "+1 415 555 010", ReasonTooShort,
			`proxy: participant A ("your rider"): invalid phone number: too short for a number of +1 (US): 9 digits after +1, want 10`},
		{"too long for its country", "+44 7700 9001 2345", ReasonTooLong,
			`proxy: participant A ("your rider"): invalid phone number: too long for a number of +44 (GB): 12 digits after +44, want one of 7, 9, 10`},
		{"no such country code", "+999 123 456 789", ReasonInvalidCountryCode,
			`proxy: participant A ("your rider"): invalid phone number: does not start with a country calling code ("+44" for GB, "+1" for the US…)`},
		{"a length the country never uses", "+46 12345678901", ReasonInvalidLength,
			`proxy: participant A ("your rider"): invalid phone number: not a length numbers of +46 (SE) have: 11 digits after +46, want one of 6, 7, 8, 9, 10, 12`},
		{"a local number without its area code", "+44 7700 9001", ReasonTooShort,
			`proxy: participant A ("your rider"): invalid phone number: too short for a number of +44 (GB) (a local number without its area code?): 8 digits after +44, want one of 7, 9, 10`},
		{"Ofcom's drama range", "+44 7700 900123", ReasonReserved,
			`proxy: participant A ("your rider"): invalid phone number: in Ofcom's drama range +44 7700 900xxx, reserved for drama and tests and never assigned; Config.Allocation.LenientNumbers accepts it (for tests and demos)`},
		{"not assigned", "+1 555 555 0123", ReasonUnassigned,
			`proxy: participant A ("your rider"): invalid phone number: not in a range assigned to numbers of +1 (US) (libphonenumber's numbering plan); check the number (Config.Allocation.LenientNumbers accepts numbers of a possible length outside the assigned ranges)`},
		{"a pool number", "+" + gbP1, ReasonPoolNumber,
			`proxy: participant A ("your rider"): invalid phone number: it is one of the pool's proxy numbers, and calls to it would loop back into the service`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.CreateConversation(t.Context(), CreateRequest{A: tt.a, B: gbB, Labels: Labels{A: "your rider", B: "your driver"}})
			var ne *NumberError
			if !errors.As(err, &ne) || !errors.Is(err, ErrInvalidNumber) {
				t.Fatalf("create with A %q: %v; want a *NumberError matching ErrInvalidNumber", tt.a, err)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("error text\n got: %s\nwant: %s", got, tt.want)
			}
			if ne.Reason() != tt.reason || ne.Field != "A" || ne.Label != "your rider" || ne.Input != tt.a {
				t.Errorf("NumberError Reason %q Field %q Label %q Input %q; want %q, A, your rider, %q", ne.Reason(), ne.Field, ne.Label, ne.Input, tt.reason, tt.a)
			}
			if digits := strings.Map(keepDigits, tt.a); len(digits) >= 7 && strings.Contains(strings.Map(keepDigits, err.Error()), digits) {
				t.Errorf("the error text holds the number %s: %s", tt.a, err)
			}
		})
	}
	t.Run("B, without a label", func(t *testing.T) {
		_, err := s.CreateConversation(t.Context(), CreateRequest{A: gbA, B: "+447700900456"})
		want := `proxy: participant B: invalid phone number: in Ofcom's drama range +44 7700 900xxx, reserved for drama and tests and never assigned; Config.Allocation.LenientNumbers accepts it (for tests and demos)`
		if err == nil || err.Error() != want {
			t.Errorf("create with B in the drama range: %v\nwant: %s", err, want)
		}
	})
	t.Run("LenientNumbers accepts the drama range", func(t *testing.T) {
		ls, _ := newTestService(t, gbPool(gbP1, gbP2), func(c *Config) { c.Allocation.LenientNumbers = true })
		if _, err := ls.CreateConversation(t.Context(), CreateRequest{A: "+44 7700 900123", B: "+44 7700 900456"}); err != nil {
			t.Errorf("create with drama-range numbers and LenientNumbers: %v", err)
		}
	})
}

func keepDigits(r rune) rune {
	if r >= '0' && r <= '9' {
		return r
	}
	return -1
}

// A number Number Insight rejects is named by side and label, and
// Insight's words are masked in case they quote the number.
func TestCreateInvalidNumberInsight(t *testing.T) {
	t.Parallel()
	ne := &NumberError{Field: "B", Label: "your driver", Input: gbB,
		Err: &insight.Error{Status: 3, StatusMessage: "Invalid number " + gbB}}
	got := ne.Error()
	if !strings.HasPrefix(got, `proxy: participant B ("your driver"): invalid phone number: insight: status 3`) || strings.Contains(got, gbB) {
		t.Errorf("NumberError from Insight = %q; want it to name B by label, give Insight's status and mask the number", got)
	}
	if ne.Reason() != ReasonInsight {
		t.Errorf("Reason = %q, want %q", ne.Reason(), ReasonInsight)
	}
	if got := (&NumberError{Field: "PoolNumber[2]", Input: "x"}).Error(); got != "proxy: PoolNumber[2]: invalid phone number" {
		t.Errorf("NumberError without a cause = %q", got)
	}
}

// An exhausted pool says which case it is: an empty pool (and how to
// fill it), a pool without numbers of the country or features, or one
// whose numbers are all taken for the participant; by side and label,
// and matching ErrPoolExhausted.
func TestCreatePoolExhaustedErrors(t *testing.T) {
	t.Parallel()
	req := CreateRequest{A: gbA, B: gbB, Labels: Labels{A: "your rider", B: "your driver"}}
	check := func(t *testing.T, err error, want string, pool, fitting int) {
		t.Helper()
		var pe *PoolExhaustedError
		if !errors.As(err, &pe) || !errors.Is(err, ErrPoolExhausted) {
			t.Fatalf("create: %v; want a *PoolExhaustedError", err)
		}
		if err.Error() != want {
			t.Errorf("error text\n got: %s\nwant: %s", err, want)
		}
		if pe.Pool != pool || pe.Fitting != fitting {
			t.Errorf("Pool %d Fitting %d, want %d, %d", pe.Pool, pe.Fitting, pool, fitting)
		}
	}
	t.Run("empty", func(t *testing.T) {
		s, _ := newTestService(t, nil, nil)
		_, err := s.CreateConversation(t.Context(), req)
		check(t, err, `proxy: number pool exhausted for participant A ("your rider"): the pool is empty; fill it with Service.SyncNumbers (the numbers linked to your Vonage application) or Service.AddNumbers, or set Config.Pool.Autopilot to buy numbers`, 0, 0)
	})
	t.Run("empty, PIN access", func(t *testing.T) {
		s, _ := newTestService(t, nil, nil)
		r := req
		r.Access = AccessPIN
		_, err := s.CreateConversation(t.Context(), r)
		check(t, err, `proxy: number pool exhausted for participant A ("your rider"): the pool is empty; fill it with Service.SyncNumbers (the numbers linked to your Vonage application) or Service.AddNumbers, or set Config.Pool.Autopilot to buy numbers`, 0, -1)
	})
	t.Run("no number of the country", func(t *testing.T) {
		s, _ := newTestService(t, []PoolNumber{{MSISDN: usP1, Voice: true, SMS: true}}, func(c *Config) { c.Allocation.GeoFallback = GeoStrict })
		_, err := s.CreateConversation(t.Context(), req)
		check(t, err, `proxy: number pool exhausted for participant A ("your rider"): none of the pool's 1 numbers in GB has voice and SMS; add such numbers (or set Config.Allocation.GeoFallback to GeoAnyCountry to use other countries' numbers)`, 1, 0)
	})
	t.Run("no number with the features", func(t *testing.T) {
		s, _ := newTestService(t, []PoolNumber{{MSISDN: gbP1, Voice: true}}, nil)
		r := req
		r.Mode = ModeSMS
		_, err := s.CreateConversation(t.Context(), r)
		check(t, err, `proxy: number pool exhausted for participant A ("your rider"): none of the pool's 1 numbers has SMS; add such numbers`, 1, 0)
	})
	t.Run("all taken by the participant", func(t *testing.T) {
		s, _ := newTestService(t, gbPool(gbP1), nil)
		mustCreate(t, s, CreateRequest{A: gbC, B: gbB})
		_, err := s.CreateConversation(t.Context(), req)
		check(t, err, `proxy: number pool exhausted for participant B ("your driver"): all 1 pool numbers with voice and SMS are taken for this participant (by its conversations in use, or cooling off after one: Config.Allocation.CoolOff); add numbers or close conversations`, 1, 1)
	})
}
