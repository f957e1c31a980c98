package proxytest_test

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/voiceproxy/voiceproxy/proxy/proxytest"
)

// The simulated REST API answers the real wire format in process.
func ExampleVonage() {
	v := proxytest.NewVonage()
	resp, err := v.Client().Get(proxytest.InProcessURL + "/number/search?country=US&size=2&api_key=" +
		proxytest.APIKey + "&api_secret=" + proxytest.APISecret)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Print(string(body))
	// Output:
	// {"count":100,"numbers":[{"country":"US","msisdn":"12015550100","type":"mobile-lvn","cost":"1.25","features":["SMS","VOICE"]},{"country":"US","msisdn":"12015550101","type":"mobile-lvn","cost":"1.25","features":["SMS","VOICE"]}]}
}

// A Simulator places a call against any webhook handler and reports what
// the NCCO did.
func ExampleSimulator_PlaceCall() {
	answer := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/answer" {
			io.WriteString(w, `[{"action":"talk","text":"Connecting you."},
				{"action":"connect","from":"447700900001","endpoint":[{"type":"phone","number":"447400123456"}]}]`)
		}
	})
	sim := &proxytest.Simulator{Handler: answer}
	call, err := sim.PlaceCall(context.Background(), "447400654321", "447700900001")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(call.Talk, call.Connected, "sees", call.CallerID)
	for _, e := range call.Events[len(call.Events)-2:] {
		fmt.Println(e.Leg, e.Params["status"], e.Params["duration"]+"s", e.Params["price"])
	}
	// Output:
	// [Connecting you.] 447400123456 sees 447700900001
	// callee completed 42s 0.00420000
	// caller completed 46s 0.00460000
}
