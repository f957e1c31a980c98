package numbers_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/jarcoal/httpmock"

	"github.com/voiceproxy/voiceproxy/numbers"
)

func ExampleClient_Search() {
	// A mock transport stands in for rest.nexmo.com.
	mt := httpmock.NewMockTransport()
	mt.RegisterResponder(http.MethodGet, "https://rest.nexmo.com/number/search",
		httpmock.NewStringResponder(200, `{"count":1,"numbers":[{"country":"GB","msisdn":"447700900000",
			"type":"mobile-lvn","cost":"1.25","features":["VOICE","SMS"]}]}`))

	c, err := numbers.NewClient("key", "secret", numbers.WithHTTPClient(&http.Client{Transport: mt}))
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := c.Search(context.Background(), "GB", numbers.SearchOptions{
		Features: []string{numbers.FeatureVoice, numbers.FeatureSMS},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, n := range res.Numbers {
		fmt.Println(n.MSISDN, n.Type, n.Cost, n.Features)
	}
	// Output: 447700900000 mobile-lvn 1.25 [VOICE SMS]
}

func ExampleClient_Buy() {
	mt := httpmock.NewMockTransport()
	mt.RegisterResponder(http.MethodPost, "https://rest.nexmo.com/number/buy",
		httpmock.NewStringResponder(420, `{"error-code":"420","error-code-label":"number not available"}`))
	c, _ := numbers.NewClient("key", "secret", numbers.WithHTTPClient(&http.Client{Transport: mt}))

	err := c.Buy(context.Background(), "GB", "447700900000")
	var ne *numbers.Error
	if errors.As(err, &ne) {
		fmt.Println(ne.Code, ne.Label)
	}
	fmt.Println(errors.Is(err, numbers.ErrMethodFailed))
	// Output:
	// 420 number not available
	// true
}
