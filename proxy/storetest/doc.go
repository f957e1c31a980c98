// Package storetest is the conformance suite every proxy.Store
// implementation must pass: the contract written in proxy/store.go turned
// into subtests, including concurrent allocation that checks the leg
// invariant under races.
//
// A store's own test calls Run with a constructor that returns a fresh,
// empty store for each subtest:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) proxy.Store {
//			return proxy.NewMemoryStore()
//		})
//	}
//
// The suite controls time itself: every time it passes to the store is
// derived from a fixed base time at whole seconds, and times read back are
// compared allowing only for rounding to microseconds.
package storetest
