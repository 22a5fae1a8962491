package tools_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/together-secrets-mcp/together-secrets-mcp/internal/apitest"
	"github.com/together-secrets-mcp/together-secrets-mcp/internal/audit"
)

// user plays the person at the browser: given the link, it submits a value
// on the page the way the page's own form does.
func userSubmits(t *testing.T, link, value string) string {
	t.Helper()
	return userPosts(t, link, url.Values{"value": {value}})
}

// userPosts posts the page's form with the given fields, and fails unless
// the page answers 200.
func userPosts(t *testing.T, link string, form url.Values) string {
	t.Helper()
	status, page := userSubmitsFor(t, link, form)
	if status != 200 {
		t.Fatalf("submit: %d %s", status, page)
	}
	return page
}

// userSubmitsFor posts the page's form with the given fields, and returns
// the page's status and text, whatever they are.
func userSubmitsFor(t *testing.T, link string, form url.Values) (int, string) {
	t.Helper()
	status, page, err := postForm(link, form)
	if err != nil {
		t.Fatal(err)
	}
	return status, page
}

// postForm posts the page's form with the given fields as the page's own
// form does, and returns the page's status and text. It fails no test, so
// that a goroutine may call it and send what it returns.
func postForm(link string, form url.Values) (int, string, error) {
	u, err := url.Parse(link)
	if err != nil {
		return 0, "", err
	}
	req, err := http.NewRequest("POST", link, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "http://"+u.Host)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", fmt.Errorf("posting the page's form: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// urlElicitor is a client that declares URL-mode elicitation and answers it
// by having the user open the page (and, with accept, submit the value).
type urlElicitor struct {
	action mcp.ElicitationResponseAction
	value  string
	mu     sync.Mutex
	asked  []mcp.ElicitationParams
	// posted carries the page's answer to the user's post, once it came.
	posted chan posting
	// pageDecline makes the user accept the elicitation, then press
	// Decline on the page.
	pageDecline bool
}

// posting is what the page answered the user's post.
type posting struct {
	status int
	page   string
	err    error
}

// pageAnswer waits on posted for the page's answer to the user's post, and
// returns it, failing the test with never if no post was made and unless
// the page answered 200.
func pageAnswer(t *testing.T, posted <-chan posting, never string) posting {
	t.Helper()
	if posted == nil {
		t.Fatal(never)
	}
	p := apitest.Receive(t, "the page's answer to the user", posted)
	if p.err != nil || p.status != http.StatusOK {
		t.Fatalf("the page answered the user %d, %v:\n%s", p.status, p.err, p.page)
	}
	return p
}

func (e *urlElicitor) Elicit(ctx context.Context, req mcp.ElicitationRequest) (*mcp.ElicitationResult, error) {
	e.mu.Lock()
	e.asked = append(e.asked, req.Params)
	e.mu.Unlock()
	if e.action == mcp.ElicitationResponseActionAccept {
		// The user consents, opens the page, and submits; or, with
		// pageDecline, presses Decline there. Whether the user acts before
		// the resumed call waits or while it does, the call ends the same,
		// so the test leaves the order to chance. The page ends the call
		// before it writes its answer, so the test reads that answer from
		// posted, not from the call.
		posted := make(chan posting, 1)
		e.mu.Lock()
		e.posted = posted
		e.mu.Unlock()
		go func() {
			form := url.Values{"value": {e.value}}
			if e.pageDecline {
				form.Set("action", "decline")
			}
			var p posting
			p.status, p.page, p.err = postForm(req.Params.URL, form)
			posted <- p
		}()
	}
	return &mcp.ElicitationResult{ElicitationResponse: mcp.ElicitationResponse{Action: e.action}}, nil
}

// pageShown waits for the page's answer to the user's post, and returns
// it, failing the test unless the page answered 200 with a page.
func (e *urlElicitor) pageShown(t *testing.T) string {
	t.Helper()
	e.mu.Lock()
	posted := e.posted
	e.mu.Unlock()
	p := pageAnswer(t, posted, "the user was never sent to the page")
	if p.page == "" {
		t.Fatal("the page answered the user 200 with no page")
	}
	return p.page
}

func urlElicitationClient(e *urlElicitor, version string) []client.ClientOption {
	opts := []client.ClientOption{
		client.WithClientCapabilities(mcp.ClientCapabilities{Elicitation: &mcp.ElicitationCapability{URL: &struct{}{}}}),
		client.WithElicitationHandler(e),
	}
	if version != "" {
		opts = append(opts, client.WithProtocolVersion(version))
	}
	return opts
}

func TestRequestSecretThroughURLElicitationInBothEras(t *testing.T) {
	t.Parallel()
	for _, version := range []string{"", mcp.ProtocolVersion20251125} {
		t.Run("protocol "+version, func(t *testing.T) {
			e := &urlElicitor{action: mcp.ElicitationResponseActionAccept, value: canaryValue}
			h := newHarness(t, urlElicitationClient(e, version))
			completed := make(chan string, 1)
			h.mcp.OnNotification(func(n mcp.JSONRPCNotification) {
				if n.Method == string(mcp.MethodNotificationElicitationComplete) {
					b, _ := json.Marshal(n.Params)
					completed <- string(b)
				}
			})
			res := h.call(t, "request_secret_from_user", map[string]any{"name": "prod/HF_TOKEN", "description": "HF read token"})
			if res.IsError {
				t.Fatal(resultText(t, res))
			}
			got := structured(t, res)
			secret, _ := got["secret"].(map[string]any)
			if got["status"] != "stored" || got["action"] != "create" || secret["name"] != "prod/HF_TOKEN" || secret["id"] == nil {
				t.Fatalf("result = %v", got)
			}
			if !h.api.ValueMatches("prod/HF_TOKEN", canaryValue) {
				t.Error("Together did not receive the value")
			}
			if len(e.asked) != 1 || e.asked[0].Mode != mcp.ElicitationModeURL || !strings.HasPrefix(e.asked[0].URL, "http://127.0.0.1:") {
				t.Fatalf("elicitation = %+v", e.asked)
			}
			// Before 2026-07-28, URL mode ends with notifications/elicitation/complete;
			// from it on, the retried call's result is the end.
			if version != "" {
				select {
				case got := <-completed:
					if !strings.Contains(got, e.asked[0].ElicitationID) {
						t.Errorf("completion for another elicitation: %s", got)
					}
				case <-time.After(2 * time.Second):
					t.Error("no notifications/elicitation/complete")
				}
			}
			page := e.pageShown(t)
			if !strings.Contains(page, "was created") {
				t.Errorf("the page after the submit:\n%s", page)
			}
			assertNoLeak(t, map[string]string{"result": encoded(t, res), "logs": h.logs.String(), "page": page})
		})
	}
}

func TestRequestSecretReplacesAnExistingValue(t *testing.T) {
	t.Parallel()
	e := &urlElicitor{action: mcp.ElicitationResponseActionAccept, value: canaryValue + "-new"}
	h := newHarness(t, urlElicitationClient(e, ""))
	if r := h.call(t, "create_secret", map[string]any{"name": "DB_PASSWORD", "value": canaryValue}); r.IsError {
		t.Fatal(resultText(t, r))
	}
	res := h.call(t, "request_secret_from_user", map[string]any{"name": "DB_PASSWORD"})
	if got := structured(t, res); got["status"] != "stored" || got["action"] != "replace" {
		t.Fatalf("result = %v", got)
	}
	if !h.api.ValueMatches("DB_PASSWORD", canaryValue+"-new") || h.api.Len() != 1 {
		t.Error("the value was not replaced in place")
	}
	if page := e.pageShown(t); !strings.Contains(page, "was replaced") {
		t.Errorf("the page after the submit:\n%s", page)
	}
}

func TestRequestSecretDeclinedSendsNothingAndKillsTheLink(t *testing.T) {
	t.Parallel()
	for _, action := range []mcp.ElicitationResponseAction{mcp.ElicitationResponseActionDecline, mcp.ElicitationResponseActionCancel} {
		t.Run(string(action), func(t *testing.T) {
			e := &urlElicitor{action: action}
			h := newHarness(t, urlElicitationClient(e, ""))
			res := h.call(t, "request_secret_from_user", map[string]any{"name": "NOPE"})
			if got := structured(t, res); res.IsError || got["status"] != "declined" {
				t.Fatalf("result = %s", encoded(t, res))
			}
			if !strings.Contains(encoded(t, res), "nothing was sent to Together") || h.api.Len() != 0 {
				t.Errorf("result = %s; stored %d", encoded(t, res), h.api.Len())
			}
			resp, err := http.Get(e.asked[0].URL)
			if err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusGone || !strings.Contains(string(b), "was cancelled") {
					t.Errorf("declined link: %d %s", resp.StatusCode, b)
				}
			}
		})
	}
}

func TestRequestSecretWithoutURLElicitationHandsBackALink(t *testing.T) {
	t.Parallel()
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			h := newHarness(t, p.opts)
			res := h.call(t, "request_secret_from_user", map[string]any{"name": "OPENAI_KEY", "description": "for the eval job"})
			if res.IsError {
				t.Fatal(resultText(t, res))
			}
			got := structured(t, res)
			link, _ := got["url"].(string)
			if got["status"] != "waiting_for_user" || got["action"] != "create" || got["name"] != "OPENAI_KEY" || got["expires_at"] == nil || !strings.HasPrefix(link, "http://127.0.0.1:") {
				t.Fatalf("result = %v", got)
			}
			var all strings.Builder
			for _, c := range res.Content {
				if tc, ok := c.(mcp.TextContent); ok {
					all.WriteString(tc.Text)
				}
			}
			if !strings.Contains(all.String(), "Give the user this link") || !strings.Contains(all.String(), link) {
				t.Errorf("text = %s", all.String())
			}
			// Nothing is stored until the user submits; then get_secret confirms.
			if h.api.Len() != 0 {
				t.Fatal("stored before the user submitted")
			}
			page := userSubmits(t, link, canaryValue)
			if !h.api.ValueMatches("OPENAI_KEY", canaryValue) || !strings.Contains(page, "was created") {
				t.Fatalf("after submit: %s", page)
			}
			if r := h.call(t, "get_secret", map[string]any{"id": "OPENAI_KEY"}); r.IsError {
				t.Error(resultText(t, r))
			}
			assertNoLeak(t, map[string]string{"result": encoded(t, res), "logs": h.logs.String(), "page": page})
		})
	}
}

func TestRequestSecretRefusesBadNamesBeforeOpeningAPage(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	for _, args := range []map[string]any{{}, {"name": "bad name"}, {"name": "A", "description": strings.Repeat("d", 501)}, {"name": "A", "value": canaryValue}} {
		res := h.call(t, "request_secret_from_user", args)
		if !res.IsError || !strings.Contains(resultText(t, res), "Nothing was sent") {
			t.Errorf("%v: %s", args, resultText(t, res))
		}
	}
	if h.intake.Addr() != "" {
		t.Error("a page was opened for invalid arguments")
	}
	b, _ := json.Marshal(h.srv.Count())
	if string(b) != "0" {
		t.Errorf("%s requests sent", b)
	}
}

func TestRequestSecretDeclinedOnThePageEndsTheWaitingCall(t *testing.T) {
	t.Parallel()
	for _, version := range []string{"", mcp.ProtocolVersion20251125} {
		t.Run("protocol "+version, func(t *testing.T) {
			e := &urlElicitor{action: mcp.ElicitationResponseActionAccept, value: canaryValue, pageDecline: true}
			h := newHarness(t, urlElicitationClient(e, version))
			res := h.call(t, "request_secret_from_user", map[string]any{"name": "UNEXPECTED"})
			if got := structured(t, res); res.IsError || got["status"] != "declined" || !strings.Contains(encoded(t, res), "pressed Decline") {
				t.Fatalf("result = %s", encoded(t, res))
			}
			if h.api.Len() != 0 {
				t.Error("a declined request stored a value")
			}
			page := e.pageShown(t)
			if !strings.Contains(page, "Nothing was stored") {
				t.Errorf("the page after Decline:\n%s", page)
			}
			assertNoLeak(t, map[string]string{"result": encoded(t, res), "logs": h.logs.String(), "page": page})
		})
	}
}

func TestAPageValueThatTheNameOrDescriptionHoldsIsRefusedBeforeAnythingIsRecordedOrSent(t *testing.T) {
	t.Parallel()
	const value = "hunter22-password"
	tests := []struct {
		name     string
		existing bool
		args     map[string]any
	}{
		{"a create whose name is the value", false, map[string]any{"name": value}},
		{"a create whose description holds it", false, map[string]any{"name": "DB", "description": "it is " + value}},
		{"a replace whose description holds it", true, map[string]any{"name": "DB", "description": "it is " + value}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var (
				path string
				log  *audit.Log
			)
			h := newHarnessWith(t, audited(t, &path, &log), nil)
			if tt.existing {
				if r := h.call(t, "create_secret", map[string]any{"name": "DB", "value": canaryValue}); r.IsError {
					t.Fatal(resultText(t, r))
				}
			}
			before := len(h.changesSent())
			linesBefore := len(auditLines(t, path))
			link := structured(t, h.call(t, "request_secret_from_user", tt.args))["url"].(string)
			status, page := userSubmitsFor(t, link, url.Values{"value": {value}})
			if status == http.StatusOK || !strings.Contains(page, "contains the secret value") || !strings.Contains(page, "Nothing was sent to Together") {
				t.Errorf("the page answered %d:\n%s", status, page)
			}
			if sent := h.changesSent()[before:]; len(sent) != 0 {
				t.Errorf("changes sent: %v", sent)
			}
			if lines := auditLines(t, path); len(lines) != linesBefore {
				t.Errorf("audit lines for a change never attempted: %+v", lines[linesBefore:])
			}
			// The name and description were the caller's before the value
			// was typed: the page shows them as sent.
			assertNoLeak(t, map[string]string{"page": page, "log": h.logs.String()})
		})
	}
}
