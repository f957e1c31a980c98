package ncco_test

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/voiceproxy/voiceproxy/ncco"
)

// The NCCO a proxy answers a masked call with: a short greeting, then a
// connect that rings the other participant's real number, showing them the
// proxy number as caller ID, so neither side sees the other's number.
func Example_maskedCall() {
	callee, err := ncco.NormalizeNumber("+44 7700 900123") // as the host stored it
	if err != nil {
		fmt.Println(err)
		return
	}
	n := ncco.NCCO{
		ncco.Talk{Text: "Connecting you to your driver.", Language: "en-GB"},
		ncco.Connect{
			From:     "447700900001", // the proxy number
			Endpoint: []ncco.Endpoint{ncco.PhoneEndpoint{Number: callee}},
		},
	}
	if err := n.Validate(); err != nil {
		fmt.Println(err)
		return
	}
	body, err := json.MarshalIndent(n, "", "  ")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(body))
	// Output:
	// [
	//   {
	//     "action": "talk",
	//     "text": "Connecting you to your driver.",
	//     "language": "en-GB"
	//   },
	//   {
	//     "action": "connect",
	//     "endpoint": [
	//       {
	//         "type": "phone",
	//         "number": "447700900123"
	//       }
	//     ],
	//     "from": "447700900001"
	//   }
	// ]
}

// The NCCO for a call that has nowhere to go (unknown caller, closed or
// expired conversation): Vonage reads the text and hangs up.
func Example_notInService() {
	n := ncco.NCCO{ncco.Talk{Text: "The number you have dialled is not in service."}}
	body, err := json.Marshal(n)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(body))
	// Output:
	// [{"action":"talk","text":"The number you have dialled is not in service."}]
}

func ExampleNCCO_Validate() {
	n := ncco.NCCO{
		ncco.Talk{},
		ncco.Connect{From: "+44 7700 900001", Endpoint: []ncco.Endpoint{ncco.PhoneEndpoint{Number: "12345"}}},
	}
	err := n.Validate()
	fmt.Println(err)
	var ve *ncco.ValidationError
	if errors.As(err, &ve) {
		fmt.Printf("first problem: action %d (%s), field %q\n", ve.Index, ve.Action, ve.Field)
	}
	// Output:
	// ncco: action 0 (talk): text: required: must not be empty
	// ncco: action 1 (connect): endpoint[0].number: 5 digits, want at least 7
	// ncco: action 1 (connect): from: must be digits only (no "+", spaces or letters)
	// first problem: action 0 (talk), field "text"
}

func ExampleUnmarshal() {
	n, err := ncco.Unmarshal([]byte(`[
		{"action": "talk", "text": "Please hold", "loop": 0},
		{"action": "connect", "endpoint": [{"type": "sip", "uri": "sip:desk@example.com"}]}
	]`))
	if err != nil {
		fmt.Println(err)
		return
	}
	for i, a := range n {
		switch a := a.(type) {
		case ncco.Talk:
			fmt.Printf("%d: talk %q, loop %d (forever)\n", i, a.Text, *a.Loop)
		case ncco.Connect:
			fmt.Printf("%d: connect to %s endpoint\n", i, a.Endpoint[0].Type())
		}
	}

	_, err = ncco.Unmarshal([]byte(`[{"action":"talk","text":"hi"},{"action":"dial","to":"447700900123"}]`))
	fmt.Println(err, errors.Is(err, ncco.ErrUnknownAction))
	// Output:
	// 0: talk "Please hold", loop 0 (forever)
	// 1: connect to sip endpoint
	// ncco: action 1 (dial): unknown action "dial" true
}

func ExampleNormalizeNumber() {
	for _, s := range []string{"+44 7700 900123", "0044 7700 900123", "(415) 555-0100 ext 2"} {
		n, err := ncco.NormalizeNumber(s)
		fmt.Printf("%q %v\n", n, err)
	}
	// Output:
	// "447700900123" <nil>
	// "447700900123" <nil>
	// "" invalid phone number "(415) 555-0100 ext 2": contains a character that is not a digit
}
