package tools_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/together-secrets-mcp/together-secrets-mcp/internal/audit"
	"github.com/together-secrets-mcp/together-secrets-mcp/sandbox"
	"github.com/together-secrets-mcp/together-secrets-mcp/tools"
)

// onChanges answers each request that changes something with the next of
// steps, and lets the sandbox answer every read and every change past the
// last step.
func (h *harness) onChanges(steps ...http.HandlerFunc) {
	var n atomic.Int32
	h.setFault(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			if i := int(n.Add(1)) - 1; i < len(steps) {
				steps[i](w, r)
				return
			}
		}
		h.api.ServeHTTP(w, r)
	})
}

// madeThen lets the sandbox make the change, then answers status in its
// place, as a gateway does when the answer is lost behind it.
func (h *harness) madeThen(status int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		h.api.ServeHTTP(httptest.NewRecorder(), r)
		w.WriteHeader(status)
	}
}

// madeThenReset lets the sandbox make the change, then drops the connection.
func (h *harness) madeThenReset(w http.ResponseWriter, r *http.Request) {
	h.api.ServeHTTP(httptest.NewRecorder(), r)
	if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
		_ = conn.Close()
	}
}

func answered(status int, headers ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		w.WriteHeader(status)
	}
}

// outcomeOf returns the outcome line of the audit trail's last call.
func outcomeOf(t *testing.T, path string) audit.Entry {
	t.Helper()
	lines := auditLines(t, path)
	if len(lines) == 0 || lines[len(lines)-1].Phase != "outcome" {
		t.Fatalf("the trail does not end with an outcome: %+v", lines)
	}
	return lines[len(lines)-1]
}

// saysItMayHaveTakenEffect reports whether a tool's error tells the agent
// to check before retrying.
func saysItMayHaveTakenEffect(text string) bool {
	return strings.Contains(text, "may or may not have taken effect") || strings.Contains(text, "Could not tell whether")
}

func TestAChangeWhoseAnswerWasLostIsAuditedAsUnknownAndWordedSo(t *testing.T) {
	t.Parallel()
	const rotated = "rotated-value-0123456789"
	rotate := map[string]any{"id": "A", "value": rotated}
	attach := map[string]any{"deployment": sandbox.ExampleDeployment, "variable": "A_TOKEN", "secret": "A"}
	tests := []struct {
		name    string
		retries int
		tool    string
		args    map[string]any
		fault   func(h *harness)
		outcome string
	}{
		{"a rotation made, then answered 504", 0, "update_secret", rotate,
			func(h *harness) { h.onChanges(h.madeThen(504)) }, "unknown"},
		{"a rotation made, then its connection broken", 0, "update_secret", rotate,
			func(h *harness) { h.onChanges(h.madeThenReset) }, "unknown"},
		{"a rotation made, then answered 504, whose retry is answered 429", 1, "update_secret", rotate,
			func(h *harness) { h.onChanges(h.madeThen(504), answered(429, "Retry-After-Ms", "1")) }, "unknown"},
		{"an attach made, then answered 504", 0, "attach_secret", attach,
			func(h *harness) { h.onChanges(h.madeThen(504)) }, "unknown"},
		{"an attach made, then answered a success that is no deployment", 0, "attach_secret", attach,
			func(h *harness) { h.onChanges(h.madeThen(200)) }, "unknown"},
		{"a rotation Together refused", 0, "update_secret", rotate,
			func(h *harness) { h.onChanges(answered(400)) }, "failed"},
		{"a rotation Together did not act on", 0, "update_secret", rotate,
			func(h *harness) { h.onChanges(answered(503)) }, "failed"},
		{"an attach whose deployment could not be read", 0, "attach_secret", attach, func(h *harness) {
			h.setFault(func(w http.ResponseWriter, r *http.Request) {
				if strings.Contains(r.URL.Path, "/deployments/"+sandbox.ExampleDeployment) {
					w.WriteHeader(500)
					return
				}
				h.api.ServeHTTP(w, r)
			})
		}, "failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var (
				path string
				log  *audit.Log
			)
			h := newHarnessWith(t, audited(t, &path, &log), nil, withRetries(tt.retries))
			if _, err := h.client.CreateSecret(h.ctx(), createRequest("A", "first-value-0123456789")); err != nil {
				t.Fatal(err)
			}
			sent := len(h.changesSent())
			tt.fault(h)
			r := h.call(t, tt.tool, tt.args)
			text := resultText(t, r)
			if !r.IsError {
				t.Fatalf("%s succeeded: %s", tt.tool, text)
			}
			// A change never sent may have no line at all; one sent has its
			// attempt and its outcome.
			outcome := "failed"
			if lines := auditLines(t, path); len(lines) > 0 {
				outcome = outcomeOf(t, path).Outcome
			} else if len(h.changesSent()) > sent {
				t.Fatalf("a change was sent without an audit line: %v", h.changesSent()[sent:])
			}
			if outcome != tt.outcome {
				t.Errorf("the audit outcome is %q, want %q; the tool said: %s", outcome, tt.outcome, text)
			}
			if saysItMayHaveTakenEffect(text) != (outcome == "unknown") {
				t.Errorf("the tool's words and the audit outcome %q disagree: %s", outcome, text)
			}
			if tt.outcome == "unknown" && tt.tool == "update_secret" && !h.api.ValueMatches("A", rotated) {
				t.Error("the stand-in did not make the change the test is about")
			}
		})
	}
}

func TestAChangeCancelledAfterItWasSentIsAuditedAsUnknown(t *testing.T) {
	t.Parallel()
	var (
		path string
		log  *audit.Log
	)
	h := newHarnessWith(t, audited(t, &path, &log), nil)
	if _, err := h.client.CreateSecret(h.ctx(), createRequest("A", "first-value-0123456789")); err != nil {
		t.Fatal(err)
	}
	// The rotation is made, and the answer held back until the caller gives
	// up, as when SIGTERM cancels a call over stdio.
	ctx, cancel := context.WithCancel(h.ctx())
	defer cancel()
	h.onChanges(func(w http.ResponseWriter, r *http.Request) {
		h.api.ServeHTTP(httptest.NewRecorder(), r)
		cancel()
		<-r.Context().Done()
	})
	res, err := h.mcp.CallTool(ctx, mcp.CallToolRequest{Params: mcp.CallToolParams{Name: "update_secret", Arguments: map[string]any{"id": "A", "value": "rotated-value-0123456789"}}})
	if err != nil {
		t.Fatalf("CallTool: protocol error %v", err)
	}
	if text := resultText(t, res); !res.IsError || !saysItMayHaveTakenEffect(text) {
		t.Errorf("the tool says: %s", text)
	}
	if !h.api.ValueMatches("A", "rotated-value-0123456789") {
		t.Fatal("the stand-in did not make the change the test is about")
	}
	// The in-process call returns once its handler has: both lines are in.
	if e := outcomeOf(t, path); e.Outcome != "unknown" {
		t.Errorf("the audit outcome is %q, want unknown", e.Outcome)
	}
	if b, _ := os.ReadFile(path); strings.Contains(string(b), "rotated-value") {
		t.Errorf("the trail holds the value:\n%s", b)
	}
}

func TestAValuesOnlyRefusalIsAuditedWithTheSecretTheCallNamed(t *testing.T) {
	t.Parallel()
	var (
		path string
		log  *audit.Log
	)
	h := newHarnessWith(t, func(c *tools.Config) { audited(t, &path, &log)(c); valuesFromUserOnly(c) }, nil)
	tests := []struct {
		tool   string
		args   map[string]any
		secret string
	}{
		{"update_secret", map[string]any{"id": "TARGET", "Value": canaryValue}, "TARGET"},
		{"update_secret", map[string]any{"id": "TARGET", "name": "RENAMED", "new_value": canaryValue}, "TARGET"}, // and new_name RENAMED
		{"delete_secret", map[string]any{"id": "GONE", "value": canaryValue}, "GONE"},
		{"request_secret_from_user", map[string]any{"name": "PAGE", "value": canaryValue}, "PAGE"},
		{"attach_secret", map[string]any{"deployment": "example-eval", "variable": "V", "secret": "ATTACHED", "value": canaryValue}, "ATTACHED"},
		// The caller's name holds the key: scrubbed, as every audit text.
		{"update_secret", map[string]any{"id": "x-" + canaryKey, "value": canaryValue}, "x-[REDACTED]"},
		// A name longer than any the tool takes is cut, as every audit text.
		{"delete_secret", map[string]any{"id": strings.Repeat("n", 1000), "value": canaryValue}, strings.Repeat("n", 256) + "…"},
		// Nothing that names a secret: none is guessed.
		{"list_secrets", map[string]any{"Value": canaryValue}, ""},
		{"update_secret", map[string]any{"id": 7, canaryValue: true}, ""},
	}
	for _, tt := range tests {
		before := len(auditLines(t, path))
		if r := h.call(t, tt.tool, tt.args); !r.IsError {
			t.Fatalf("%s %v was not refused", tt.tool, tt.args)
		}
		lines := auditLines(t, path)[before:]
		if len(lines) != 1 || lines[0].Phase != "refused" || lines[0].Tool != tt.tool || lines[0].Secret != tt.secret {
			t.Errorf("%s %v: audit lines %+v, want one refusal naming %q", tt.tool, tt.args, lines, tt.secret)
		}
		if want, _ := tt.args["name"].(string); len(lines) == 1 && tt.args["id"] != nil && lines[0].NewName != want {
			t.Errorf("%s %v: new_name %q, want %q", tt.tool, tt.args, lines[0].NewName, want)
		}
	}
	b, _ := os.ReadFile(path)
	assertNoLeak(t, map[string]string{"audit log": string(b)})
}

func TestARenameIsAuditedWithTheOldNameAndTheNew(t *testing.T) {
	t.Parallel()
	var (
		path string
		log  *audit.Log
	)
	h := newHarnessWith(t, func(c *tools.Config) { audited(t, &path, &log)(c); scoped(c) }, nil)
	s, err := h.client.CreateSecret(h.ctx(), createRequest("team-a/OLD", "first-value-0123456789"))
	if err != nil {
		t.Fatal(err)
	}
	type line struct{ phase, secret, newName string }
	for _, tt := range []struct {
		name string
		args map[string]any
		want []line
	}{
		{"by name", map[string]any{"id": "team-a/OLD", "name": "team-a/NEW"},
			[]line{{"attempt", "team-a/OLD", "team-a/NEW"}, {"outcome", "team-a/OLD", "team-a/NEW"}}},
		{"by ID, with a new description", map[string]any{"id": s.ID, "name": "team-a/NEWER", "description": "d"},
			[]line{{"attempt", "team-a/NEW", "team-a/NEWER"}, {"outcome", "team-a/NEW", "team-a/NEWER"}}},
		{"out of scope", map[string]any{"id": "team-a/NEWER", "name": "team-b/OUT"},
			[]line{{"refused", "team-a/NEWER", "team-b/OUT"}}},
		// A name the caller chose may hold the key: scrubbed, as every audit text.
		{"to a name that holds the key", map[string]any{"id": "team-a/NEWER", "name": "team-a/x-" + canaryKey},
			[]line{{"attempt", "team-a/NEWER", "team-a/x-[REDACTED]"}, {"outcome", "team-a/NEWER", "team-a/x-[REDACTED]"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := len(auditLines(t, path))
			h.call(t, "update_secret", tt.args)
			var got []line
			for _, e := range auditLines(t, path)[before:] {
				got = append(got, line{e.Phase, e.Secret, e.NewName})
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("audit lines %+v, want %+v", got, tt.want)
			}
		})
	}
	b, _ := os.ReadFile(path)
	if !strings.Contains(string(b), `"new_name":"team-a/NEW"`) {
		t.Errorf("the field is not named new_name:\n%s", b)
	}
	assertNoLeak(t, map[string]string{"audit log": string(b)})
}
