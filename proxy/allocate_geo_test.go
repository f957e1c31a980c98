package proxy

import (
	"testing"
)

func usPool(msisdns ...string) []PoolNumber {
	var ns []PoolNumber
	for _, m := range msisdns {
		ns = append(ns, PoolNumber{MSISDN: m, Country: "US", Voice: true, SMS: true})
	}
	return ns
}

// With GeoAreaCode a NANP participant gets a number of their area code
// when the pool has one, else one of their country.
func TestGeoAreaCode(t *testing.T) {
	t.Parallel()
	const (
		sf1, sf2 = "14155550001", "14155550002" // 415: San Francisco
		ny1      = "12125550001"                // 212: New York
		sfUser   = "14155550199"
		nyUser   = "12125550199"
		laUser   = "13105550199" // 310: Los Angeles, no number there
	)
	pool := append(usPool(ny1, sf1, sf2), gbPool(gbP1)...)
	for _, level := range []GeoLevel{GeoCountry, GeoAreaCode} {
		s, _ := newTestService(t, pool, func(c *Config) { c.Allocation.Geo = level })
		c := mustCreate(t, s, CreateRequest{A: "+" + sfUser, B: "+" + nyUser})
		a, b := c.Participants[SideA].ProxyNumber, c.Participants[SideB].ProxyNumber
		if level == GeoAreaCode && (a != sf1 || b != ny1) {
			t.Errorf("GeoAreaCode: SF user got %s, NY user %s; want %s and %s", a, b, sf1, ny1)
		}
		if level == GeoCountry && (a != ny1 || b != ny1) {
			t.Errorf("GeoCountry: got %s and %s; want the first US number for both, %s", a, b, ny1)
		}
		la := mustCreate(t, s, CreateRequest{A: "+" + laUser, B: "+" + gbA})
		if got := la.Participants[SideA].ProxyNumber; got[:1] != "1" {
			t.Errorf("%v: LA user without a local number got %s, want a US one", level, got)
		}
		if got := la.Participants[SideB].ProxyNumber; got != gbP1 {
			t.Errorf("%v: GB user got %s, want %s", level, got, gbP1)
		}
	}
	if _, err := New(Config{Allocation: AllocationConfig{Geo: 9}}); err == nil {
		t.Error("New accepted an unknown GeoLevel")
	}
}

// StickyPrefer gives a returning pair the same numbers; StickyAvoid other
// ones while the pool has them.
func TestStickyPolicy(t *testing.T) {
	t.Parallel()
	for _, policy := range []StickyPolicy{StickyPrefer, StickyAvoid} {
		s, _ := newTestService(t, gbPool(gbP1, gbP2), func(c *Config) { c.Allocation.Sticky = policy })
		first := mustCreate(t, s, CreateRequest{A: "+" + gbA, B: "+" + gbB})
		if _, err := s.CloseConversation(t.Context(), first.ID); err != nil {
			t.Fatal(err)
		}
		// Load the first number with another pair, so that load alone
		// would not choose it.
		mustCreate(t, s, CreateRequest{A: "+" + gbC, B: "+" + gbD})
		again := mustCreate(t, s, CreateRequest{A: "+" + gbA, B: "+" + gbB})
		same := again.Participants[SideA].ProxyNumber == first.Participants[SideA].ProxyNumber
		if same != (policy == StickyPrefer) {
			t.Errorf("policy %v: first %s, again %s", policy, first.Participants[SideA].ProxyNumber, again.Participants[SideA].ProxyNumber)
		}
	}
	if _, err := New(Config{Allocation: AllocationConfig{Sticky: 5}}); err == nil {
		t.Error("New accepted an unknown Sticky policy")
	}
}
