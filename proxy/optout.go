package proxy

import "fmt"

// OptedOutError is the error of a send refused because its recipient
// sent STOP to the proxy number it would come from: a notification, a
// SendMessage, a goodbye. It matches ErrOptedOut (errors.Is), and says
// which side and which proxy number, never the participant's own number.
type OptedOutError struct {
	// ConversationID is the conversation the send was for.
	ConversationID string
	// Side is the recipient's side of it.
	Side Side
	// ProxyNumber is the pool number the recipient sent STOP to, and the
	// send would have come from.
	ProxyNumber string
}

// Error says whose STOP refused the send.
func (e *OptedOutError) Error() string {
	return fmt.Sprintf("proxy: conversation %s: participant %s sent STOP to %s: %v", e.ConversationID, e.Side, e.ProxyNumber, ErrOptedOut)
}

// Unwrap returns ErrOptedOut.
func (e *OptedOutError) Unwrap() error { return ErrOptedOut }

// optedOutError is the *OptedOutError of a send to c's participant on
// side.
func optedOutError(c Conversation, side Side) error {
	return &OptedOutError{ConversationID: c.ID, Side: side, ProxyNumber: c.Participants[side].ProxyNumber}
}
