package insight_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/jarcoal/httpmock"

	"github.com/voiceproxy/voiceproxy/insight"
)

func ExampleClient_Basic() {
	// A mock transport stands in for api.nexmo.com.
	mt := httpmock.NewMockTransport()
	mt.RegisterResponder(http.MethodGet, "https://api.nexmo.com/ni/basic/json",
		httpmock.NewStringResponder(200, `{"status":0,"status_message":"Success",
			"international_format_number":"447700900000","national_format_number":"07700 900000",
			"country_code":"GB","country_name":"United Kingdom","country_prefix":"44"}`))

	c, err := insight.NewClient("key", "secret", insight.WithHTTPClient(&http.Client{Transport: mt}))
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := c.Basic(context.Background(), insight.Request{Number: "07700 900000", Country: "GB"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.InternationalFormatNumber, res.CountryName)
	// Output: 447700900000 United Kingdom
}

func ExampleError() {
	mt := httpmock.NewMockTransport()
	mt.RegisterResponder(http.MethodGet, "https://api.nexmo.com/ni/standard/json",
		httpmock.NewStringResponder(200, `{"status":9,"status_message":"Partner quota exceeded"}`))
	c, _ := insight.NewClient("key", "secret", insight.WithHTTPClient(&http.Client{Transport: mt}))

	_, err := c.Standard(context.Background(), insight.Request{Number: "447700900000"})
	var ie *insight.Error
	if errors.As(err, &ie) {
		fmt.Println("status", ie.Status, ie.StatusMessage)
	}
	fmt.Println(errors.Is(err, insight.ErrInsufficientCredit), errors.Is(err, insight.ErrThrottled))
	// Output:
	// status 9 Partner quota exceeded
	// true false
}
