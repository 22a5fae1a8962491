package main

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/together-secrets-mcp/together-secrets-mcp/internal/apitest"
)

// chromium finds Debian's chromium, or another build of it.
func chromium(t *testing.T) string {
	t.Helper()
	apitest.NeedsProcess(t)
	return apitest.NeedsTool(t, "chromium", "chromium-browser", "google-chrome")
}

// TestABrowserStoresAValueTheModelNeverSees drives the whole flow as a user
// meets it: the agent calls request_secret_from_user on the real binary,
// and the user, in a real headless Chromium, opens the link, types the
// value, and presses Enter. The value reaches the API, and appears in no
// page, no tool result, no stdout and no stderr.
//
// UPDATE_SCREENSHOT=1 rewrites docs/intake-page.png, the README's picture.
func TestABrowserStoresAValueTheModelNeverSees(t *testing.T) {
	t.Parallel()
	exe := chromium(t)
	srv, api := sandboxAPI(t)
	p := initialized(t, srv.URL)
	p.send(t, `{"jsonrpc":"2.0","id":10,"method":"tools/call","params":{"name":"request_secret_from_user","arguments":{"name":"prod/HF_TOKEN","description":"Hugging Face read token for the eval job"}}}`)
	msg := p.response(t, 10)
	result, _ := json.Marshal(msg["result"])
	var res struct {
		StructuredContent struct {
			Status, URL string
		} `json:"structuredContent"`
	}
	if err := json.Unmarshal(result, &res); err != nil || res.StructuredContent.Status != "waiting_for_user" {
		t.Fatalf("result = %s", result)
	}
	link := res.StructuredContent.URL

	tctx := browse(t, exe, link)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("browser: %v", err)
		}
	}
	must(chromedp.Do(tctx, chromedp.WaitVisible(chromedp.CSS("#value"))))
	form, err := chromedp.Run(tctx, chromedp.Text(chromedp.CSS("body")))
	must(err)
	shot, err := chromedp.Run(tctx, chromedp.CaptureScreenshot())
	must(err)
	must(chromedp.Do(tctx,
		chromedp.SendKeys(chromedp.CSS("#value"), e2eValue),
		chromedp.SendKeys(chromedp.CSS("#value"), "\r"), // Enter submits
		chromedp.WaitVisible(chromedp.CSS("dl")),
	))
	stored, err := chromedp.Run(tctx, chromedp.Text(chromedp.CSS("body")))
	must(err)
	if !strings.Contains(form, "This will create a new secret named prod/HF_TOKEN") || !strings.Contains(form, "Hugging Face read token") {
		t.Errorf("form page: %s", form)
	}
	if !strings.Contains(stored, "was created") || !strings.Contains(stored, "sec-") {
		t.Errorf("result page: %s", stored)
	}
	if !api.ValueMatches("prod/HF_TOKEN", e2eValue) {
		t.Error("the API did not receive the value typed in the browser")
	}
	// The secret now exists, as get_secret tells the agent.
	p.send(t, `{"jsonrpc":"2.0","id":11,"method":"tools/call","params":{"name":"get_secret","arguments":{"id":"prod/HF_TOKEN"}}}`)
	got, _ := json.Marshal(p.response(t, 11))
	if !strings.Contains(string(got), `"name":"prod/HF_TOKEN"`) || strings.Contains(string(got), `"isError":true`) {
		t.Errorf("get_secret = %s", got)
	}
	// The link is spent.
	must(chromedp.Do(tctx, chromedp.Navigate(link)))
	again, err := chromedp.Run(tctx, chromedp.Text(chromedp.CSS("body")))
	if err != nil || !strings.Contains(again, "has been used") {
		t.Errorf("reopened link: %v %s", err, again)
	}
	p.exit(t)
	assertClean(t, map[string]string{"form page": form, "result page": stored, "tool result": string(result), "stdout": p.allStdout(), "stderr": p.stderr.String()})
	if os.Getenv("UPDATE_SCREENSHOT") != "" {
		if err := os.WriteFile("docs/intake-page.png", shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// browse starts a headless Chromium, opens link in it, and returns the
// context of further steps, which time out after a minute.
func browse(t *testing.T, exe, link string) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(900, 720),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	// The first call starts the browser, and takes no timeout of its own.
	if err := chromedp.Do(ctx, chromedp.Navigate(link)); err != nil {
		t.Fatalf("browser: %v", err)
	}
	tctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(cancelTimeout)
	return tctx
}

// TestABrowserStoresAValueOnTheTeamPageOverHTTP drives the team page as a
// user meets it: the agent calls request_secret_from_user through two
// replicas behind one address, and the user, in a real headless Chromium,
// opens the link, types the API key of the account that made it and the
// value, and presses Enter. The value reaches that account, and appears,
// as either key does, in no page, response, log or audit line.
func TestABrowserStoresAValueOnTheTeamPageOverHTTP(t *testing.T) {
	t.Parallel()
	exe := chromium(t)
	tr := startTeamReplicas(t)
	link := tr.requestLink(t, "team/HF_TOKEN")
	ctx := browse(t, exe, link)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("browser: %v", err)
		}
	}
	must(chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#api_key"))))
	form, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
	must(err)
	must(chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS("#api_key"), teamMakerKey),
		chromedp.SendKeys(chromedp.CSS("#value"), teamValue),
		chromedp.SendKeys(chromedp.CSS("#value"), "\r"), // Enter submits
		chromedp.WaitVisible(chromedp.CSS("dl")),
	))
	stored, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
	must(err)
	for _, want := range []string{"This will create a new secret named team/HF_TOKEN", "API key of the Together account that made this link", "only to the Together account that made this link"} {
		if !strings.Contains(form, want) {
			t.Errorf("the form lacks %q: %s", want, form)
		}
	}
	if !strings.Contains(stored, "was created") || !strings.Contains(stored, "sec-") {
		t.Errorf("result page: %s", stored)
	}
	if !tr.api.Account(teamMakerKey).ValueMatches("team/HF_TOKEN", teamValue) {
		t.Error("the API did not receive the value typed in the browser")
	}
	tr.stop(t)
	apitest.AssertClean(t, map[string]string{"form page": form, "result page": stored})
}
