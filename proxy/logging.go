package proxy

import (
	"context"
	"log/slog"

	"github.com/voiceproxy/voiceproxy/internal/phone"
)

// MaskingHandler wraps h so that every error in a log record (an
// attribute whose value is an error, also inside a group or added with
// WithAttrs) is written as its message with phone numbers masked, as the
// Service masks its own logs. A program that logs the Service's errors
// itself (an API answering with them) logs through it too, so that no
// participant number reaches its logs from an error. Wrapping an already
// masking handler returns it unchanged.
func MaskingHandler(h slog.Handler) slog.Handler {
	if r, ok := h.(redactingHandler); ok {
		return r
	}
	return redactingHandler{h}
}

// MaskNumber hides the middle of a phone number n (digits, as the
// Service stores participant and proxy numbers) for display or a log,
// the way the Service masks numbers in its own logs: "4477009***23".
// A value of six characters or fewer is hidden whole as "***".
func MaskNumber(n string) string {
	return phone.Mask(n)
}

// MaskNumbers masks, as MaskNumber does, every phone number inside free
// text such as an error message or a webhook's status detail: a run of 7
// to 15 digits, with an optional "+" before it, that no letter or digit
// touches. Longer runs and digits inside words or hex IDs are left
// alone. It is what MaskingHandler applies to the errors it logs.
func MaskNumbers(text string) string {
	return phone.Redact(text)
}

// redactingHandler masks phone numbers inside the errors a Service logs.
// Errors come from stores, clients and hooks, and may quote participant
// numbers (a database's duplicate-key detail, a store's own message);
// participant numbers must reach logs only at Debug, masked. Wrapping
// the handler covers every log line, including ones added later.
type redactingHandler struct{ h slog.Handler }

func (r redactingHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return r.h.Enabled(ctx, l)
}

func (r redactingHandler) Handle(ctx context.Context, rec slog.Record) error {
	if !hasError(rec) {
		return r.h.Handle(ctx, rec)
	}
	out := slog.NewRecord(rec.Time, rec.Level, rec.Message, rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(redactAttr(a))
		return true
	})
	return r.h.Handle(ctx, out)
}

func (r redactingHandler) WithAttrs(as []slog.Attr) slog.Handler {
	red := make([]slog.Attr, len(as))
	for i, a := range as {
		red[i] = redactAttr(a)
	}
	return redactingHandler{r.h.WithAttrs(red)}
}

func (r redactingHandler) WithGroup(name string) slog.Handler {
	return redactingHandler{r.h.WithGroup(name)}
}

// hasError reports whether rec has an attribute that needs redacting, so
// that records without one pass through untouched and unallocated.
func hasError(rec slog.Record) bool {
	found := false
	rec.Attrs(func(a slog.Attr) bool {
		found = needsRedact(a.Value)
		return !found
	})
	return found
}

func needsRedact(v slog.Value) bool {
	switch v.Kind() {
	case slog.KindAny:
		_, ok := v.Any().(error)
		return ok
	case slog.KindGroup:
		for _, a := range v.Group() {
			if needsRedact(a.Value) {
				return true
			}
		}
	}
	return false
}

func redactAttr(a slog.Attr) slog.Attr {
	switch a.Value.Kind() {
	case slog.KindAny:
		if err, ok := a.Value.Any().(error); ok {
			return slog.String(a.Key, phone.Redact(err.Error()))
		}
	case slog.KindGroup:
		g := a.Value.Group()
		red := make([]any, len(g))
		for i, x := range g {
			red[i] = redactAttr(x)
		}
		return slog.Group(a.Key, red...)
	}
	return a
}
