package sqlstore_test

import (
	"testing"

	"github.com/voiceproxy/voiceproxy/proxy"
	"github.com/voiceproxy/voiceproxy/proxy/storetest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			storetest.Run(t, func(t *testing.T) proxy.Store { return be.open(t) })
		})
	}
}
