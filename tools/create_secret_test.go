package tools_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/together-secrets-mcp/together-secrets-mcp/togetherapi"
)

func TestCreateSecretStoresTheValueAndReturnsOnlyMetadata(t *testing.T) {
	t.Parallel()
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			h := newHarness(t, p.opts)
			res := h.call(t, "create_secret", map[string]any{
				"name": "prod/HF_TOKEN", "value": canaryValue, "description": "Hugging Face read token",
			})
			if res.IsError {
				t.Fatalf("tool error: %s", resultText(t, res))
			}
			if !h.api.ValueMatches("prod/HF_TOKEN", canaryValue) {
				t.Error("the stand-in API did not receive the value")
			}

			var structured map[string]any
			raw, _ := json.Marshal(res.StructuredContent)
			if err := json.Unmarshal(raw, &structured); err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"object", "id", "name", "description", "created_at", "updated_at", "created_by", "last_updated_by"} {
				if _, ok := structured[k]; !ok {
					t.Errorf("structured content lacks %q: %v", k, structured)
				}
			}
			if len(structured) != 8 {
				t.Errorf("structured content has %d fields, want the 8 of SecretResponseItem: %v", len(structured), structured)
			}
			if structured["name"] != "prod/HF_TOKEN" || structured["object"] != "secret" {
				t.Errorf("structured content = %v", structured)
			}
			var fromText map[string]any
			if err := json.Unmarshal([]byte(resultText(t, res)), &fromText); err != nil {
				t.Fatalf("text fallback is not the JSON metadata: %v", err)
			}
			if diff := cmp.Diff(structured, fromText); diff != "" {
				t.Errorf("text fallback differs from structured content (-structured +text):\n%s", diff)
			}
			assertNoLeak(t, map[string]string{"result": encoded(t, res), "logs": h.logs.String()})
		})
	}
}

func TestCreateSecretRefusesBadArgumentsBeforeCallingTogether(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	tests := []struct {
		name string
		args any
		want []string
	}{
		{"no arguments", nil, []string{"name is required"}},
		{"array", []any{"name", "value"}, []string{"arguments must be a JSON object, not an array"}},
		{"string", "HF_TOKEN", []string{"arguments must be a JSON object, not a string"}},
		{"missing value", map[string]any{"name": "A"}, []string{"value is required"}},
		{"null value", map[string]any{"name": "A", "value": nil}, []string{"value is required"}},
		{"empty value", map[string]any{"name": "A", "value": ""}, []string{"value must not be empty"}},
		{"value of wrong type", map[string]any{"name": "A", "value": 123456}, []string{"value must be a string, not a number"}},
		{"value object", map[string]any{"name": "A", "value": map[string]any{"k": canaryValue}}, []string{"value must be a string, not an object"}},
		{"missing name", map[string]any{"value": canaryValue}, []string{"name is required"}},
		{"empty name", map[string]any{"name": "", "value": canaryValue}, []string{"name must not be empty"}},
		{"name of wrong type", map[string]any{"name": true, "value": canaryValue}, []string{"name must be a string, not a boolean"}},
		{"name too long", map[string]any{"name": strings.Repeat("n", 101), "value": canaryValue}, []string{"name must be at most 100 characters (it has 101)"}},
		{"name with space", map[string]any{"name": "my token", "value": canaryValue}, []string{"name may contain only letters, digits, '_', '-', '/' and '.'", "found ' ' at position 3"}},
		{"description too long", map[string]any{"name": "A", "value": canaryValue, "description": strings.Repeat("d", 501)}, []string{"description must be at most 500 characters (it has 501)"}},
		{"description of wrong type", map[string]any{"name": "A", "value": canaryValue, "description": 5}, []string{"description must be a string"}},
		{"project_id of wrong type", map[string]any{"name": "A", "value": canaryValue, "project_id": []any{}}, []string{"project_id must be a string, not an array"}},
		{"unknown argument", map[string]any{"name": "A", "value": canaryValue, "secret": canaryValue}, []string{`unknown argument "secret"`, "accepted ones are name, value, description, project_id"}},
		{"unknown arguments", map[string]any{"name": "A", "value": canaryValue, "b": 1, "a": 2}, []string{`unknown arguments "a", "b"`}},
		{"value over 64 KiB", map[string]any{"name": "A", "value": strings.Repeat("v", 65537)}, []string{"value must be at most 65536 bytes (it has 65537)"}},
		// The arguments {"name":"A","value":"…"} are 23 bytes and the value:
		// at the cap of 458752 they are read, and the value refused; a byte
		// over, they are not read at all.
		{"arguments at the cap", map[string]any{"name": "A", "value": strings.Repeat("v", 458752-23)}, []string{"value must be at most 65536 bytes (it has 458729)"}},
		{"arguments a byte over the cap", map[string]any{"name": "A", "value": strings.Repeat("v", 458752-23+1)}, []string{"arguments are 458753 bytes, more than the 458752 accepted (a value may be at most 65536 bytes)"}},
		{"project_id too long", map[string]any{"name": "A", "value": canaryValue, "project_id": strings.Repeat("p", 257)}, []string{"project_id must be at most 256 characters (it has 257)"}},
		{"name holding the value", map[string]any{"name": "svc/CANARYVALUE-9f8e7d6c", "value": "CANARYVALUE-9f8e7d6c"}, []string{"name contains the secret value", "Choose a name and description that do not hold the value"}},
		{"description holding the value", map[string]any{"name": "A", "value": canaryValue, "description": "it is " + canaryValue}, []string{"description contains the secret value"}},
		{"name that is the value", map[string]any{"name": "pin", "value": "pin"}, []string{"name contains the secret value"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := h.call(t, "create_secret", tt.args)
			if !res.IsError {
				t.Fatalf("want a tool error, got %s", encoded(t, res))
			}
			text := resultText(t, res)
			for _, w := range tt.want {
				if !strings.Contains(text, w) {
					t.Errorf("error %q does not say %q", text, w)
				}
			}
			if !strings.Contains(text, "Nothing was sent to Together") {
				t.Errorf("error %q does not say that nothing was sent", text)
			}
			assertNoLeak(t, map[string]string{"result": encoded(t, res)}, "123456")
		})
	}
	if n := h.srv.Count(); n != 0 {
		t.Errorf("%d requests reached the API for invalid arguments", n)
	}
	if h.api.Len() != 0 {
		t.Errorf("the API holds %d secrets after only invalid calls", h.api.Len())
	}
	assertNoLeak(t, map[string]string{"logs": h.logs.String()})
}

func TestCreateSecretExplainsEachFailure(t *testing.T) {
	t.Parallel()
	quoting := fmt.Sprintf(`{"error":{"message":"invalid body {\"value\":%q} for key %s"}}`, canaryValue, canaryKey)
	jsonResp := func(status int, body string, headers ...string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			for i := 0; i+1 < len(headers); i += 2 {
				w.Header().Set(headers[i], headers[i+1])
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_, _ = io.WriteString(w, body)
		}
	}
	tests := []struct {
		name  string
		fault http.HandlerFunc
		want  []string
	}{
		{"400 quoting the value and key", jsonResp(400, quoting), []string{"HTTP 400", "invalid body", "[REDACTED]", "fix the arguments"}},
		{"401", jsonResp(401, `{"error":{"message":"Invalid API key provided"}}`), []string{"HTTP 401", "TOGETHER_API_KEY"}},
		{"403", jsonResp(403, `{"message":"forbidden"}`), []string{"HTTP 403", "not allowed to do this"}},
		{"404", jsonResp(404, `{"message":"no route"}`), []string{"HTTP 404", "Check that TOGETHER_BASE_URL is Together's API root"}},
		{"429", jsonResp(429, `{"message":"rate limited"}`, "Retry-After", "3"), []string{"HTTP 429", "wait 3s"}},
		{"500", jsonResp(500, `{"message":"boom"}`), []string{"Could not tell whether create secret \"A\" took effect: Together answered HTTP 500 (boom)", "Reading the secrets back failed too", "To check: list the secrets; if \"A\" is there with a created_at after"}},
		{"502 html", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(502)
			_, _ = io.WriteString(w, "<html>"+canaryValue+"</html>")
		}, []string{"HTTP 502", "HTML page"}},
		{"500 quoting the value in plain text", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(500)
			b, _ := io.ReadAll(r.Body)
			_, _ = w.Write(b)
		}, []string{"HTTP 500", "[REDACTED]"}},
		{"redirect", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "https://elsewhere.example/v1/deployments/secrets", http.StatusTemporaryRedirect)
		}, []string{"HTTP 307", "redirect to elsewhere.example refused", "Nothing was sent to the redirect's target"}},
		{"huge body", jsonResp(200, strings.Repeat(" ", 1<<20+1)), []string{"larger than 1048576 bytes"}},
		{"malformed success", jsonResp(200, "{"), []string{"Could not tell whether create secret \"A\" took effect: Together answered success, but not with the secret's metadata", "list the secrets"}},
		{"connection reset", func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
		}, []string{"Could not tell whether create secret \"A\" took effect: the connection to Together broke after the request was sent", "list the secrets"}},
		{"success echoing the value", jsonResp(200, fmt.Sprintf(`{"object":"secret","id":"s1","name":"A","value":%q,"description":%q}`, canaryValue, canaryValue)), nil},
	}
	h := newHarness(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.setFault(tt.fault)
			res := h.call(t, "create_secret", map[string]any{"name": "A", "value": canaryValue})
			text := resultText(t, res)
			if res.IsError != (tt.want != nil) {
				t.Fatalf("IsError = %v: %s", res.IsError, text)
			}
			for _, w := range tt.want {
				if !strings.Contains(text, w) {
					t.Errorf("error %q does not say %q", text, w)
				}
			}
			assertNoLeak(t, map[string]string{"result": encoded(t, res)})
		})
	}
	assertNoLeak(t, map[string]string{"logs": h.logs.String()})
}

func TestCreateSecretReportsATakenName(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	if res := h.call(t, "create_secret", map[string]any{"name": "DB_PASSWORD", "value": "first"}); res.IsError {
		t.Fatal(resultText(t, res))
	}
	res := h.call(t, "create_secret", map[string]any{"name": "DB_PASSWORD", "value": canaryValue})
	if !res.IsError {
		t.Fatal("a duplicate name was accepted")
	}
	if got := resultText(t, res); !strings.Contains(got, `A secret named "DB_PASSWORD" already exists`) {
		t.Errorf("error = %q", got)
	}
	if !h.api.ValueMatches("DB_PASSWORD", "first") {
		t.Error("the existing secret's value changed")
	}
}

func TestCreateSecretTimeoutAndUnreachableHost(t *testing.T) {
	t.Parallel()
	t.Run("timeout", func(t *testing.T) {
		h := newHarness(t, nil, withTimeout(50*time.Millisecond))
		h.setFault(func(w http.ResponseWriter, r *http.Request) {
			// The server notices a client hanging up only once the body is read.
			_, _ = io.Copy(io.Discard, r.Body)
			<-r.Context().Done()
		})
		res := h.call(t, "create_secret", map[string]any{"name": "A", "value": canaryValue})
		text := resultText(t, res)
		if !res.IsError || !strings.Contains(text, `Could not tell whether create secret "A" took effect: Together did not answer within 25ms`) ||
			!strings.Contains(text, "To check: ") {
			t.Errorf("result = %s", text)
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		h := newHarness(t, nil, withBaseURL("http://"+addr+"/v1"))
		res := h.call(t, "create_secret", map[string]any{"name": "A", "value": canaryValue})
		text := resultText(t, res)
		if !res.IsError || !strings.Contains(text, "could not be reached") || !strings.Contains(text, "TOGETHER_BASE_URL") {
			t.Errorf("result = %s", text)
		}
		assertNoLeak(t, map[string]string{"result": encoded(t, res), "logs": h.logs.String()})
	})
}

func TestCreateSecretWithoutAKeyTellsHowToSetOne(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, withoutKey())
	res := h.call(t, "create_secret", map[string]any{"name": "A", "value": canaryValue})
	text := resultText(t, res)
	if !res.IsError || !strings.Contains(text, "TOGETHER_API_KEY") || !strings.Contains(text, "--sandbox") {
		t.Errorf("result = %s", text)
	}
	if n := h.srv.Count(); n != 0 {
		t.Errorf("%d requests were sent without a key", n)
	}
}

func TestOneLogEventPerCallWithoutTheValue(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.call(t, "create_secret", map[string]any{"name": "LOGGED", "value": canaryValue})
	h.call(t, "create_secret", map[string]any{"name": "bad name", "value": canaryValue})
	h.setFault(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) })
	h.call(t, "create_secret", map[string]any{"name": "LOGGED2", "value": canaryValue})

	events := logEvents(t, h.logs.String())
	if len(events) != 3 {
		t.Fatalf("got %d log events, want 3:\n%s", len(events), h.logs.String())
	}
	want := []map[string]any{
		{"tool": "create_secret", "secret": "LOGGED", "outcome": "ok", "http_status": 200.0, "attempts": 1.0},
		{"tool": "create_secret", "outcome": "invalid_arguments", "http_status": 0.0, "attempts": 0.0},
		{"tool": "create_secret", "secret": "LOGGED2", "outcome": "error", "http_status": 503.0},
	}
	for i, ev := range events {
		for k, v := range want[i] {
			if ev[k] != v {
				t.Errorf("event %d: %s = %v, want %v", i, k, ev[k], v)
			}
		}
		if _, ok := ev["duration_ms"]; !ok {
			t.Errorf("event %d has no duration", i)
		}
	}
	assertNoLeak(t, map[string]string{"logs": h.logs.String()})
}

// panicTransport panics with the request body, the worst thing a bug below
// the handler could do.
type panicTransport struct{}

func (panicTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	b, _ := io.ReadAll(r.Body)
	panic("transport bug: " + string(b))
}

func TestAPanicBecomesAGenericErrorAndTheServerLives(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, func(c *togetherapi.Config) { c.Transport = panicTransport{} })
	res := h.call(t, "create_secret", map[string]any{"name": "A", "value": canaryValue})
	if !res.IsError || !strings.Contains(resultText(t, res), "internal error") {
		t.Fatalf("result = %s", encoded(t, res))
	}
	assertNoLeak(t, map[string]string{"result": encoded(t, res), "logs": h.logs.String()})
	if !strings.Contains(h.logs.String(), `"outcome":"panic"`) {
		t.Errorf("the panic was not logged:\n%s", h.logs.String())
	}
	// Still serving.
	if _, err := h.mcp.ListTools(t.Context(), mcp.ListToolsRequest{}); err != nil {
		t.Errorf("tools/list after a panic: %v", err)
	}
}

func TestShortValuesLeaveTheMetadataWholeAndUsable(t *testing.T) {
	t.Parallel()
	// A value such as "e" or "2026" occurs by chance in IDs, in "secret"
	// and in timestamps. The agent gets them whole, and can use the ID.
	for _, value := range []string{"e", "1", "true", "prod", "2026", "secret", "c"} {
		t.Run(value, func(t *testing.T) {
			h := newHarness(t, nil)
			res := h.call(t, "create_secret", map[string]any{"name": "prod/SECRET_E", "value": value, "description": "see here"})
			if res.IsError {
				t.Fatal(resultText(t, res))
			}
			got := structured(t, res)
			if got["object"] != "secret" || got["name"] != "prod/SECRET_E" || got["description"] != "see here" {
				t.Errorf("metadata = %v", got)
			}
			for _, k := range []string{"id", "created_at", "updated_at", "created_by", "last_updated_by"} {
				if v, _ := got[k].(string); v == "" || strings.Contains(v, togetherapi.Redacted) {
					t.Errorf("%s = %q", k, v)
				}
			}
			again := h.call(t, "get_secret", map[string]any{"id": got["id"]})
			if again.IsError || structured(t, again)["id"] != got["id"] {
				t.Errorf("get_secret with the returned id: %s", encoded(t, again))
			}
			var fromText map[string]any
			if err := json.Unmarshal([]byte(resultText(t, res)), &fromText); err != nil {
				t.Fatalf("text is not JSON: %v", err)
			}
			if diff := cmp.Diff(got, fromText); diff != "" {
				t.Errorf("text differs from structured content:\n%s", diff)
			}
		})
	}
}

func TestEachRetryIsLoggedWithoutTheValue(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, withRetries(2))
	var n atomic.Int32
	h.setFault(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("Retry-After-Ms", "5")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		h.api.ServeHTTP(w, r)
	})
	res := h.call(t, "create_secret", map[string]any{"name": "RETRIED", "value": canaryValue})
	if res.IsError {
		t.Fatal(resultText(t, res))
	}
	var retry, call map[string]any
	for _, ev := range logEvents(t, h.logs.String()) {
		switch ev["message"] {
		case "retrying":
			retry = ev
		case "tool call":
			call = ev
		}
	}
	if retry == nil || retry["attempt"] != 1.0 || retry["http_status"] != 429.0 || retry["wait_ms"] != 5.0 || retry["secret"] != "RETRIED" {
		t.Errorf("retry event = %v", retry)
	}
	if call == nil || call["attempts"] != 2.0 || call["outcome"] != "ok" {
		t.Errorf("call event = %v", call)
	}
	assertNoLeak(t, map[string]string{"logs": h.logs.String(), "result": encoded(t, res)})
}
