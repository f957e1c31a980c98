package rest

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestSleepContext(t *testing.T) {
	t.Parallel()
	if err := SleepContext(t.Context(), time.Microsecond); err != nil {
		t.Errorf("SleepContext = %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := SleepContext(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("SleepContext on done ctx = %v, want context.Canceled", err)
	}
}
