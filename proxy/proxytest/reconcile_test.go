package proxytest_test

import (
	"context"
	"testing"
	"time"

	"github.com/voiceproxy/voiceproxy/proxy/proxytest"
)

// GET /v1/calls/{uuid} answers a leg's state: in progress while it is
// up, then completed with what its completed event said (duration,
// price, end_time), so a service that lost the event can reconcile it.
func TestReconcileGetCallAnswersCompletedLeg(t *testing.T) {
	t.Parallel()
	key, pemKey := newAppKey(t)
	v := proxytest.NewVonage(proxytest.WithApplication("app-1", &key.PublicKey))
	c := voiceClient(t, v, "app-1", pemKey)
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	now := start
	clock := func() time.Time { return now }
	sim := &proxytest.Simulator{Handler: &fakeService{}, Vonage: v, Now: clock}
	out, err := sim.PlaceCallWith(t.Context(), "447400654321", "447700900001", proxytest.CallOptions{Hold: true})
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.Call(t.Context(), out.CalleeUUID, "")
	if err != nil || info.Status != "answered" || info.Duration != "" {
		t.Fatalf("a leg in progress: %+v, %v; want answered, no duration", info, err)
	}
	if err := v.EndCall(context.Background(), out.CalleeUUID); err != nil {
		t.Fatal(err)
	}
	info, err = c.Call(t.Context(), out.CalleeUUID, "")
	if err != nil || info.Status != "completed" || info.Duration == "" || info.Price == "" {
		t.Errorf("a completed leg: %+v, %v; want completed with duration and price", info, err)
	}
	if _, err := time.Parse(time.DateTime, info.EndTime); err != nil {
		t.Errorf("end_time %q is not the API description's YYYY-MM-DD HH:MM:SS: %v", info.EndTime, err)
	}
}
