package tools_test

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/rs/zerolog"

	"github.com/together-secrets-mcp/together-secrets-mcp/tools"
)

// tricky is a dotenv file with the syntax people write; each value is a
// canary that must reach Together and appear in no output.
var tricky = map[string]string{
	"EXPORTED":    "CANARYVALUE-exported-1a2b",
	"PLAIN":       "CANARYVALUE-plain-3c4d",
	"SINGLE":      `CANARYVALUE-single $NOT_EXPANDED \n stays`,
	"DOUBLE":      "CANARYVALUE-double \"quoted\" and\nnewline",
	"MULTI":       "CANARYVALUE-multi line one\nline two",
	"YAML_STYLE":  "CANARYVALUE-yaml-7a8b",
	"EXPANDED":    "CANARYVALUE-plain-3c4d-CANARYVALUE-expanded",
	"SHORT":       "e",
	"HTTP_PROXY":  "http://user:CANARYVALUE-pw@proxy.example:3128",
	"PRIVATE_KEY": "-----BEGIN KEY-----\nCANARYVALUE-pem-base64+/=\n-----END KEY-----",
}

const trickyFile = `# secrets for prod
export EXPORTED=CANARYVALUE-exported-1a2b
PLAIN=CANARYVALUE-plain-3c4d # a comment
SINGLE='CANARYVALUE-single $NOT_EXPANDED \n stays'
DOUBLE="CANARYVALUE-double \"quoted\" and\nnewline"
MULTI="CANARYVALUE-multi line one
line two"
YAML_STYLE: CANARYVALUE-yaml-7a8b
EXPANDED="${PLAIN}-CANARYVALUE-expanded"
SHORT=e
EMPTY=
HTTP_PROXY=http://user:CANARYVALUE-pw@proxy.example:3128
PRIVATE_KEY="-----BEGIN KEY-----
CANARYVALUE-pem-base64+/=
-----END KEY-----"
`

// writes records the writes that reach the stand-in API.
type writes struct {
	mu  sync.Mutex
	got []string
}

func (w *writes) list() []string { w.mu.Lock(); defer w.mu.Unlock(); return slices.Clone(w.got) }

// recordWrites passes every request to the stand-in and records each write.
func recordWrites(h *harness, fail func(*http.Request) bool) *writes {
	w := &writes{}
	h.setFault(func(rw http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			w.mu.Lock()
			w.got = append(w.got, r.Method)
			w.mu.Unlock()
		}
		if fail != nil && fail(r) {
			_, _ = io.Copy(io.Discard, r.Body)
			rw.Header().Set("Content-Type", "application/json")
			rw.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(rw, `{"message":"refused"}`)
			return
		}
		h.api.ServeHTTP(rw, r)
	})
	return w
}

type importOut struct {
	File    string `json:"file"`
	DryRun  bool   `json:"dry_run"`
	Results []struct {
		Key, Name, Outcome, Reason string
		Secret                     map[string]any
	} `json:"results"`
	Counts map[string]int `json:"counts"`
}

func (h *harness) importCall(t *testing.T, args map[string]any) (importOut, *mcp.CallToolResult) {
	t.Helper()
	res := h.call(t, "import_env_file", args)
	var out importOut
	if res.IsError {
		return out, res
	}
	b, _ := json.Marshal(res.StructuredContent)
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out, res
}

func outcomes(o importOut) map[string]string {
	m := map[string]string{}
	for _, r := range o.Results {
		m[r.Key] = r.Outcome
	}
	return m
}

func assertNoFileValue(t *testing.T, texts map[string]string) {
	t.Helper()
	var values []string
	for _, v := range tricky {
		if len(v) > 1 {
			values = append(values, v)
		}
	}
	assertNoLeak(t, texts, values...)
	for where, text := range texts {
		for _, frag := range []string{"CANARYVALUE", "BEGIN KEY", "proxy.example"} {
			if strings.Contains(text, frag) {
				t.Errorf("%s holds %q", where, frag)
			}
		}
	}
}

func TestImportDryRunThenImportThenAgain(t *testing.T) {
	h := newHarness(t, nil)
	if err := os.WriteFile(h.envFile, []byte(trickyFile), 0o600); err != nil {
		t.Fatal(err)
	}
	w := recordWrites(h, nil)
	var results []string

	// A dry run reads the list and plans, and sends no write.
	plan, res := h.importCall(t, map[string]any{"prefix": "prod/", "dry_run": true})
	results = append(results, encoded(t, res))
	if !plan.DryRun || plan.Counts["would_create"] != len(tricky) || plan.Counts["skipped"] != 1 || len(w.list()) != 0 {
		t.Fatalf("plan = %+v, writes %v", plan, w.list())
	}
	for _, r := range plan.Results {
		if r.Key == "EMPTY" && (r.Outcome != "skipped" || !strings.Contains(r.Reason, "empty")) {
			t.Errorf("EMPTY = %+v", r)
		}
	}

	// The import: every value reaches Together exactly.
	got, res := h.importCall(t, map[string]any{"prefix": "prod/"})
	results = append(results, encoded(t, res))
	if got.Counts["created"] != len(tricky) || got.Counts["skipped"] != 1 {
		t.Fatalf("import = %+v", got)
	}
	for k, v := range tricky {
		if !h.api.ValueMatches("prod/"+k, v) {
			t.Errorf("prod/%s does not hold the file's value", k)
		}
	}
	for _, r := range got.Results {
		if r.Outcome == "created" && (r.Secret["id"] == nil || r.Secret["name"] != "prod/"+r.Key) {
			t.Errorf("%s: metadata %v", r.Key, r.Secret)
		}
	}

	// Again, overwrite false: everything is there, so everything is skipped.
	writesBefore := len(w.list())
	again, res := h.importCall(t, map[string]any{"prefix": "prod/"})
	results = append(results, encoded(t, res))
	if again.Counts["skipped"] != len(tricky)+1 || len(w.list()) != writesBefore {
		t.Errorf("second import = %+v, writes %v", again.Counts, w.list()[writesBefore:])
	}
	for _, r := range again.Results {
		if r.Key != "EMPTY" && !strings.Contains(r.Reason, "set overwrite to replace") {
			t.Errorf("%s: %q", r.Key, r.Reason)
		}
	}
	assertNoFileValue(t, map[string]string{"results": strings.Join(results, "\n"), "logs": h.logs.String()})
}

func TestImportOverwriteReplacesByIDAndOnlyWhenAsked(t *testing.T) {
	h := newHarness(t, nil)
	if err := os.WriteFile(h.envFile, []byte("A=CANARYVALUE-new-a\nB=CANARYVALUE-new-b\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"A", "B"} {
		if res := h.call(t, "create_secret", map[string]any{"name": n, "value": "CANARYVALUE-old-" + n}); res.IsError {
			t.Fatal(resultText(t, res))
		}
	}
	w := recordWrites(h, nil)
	plan, _ := h.importCall(t, map[string]any{"overwrite": true, "dry_run": true, "keys": []string{"A"}})
	if outcomes(plan)["A"] != "would_replace" || len(w.list()) != 0 {
		t.Fatalf("plan = %+v, writes %v", plan, w.list())
	}
	got, res := h.importCall(t, map[string]any{"overwrite": true, "keys": []string{"A"}})
	if outcomes(got)["A"] != "replaced" || !slices.Equal(w.list(), []string{http.MethodPatch}) {
		t.Fatalf("import = %+v, writes %v", got, w.list())
	}
	if !h.api.ValueMatches("A", "CANARYVALUE-new-a") || !h.api.ValueMatches("B", "CANARYVALUE-old-B") {
		t.Error("A was not replaced, or B was touched")
	}
	assertNoLeak(t, map[string]string{"result": encoded(t, res), "logs": h.logs.String()}, "CANARYVALUE-new-a", "CANARYVALUE-old-A")
}

func TestImportReportsMissingKeysWithTheNamesThatExist(t *testing.T) {
	h := newHarness(t, nil)
	if err := os.WriteFile(h.envFile, []byte(trickyFile), 0o600); err != nil {
		t.Fatal(err)
	}
	got, res := h.importCall(t, map[string]any{"keys": []string{"PLAIN", "NOPE"}, "dry_run": true})
	var nope string
	for _, r := range got.Results {
		if r.Key == "NOPE" {
			nope = r.Outcome + ": " + r.Reason
		}
	}
	if !strings.HasPrefix(nope, "missing: not in the file; its keys are DOUBLE, EMPTY, EXPANDED, EXPORTED, HTTP_PROXY") || outcomes(got)["PLAIN"] != "would_create" {
		t.Errorf("results = %+v", got.Results)
	}
	assertNoFileValue(t, map[string]string{"result": encoded(t, res)})
}

func TestImportRefusesNamesThePrefixMakesInvalidBeforeSendingAnything(t *testing.T) {
	h := newHarness(t, nil)
	if err := os.WriteFile(h.envFile, []byte("GOOD=CANARYVALUE-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, prefix := range []string{"prod env/", strings.Repeat("p", 97)} {
		res := h.call(t, "import_env_file", map[string]any{"prefix": prefix})
		if text := resultText(t, res); !res.IsError || !strings.Contains(text, `prefix with these keys makes invalid secret names`) ||
			!strings.Contains(text, `"GOOD"`) || !strings.Contains(text, "Nothing was sent") {
			t.Errorf("prefix %q: %s", prefix, text)
		}
	}
	if n := h.requests.Load(); n != 0 {
		t.Errorf("%d requests sent", n)
	}
}

func TestImportReportsAPartialFailureKeyByKey(t *testing.T) {
	h := newHarness(t, nil)
	if err := os.WriteFile(h.envFile, []byte(trickyFile), 0o600); err != nil {
		t.Fatal(err)
	}
	recordWrites(h, func(r *http.Request) bool {
		if r.Method != http.MethodPost {
			return false
		}
		b, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(strings.NewReader(string(b)))
		return strings.Contains(string(b), `"name":"MULTI"`) || strings.Contains(string(b), `"name":"SHORT"`)
	})
	got, res := h.importCall(t, map[string]any{})
	if res.IsError {
		t.Fatal(resultText(t, res))
	}
	o := outcomes(got)
	if o["MULTI"] != "failed" || o["SHORT"] != "failed" || got.Counts["created"] != len(tricky)-2 || got.Counts["failed"] != 2 {
		t.Fatalf("outcomes = %v counts %v", o, got.Counts)
	}
	for _, r := range got.Results {
		if r.Outcome == "failed" && !strings.Contains(r.Reason, "HTTP 400 (refused)") {
			t.Errorf("%s: reason %q", r.Key, r.Reason)
		}
	}
	if h.api.Len() != len(tricky)-2 {
		t.Errorf("%d secrets stored", h.api.Len())
	}
	if !strings.Contains(h.logs.String(), `"outcome":"error"`) {
		t.Error("a partial failure is not logged as an error")
	}
	assertNoFileValue(t, map[string]string{"result": encoded(t, res), "logs": h.logs.String()})
}

func TestImportErrorsNameTheFileAndLineNeverItsText(t *testing.T) {
	h := newHarness(t, nil)
	if err := os.WriteFile(h.envFile, []byte("A=CANARYVALUE-a\nB=\"CANARYVALUE-unclosed\nC=x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	res := h.call(t, "import_env_file", nil)
	text := resultText(t, res)
	if !res.IsError || !strings.Contains(text, "Could not read "+h.envFile+": line 2, cannot be parsed as a dotenv file: a quoted value is not closed") {
		t.Errorf("result = %s", text)
	}
	for _, bad := range []map[string]any{{"file": "/etc/passwd"}, {"keys": "A"}, {"overwrite": "yes"}, {"keys": []string{}}} {
		res := h.call(t, "import_env_file", bad)
		if !res.IsError || !strings.Contains(resultText(t, res), "Nothing was sent") {
			t.Errorf("%v: %s", bad, resultText(t, res))
		}
	}
	if text := resultText(t, h.call(t, "import_env_file", map[string]any{"file": "/etc/passwd"})); !strings.Contains(text, "file must be one of the configured files: "+h.envFile) {
		t.Errorf("foreign file: %s", text)
	}
	assertNoLeak(t, map[string]string{"results": text, "logs": h.logs.String()}, "CANARYVALUE-unclosed")
}

func TestImportIsOfferedOnlyWithEnvFilesAndNeverReadOnly(t *testing.T) {
	for _, tt := range []struct {
		sel  tools.Selection
		want bool
	}{
		{tools.Selection{}, false},
		{tools.Selection{EnvFiles: true}, true},
		{tools.Selection{EnvFiles: true, ReadOnly: true}, false},
		{tools.Selection{EnvFiles: true, Names: []string{"get_secret"}}, false},
	} {
		s, err := tools.NewServer(tools.Config{Client: mustClient(t), Tools: tt.sel, Logger: zerolog.Nop(), EnvFiles: []string{"/srv/.env"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, got := rawToolsList(t, s)["import_env_file"]; got != tt.want {
			t.Errorf("%+v: offered = %v, want %v", tt.sel, got, tt.want)
		}
	}
	if _, err := (tools.Selection{Names: []string{"import_env_file"}}).Resolve(); err == nil || !strings.Contains(err.Error(), "none is configured") {
		t.Errorf("naming import_env_file without env files: %v", err)
	}
}
