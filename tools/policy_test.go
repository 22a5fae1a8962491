package tools_test

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/together-secrets-mcp/together-secrets-mcp/internal/audit"
	"github.com/together-secrets-mcp/together-secrets-mcp/togetherapi"
	"github.com/together-secrets-mcp/together-secrets-mcp/tools"
)

// valuesFromUserOnly offers every tool the rule leaves, with the rule on.
func valuesFromUserOnly(c *tools.Config) {
	c.Tools = tools.Selection{ValuesFromUserOnly: true, AllowDelete: true, AllowDeploymentChanges: true, EnvFiles: true, Intake: true}
	c.Advice.ValuesFromUserOnly = "--values-from-user-only"
}

func TestValuesFromUserOnlyOffersNoToolThatTakesAValue(t *testing.T) {
	t.Parallel()
	h := newHarnessWith(t, valuesFromUserOnly, nil)
	list := h.rawToolsList(t)
	if _, ok := list["create_secret"]; ok {
		t.Error("create_secret is offered")
	}
	for _, name := range []string{"update_secret", "request_secret_from_user", "import_env_file", "list_secrets"} {
		if _, ok := list[name]; !ok {
			t.Errorf("%s is not offered", name)
		}
	}
	var update struct {
		InputSchema struct {
			Properties map[string]any `json:"properties"`
		} `json:"inputSchema"`
	}
	_ = json.Unmarshal(list["update_secret"], &update)
	if _, ok := update.InputSchema.Properties["value"]; ok || update.InputSchema.Properties["name"] == nil {
		t.Errorf("update_secret's properties are %v", update.InputSchema.Properties)
	}
	init, err := h.mcp.Initialize(t.Context(), mcp.InitializeRequest{Params: mcp.InitializeParams{ClientInfo: mcp.Implementation{Name: "t", Version: "1"}}})
	if err != nil || !strings.Contains(init.Instructions, "values come only from the user") {
		t.Errorf("the instructions do not say the rule: %v %v", init, err)
	}

	r := h.call(t, "create_secret", map[string]any{"name": "A", "value": canaryValue})
	if !r.IsError || !strings.Contains(resultText(t, r), "--values-from-user-only") || !strings.Contains(resultText(t, r), "request_secret_from_user") {
		t.Errorf("create_secret = %s", encoded(t, r))
	}
	if _, err := (tools.Selection{Names: []string{"create_secret"}, ValuesFromUserOnly: true}).Resolve(); err == nil {
		t.Error("create_secret can be named under the rule")
	}
}

func TestValuesFromUserOnlyRefusesAValueUnderAnySpelling(t *testing.T) {
	t.Parallel()
	h := newHarnessWith(t, valuesFromUserOnly, nil)
	// A secret to aim at, made the only way left.
	if _, err := h.client.CreateSecret(h.ctx(), createRequest("TARGET", "old-value-123456")); err != nil {
		t.Fatal(err)
	}
	raw := func(s string) json.RawMessage { return json.RawMessage(s) }
	for name, args := range map[string]any{
		"value":                 map[string]any{"id": "TARGET", "value": canaryValue},
		"Value":                 map[string]any{"id": "TARGET", "Value": canaryValue},
		"VALUE":                 map[string]any{"id": "TARGET", "VALUE": canaryValue},
		"a space":               map[string]any{"id": "TARGET", " value": canaryValue},
		"new_value":             map[string]any{"id": "TARGET", "new_value": canaryValue},
		"an escaped key":        raw(`{"id":"TARGET","val\u0075e":` + quote(canaryValue) + `}`),
		"the value as the key":  map[string]any{"id": "TARGET", canaryValue: true},
		"beside a real change":  map[string]any{"id": "TARGET", "description": "d", "secret": canaryValue},
		"a value in an array":   map[string]any{"id": "TARGET", "values": []any{canaryValue}},
		"a key that holds text": map[string]any{"id": "TARGET", "value\u0000": canaryValue},
	} {
		t.Run(name, func(t *testing.T) {
			sent := len(h.changesSent())
			r := h.call(t, "update_secret", args)
			text := resultText(t, r)
			if !r.IsError || !strings.Contains(text, "--values-from-user-only") || !strings.Contains(text, "Nothing was sent") {
				t.Errorf("update_secret = %s", encoded(t, r))
			}
			if got := h.changesSent()[sent:]; len(got) != 0 {
				t.Errorf("sent %v", got)
			}
			assertNoLeak(t, map[string]string{"result": encoded(t, r), "log": h.logs.String()})
		})
	}
	// Every other tool too: a value sent beside its own arguments.
	for tool, args := range map[string]map[string]any{
		"request_secret_from_user": {"name": "TARGET", "value": canaryValue},
		"import_env_file":          {"keys": []any{"A"}, "value": canaryValue},
		"list_secrets":             {"Value": canaryValue},
		"attach_secret":            {"deployment": "example-eval", "variable": "V", "secret": "TARGET", "value": canaryValue},
	} {
		sent := len(h.changesSent())
		r := h.call(t, tool, args)
		if text := resultText(t, r); !r.IsError || !strings.Contains(text, "--values-from-user-only") || !strings.Contains(text, "it takes ") {
			t.Errorf("%s = %s", tool, encoded(t, r))
		}
		if got := h.changesSent()[sent:]; len(got) != 0 {
			t.Errorf("%s sent %v", tool, got)
		}
		assertNoLeak(t, map[string]string{"result": encoded(t, r), "log": h.logs.String()})
	}
	if h.api.ValueMatches("TARGET", canaryValue) {
		t.Error("the value was stored")
	}
	// What the rule leaves still works.
	if r := h.call(t, "update_secret", map[string]any{"id": "TARGET", "description": "still describable"}); r.IsError {
		t.Errorf("a description change: %s", resultText(t, r))
	}
}

// scoped limits the tools to team-a/ names.
func scoped(c *tools.Config) {
	c.NamePrefixes = []string{"team-a/"}
	c.Advice.NamePrefix = "--name-prefix"
}

func TestANameScopeHidesAndRefusesEverythingOutsideIt(t *testing.T) {
	t.Parallel()
	h := newHarnessWith(t, scoped, nil)
	inside, err := h.client.CreateSecret(h.ctx(), createRequest("team-a/TOKEN", "inside-value-1234"))
	if err != nil {
		t.Fatal(err)
	}
	outside, err := h.client.CreateSecret(h.ctx(), createRequest("team-b/TOKEN", "outside-value-1234"))
	if err != nil {
		t.Fatal(err)
	}
	list := structured(t, h.call(t, "list_secrets", nil))
	if list["count"] != 1.0 || !strings.Contains(mustJSON(t, list), inside.ID) || strings.Contains(mustJSON(t, list), "team-b") {
		t.Errorf("list = %v", list)
	}

	// Outside, by name or by ID, answers as a secret that does not exist.
	missing := resultText(t, h.call(t, "get_secret", map[string]any{"id": "team-a/NOPE"}))
	for _, id := range []string{"team-b/TOKEN", outside.ID} {
		r := h.call(t, "get_secret", map[string]any{"id": id})
		text := resultText(t, r)
		if !r.IsError || strings.Contains(encoded(t, r), outside.ID) && id != outside.ID || strings.Contains(text, "team-b/TOKEN") && id != "team-b/TOKEN" {
			t.Errorf("get %s = %s", id, encoded(t, r))
		}
		if strings.ReplaceAll(text, id, "X") != strings.ReplaceAll(missing, "team-a/NOPE", "X") {
			t.Errorf("an out-of-scope get reads differently from a missing one:\n%s\n%s", text, missing)
		}
	}

	sent := len(h.changesSent())
	escapes := []string{"team-b/NEW", "TEAM-A/NEW", "team-a/../team-b/NEW", "team-a/./NEW", "team-a//NEW", "team-a/", "team-a", "team-a/%2FNEW", "team-a\\NEW", "team-a/NEW/"}
	for _, name := range escapes {
		if r := h.call(t, "create_secret", map[string]any{"name": name, "value": canaryValue}); !r.IsError {
			t.Errorf("create %q was allowed: %s", name, encoded(t, r))
		}
		if r := h.call(t, "request_secret_from_user", map[string]any{"name": name}); !r.IsError {
			t.Errorf("request %q was allowed: %s", name, encoded(t, r))
		}
		if r := h.call(t, "update_secret", map[string]any{"id": "team-a/TOKEN", "name": name}); !r.IsError {
			t.Errorf("rename to %q was allowed: %s", name, encoded(t, r))
		}
	}
	for _, call := range []struct {
		tool string
		args map[string]any
	}{
		{"update_secret", map[string]any{"id": "team-b/TOKEN", "value": canaryValue}},
		{"update_secret", map[string]any{"id": outside.ID, "description": "x"}},
		{"delete_secret", map[string]any{"id": "team-b/TOKEN"}},
		{"delete_secret", map[string]any{"id": outside.ID, "even_if_used": true}},
		{"attach_secret", map[string]any{"deployment": "example-eval", "variable": "T", "secret": "team-b/TOKEN"}},
		{"import_env_file", map[string]any{"prefix": "team-b/"}},
		{"import_env_file", map[string]any{}},
	} {
		r := h.call(t, call.tool, call.args)
		if !r.IsError || strings.Contains(encoded(t, r), "outside-value") {
			t.Errorf("%s %v = %s", call.tool, call.args, encoded(t, r))
		}
		if call.tool == "import_env_file" && !strings.Contains(resultText(t, r), "--name-prefix") {
			t.Errorf("an import outside the scope does not name the setting: %s", resultText(t, r))
		}
	}
	if got := h.changesSent()[sent:]; len(got) != 0 {
		t.Errorf("out-of-scope calls sent %v", got)
	}
	if !h.api.ValueMatches("team-b/TOKEN", "outside-value-1234") {
		t.Error("the secret outside the scope changed")
	}
	// Inside, everything works.
	if r := h.call(t, "update_secret", map[string]any{"id": "team-a/TOKEN", "name": "team-a/RENAMED"}); r.IsError {
		t.Errorf("an in-scope rename: %s", resultText(t, r))
	}
	if r := h.call(t, "create_secret", map[string]any{"name": "team-a/sub/NEW", "value": canaryValue}); r.IsError {
		t.Errorf("an in-scope create: %s", resultText(t, r))
	}
}

// audited writes the audit trail to a file of the test's.
func audited(t *testing.T, path *string, log **audit.Log) func(*tools.Config) {
	return func(c *tools.Config) {
		*path = filepath.Join(t.TempDir(), "audit.log")
		l, err := audit.Open(*path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = l.Close() })
		*log = l
		c.Audit = l
		c.Advice.AuditLog = "--audit-log"
	}
}

func auditLines(t *testing.T, path string) []audit.Entry {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []audit.Entry
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e audit.Entry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("audit line %q: %v", sc.Text(), err)
		}
		out = append(out, e)
	}
	return out
}

func TestEveryChangeIsAuditedBeforeItIsSent(t *testing.T) {
	t.Parallel()
	var (
		path string
		log  *audit.Log
	)
	h := newHarnessWith(t, audited(t, &path, &log), nil)
	if err := os.WriteFile(h.envFile, []byte("A=CANARYVALUE-a1\nB=CANARYVALUE-b2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		tool string
		args map[string]any
	}{
		{"create_secret", map[string]any{"name": "AUD", "value": canaryValue}},
		{"update_secret", map[string]any{"id": "AUD", "value": canaryValue + "-2", "name": "AUD2"}},
		{"attach_secret", map[string]any{"deployment": "example-eval", "variable": "AUD", "secret": "AUD2"}},
		{"attach_secret", map[string]any{"deployment": "example-eval", "variable": "AUD", "detach": true}},
		{"delete_secret", map[string]any{"id": "AUD2"}},
		{"import_env_file", map[string]any{"prefix": "env/"}},
	}
	for _, s := range steps {
		if r := h.call(t, s.tool, s.args); r.IsError {
			t.Fatalf("%s: %s", s.tool, resultText(t, r))
		}
	}
	lines := auditLines(t, path)
	type key struct{ tool, action, phase, secret, outcome string }
	var got []key
	for _, e := range lines {
		got = append(got, key{e.Tool, e.Action, e.Phase, e.Secret, e.Outcome})
		if e.Stream != audit.Stream || e.Time == "" || e.CallID == "" {
			t.Errorf("line without stream, time or call id: %+v", e)
		}
		if e.Phase == "outcome" && e.SecretID == "" {
			t.Errorf("an outcome without the secret's ID: %+v", e)
		}
	}
	want := []key{
		{"create_secret", "create", "attempt", "AUD", ""}, {"create_secret", "create", "outcome", "AUD", "ok"},
		{"update_secret", "rename+rotate", "attempt", "AUD", ""}, {"update_secret", "rename+rotate", "outcome", "AUD", "ok"},
		{"attach_secret", "attach", "attempt", "AUD2", ""}, {"attach_secret", "attach", "outcome", "AUD2", "ok"},
		{"attach_secret", "detach", "attempt", "", ""}, {"attach_secret", "detach", "outcome", "", "ok"},
		{"delete_secret", "delete", "attempt", "AUD2", ""}, {"delete_secret", "delete", "outcome", "AUD2", "ok"},
	}
	if !slices.Equal(got[:len(want)], want) {
		t.Errorf("audit lines:\n%v\nwant\n%v", got, want)
	}
	imports := got[len(want):]
	slices.SortFunc(imports, func(a, b key) int { return strings.Compare(a.secret+a.phase, b.secret+b.phase) })
	if len(imports) != 4 || imports[0] != (key{"import_env_file", "create", "attempt", "env/A", ""}) || imports[3] != (key{"import_env_file", "create", "outcome", "env/B", "ok"}) {
		t.Errorf("import lines: %v", imports)
	}
	b, _ := os.ReadFile(path)
	assertNoLeak(t, map[string]string{"audit log": string(b)}, "old-value")
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("the audit log is %v", st.Mode().Perm())
	}
}

func TestAChangeIsRefusedWhenItsAuditLineCannotBeWritten(t *testing.T) {
	t.Parallel()
	var (
		path string
		log  *audit.Log
	)
	h := newHarnessWith(t, audited(t, &path, &log), nil)
	if r := h.call(t, "create_secret", map[string]any{"name": "FIRST", "value": canaryValue}); r.IsError {
		t.Fatal(resultText(t, r))
	}
	// The log becomes unwritable mid-run: rotated away, and the new path
	// cannot be opened.
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(path, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := log.Reopen(); err == nil {
		t.Fatal("reopening onto a directory worked")
	}
	sent := len(h.changesSent())
	for _, s := range []struct {
		tool string
		args map[string]any
	}{
		{"create_secret", map[string]any{"name": "SECOND", "value": canaryValue}},
		{"update_secret", map[string]any{"id": "FIRST", "value": canaryValue + "-2"}},
		{"delete_secret", map[string]any{"id": "FIRST"}},
		{"attach_secret", map[string]any{"deployment": "example-eval", "variable": "F", "secret": "FIRST"}},
	} {
		r := h.call(t, s.tool, s.args)
		if text := resultText(t, r); !r.IsError || !strings.Contains(text, "--audit-log") || !strings.Contains(text, "Nothing was sent") {
			t.Errorf("%s = %s", s.tool, encoded(t, r))
		}
	}
	if got := h.changesSent()[sent:]; len(got) != 0 {
		t.Errorf("unaudited changes were sent: %v", got)
	}
	if h.api.Len() != 1 {
		t.Errorf("%d secrets, want 1", h.api.Len())
	}
	// Once the path can be opened again, changes go through.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := log.Reopen(); err != nil {
		t.Fatal(err)
	}
	if r := h.call(t, "create_secret", map[string]any{"name": "THIRD", "value": canaryValue}); r.IsError {
		t.Errorf("after a good reopen: %s", resultText(t, r))
	}
	if lines := auditLines(t, path); len(lines) != 2 || lines[0].Secret != "THIRD" {
		t.Errorf("the new file holds %+v", lines)
	}
}

func TestAPolicyRefusalIsAudited(t *testing.T) {
	t.Parallel()
	var (
		path string
		log  *audit.Log
	)
	h := newHarnessWith(t, func(c *tools.Config) { audited(t, &path, &log)(c); scoped(c) }, nil)
	if r := h.call(t, "create_secret", map[string]any{"name": "team-b/X", "value": canaryValue}); !r.IsError {
		t.Fatal("an out-of-scope create was allowed")
	}
	lines := auditLines(t, path)
	if len(lines) != 1 || lines[0].Phase != "refused" || lines[0].Secret != "team-b/X" || lines[0].Reason != "out of scope" || lines[0].Client != "test 1" {
		t.Errorf("audit lines = %+v", lines)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func createRequest(name, value string) togetherapi.CreateSecretRequest {
	return togetherapi.CreateSecretRequest{Name: name, Value: togetherapi.NewSensitive(value)}
}

func TestAPageSubmissionIsAuditedAndRefusedWhenItCannotBe(t *testing.T) {
	t.Parallel()
	var (
		path string
		log  *audit.Log
	)
	h := newHarnessWith(t, audited(t, &path, &log), nil)
	link := structured(t, h.call(t, "request_secret_from_user", map[string]any{"name": "PAGE"}))["url"].(string)
	userSubmits(t, link, canaryValue)
	lines := auditLines(t, path)
	if len(lines) != 2 || lines[0].Tool != "request_secret_from_user" || lines[0].Phase != "attempt" || lines[1].Outcome != "ok" || lines[1].SecretID == "" || lines[0].Client != "test 1" {
		t.Errorf("audit lines = %+v", lines)
	}

	link = structured(t, h.call(t, "request_secret_from_user", map[string]any{"name": "PAGE2"}))["url"].(string)
	_ = os.Remove(path)
	if err := os.Mkdir(path, 0o700); err != nil {
		t.Fatal(err)
	}
	_ = log.Reopen()
	status, page := userSubmitsFor(t, link, url.Values{"value": {canaryValue}})
	if status != http.StatusBadGateway || !strings.Contains(page, "audit log cannot be written") || h.api.Len() != 1 {
		t.Errorf("a submission that could not be recorded: %d secrets, page:\n%s", h.api.Len(), page)
	}
	assertNoLeak(t, map[string]string{"page": page, "log": h.logs.String()})
}

func TestAnAuditLineIsScrubbedOfTheKeyAndTheValue(t *testing.T) {
	t.Parallel()
	var (
		path string
		log  *audit.Log
	)
	h := newHarnessWith(t, audited(t, &path, &log), nil)
	// A name that holds the key, which the caller chose; and a refusal.
	if r := h.call(t, "create_secret", map[string]any{"name": "x/" + canaryKey, "value": canaryValue}); r.IsError {
		t.Fatal(resultText(t, r))
	}
	b, _ := os.ReadFile(path)
	if len(auditLines(t, path)) != 2 || !strings.Contains(string(b), "[REDACTED]") {
		t.Errorf("audit log:\n%s", b)
	}
	assertNoLeak(t, map[string]string{"audit log": string(b)})
}

func TestAPageSubmissionsAuditLinesAreScrubbedOfTheKeyAndTheValue(t *testing.T) {
	t.Parallel()
	var (
		path string
		log  *audit.Log
	)
	h := newHarnessWith(t, audited(t, &path, &log), nil)
	// The lines of a submission are written after the call that asked for
	// it has returned, but are scrubbed as that call's own: of the key a
	// name the caller chose may hold, and of the value typed on the page.
	link := structured(t, h.call(t, "request_secret_from_user", map[string]any{"name": "x/" + canaryKey}))["url"].(string)
	userSubmits(t, link, canaryValue)
	b, _ := os.ReadFile(path)
	if len(auditLines(t, path)) != 2 || !strings.Contains(string(b), "[REDACTED]") {
		t.Errorf("audit log:\n%s", b)
	}
	assertNoLeak(t, map[string]string{"audit log": string(b)})
}

func TestAClientNameIsScrubbedBeforeItIsCutInTheAuditLine(t *testing.T) {
	t.Parallel()
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			var (
				path string
				log  *audit.Log
			)
			h := newHarnessWith(t, audited(t, &path, &log), p.opts)
			// The key straddles the cut at 128 bytes.
			name := strings.Repeat("n", 120) + canaryKey
			if _, err := h.mcp.Initialize(t.Context(), mcp.InitializeRequest{Params: mcp.InitializeParams{ClientInfo: mcp.Implementation{Name: name, Version: "1"}}}); err != nil {
				t.Fatal(err)
			}
			if r := h.call(t, "create_secret", map[string]any{"name": "CLIENT", "value": canaryValue}); r.IsError {
				t.Fatal(resultText(t, r))
			}
			lines := auditLines(t, path)
			if len(lines) != 2 || !strings.HasPrefix(lines[0].Client, "nnnn") || len(lines[0].Client) > 140 {
				t.Fatalf("audit lines = %+v", lines)
			}
			b, _ := os.ReadFile(path)
			for _, frag := range fragmentsOf(canaryKey, 6) {
				if strings.Contains(string(b), frag) {
					t.Errorf("the audit log holds %q of the key:\n%s", frag, b)
				}
			}
		})
	}
}

// fragmentsOf returns every run of n bytes of s.
func fragmentsOf(s string, n int) []string {
	var out []string
	for i := 0; i+n <= len(s); i++ {
		out = append(out, s[i:i+n])
	}
	return out
}
