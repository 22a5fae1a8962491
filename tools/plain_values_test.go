package tools_test

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/together-secrets-mcp/together-secrets-mcp/togetherapi"
)

// pinHarness is a harness whose stand-in also holds "pin-app", a deployment
// with the plain variable DB_PIN=4821, and a secret HF_TOKEN.
func pinHarness(t *testing.T) *harness {
	t.Helper()
	h := newHarness(t, nil)
	h.api.AddDeployment("pin-app", map[string]string{"DB_PIN": "4821"})
	if r := h.call(t, "create_secret", map[string]any{"name": "HF_TOKEN", "value": canaryValue}); r.IsError {
		t.Fatal(resultText(t, r))
	}
	return h
}

// guesses is a caller's argument that holds 51 guesses at a plain value.
func guesses() string {
	g := make([]string, 0, 51)
	for n := 4800; n <= 4850; n++ {
		g = append(g, strconv.Itoa(n))
	}
	return strings.Join(g, " ")
}

// assertShownAsSent fails unless every result holds each of want exactly
// and nothing withheld: whether a guess equals a plain value must not
// change a byte of what the caller reads.
func assertShownAsSent(t *testing.T, r *mcp.CallToolResult, want ...string) {
	t.Helper()
	text := encoded(t, r)
	if strings.Contains(text, togetherapi.Redacted) {
		t.Errorf("the result withholds something:\n%s", text)
	}
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("the result does not show %q as sent:\n%s", w, text)
		}
	}
}

func TestNoResultDependsOnWhetherAGuessEqualsAPlainValue(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		// run makes the calls, the last of which reads deployments after
		// the guess is in place, and returns that call's result.
		run  func(t *testing.T, h *harness) *mcp.CallToolResult
		want []string
	}{
		{"an attach of a secret whose ID or name is the guesses", func(t *testing.T, h *harness) *mcp.CallToolResult {
			return h.call(t, "attach_secret", map[string]any{"deployment": "pin-app", "variable": "X", "secret": guesses()})
		}, []string{guesses(), "no secret has that ID or name"}},
		{"an attach of a secret named as the guess", func(t *testing.T, h *harness) *mcp.CallToolResult {
			if r := h.call(t, "create_secret", map[string]any{"name": "4821", "value": canaryValue}); r.IsError {
				t.Fatal(resultText(t, r))
			}
			return h.call(t, "attach_secret", map[string]any{"deployment": "pin-app", "variable": "X", "secret": "4821"})
		}, []string{`"name":"4821"`}},
		{"a description read back by get_secret", func(t *testing.T, h *harness) *mcp.CallToolResult {
			if r := h.call(t, "update_secret", map[string]any{"id": "HF_TOKEN", "description": "4821"}); r.IsError {
				t.Fatal(resultText(t, r))
			}
			return h.call(t, "get_secret", map[string]any{"id": "HF_TOKEN"})
		}, []string{`"description":"4821"`, `"used_by":[]`}},
		{"a description listed with usage", func(t *testing.T, h *harness) *mcp.CallToolResult {
			if r := h.call(t, "update_secret", map[string]any{"id": "HF_TOKEN", "description": "4821"}); r.IsError {
				t.Fatal(resultText(t, r))
			}
			return h.call(t, "list_secrets", map[string]any{"include_usage": true})
		}, []string{`"description":"4821"`, `"used_by":[]`}},
		{"a description kept by a rename, which reads deployments first", func(t *testing.T, h *harness) *mcp.CallToolResult {
			if r := h.call(t, "update_secret", map[string]any{"id": "HF_TOKEN", "description": "4821"}); r.IsError {
				t.Fatal(resultText(t, r))
			}
			return h.call(t, "update_secret", map[string]any{"id": "HF_TOKEN", "name": "HF_TOKEN_2"})
		}, []string{`"description":"4821"`, `"name":"HF_TOKEN_2"`}},
		{"a description of a deleted secret, whose use was read first", func(t *testing.T, h *harness) *mcp.CallToolResult {
			if r := h.call(t, "update_secret", map[string]any{"id": "HF_TOKEN", "description": "4821"}); r.IsError {
				t.Fatal(resultText(t, r))
			}
			return h.call(t, "delete_secret", map[string]any{"id": "HF_TOKEN"})
		}, []string{`"description":"4821"`, `"deleted":true`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := pinHarness(t)
			assertShownAsSent(t, tc.run(t, h), tc.want...)
		})
	}
}

func TestTheServersOwnWordsAreNeverWithheld(t *testing.T) {
	t.Parallel()
	// Plain values that are, whole, the words the server writes in used_by
	// and previous.
	h := newHarness(t, nil)
	h.api.AddDeployment("words-app", map[string]string{"A": "id", "B": "name", "C": "none", "D": "plain value", "E": "value_from_secret"})
	if r := h.call(t, "create_secret", map[string]any{"name": "HF_TOKEN", "value": canaryValue}); r.IsError {
		t.Fatal(resultText(t, r))
	}
	previous := func(r *mcp.CallToolResult) any {
		t.Helper()
		if r.IsError {
			t.Fatal(resultText(t, r))
		}
		return structured(t, r)["previous"]
	}
	if got := previous(h.call(t, "attach_secret", map[string]any{"deployment": "words-app", "variable": "NEW", "secret": "HF_TOKEN"})); got != "none" {
		t.Errorf("previous of a new variable = %v, want none", got)
	}
	if got := previous(h.call(t, "attach_secret", map[string]any{"deployment": "words-app", "variable": "D", "secret": "HF_TOKEN"})); got != "plain value" {
		t.Errorf("previous of a plain variable = %v, want plain value", got)
	}
	setVariable(t, h.api, "words-app", "BY_NAME", "HF_TOKEN")
	get := h.call(t, "get_secret", map[string]any{"id": "HF_TOKEN"})
	var by []string
	for _, u := range structured(t, get)["used_by"].([]any) {
		by = append(by, u.(map[string]any)["by"].(string))
	}
	if slices.Sort(by); strings.Join(by, ",") != "id,id,name" {
		t.Errorf("used_by[].by = %v, want id, id and name", by)
	}
	if got := previous(h.call(t, "attach_secret", map[string]any{"deployment": "words-app", "variable": "BY_NAME", "detach": true})); got != "value_from_secret HF_TOKEN" {
		t.Errorf("previous of a detached reference = %v, want value_from_secret HF_TOKEN", got)
	}
	assertShownAsSent(t, get)
}

func TestTogethersEchoOfAPlainValueIsStillScrubbed(t *testing.T) {
	t.Parallel()
	// Together refuses the update and quotes the body it was sent, every
	// plain value in it: text the server did not compose.
	h, _ := deploymentHarness(t)
	h.setFault(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPatch || strings.HasPrefix(r.URL.Path, "/v1/deployments/secrets") {
			h.api.ServeHTTP(w, r)
			return
		}
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = fmt.Fprintf(w, `{"error":{"message":"cannot apply %s"}}`, strings.ReplaceAll(string(body), `"`, `\"`))
	})
	r := h.call(t, "attach_secret", map[string]any{"deployment": "canary-app", "variable": "HF_TOKEN", "secret": "HF_TOKEN"})
	if text := resultText(t, r); !r.IsError || !strings.Contains(text, "HTTP 400") || !strings.Contains(text, "DB_PASSWORD") || !strings.Contains(text, togetherapi.Redacted) {
		t.Errorf("result = %s", text)
	}
	assertNoPlainValue(t, h, r)
}
