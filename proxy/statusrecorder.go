package proxy

import "net/http"

// StatusRecorder is an http.ResponseWriter that records the status a
// handler answered, for a host that logs or counts what the Service
// answered (the demo logs the webhooks it did not answer 2xx). The
// Service records its own webhooks' statuses with it, and so does
// proxytest's simulated Vonage. Wrap the writer, serve, then read
// Status:
//
//	rec := &proxy.StatusRecorder{ResponseWriter: w}
//	svc.ServeHTTP(rec, r)
//	if rec.Status >= 300 { ... }
type StatusRecorder struct {
	http.ResponseWriter
	// Status is the first status written: that of the first
	// WriteHeader, or 200 at a Write before any; 0 while the handler
	// has written nothing.
	Status int
}

// WriteHeader records code, unless a status was written before, and
// passes it on.
func (w *StatusRecorder) WriteHeader(code int) {
	if w.Status == 0 {
		w.Status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write records 200, unless a status was written before, and passes b
// on.
func (w *StatusRecorder) Write(b []byte) (int, error) {
	if w.Status == 0 {
		w.Status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Flush passes a flush on when the wrapped writer can flush (the
// answer webhook flushes its NCCO before it records the call).
func (w *StatusRecorder) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap returns the wrapped writer, for http.ResponseController.
func (w *StatusRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }
