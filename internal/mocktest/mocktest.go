package mocktest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
)

// errNoResponders is what a Sequence of no responders answers with.
var errNoResponders = errors.New("mocktest: Sequence has no responders")

// Sequence returns a responder that answers the n-th request with rs[n],
// repeating the last of rs once they run out. It is safe for concurrent use.
// With no responders it answers every request with an error.
func Sequence(rs ...httpmock.Responder) httpmock.Responder {
	if len(rs) == 0 {
		return httpmock.NewErrorResponder(errNoResponders)
	}
	var mu sync.Mutex
	n := 0
	return func(req *http.Request) (*http.Response, error) {
		mu.Lock()
		i := min(n, len(rs)-1)
		n++
		mu.Unlock()
		return rs[i](req)
	}
}

// Request is one request as a Recorder saw it.
type Request struct {
	Method   string
	Path     string
	Query    url.Values // the parsed URL query, never nil
	RawQuery string
	Header   http.Header
	// Form is the body parsed as application/x-www-form-urlencoded; nil when
	// the body is empty or does not parse.
	Form url.Values
	Body []byte
}

// Recorder records every request the responders it wraps answer, in the
// order they arrive. The zero value is ready to use and it is safe for
// concurrent use.
type Recorder struct {
	mu   sync.Mutex
	reqs []Request
}

// Wrap returns a responder that records each request and then answers it
// with resp. The body is read for the record and handed on to resp intact.
// A body that cannot be read is answered with the read error.
func (r *Recorder) Wrap(resp httpmock.Responder) httpmock.Responder {
	return func(req *http.Request) (*http.Response, error) {
		rec := Request{
			Method:   req.Method,
			Path:     req.URL.Path,
			Query:    req.URL.Query(),
			RawQuery: req.URL.RawQuery,
			Header:   req.Header.Clone(),
		}
		if req.Body != nil {
			b, err := io.ReadAll(req.Body)
			if err != nil {
				return nil, err
			}
			req.Body = io.NopCloser(bytes.NewReader(b))
			rec.Body = b
			if len(b) > 0 {
				if form, err := url.ParseQuery(string(b)); err == nil {
					rec.Form = form
				}
			}
		}
		r.mu.Lock()
		r.reqs = append(r.reqs, rec)
		r.mu.Unlock()
		return resp(req)
	}
}

// Requests returns a copy of the requests recorded so far, oldest first.
func (r *Recorder) Requests() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Request(nil), r.reqs...)
}

// Len returns how many requests have been recorded.
func (r *Recorder) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.reqs)
}

// Last returns the latest request recorded; it fails the test when there is
// none.
func (r *Recorder) Last(t testing.TB) Request {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.reqs) == 0 {
		t.Fatal("no request recorded")
		return Request{}
	}
	return r.reqs[len(r.reqs)-1]
}

// NoSleep is a sleep function that does not wait: it returns ctx.Err().
func NoSleep(ctx context.Context, _ time.Duration) error { return ctx.Err() }

// Sleeper is a sleep function for retry backoff and rate limiters that
// records each wait asked of it instead of waiting. The zero value is ready
// to use and it is safe for concurrent use.
type Sleeper struct {
	// Cancel, when set, is called on every Sleep, which then waits for its
	// context to be done: the caller giving up while the code under test
	// backs off.
	Cancel context.CancelFunc

	mu    sync.Mutex
	waits []time.Duration
}

// Sleep records d and returns ctx.Err() without waiting, or, when Cancel is
// set, after calling it and waiting for ctx to be done.
func (s *Sleeper) Sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.waits = append(s.waits, d)
	s.mu.Unlock()
	if s.Cancel != nil {
		s.Cancel()
		<-ctx.Done()
	}
	return ctx.Err()
}

// Waits returns a copy of the waits asked for so far, oldest first.
func (s *Sleeper) Waits() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.waits...)
}

// Count returns how many times Sleep has been called.
func (s *Sleeper) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.waits)
}

// Fixture returns the contents of a file below the module's testdata
// folder, elem naming the path inside it: Fixture(t, "sms", "x.json") reads
// testdata/sms/x.json. The module root is found by walking up from the
// working directory to go.mod. It fails the test when the file cannot be
// read.
func Fixture(t testing.TB, elem ...string) []byte {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
		return nil
	}
	b, err := os.ReadFile(filepath.Join(append([]string{root, "testdata"}, elem...)...))
	if err != nil {
		t.Fatal(err)
		return nil
	}
	return b
}

// moduleRoot returns the nearest folder at or above the working directory
// that holds a go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("mocktest: no go.mod at or above the working directory")
		}
		dir = parent
	}
}

// WantCalls fails the test, without stopping it, unless mt has answered
// exactly want requests.
func WantCalls(t testing.TB, mt *httpmock.MockTransport, want int) {
	t.Helper()
	if n := mt.GetTotalCallCount(); n != want {
		t.Errorf("calls = %d, want %d", n, want)
	}
}
