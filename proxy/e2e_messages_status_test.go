package proxy_test

import (
	"strings"
	"testing"

	"github.com/voiceproxy/voiceproxy/proxy"
	"github.com/voiceproxy/voiceproxy/proxy/proxytest"
)

// A rejected SMS's status webhook, its error code a JSON number in the
// title as Vonage sends it, is recorded on the interaction with that
// code, not dropped as malformed.
func TestE2EMessagesStatusNumericTitle(t *testing.T) {
	t.Parallel()
	e := newE2EOn(t, proxytest.SMSAPIMessages, e2eSecret, nil)
	e.vonage.FailDelivery(proxytest.Receipt{Status: "rejected", ErrCode: 1250})
	c := e.create(t, proxy.CreateRequest{})
	e.text(t, e2eRider, c.Participants[0].ProxyNumber, "are you outside?")
	if sum := smsSummary(t, e, c.ID); sum.Status != proxy.EventRejected || !strings.HasPrefix(sum.Detail, "1250 ") {
		t.Errorf("summary %+v, want rejected with code 1250 in the detail", sum)
	}
	if n := e.vonage.ReceiptFailures(); n != 0 {
		t.Errorf("%d statuses refused", n)
	}
}
