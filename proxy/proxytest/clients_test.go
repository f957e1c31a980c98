package proxytest_test

import (
	"errors"
	"testing"

	"github.com/voiceproxy/voiceproxy/insight"
	"github.com/voiceproxy/voiceproxy/numbers"
	"github.com/voiceproxy/voiceproxy/proxy/proxytest"
)

// The module's own clients understand the simulator, errors included.

func TestNumbersClient(t *testing.T) {
	t.Parallel()
	v := proxytest.NewVonage(proxytest.WithOwnedNumbers(proxytest.SandboxNumbers()...))
	c, err := numbers.NewClient(proxytest.APIKey, proxytest.APISecret,
		numbers.WithHTTPClient(v.Client()), numbers.WithBaseURL(proxytest.InProcessURL), numbers.WithMaxRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	res, err := c.Search(ctx, "US", numbers.SearchOptions{Features: []string{numbers.FeatureVoice, numbers.FeatureSMS}, Size: 5})
	if err != nil {
		t.Fatal(err)
	}
	// 100 for sale, 10 landlines without SMS, 4 owned.
	if res.Count != 86 || len(res.Numbers) != 5 || res.Numbers[0].MSISDN != "12015550100" || res.Numbers[1].MSISDN != "12015550105" {
		t.Fatalf("search = %+v", res)
	}
	if err := c.Buy(ctx, "US", "12015550105"); err != nil {
		t.Fatal(err)
	}
	if err := c.Buy(ctx, "US", "12015550105"); !errors.Is(err, numbers.ErrMethodFailed) {
		t.Errorf("second buy: %v, want ErrMethodFailed", err)
	}
	if err := c.Update(ctx, numbers.UpdateRequest{Country: "US", MSISDN: "12015550105", AppID: proxytest.ApplicationID}); err != nil {
		t.Fatal(err)
	}
	all, err := c.ListAll(ctx, numbers.ListOptions{ApplicationID: proxytest.ApplicationID, Size: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 9 || all[8].MSISDN != "12015550105" || all[8].AppID != proxytest.ApplicationID {
		t.Errorf("ListAll = %+v", all)
	}
	if err := c.Cancel(ctx, "US", "12015550199"); !errors.Is(err, numbers.ErrMethodFailed) {
		t.Errorf("cancel of a number not owned: %v", err)
	}
	bad, _ := numbers.NewClient(proxytest.APIKey, "wrong", numbers.WithHTTPClient(v.Client()), numbers.WithBaseURL(proxytest.InProcessURL))
	if _, err := bad.List(ctx, numbers.ListOptions{}); !errors.Is(err, numbers.ErrAuth) {
		t.Errorf("wrong secret: %v, want ErrAuth", err)
	}
}

func TestInsightClient(t *testing.T) {
	t.Parallel()
	v := proxytest.NewVonage()
	c, err := insight.NewClient(proxytest.APIKey, proxytest.APISecret,
		insight.WithHTTPClient(v.Client()), insight.WithBaseURL(proxytest.InProcessURL), insight.WithMaxRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Basic(t.Context(), insight.Request{Number: "07400 123456", Country: "GB"})
	if err != nil {
		t.Fatal(err)
	}
	if res.InternationalFormatNumber != "447400123456" || res.CountryCode != "GB" {
		t.Errorf("basic = %+v", res)
	}
	if _, err := c.Advanced(t.Context(), insight.Request{Number: "12015550123"}); err != nil {
		t.Errorf("advanced: %v", err)
	}
	if _, err := c.Standard(t.Context(), insight.Request{Number: "123"}); !errors.Is(err, insight.ErrInvalidRequest) {
		t.Errorf("invalid number: %v, want ErrInvalidRequest", err)
	}
	v.Throttle(1)
	if _, err := c.Basic(t.Context(), insight.Request{Number: "447400123456"}); !errors.Is(err, insight.ErrThrottled) {
		t.Errorf("throttled: %v, want ErrThrottled", err)
	}
	bad, _ := insight.NewClient("nope", "nope", insight.WithHTTPClient(v.Client()), insight.WithBaseURL(proxytest.InProcessURL))
	if _, err := bad.Basic(t.Context(), insight.Request{Number: "447400123456"}); !errors.Is(err, insight.ErrAuth) {
		t.Errorf("wrong credentials: %v, want ErrAuth", err)
	}
}
