// Package mocktest holds the scaffolding that this module's HTTP client tests
// share: a recorder of the requests an httpmock responder answers, a responder
// that answers from a list in turn, sleep functions that never wait, fixture
// loading from the module's testdata folder and a call-count check.
//
// It is for the tests of this module only; nothing outside _test.go files
// should import it.
//
//	rec := &mocktest.Recorder{}
//	mt := httpmock.NewMockTransport()
//	mt.RegisterResponder(http.MethodGet, base+"/ni/basic/json",
//		rec.Wrap(mocktest.Sequence(busy, ok)))
//	// ... call the client with mt as its transport ...
//	got := rec.Last(t)
package mocktest
