package mocktest_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jarcoal/httpmock"

	"github.com/voiceproxy/voiceproxy/internal/mocktest"
)

const base = "https://api.example.test"

func client(mt *httpmock.MockTransport) *http.Client { return &http.Client{Transport: mt} }

func body(t *testing.T, c *http.Client, method, u, form string) string {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, u, strings.NewReader(form))
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSequenceRepeatsTheLast(t *testing.T) {
	t.Parallel()
	mt := httpmock.NewMockTransport()
	mt.RegisterResponder(http.MethodGet, base+"/r", mocktest.Sequence(
		httpmock.NewStringResponder(200, "one"), httpmock.NewStringResponder(200, "two")))
	var got []string
	for range 4 {
		got = append(got, body(t, client(mt), http.MethodGet, base+"/r", ""))
	}
	if diff := cmp.Diff([]string{"one", "two", "two", "two"}, got); diff != "" {
		t.Errorf("answers (-want +got):\n%s", diff)
	}
}

func TestSequenceOfNothingErrs(t *testing.T) {
	t.Parallel()
	req, err := http.NewRequest(http.MethodGet, base, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res, err := mocktest.Sequence()(req); err == nil || res != nil {
		t.Errorf("Sequence() = %v, %v; want nil, an error", res, err)
	}
}

func TestRecorderRecordsInOrder(t *testing.T) {
	t.Parallel()
	rec := &mocktest.Recorder{}
	mt := httpmock.NewMockTransport()
	// The wrapped responder still sees the whole body.
	echo := func(req *http.Request) (*http.Response, error) {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		return httpmock.NewStringResponse(200, string(b)), nil
	}
	mt.RegisterNoResponder(rec.Wrap(echo))
	if got := body(t, client(mt), http.MethodPost, base+"/a?x=1", "to=447700900000&text=hi"); got != "to=447700900000&text=hi" {
		t.Errorf("echoed %q", got)
	}
	body(t, client(mt), http.MethodGet, base+"/b", "")
	want := []mocktest.Request{
		{Method: http.MethodPost, Path: "/a", Query: url.Values{"x": {"1"}}, RawQuery: "x=1",
			Form: url.Values{"to": {"447700900000"}, "text": {"hi"}}, Body: []byte("to=447700900000&text=hi")},
		{Method: http.MethodGet, Path: "/b", Query: url.Values{}, Body: []byte{}},
	}
	got := rec.Requests()
	if diff := cmp.Diff(want, got, cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Header" }, cmp.Ignore())); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	if n := rec.Len(); n != 2 {
		t.Errorf("Len = %d, want 2", n)
	}
	if last := rec.Last(t); last.Path != "/b" {
		t.Errorf("Last = %s, want /b", last.Path)
	}
}

func TestRecorderIsSafeForConcurrentUse(t *testing.T) {
	t.Parallel()
	rec := &mocktest.Recorder{}
	mt := httpmock.NewMockTransport()
	mt.RegisterNoResponder(rec.Wrap(mocktest.Sequence(httpmock.NewStringResponder(200, ""))))
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := client(mt).Get(fmt.Sprintf("%s/%d", base, i))
			if err == nil {
				res.Body.Close()
			}
		}()
	}
	wg.Wait()
	if n := rec.Len(); n != 8 {
		t.Errorf("Len = %d, want 8", n)
	}
}

// fakeT records failures instead of failing the real test.
type fakeT struct {
	testing.TB
	failed, fatal bool
}

func (f *fakeT) Helper()               {}
func (f *fakeT) Errorf(string, ...any) { f.failed = true }
func (f *fakeT) Fatal(...any)          { f.failed, f.fatal = true, true }

func TestLastWithNothingRecordedFails(t *testing.T) {
	t.Parallel()
	ft := &fakeT{TB: t}
	if got := (&mocktest.Recorder{}).Last(ft); !ft.fatal || got.Method != "" {
		t.Errorf("Last = %+v, fatal = %v; want zero Request, fatal", got, ft.fatal)
	}
}

func TestSleeperRecordsAndReturnsCtxErr(t *testing.T) {
	t.Parallel()
	s := &mocktest.Sleeper{}
	if err := s.Sleep(t.Context(), time.Second); err != nil {
		t.Errorf("Sleep on a live context = %v, want nil", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.Sleep(ctx, 2*time.Second); !errors.Is(err, context.Canceled) {
		t.Errorf("Sleep on a cancelled context = %v, want context.Canceled", err)
	}
	if diff := cmp.Diff([]time.Duration{time.Second, 2 * time.Second}, s.Waits()); diff != "" {
		t.Errorf("waits (-want +got):\n%s", diff)
	}
	if n := s.Count(); n != 2 {
		t.Errorf("Count = %d, want 2", n)
	}
	if err := mocktest.NoSleep(ctx, time.Hour); err != context.Canceled {
		t.Errorf("NoSleep = %v, want context.Canceled", err)
	}
	if err := mocktest.NoSleep(t.Context(), time.Hour); err != nil {
		t.Errorf("NoSleep on a live context = %v, want nil", err)
	}
}

func TestSleeperCancel(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	s := &mocktest.Sleeper{Cancel: cancel}
	if err := s.Sleep(ctx, time.Hour); err != context.Canceled {
		t.Errorf("Sleep = %v, want context.Canceled itself", err)
	}
	if n := s.Count(); n != 1 {
		t.Errorf("Count = %d, want 1", n)
	}
}

func TestFixture(t *testing.T) {
	t.Parallel()
	want, err := os.ReadFile(filepath.Join("..", "..", "testdata", "sms", "send-success.json"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), string(mocktest.Fixture(t, "sms", "send-success.json"))); diff != "" {
		t.Errorf("Fixture (-want +got):\n%s", diff)
	}
	ft := &fakeT{TB: t}
	if got := mocktest.Fixture(ft, "sms", "no-such-file.json"); !ft.fatal || got != nil {
		t.Errorf("missing fixture = %q, fatal = %v; want nil, fatal", got, ft.fatal)
	}
}

func TestWantCalls(t *testing.T) {
	t.Parallel()
	mt := httpmock.NewMockTransport()
	mt.RegisterNoResponder(httpmock.NewStringResponder(200, ""))
	body(t, client(mt), http.MethodGet, base, "")
	for _, tc := range []struct {
		want     int
		wantFail bool
	}{{1, false}, {0, true}, {2, true}} {
		ft := &fakeT{TB: t}
		mocktest.WantCalls(ft, mt, tc.want)
		if ft.failed != tc.wantFail || ft.fatal {
			t.Errorf("WantCalls(%d): failed = %v, fatal = %v; want failed = %v, not fatal", tc.want, ft.failed, ft.fatal, tc.wantFail)
		}
	}
}
