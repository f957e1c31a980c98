package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// chromium finds Debian's Chromium (.ci/run installs it). Without it the
// browser tests are skipped on a developer machine and fail under
// CI=true.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "the ops page tests need Chromium (apt-get install chromium)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + "; it is required when CI=true")
	}
	t.Skip(msg)
	return ""
}

// TestOpsPageInBrowser renders the ops page in headless Chromium (its
// --dump-dom and --screenshot modes, Debian's package, no driver): the
// conversations list (numbers masked), a conversation's timeline
// (numbers shown, the call and the SMS with their outcomes), the pool per
// country, and a refused webhook on the failures page. Each page's
// screenshot is written to the test's output directory, and to
// testdata/ops with VOICEPROXY_SCREENSHOTS=update (the README shows one).
func TestOpsPageInBrowser(t *testing.T) {
	t.Parallel()
	exe := chromium(t)
	srv := newTestApp(t, ":memory:", nil)
	post := func(path, body string) {
		t.Helper()
		resp, err := srv.Client().Post(srv.URL+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode >= 300 {
			t.Fatalf("POST %s: %d", path, resp.StatusCode)
		}
	}
	post("/conversations", `{"a": "+447700900123", "b": "+447700900456", "labels": {"a": "your rider", "b": "your driver"}}`)
	post("/sandbox/calls", `{"from": "+447700900123", "to": "447700900001"}`)
	post("/sandbox/sms", `{"from": "+447700900456", "to": "447700900001", "text": "Outside in a blue Prius"}`)
	// A webhook that is refused: unsigned.
	if resp, err := srv.Client().Get(srv.URL + "/vonage/answer?from=447700900999&to=447700900001"); err == nil {
		resp.Body.Close()
	}

	outDir := t.TempDir()
	// browse loads path in headless Chromium and returns the DOM it
	// rendered; it also writes the page's screenshot as name.png.
	browse := func(path, name string) string {
		t.Helper()
		run := func(args ...string) []byte {
			ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
			defer cancel()
			args = append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
				"--hide-scrollbars", "--window-size=1280,900", "--user-data-dir=" + t.TempDir()}, args...)
			out, err := exec.CommandContext(ctx, exe, append(args, srv.URL+path)...).Output()
			if err != nil {
				t.Fatalf("chromium %s: %v", path, err)
			}
			return out
		}
		dom := string(run("--dump-dom"))
		png := filepath.Join(outDir, name+".png")
		run("--screenshot=" + png)
		if os.Getenv("VOICEPROXY_SCREENSHOTS") == "update" {
			b, err := os.ReadFile(png)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join("..", "..", "testdata", "ops", name+".png"), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return dom
	}
	list := browse("/ops/", "conversations")
	m := regexp.MustCompile(`href="(/ops/conversations/[0-9a-f]+)"`).FindStringSubmatch(list)
	if m == nil {
		t.Fatalf("no conversation link on the list:\n%s", list)
	}
	detail := browse(m[1], "conversation")
	pool := browse("/ops/pool", "pool")
	failures := browse("/ops/failures", "failures")
	if !strings.Contains(list, "4477009***23") || strings.Contains(list, "447700900123") || !strings.Contains(list, ">active<") {
		t.Errorf("conversations list (numbers must be masked):\n%s", list)
	}
	if !strings.Contains(detail, "+447700900123") || !strings.Contains(detail, "your driver") {
		t.Errorf("conversation detail (numbers shown):\n%s", detail)
	}
	for _, want := range []string{">call<", ">completed<", ">sms<", ">relayed<", ">answered<"} {
		if !strings.Contains(detail, want) {
			t.Errorf("timeline lacks %q:\n%s", want, detail)
		}
	}
	if !strings.Contains(pool, "<td>GB</td>") || !strings.Contains(pool, "<td>US</td>") {
		t.Errorf("pool:\n%s", pool)
	}
	if !strings.Contains(failures, "/vonage/answer") || !strings.Contains(failures, "<td>401</td>") {
		t.Errorf("failures:\n%s", failures)
	}
	t.Logf("screenshots in %s", outDir)

	// Bad input on the page: a malformed participant search is a 400 with
	// a message, an unknown conversation a 404.
	for path, want := range map[string]int{"/ops/?participant=nope": http.StatusBadRequest, "/ops/conversations/nope": http.StatusNotFound} {
		resp, err := srv.Client().Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", path, resp.StatusCode, want)
		}
	}
}

// TestOpsPageInteractive drives the ops page in headless Chromium with
// chromedp, as an operator would: search by participant from the form,
// open the match, read its timeline, filter by status, and see a
// malformed search answered with a message.
func TestOpsPageInteractive(t *testing.T) {
	t.Parallel()
	exe := chromium(t)
	srv := newTestApp(t, ":memory:", nil)
	post := func(path, body string) string {
		t.Helper()
		resp, err := srv.Client().Post(srv.URL+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode >= 300 {
			t.Fatalf("POST %s: %d %s", path, resp.StatusCode, b)
		}
		return string(b)
	}
	post("/conversations", `{"a": "+447700900123", "b": "+447700900456"}`)
	post("/sandbox/calls", `{"from": "+447700900123", "to": "447700900001"}`)
	post("/conversations", `{"a": "+447700900555", "b": "+447700900666"}`)
	other := post("/conversations", `{"a": "+447700900777", "b": "+447700900888"}`)
	id := regexp.MustCompile(`"id":\s*"([0-9a-f]+)"`).FindStringSubmatch(other)
	if id == nil {
		t.Fatalf("no id in %s", other)
	}
	req, _ := http.NewRequest(http.MethodDelete, srv.URL+"/conversations/"+id[1], nil)
	if resp, err := srv.Client().Do(req); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}

	alloc, cancelAlloc := chromedp.NewExecAllocator(t.Context(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 900), chromedp.UserDataDir(t.TempDir()))...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(alloc)
	defer cancel()
	// The first Run starts the browser, which lives as long as ctx: the
	// time limit goes on each step after it.
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/ops/")); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	step := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, scancel := context.WithTimeout(ctx, 30*time.Second)
		defer scancel()
		if err := chromedp.Do(sctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	// load runs trigger, which loads a page (a click on a link or a
	// submit button), and waits for that page's load event.
	load := func(what string, trigger chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, scancel := context.WithTimeout(ctx, 30*time.Second)
		defer scancel()
		if _, err := chromedp.Run(sctx, chromedp.WaitEvent(page.LoadEventFired, nil, trigger)); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		sctx, scancel := context.WithTimeout(ctx, 30*time.Second)
		defer scancel()
		s, err := chromedp.Run(sctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	// The list opens on the conversations in use.
	rows := text("#conversations tbody")
	if !strings.Contains(rows, "4477009***23") || !strings.Contains(rows, "***55") || strings.Contains(rows, "***77") || strings.Contains(rows, "447700900123") {
		t.Errorf("the list shows %q; want the two active conversations, masked", rows)
	}

	// Search by participant, typed into the form as written on a card.
	step("type the rider's number", chromedp.SendKeys(chromedp.CSS(`input[name="participant"]`), "+44 7700 900123"))
	load("search by participant", chromedp.Click(chromedp.CSS(`button[type="submit"]`)))
	if rows := text("#conversations tbody"); !strings.Contains(rows, "4477009***23") || strings.Contains(rows, "***55") {
		t.Errorf("search for the rider shows %q; want their conversation only", rows)
	}
	// The search's screenshot, kept with go test -artifacts.
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(t.ArtifactDir(), "search.png"), shot, 0o644); err != nil {
		t.Fatal(err)
	}

	// Open it: the timeline shows the call and the real numbers.
	load("open the conversation", chromedp.Click(chromedp.CSS(`#conversations tbody a`)))
	if a := text("#a"); !strings.Contains(a, "+447700900123") {
		t.Errorf("the conversation page shows A as %q; want the real number", a)
	}
	if tl := strings.ToLower(text("#timeline")); !strings.Contains(tl, "call") || !strings.Contains(tl, "completed") {
		t.Errorf("timeline %q; want the completed call", tl)
	}

	// The list again, filtered by status: only the closed one.
	step("choose the closed ones",
		chromedp.Navigate(srv.URL+"/ops/"),
		chromedp.SendKeys(chromedp.CSS(`select[name="status"]`), "closed")) // typed, as on a keyboard
	load("filter by status", chromedp.Click(chromedp.CSS(`button[type="submit"]`)))
	if rows := text("#conversations tbody"); !strings.Contains(rows, "***77") || strings.Contains(rows, "***23") {
		t.Errorf("closed conversations: %q; want the second only", rows)
	}

	// A malformed search is answered on the page, not with a blank.
	step("type a malformed number", chromedp.SendKeys(chromedp.CSS(`input[name="participant"]`), "not a number"))
	load("malformed search", chromedp.Click(chromedp.CSS(`button[type="submit"]`)))
	if msg := text("#error"); msg == "" {
		t.Error("no message for a malformed search")
	}
}

// With an operator token, a browser opening the ops page is sent to the
// login form, logs in with the token (a form POST, which the guard lets
// through only there), and reads the pages with the cookie it got.
func TestOpsLoginInBrowser(t *testing.T) {
	t.Parallel()
	exe := chromium(t)
	srv, _ := newAppOn(t, "0.0.0.0:8080", map[string]string{operatorTokenEnv: testToken})
	alloc, cancelAlloc := chromedp.NewExecAllocator(t.Context(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 900), chromedp.UserDataDir(t.TempDir()))...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(alloc)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/ops/pool")); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	run := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, scancel := context.WithTimeout(ctx, 30*time.Second)
		defer scancel()
		if err := chromedp.Do(sctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	location := func() string {
		t.Helper()
		sctx, scancel := context.WithTimeout(ctx, 30*time.Second)
		defer scancel()
		u, err := chromedp.Run(sctx, chromedp.Location())
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	if u := location(); !strings.HasPrefix(u, srv.URL+"/ops/login?next=") {
		t.Fatalf("the ops page without a login is %s, want the login form", u)
	}
	login := func(token string) {
		t.Helper()
		run("type the token", chromedp.SendKeys(chromedp.CSS(`input[name="token"]`), token))
		sctx, scancel := context.WithTimeout(ctx, 30*time.Second)
		defer scancel()
		if _, err := chromedp.Run(sctx, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS(`#login button`)))); err != nil {
			t.Fatalf("log in: %v", err)
		}
	}
	login("not-the-token")
	sctx, scancel := context.WithTimeout(ctx, 30*time.Second)
	msg, err := chromedp.Run(sctx, chromedp.Text(chromedp.CSS("#error")))
	scancel()
	if err != nil || !strings.Contains(msg, "not the operator token") {
		t.Errorf("a wrong token shows %q, %v", msg, err)
	}
	login(testToken)
	if u := location(); u != srv.URL+"/ops/pool" {
		t.Fatalf("after the login the browser is at %s, want /ops/pool", u)
	}
	run("open the conversations", chromedp.Navigate(srv.URL+"/ops/"), chromedp.WaitVisible(chromedp.CSS("#conversations")))
}
