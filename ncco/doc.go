// Package ncco builds, validates, encodes and decodes Vonage Call Control
// Objects (NCCOs).
//
// When a call reaches a Vonage number, Vonage asks your answer webhook what
// to do and expects an NCCO back: a JSON array of actions it runs one after
// the other, such as "read this text" (talk), "dial this number and join
// the two calls" (connect), "record" or "collect key presses" (input). When
// the last action ends, the call ends. This package gives each action and
// each connect endpoint a Go type, so an NCCO is written as Go values,
// checked with Validate before Vonage sees it, and turned into exactly the
// JSON Vonage documents (field names such as "eventUrl" and "bargeIn",
// digits-only phone numbers).
//
//	n := ncco.NCCO{
//		ncco.Talk{Text: "Connecting you to your driver."},
//		ncco.Connect{
//			From:     "447700900001", // the proxy number the callee sees
//			Endpoint: []ncco.Endpoint{ncco.PhoneEndpoint{Number: "447700900123"}},
//		},
//	}
//	if err := n.Validate(); err != nil {
//		return err // *ValidationError values naming the action and field
//	}
//	body, err := json.Marshal(n) // [{"action":"talk",...},{"action":"connect",...}]
//
// Unmarshal (or json.Unmarshal into an NCCO) reads an NCCO back into the
// typed actions, choosing each action's type by its "action" field and each
// endpoint's by its "type". Unknown actions and endpoint types are errors
// (ErrUnknownAction); fields Vonage does not document are ignored, as
// Vonage ignores them. UnmarshalStrict also refuses the fields it would
// drop (ErrUnknownField): use it in code that stores or forwards NCCOs and
// must not lose anything.
//
//	parsed, err := ncco.Unmarshal(body)     // typed actions back
//	kept, err := ncco.UnmarshalStrict(body) // nothing dropped, or an error
//
// Every action of Vonage's current NCCO reference has a type: record,
// conversation, connect (with phone, app, websocket with its
// authorization, sip by URI or by a trunk's domain and user, and vbc
// endpoints), talk, stream, input (dtmf and speech), notify, wait and
// transfer. The SDKs' spellings contentType and advancedMachineDetection
// are read; the documented content-type and advanced_machine_detection
// are written. The golden NCCOs of the tests live in testdata/ncco
// (go test ./ncco -update rewrites them), and NCCOs in the shapes the
// Node, Java and Python SDKs write in testdata/ncco/sdk.
//
// Optional fields use Go zero values for "absent" (omitted from the JSON)
// except where zero means something else to Vonage: such fields are
// pointers, e.g. Talk.Loop (0 = repeat forever),
// Conversation.StartOnEnter (absent = true) and Wait.Timeout (0 is kept,
// and refused by Validate, rather than read as the 10 s default). NormalizeNumber turns numbers
// as people type them ("+44 7700 900123") into the digits-only form.
package ncco
