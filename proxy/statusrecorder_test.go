package proxy_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/voiceproxy/voiceproxy/proxy"
)

func TestStatusRecorder(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		handler func(w http.ResponseWriter)
		want    int // the status recorded, and the one the client got
	}{
		{"nothing written", func(w http.ResponseWriter) {}, 0},
		{"write only", func(w http.ResponseWriter) { _, _ = w.Write([]byte("x")) }, http.StatusOK},
		{"header then write", func(w http.ResponseWriter) {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("x"))
		}, http.StatusServiceUnavailable},
		{"second header ignored", func(w http.ResponseWriter) {
			w.WriteHeader(http.StatusUnauthorized)
			w.WriteHeader(http.StatusOK)
		}, http.StatusUnauthorized},
		{"write then header", func(w http.ResponseWriter) {
			_, _ = w.Write(nil)
			w.WriteHeader(http.StatusTeapot)
		}, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			inner := httptest.NewRecorder()
			rec := &proxy.StatusRecorder{ResponseWriter: inner}
			tt.handler(rec)
			if rec.Status != tt.want {
				t.Errorf("Status = %d, want %d", rec.Status, tt.want)
			}
			if tt.want != 0 && inner.Code != tt.want {
				t.Errorf("the client got %d, want %d", inner.Code, tt.want)
			}
		})
	}
}

func TestStatusRecorderFlushAndUnwrap(t *testing.T) {
	t.Parallel()
	inner := httptest.NewRecorder()
	rec := &proxy.StatusRecorder{ResponseWriter: inner}
	rec.Flush()
	if !inner.Flushed {
		t.Error("Flush was not passed on")
	}
	if rec.Unwrap() != http.ResponseWriter(inner) {
		t.Error("Unwrap does not return the wrapped writer")
	}
	// Through http.ResponseController, which finds the wrapped writer's
	// methods by Unwrap.
	if err := http.NewResponseController(rec).Flush(); err != nil {
		t.Errorf("ResponseController.Flush: %v", err)
	}
	// A writer that cannot flush: Flush does nothing, and does not panic.
	(&proxy.StatusRecorder{ResponseWriter: struct{ http.ResponseWriter }{inner}}).Flush()
}
