package tools_test

import (
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/rs/zerolog"

	"github.com/together-secrets-mcp/together-secrets-mcp/internal/audit"
	"github.com/together-secrets-mcp/together-secrets-mcp/sandbox"
	"github.com/together-secrets-mcp/together-secrets-mcp/togetherapi"
	"github.com/together-secrets-mcp/together-secrets-mcp/tools"
)

// Plain values of deployments' variables, which must never be shown: one
// that looks like a secret, one that is one character, and the example's.
const (
	plainCanary  = "PLAINCANARY-db-pass-77aa88bb"
	plainShort   = "q"
	plainExample = "sandbox-plain-wandb-0a1b2c3d4e5f"
)

// deploymentHarness is a harness whose stand-in also holds "canary-app",
// a deployment with plain values, and a secret HF_TOKEN.
func deploymentHarness(t *testing.T) (*harness, string) {
	t.Helper()
	h := newHarness(t, nil)
	id := h.api.AddDeployment("canary-app", map[string]string{"DB_PASSWORD": plainCanary, "WORKERS": plainShort, "MODE": "prod"})
	if r := h.call(t, "create_secret", map[string]any{"name": "HF_TOKEN", "value": canaryValue}); r.IsError {
		t.Fatal(resultText(t, r))
	}
	return h, id
}

// assertNoPlainValue fails if any plain value of any deployment, or a
// canary, shows in the results or the log.
func assertNoPlainValue(t *testing.T, h *harness, results ...*mcp.CallToolResult) {
	t.Helper()
	texts := map[string]string{"log": h.logs.String()}
	for i, r := range results {
		texts["result "+string(rune('A'+i))] = encoded(t, r)
	}
	assertNoLeak(t, texts, plainCanary, plainExample, "PLAINCANARY", "sandbox-plain")
	for where, text := range texts {
		// The one-character value may stand only inside other words.
		for _, tok := range strings.FieldsFunc(text, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_')
		}) {
			if tok == plainShort {
				t.Errorf("%s holds the plain value %q as a word:\n%s", where, plainShort, text)
			}
		}
	}
}

func TestAttachSetsOneVariableByIDAndKeepsEveryOther(t *testing.T) {
	t.Parallel()
	h, dep := deploymentHarness(t)
	before := h.api.Variables(dep)

	r := h.call(t, "attach_secret", map[string]any{"deployment": "canary-app", "variable": "HF_TOKEN", "secret": "HF_TOKEN"})
	if r.IsError {
		t.Fatal(resultText(t, r))
	}
	got := structured(t, r)
	secretID := got["secret"].(map[string]any)["id"].(string)
	if got["changed"] != true || got["previous"] != "none" || got["variable"] != "HF_TOKEN" {
		t.Errorf("result = %v", got)
	}
	if d := got["deployment"].(map[string]any); d["name"] != "canary-app" || d["id"] != dep || d["status"] != "Updating" {
		t.Errorf("deployment in the result = %v", d)
	}
	if !strings.Contains(encoded(t, r), "rolls the deployment out again") {
		t.Errorf("the result does not say the deployment rolls out again: %s", encoded(t, r))
	}
	after := h.api.Variables(dep)
	want := maps.Clone(before)
	want["HF_TOKEN"] = "secret:" + secretID
	if !maps.Equal(after, want) {
		t.Errorf("variables after = %v, want %v", after, want)
	}
	assertNoPlainValue(t, h, r)

	// The same call again changes nothing and sends nothing.
	sent := len(h.changesSent())
	again := h.call(t, "attach_secret", map[string]any{"deployment": dep, "variable": "HF_TOKEN", "secret": secretID})
	if again.IsError || structured(t, again)["changed"] != false {
		t.Errorf("second attach = %s", encoded(t, again))
	}
	if n := len(h.changesSent()); n != sent {
		t.Errorf("the second attach sent %v", h.changesSent()[sent:])
	}
}

func TestWhereASecretIsUsedIsShownByGetAndList(t *testing.T) {
	t.Parallel()
	h, dep := deploymentHarness(t)
	if r := h.call(t, "get_secret", map[string]any{"id": "HF_TOKEN"}); structured(t, r)["used_by"] == nil || len(structured(t, r)["used_by"].([]any)) != 0 {
		t.Errorf("an unused secret's used_by = %s", encoded(t, r))
	}
	if r := h.call(t, "attach_secret", map[string]any{"deployment": "canary-app", "variable": "HF_TOKEN", "secret": "HF_TOKEN"}); r.IsError {
		t.Fatal(resultText(t, r))
	}
	// A second deployment takes it by name.
	setVariable(t, h.api, sandbox.ExampleDeployment, "TOKEN", "HF_TOKEN")

	get := h.call(t, "get_secret", map[string]any{"id": "HF_TOKEN"})
	uses := structured(t, get)["used_by"].([]any)
	wantUses := []map[string]any{
		{"deployment": "canary-app", "deployment_id": dep, "variable": "HF_TOKEN", "by": "id"},
		{"deployment": sandbox.ExampleDeployment, "variable": "TOKEN", "by": "name"},
	}
	if len(uses) != len(wantUses) {
		t.Fatalf("used_by = %v", uses)
	}
	for i, w := range wantUses {
		u := uses[i].(map[string]any)
		for k, v := range w {
			if u[k] != v {
				t.Errorf("used_by[%d].%s = %v, want %v", i, k, u[k], v)
			}
		}
	}

	before := len(h.sent())
	list := h.call(t, "list_secrets", map[string]any{"include_usage": true})
	secrets := structured(t, list)["secrets"].([]any)
	if len(secrets) != 1 || len(secrets[0].(map[string]any)["used_by"].([]any)) != 2 {
		t.Errorf("list with usage = %s", encoded(t, list))
	}
	if reads := h.sent()[before:]; !slices.Equal(reads, []string{"GET /v1/deployments/secrets", "GET /v1/deployments"}) {
		t.Errorf("list with usage sent %v, want one list of secrets and one of deployments", reads)
	}
	if plain := structured(t, h.call(t, "list_secrets", nil))["secrets"].([]any)[0].(map[string]any); plain["used_by"] != nil {
		t.Errorf("a list without include_usage has used_by: %v", plain)
	}
	assertNoPlainValue(t, h, get, list)
}

// setVariable makes a deployment's variable reference secret, as another
// client of the API would, behind the server's back.
func setVariable(t *testing.T, api *sandbox.Server, deployment, variable, secret string) {
	t.Helper()
	vars := api.Variables(deployment)
	var b strings.Builder
	b.WriteString(`{"environment_variables":[`)
	first := true
	add := func(name, kind, v string) {
		if !first {
			b.WriteString(",")
		}
		first = false
		b.WriteString(`{"name":` + quote(name) + `,` + quote(kind) + `:` + quote(v) + `}`)
	}
	for name, v := range vars {
		if name == variable {
			continue
		}
		if s, ok := strings.CutPrefix(v, "secret:"); ok {
			add(name, "value_from_secret", s)
		} else {
			add(name, "value", strings.TrimPrefix(v, "value:"))
		}
	}
	add(variable, "value_from_secret", secret)
	b.WriteString("]}")
	req := httptest.NewRequest(http.MethodPatch, "/v1/deployments/"+deployment, strings.NewReader(b.String()))
	req.Header.Set("Authorization", "Bearer "+canaryKey)
	req.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	api.ServeHTTP(w, req)
	if w.Code != http.StatusOK {
		t.Fatalf("PATCH behind the server's back: %d %s", w.Code, w.Body)
	}
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestADeleteOfASecretInUseIsRefusedAndSendsNothing(t *testing.T) {
	t.Parallel()
	h, _ := deploymentHarness(t)
	if r := h.call(t, "attach_secret", map[string]any{"deployment": "canary-app", "variable": "HF_TOKEN", "secret": "HF_TOKEN"}); r.IsError {
		t.Fatal(resultText(t, r))
	}
	sent := len(h.changesSent())
	refused := h.call(t, "delete_secret", map[string]any{"id": "HF_TOKEN"})
	text := resultText(t, refused)
	for _, want := range []string{`deployment "canary-app"`, "variable HF_TOKEN", "by id", "Nothing was sent", "even_if_used", "attach_secret"} {
		if !refused.IsError || !strings.Contains(text, want) {
			t.Errorf("refused delete does not say %q: %s", want, text)
		}
	}
	if got := h.changesSent()[sent:]; len(got) != 0 {
		t.Errorf("a refused delete sent %v", got)
	}
	if h.api.Len() != 1 {
		t.Error("the secret is gone")
	}
	events := logEvents(t, h.logs.String())
	if last := events[len(events)-1]; last["outcome"] != "refused_in_use" {
		t.Errorf("refused delete logged as %v", last["outcome"])
	}

	forced := h.call(t, "delete_secret", map[string]any{"id": "HF_TOKEN", "even_if_used": true})
	if forced.IsError || h.api.Len() != 0 {
		t.Fatalf("delete with even_if_used: %s", encoded(t, forced))
	}
	uses := structured(t, forced)["secret"].(map[string]any)["used_by"].([]any)
	if len(uses) != 1 || !strings.Contains(encoded(t, forced), "these now break") {
		t.Errorf("a forced delete does not say what it broke: %s", encoded(t, forced))
	}
	after := h.call(t, "get_secret", map[string]any{"id": "HF_TOKEN"})
	if !after.IsError {
		t.Errorf("the deleted secret is still found: %s", encoded(t, after))
	}
	assertNoPlainValue(t, h, refused, forced, after)
}

func TestARenameIsRefusedOnlyWhileAReferenceIsByName(t *testing.T) {
	t.Parallel()
	h, _ := deploymentHarness(t)
	setVariable(t, h.api, "canary-app", "HF", "HF_TOKEN")
	sent := len(h.changesSent())
	refused := h.call(t, "update_secret", map[string]any{"id": "HF_TOKEN", "name": "prod/HF_TOKEN"})
	text := resultText(t, refused)
	for _, want := range []string{"rename", `deployment "canary-app"`, "variable HF", "by name", "Re-point", "by ID", "Nothing was sent"} {
		if !refused.IsError || !strings.Contains(text, want) {
			t.Errorf("refused rename does not say %q: %s", want, text)
		}
	}
	if got := h.changesSent()[sent:]; len(got) != 0 {
		t.Errorf("a refused rename sent %v", got)
	}
	// A value rotation breaks nothing, and is not checked.
	if r := h.call(t, "update_secret", map[string]any{"id": "HF_TOKEN", "value": "new-" + canaryValue}); r.IsError {
		t.Errorf("rotating a secret in use: %s", resultText(t, r))
	}

	// Re-pointed by ID, as the refusal advises, the rename goes ahead.
	if r := h.call(t, "attach_secret", map[string]any{"deployment": "canary-app", "variable": "HF", "secret": "HF_TOKEN"}); r.IsError {
		t.Fatal(resultText(t, r))
	} else if got := structured(t, r); got["previous"] != "value_from_secret HF_TOKEN" || got["changed"] != true {
		t.Errorf("re-pointing by ID = %v", got)
	}
	renamed := h.call(t, "update_secret", map[string]any{"id": "HF_TOKEN", "name": "prod/HF_TOKEN"})
	if renamed.IsError || structured(t, renamed)["name"] != "prod/HF_TOKEN" {
		t.Fatalf("rename after re-pointing: %s", encoded(t, renamed))
	}
	uses := structured(t, h.call(t, "get_secret", map[string]any{"id": "prod/HF_TOKEN"}))["used_by"].([]any)
	if len(uses) != 1 || uses[0].(map[string]any)["by"] != "id" {
		t.Errorf("after the rename, used_by = %v", uses)
	}

	// even_if_used renames despite a reference by name.
	setVariable(t, h.api, sandbox.ExampleDeployment, "HF_TOKEN", "prod/HF_TOKEN")
	if r := h.call(t, "update_secret", map[string]any{"id": "prod/HF_TOKEN", "name": "HF_TOKEN"}); !r.IsError {
		t.Errorf("rename over a reference by name was not refused: %s", encoded(t, r))
	}
	if r := h.call(t, "update_secret", map[string]any{"id": "prod/HF_TOKEN", "name": "HF_TOKEN", "even_if_used": true}); r.IsError {
		t.Errorf("rename with even_if_used: %s", resultText(t, r))
	}
	assertNoPlainValue(t, h, refused, renamed)
}

func TestWhenDeploymentsCannotBeReadUsageIsUnknownAndChangesAreRefused(t *testing.T) {
	t.Parallel()
	h, _ := deploymentHarness(t)
	h.setFault(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/deployments" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(`{"error":{"message":"key may not read deployments"}}`))
			return
		}
		h.api.ServeHTTP(w, r)
	})
	get := h.call(t, "get_secret", map[string]any{"id": "HF_TOKEN"})
	got := structured(t, get)
	if get.IsError || got["name"] != "HF_TOKEN" || got["used_by"] != nil || !strings.Contains(got["usage_unknown"].(string), "HTTP 403") {
		t.Errorf("get with deployments unreadable = %s", encoded(t, get))
	}
	list := h.call(t, "list_secrets", map[string]any{"include_usage": true})
	if l := structured(t, list); list.IsError || l["count"] != 1.0 || !strings.Contains(l["usage_unknown"].(string), "HTTP 403") {
		t.Errorf("list with deployments unreadable = %s", encoded(t, list))
	}

	sent := len(h.changesSent())
	del := h.call(t, "delete_secret", map[string]any{"id": "HF_TOKEN"})
	if !del.IsError || !strings.Contains(resultText(t, del), "HTTP 403") || !strings.Contains(resultText(t, del), "even_if_used") {
		t.Errorf("delete with usage unknown = %s", encoded(t, del))
	}
	ren := h.call(t, "update_secret", map[string]any{"id": "HF_TOKEN", "name": "OTHER"})
	if !ren.IsError {
		t.Errorf("rename with usage unknown = %s", encoded(t, ren))
	}
	if got := h.changesSent()[sent:]; len(got) != 0 {
		t.Errorf("refused changes sent %v", got)
	}
	if r := h.call(t, "delete_secret", map[string]any{"id": "HF_TOKEN", "even_if_used": true}); r.IsError || h.api.Len() != 0 {
		t.Errorf("delete with even_if_used and usage unknown: %s", encoded(t, r))
	}
}

func TestAChangeLandingBetweenTheReadAndTheUpdateStopsTheAttach(t *testing.T) {
	t.Parallel()
	h, dep := deploymentHarness(t)
	gets := 0
	h.setFault(func(w http.ResponseWriter, r *http.Request) {
		h.api.ServeHTTP(w, r)
		if r.Method == http.MethodGet && r.URL.Path == "/v1/deployments/canary-app" {
			if gets++; gets == 1 {
				// Someone else changes the deployment just after the first read.
				setVariable(t, h.api, dep, "OTHER", "HF_TOKEN")
			}
		}
	})
	before := h.api.Variables(dep)
	r := h.call(t, "attach_secret", map[string]any{"deployment": "canary-app", "variable": "HF_TOKEN", "secret": "HF_TOKEN"})
	if !r.IsError || !strings.Contains(resultText(t, r), "the deployment changed") || !strings.Contains(resultText(t, r), "Nothing was sent") {
		t.Errorf("attach over a concurrent change = %s", encoded(t, r))
	}
	for _, s := range h.changesSent() {
		if strings.HasPrefix(s, "PATCH /v1/deployments/") && !strings.Contains(s, "/secrets/") {
			t.Errorf("the attach sent %s over the other change", s)
		}
	}
	if after := h.api.Variables(dep); after["OTHER"] != "secret:HF_TOKEN" || len(after) != len(before)+1 {
		t.Errorf("the other change was overwritten: %v", after)
	}
	// Retried, it applies to the deployment as it is now.
	if r := h.call(t, "attach_secret", map[string]any{"deployment": "canary-app", "variable": "HF_TOKEN", "secret": "HF_TOKEN"}); r.IsError {
		t.Errorf("retry: %s", resultText(t, r))
	}
	if after := h.api.Variables(dep); after["OTHER"] != "secret:HF_TOKEN" || !strings.HasPrefix(after["HF_TOKEN"], "secret:") {
		t.Errorf("after the retry: %v", after)
	}
	assertNoPlainValue(t, h, r)
}

func TestAttachRefusesWhatItCannotDoBeforeSendingAnything(t *testing.T) {
	t.Parallel()
	h, _ := deploymentHarness(t)
	cases := []struct {
		name string
		args map[string]any
		want []string
	}{
		{"a variable name the API refuses", map[string]any{"deployment": "canary-app", "variable": "1BAD-NAME", "secret": "HF_TOKEN"}, []string{"variable must start with a letter"}},
		{"no secret to attach", map[string]any{"deployment": "canary-app", "variable": "HF_TOKEN"}, []string{"secret is required"}},
		{"a secret with a detach", map[string]any{"deployment": "canary-app", "variable": "HF_TOKEN", "secret": "HF_TOKEN", "detach": true}, []string{"secret must be left out with detach"}},
		{"a deployment that does not exist", map[string]any{"deployment": "nope", "variable": "HF_TOKEN", "secret": "HF_TOKEN"}, []string{"no deployment has that ID or name"}},
		{"a deployment name that cannot be a path segment", map[string]any{"deployment": "../secrets", "variable": "HF_TOKEN", "secret": "HF_TOKEN"}, []string{"deployment is not a deployment ID or name"}},
		{"a secret that does not exist", map[string]any{"deployment": "canary-app", "variable": "HF_TOKEN", "secret": "NOPE"}, []string{"no secret has that ID or name"}},
		{"a detach of a plain variable", map[string]any{"deployment": "canary-app", "variable": "DB_PASSWORD", "detach": true}, []string{"holds a plain value", "Nothing was sent"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sent := len(h.changesSent())
			r := h.call(t, "attach_secret", tc.args)
			for _, w := range tc.want {
				if !r.IsError || !strings.Contains(resultText(t, r), w) {
					t.Errorf("result does not say %q: %s", w, encoded(t, r))
				}
			}
			if got := h.changesSent()[sent:]; len(got) != 0 {
				t.Errorf("sent %v", got)
			}
			assertNoPlainValue(t, h, r)
		})
	}
}

func TestDetachRemovesOnlyThatReferenceAndIsIdempotent(t *testing.T) {
	t.Parallel()
	h, dep := deploymentHarness(t)
	before := h.api.Variables(dep)
	if r := h.call(t, "attach_secret", map[string]any{"deployment": dep, "variable": "HF_TOKEN", "secret": "HF_TOKEN"}); r.IsError {
		t.Fatal(resultText(t, r))
	}
	r := h.call(t, "attach_secret", map[string]any{"deployment": dep, "variable": "HF_TOKEN", "detach": true})
	if r.IsError || structured(t, r)["changed"] != true || !strings.HasPrefix(structured(t, r)["previous"].(string), "value_from_secret ") {
		t.Fatalf("detach = %s", encoded(t, r))
	}
	if after := h.api.Variables(dep); !maps.Equal(after, before) {
		t.Errorf("after attach and detach the variables are %v, were %v", after, before)
	}
	sent := len(h.changesSent())
	again := h.call(t, "attach_secret", map[string]any{"deployment": dep, "variable": "HF_TOKEN", "detach": true})
	if again.IsError || structured(t, again)["changed"] != false || len(h.changesSent()) != sent {
		t.Errorf("a second detach = %s, sent %v", encoded(t, again), h.changesSent()[sent:])
	}
	assertNoPlainValue(t, h, r, again)
}

func TestAttachIsOfferedOnlyWhenDeploymentChangesAreAllowed(t *testing.T) {
	t.Parallel()
	if _, err := (tools.Selection{Names: []string{"attach_secret"}}).Resolve(); err == nil || !strings.Contains(err.Error(), "changes deployments") {
		t.Errorf("naming attach_secret without the setting: %v", err)
	}
	names, err := tools.Selection{}.Resolve()
	if err != nil || slices.Contains(names, "attach_secret") {
		t.Errorf("default tools = %v, %v", names, err)
	}
	names, _ = tools.Selection{AllowDeploymentChanges: true}.Resolve()
	if !slices.Contains(names, "attach_secret") {
		t.Errorf("with the setting the tools are %v", names)
	}
	names, _ = tools.Selection{AllowDeploymentChanges: true, ReadOnly: true}.Resolve()
	if slices.Contains(names, "attach_secret") {
		t.Errorf("read-only mode offers %v", names)
	}

	s, err := tools.NewServer(tools.Config{Logger: zerolog.Nop(), Advice: tools.Advice{AllowDeploymentChanges: "--allow-deployment-changes"}})
	if err != nil {
		t.Fatal(err)
	}
	resp := s.HandleMessage(t.Context(), []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"attach_secret","arguments":{}}}`))
	b, _ := json.Marshal(resp)
	if !strings.Contains(string(b), "--allow-deployment-changes") || !strings.Contains(string(b), "not offered") {
		t.Errorf("a call to attach_secret without the setting = %s", b)
	}
}

func TestADeploymentNamedAsAPlainValueIsShownAsTogetherNamesIt(t *testing.T) {
	t.Parallel()
	h, _ := deploymentHarness(t)
	// A deployment whose name is another's plain value, and which uses the
	// secret. Its name is metadata: withheld, it would tell whoever named
	// it whether the name equals a plain value somewhere.
	h.api.AddDeployment(plainCanary, map[string]string{"X": "y"})
	setVariable(t, h.api, plainCanary, "HF_TOKEN", "HF_TOKEN")
	get := h.call(t, "get_secret", map[string]any{"id": "HF_TOKEN"})
	uses := structured(t, get)["used_by"].([]any)
	if len(uses) != 1 || uses[0].(map[string]any)["deployment"] != plainCanary || uses[0].(map[string]any)["variable"] != "HF_TOKEN" {
		t.Errorf("used_by = %v", uses)
	}
	del := h.call(t, "delete_secret", map[string]any{"id": "HF_TOKEN"})
	if text := resultText(t, del); !del.IsError || !strings.Contains(text, `deployment "`+plainCanary+`"`) {
		t.Errorf("delete = %s", text)
	}
	for where, text := range map[string]string{"get": encoded(t, get), "delete": encoded(t, del), "log": h.logs.String()} {
		if strings.Contains(text, togetherapi.Redacted) || strings.Contains(text, plainExample) || strings.Contains(text, `"y"`) {
			t.Errorf("%s withholds the name or shows a plain value:\n%s", where, text)
		}
	}
}

func TestAttachOverAPlainVariableMovesItIntoTheSecret(t *testing.T) {
	t.Parallel()
	h, dep := deploymentHarness(t)
	r := h.call(t, "attach_secret", map[string]any{"deployment": "canary-app", "variable": "DB_PASSWORD", "secret": "HF_TOKEN"})
	if r.IsError || structured(t, r)["previous"] != "plain value" {
		t.Fatalf("attach over a plain variable = %s", encoded(t, r))
	}
	if after := h.api.Variables(dep); !strings.HasPrefix(after["DB_PASSWORD"], "secret:") || after["WORKERS"] != "value:"+plainShort || len(after) != 3 {
		t.Errorf("after = %v", after)
	}
	events := logEvents(t, h.logs.String())
	if last := events[len(events)-1]; last["tool"] != "attach_secret" || last["outcome"] != "ok" || last["requests"] != 5.0 || last["secret"] != "HF_TOKEN" {
		t.Errorf("log event = %v", last)
	}
	assertNoPlainValue(t, h, r)
}

func TestAnAttachWhoseReadBackRespellsAnotherValueIsNotReportedVerified(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	if r := h.call(t, "create_secret", map[string]any{"name": "HF_TOKEN", "value": canaryValue}); r.IsError {
		t.Fatal(resultText(t, r))
	}
	// LONE holds half a surrogate pair; once updated, Together holds U+FFFD
	// in its place.
	var (
		mu    sync.Mutex
		after string
	)
	h.setFault(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/v1/deployments/secrets") {
			h.api.ServeHTTP(w, r)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		vars, updated := `[{"name":"LONE","value":"\ud800"}]`, "2026-11-02T00:00:00Z"
		if r.Method == http.MethodPatch {
			var update struct {
				Variables json.RawMessage `json:"environment_variables"`
			}
			if err := json.NewDecoder(r.Body).Decode(&update); err != nil {
				t.Errorf("the update is not JSON: %v", err)
			}
			after = strings.Replace(string(update.Variables), `\ud800`, `\ufffd`, 1)
		}
		if after != "" {
			vars, updated = after, "2026-11-02T00:00:05Z"
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"id":"dep-1","name":"raw-app","status":"Ready","updated_at":"` + updated + `","environment_variables":` + vars + `}`))
	})
	r := h.call(t, "attach_secret", map[string]any{"deployment": "raw-app", "variable": "HF_TOKEN", "secret": "HF_TOKEN"})
	text := encoded(t, r)
	if r.IsError || strings.Contains(text, "verified") || !strings.Contains(text, `LONE`) || !strings.Contains(text, "Check the deployment") {
		t.Errorf("result = %s", text)
	}
}

// scopedDeploymentHarness is a harness scoped to team-a/, with an audit
// trail, and a secret on each side of the scope: it returns the harness,
// the audit log's path, and the ID of team-b's secret.
func scopedDeploymentHarness(t *testing.T) (h *harness, auditPath, outsideID string) {
	t.Helper()
	var log *audit.Log
	h = newHarnessWith(t, func(c *tools.Config) { audited(t, &auditPath, &log)(c); scoped(c) }, nil)
	if _, err := h.client.CreateSecret(h.ctx(), createRequest("team-a/TOKEN", "inside-value-1234")); err != nil {
		t.Fatal(err)
	}
	outside, err := h.client.CreateSecret(h.ctx(), createRequest("team-b/db-password", "outside-value-1234"))
	if err != nil {
		t.Fatal(err)
	}
	return h, auditPath, outside.ID
}

func TestAChangeThatWouldUnhookASecretOutsideTheScopeIsRefused(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		// ref is what the variable DB references before the call.
		ref  func(outsideID string) string
		args map[string]any
	}{
		{"an attach over a reference by name", func(string) string { return "team-b/db-password" },
			map[string]any{"deployment": sandbox.ExampleDeployment, "variable": "DB", "secret": "team-a/TOKEN"}},
		{"an attach over a reference by ID", func(id string) string { return id },
			map[string]any{"deployment": sandbox.ExampleDeployment, "variable": "DB", "secret": "team-a/TOKEN"}},
		{"an attach over a reference to a secret gone, by a name outside", func(string) string { return "team-b/gone" },
			map[string]any{"deployment": sandbox.ExampleDeployment, "variable": "DB", "secret": "team-a/TOKEN"}},
		{"a detach of a reference by name", func(string) string { return "team-b/db-password" },
			map[string]any{"deployment": sandbox.ExampleDeployment, "variable": "DB", "detach": true}},
		{"a detach of a reference by ID", func(id string) string { return id },
			map[string]any{"deployment": sandbox.ExampleDeployment, "variable": "DB", "detach": true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h, auditPath, outsideID := scopedDeploymentHarness(t)
			ref := tc.ref(outsideID)
			setVariable(t, h.api, sandbox.ExampleDeployment, "DB", ref)
			sent := len(h.changesSent())
			r := h.call(t, "attach_secret", tc.args)
			text := encoded(t, r)
			if !r.IsError || !strings.Contains(resultText(t, r), "outside the names this server may act on") || !strings.Contains(resultText(t, r), "Nothing was sent") {
				t.Errorf("result = %s", text)
			}
			if strings.Contains(text, "team-b") || strings.Contains(text, outsideID) {
				t.Errorf("the refusal names the secret outside the scope: %s", text)
			}
			if got := h.changesSent()[sent:]; len(got) != 0 {
				t.Errorf("sent %v", got)
			}
			if got := h.api.Variables(sandbox.ExampleDeployment)["DB"]; got != "secret:"+ref {
				t.Errorf("DB is now %q", got)
			}
			// A refusal, and no attempt: nothing was going to be sent.
			if lines := auditLines(t, auditPath); len(lines) != 1 || lines[0].Phase != "refused" || lines[0].Reason != "out of scope" {
				t.Errorf("audit lines = %+v", lines)
			}
			if events := logEvents(t, h.logs.String()); events[len(events)-1]["outcome"] != "refused_by_policy" {
				t.Errorf("logged as %v", events[len(events)-1]["outcome"])
			}
		})
	}
}

func TestAChangeOfAVariableWithinTheScopeGoesAhead(t *testing.T) {
	t.Parallel()
	h, _, _ := scopedDeploymentHarness(t)
	if _, err := h.client.CreateSecret(h.ctx(), createRequest("team-a/OTHER", "inside-value-5678")); err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		ref  string // what DB references first, if anything
		args map[string]any
	}{
		{"team-a/OTHER", map[string]any{"deployment": sandbox.ExampleDeployment, "variable": "DB", "secret": "team-a/TOKEN"}},
		{"team-a/gone", map[string]any{"deployment": sandbox.ExampleDeployment, "variable": "DB", "secret": "team-a/TOKEN"}},
		{"team-a/OTHER", map[string]any{"deployment": sandbox.ExampleDeployment, "variable": "DB", "detach": true}},
		{"", map[string]any{"deployment": sandbox.ExampleDeployment, "variable": "WANDB_API_KEY", "secret": "team-a/TOKEN"}},
	} {
		if step.ref != "" {
			setVariable(t, h.api, sandbox.ExampleDeployment, "DB", step.ref)
		}
		if r := h.call(t, "attach_secret", step.args); r.IsError || structured(t, r)["changed"] != true {
			t.Errorf("%v over %q = %s", step.args, step.ref, encoded(t, r))
		}
	}
}

func TestADetachIsDecidedOnTheReadItIsBuiltFrom(t *testing.T) {
	t.Parallel()
	// DB references team A's secret when the call begins; just after the
	// first read of the deployment, someone re-points it to team B's.
	h, auditPath, _ := scopedDeploymentHarness(t)
	setVariable(t, h.api, sandbox.ExampleDeployment, "DB", "team-a/TOKEN")
	var repointed atomic.Bool
	h.setFault(func(w http.ResponseWriter, r *http.Request) {
		h.api.ServeHTTP(w, r)
		if r.Method == http.MethodGet && r.URL.Path == "/v1/deployments/"+sandbox.ExampleDeployment && repointed.CompareAndSwap(false, true) {
			setVariable(t, h.api, sandbox.ExampleDeployment, "DB", "team-b/db-password")
		}
	})
	r := h.call(t, "attach_secret", map[string]any{"deployment": sandbox.ExampleDeployment, "variable": "DB", "detach": true})
	if !r.IsError || !strings.Contains(resultText(t, r), "Nothing was sent") {
		t.Errorf("result = %s", encoded(t, r))
	}
	if got := h.api.Variables(sandbox.ExampleDeployment)["DB"]; got != "secret:team-b/db-password" {
		t.Errorf("team B's reference was removed: DB is %q", got)
	}
	for _, s := range h.changesSent() {
		if !strings.Contains(s, "/secrets") {
			t.Errorf("sent %s", s)
		}
	}
	for _, l := range auditLines(t, auditPath) {
		if l.Phase == "outcome" && l.Outcome == "ok" {
			t.Errorf("the audit trail records a detach that was made: %+v", l)
		}
	}
}

func TestAnAttachIsAuditedOnlyWhenItsUpdateIsSentAndBeforeItIs(t *testing.T) {
	t.Parallel()
	var (
		path string
		log  *audit.Log
	)
	h := newHarnessWith(t, audited(t, &path, &log), nil)
	if r := h.call(t, "create_secret", map[string]any{"name": "HF_TOKEN", "value": canaryValue}); r.IsError {
		t.Fatal(resultText(t, r))
	}
	// What the trail holds when each update arrives.
	var (
		mu      sync.Mutex
		atPatch []string
	)
	h.setFault(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPatch && !strings.HasPrefix(r.URL.Path, "/v1/deployments/secrets") {
			b, _ := os.ReadFile(path)
			mu.Lock()
			atPatch = append(atPatch, string(b))
			mu.Unlock()
		}
		h.api.ServeHTTP(w, r)
	})
	attach := map[string]any{"deployment": sandbox.ExampleDeployment, "variable": "HF", "secret": "HF_TOKEN"}
	steps := []struct {
		name  string
		args  map[string]any
		lines int // how many lines the call adds
	}{
		{"an attach", attach, 2},
		{"the same attach again, which changes nothing", attach, 0},
		{"a detach of a variable that is not there", map[string]any{"deployment": sandbox.ExampleDeployment, "variable": "NONE", "detach": true}, 0},
		{"an attach to a deployment that is not there", map[string]any{"deployment": "nope", "variable": "HF", "secret": "HF_TOKEN"}, 0},
		{"a detach", map[string]any{"deployment": sandbox.ExampleDeployment, "variable": "HF", "detach": true}, 2},
	}
	for _, s := range steps {
		before := len(auditLines(t, path))
		r := h.call(t, "attach_secret", s.args)
		lines := auditLines(t, path)
		if added := len(lines) - before; added != s.lines {
			t.Errorf("%s (%s) added %d audit lines, want %d: %+v", s.name, resultText(t, r), added, s.lines, lines[before:])
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(atPatch) != 2 {
		t.Fatalf("%d updates sent, want 2", len(atPatch))
	}
	for i, action := range []string{"attach", "detach"} {
		lines := strings.Split(strings.TrimSpace(atPatch[i]), "\n")
		var last audit.Entry
		if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil || last.Phase != "attempt" || last.Action != action || last.Tool != "attach_secret" {
			t.Errorf("when the %s was sent, the trail ended with %+v (%v)", action, last, err)
		}
	}
}
