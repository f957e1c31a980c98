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
// compared allowing only for rounding to microseconds. It asserts Load
// only where no conversation is past its deadline unswept (a store may
// count those legs).
//
// Where store.go leaves room, the suite holds stores to these readings:
//   - Touch leaves a conversation alone once its deadline has passed,
//     swept or not, as it does a closed one: reviving it could put two
//     conversations in use on one leg.
//   - EndConversation of an active conversation whose deadline has passed
//     by the given time records what the sweep would: StatusExpired with
//     EndedAt = Deadline(), whatever status was asked for.
//   - CreateConversation whose two legs are the same pair is ErrConflict.
//   - AddInteraction to a conversation that does not exist is ErrNotFound;
//     a duplicate interaction ID is ErrConflict.
package storetest
