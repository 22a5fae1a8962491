package tools_test

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/rs/zerolog"

	"github.com/together-secrets-mcp/together-secrets-mcp/internal/envfile"
	"github.com/together-secrets-mcp/together-secrets-mcp/internal/envfile/envfiletest"
	"github.com/together-secrets-mcp/together-secrets-mcp/togetherapi"
	"github.com/together-secrets-mcp/together-secrets-mcp/tools"
)

// tricky are the values of the shared dotenv fixture: each a canary that
// must reach Together and appear in no output.
var tricky = envfiletest.Values

// fileKeys are every key of the shared fixture, empty ones included.
func fileKeys() map[string]bool {
	keys := map[string]bool{}
	for k := range tricky {
		keys[k] = true
	}
	for _, k := range envfiletest.Empty {
		keys[k] = true
	}
	return keys
}

// writeTricky writes the shared fixture to the harness's env file.
func writeTricky(t *testing.T, h *harness) {
	t.Helper()
	src, err := os.ReadFile(envfiletest.Path())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(h.envFile, src, 0o600); err != nil {
		t.Fatal(err)
	}
}

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
		Line                       int
		Secret                     map[string]any
	} `json:"results"`
	FileKeys []string       `json:"file_keys"`
	Counts   map[string]int `json:"counts"`
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
	t.Parallel()
	h := newHarness(t, nil)
	writeTricky(t, h)
	w := recordWrites(h, nil)
	var results []string

	// A dry run reads the list and plans, and sends no write.
	plan, res := h.importCall(t, map[string]any{"prefix": "prod/", "dry_run": true})
	results = append(results, encoded(t, res))
	if !plan.DryRun || plan.Counts["would_create"] != len(tricky) || plan.Counts["skipped"] != len(envfiletest.Empty) || len(w.list()) != 0 {
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
	if got.Counts["created"] != len(tricky) || got.Counts["skipped"] != len(envfiletest.Empty) {
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
	if again.Counts["skipped"] != len(tricky)+len(envfiletest.Empty) || len(w.list()) != writesBefore {
		t.Errorf("second import = %+v, writes %v", again.Counts, w.list()[writesBefore:])
	}
	for _, r := range again.Results {
		if !slices.Contains(envfiletest.Empty, r.Key) && !strings.Contains(r.Reason, "set overwrite to replace") {
			t.Errorf("%s: %q", r.Key, r.Reason)
		}
	}
	assertNoFileValue(t, map[string]string{"results": strings.Join(results, "\n"), "logs": h.logs.String()})
}

func TestImportOverwriteReplacesByIDAndOnlyWhenAsked(t *testing.T) {
	t.Parallel()
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
	t.Parallel()
	h := newHarness(t, nil)
	writeTricky(t, h)
	got, res := h.importCall(t, map[string]any{"keys": []string{"PLAIN", "NOPE"}, "dry_run": true})
	var nope string
	for _, r := range got.Results {
		if r.Key == "NOPE" {
			nope = r.Outcome + ": " + r.Reason
		}
	}
	if nope != "missing: not in the file (its keys are in file_keys)" || outcomes(got)["PLAIN"] != "would_create" ||
		!slices.Equal(got.FileKeys, slices.Sorted(maps.Keys(fileKeys()))) {
		t.Errorf("results = %+v, file keys %v", got.Results, got.FileKeys)
	}
	for _, r := range got.Results {
		if r.Name != r.Key {
			t.Errorf("%s: name %q, want the name it would have", r.Key, r.Name)
		}
	}
	assertNoFileValue(t, map[string]string{"result": encoded(t, res)})
}

func TestImportRefusesAnInvalidPrefixAndNamesItMakesTooLongBeforeSendingAnything(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	if err := os.WriteFile(h.envFile, []byte("GOOD=CANARYVALUE-1\nLONGER_KEY=CANARYVALUE-2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A prefix no name may hold is the argument's fault, named as such.
	res := h.call(t, "import_env_file", map[string]any{"prefix": "prod env/"})
	if text := resultText(t, res); !res.IsError || !strings.Contains(text, `prefix may contain only letters, digits`) || !strings.Contains(text, "Nothing was sent") {
		t.Errorf("prefix with a space: %s", text)
	}
	// A prefix that makes one key's name too long refuses that key alone.
	got, res := h.importCall(t, map[string]any{"prefix": strings.Repeat("p", 94)})
	if res.IsError || outcomes(got)["GOOD"] != "created" || outcomes(got)["LONGER_KEY"] != "invalid" {
		t.Fatalf("%s", encoded(t, res))
	}
	for _, r := range got.Results {
		if r.Key == "LONGER_KEY" && (r.Line != 2 || !strings.Contains(r.Reason, "the secret name must be at most 100 characters")) {
			t.Errorf("LONGER_KEY: %+v", r)
		}
	}
	if h.api.Len() != 1 {
		t.Errorf("%d secrets stored, want GOOD alone", h.api.Len())
	}
}

func TestImportReportsAPartialFailureKeyByKey(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	writeTricky(t, h)
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
	t.Parallel()
	h := newHarness(t, nil)
	if err := os.WriteFile(h.envFile, []byte("A=CANARYVALUE-a\nB=\"CANARYVALUE-unclosed\nC=x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, res := h.importCall(t, map[string]any{"dry_run": true})
	text := resultText(t, res)
	if res.IsError || outcomes(got)["A"] != "would_create" || outcomes(got)["B"] != "invalid" || len(got.Results) != 2 ||
		!strings.Contains(text, "line 2 opens a double-quoted value that is never closed, so nothing from line 2 on can be read") {
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

func TestImportOfAFileRepointedAfterStartUpSaysWhyAndSendsNothing(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	other := filepath.Join(t.TempDir(), "other.env")
	if err := os.WriteFile(other, []byte("A=CANARYVALUE-other\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(h.envFile); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(other, h.envFile); err != nil {
		t.Fatal(err)
	}
	res := h.call(t, "import_env_file", map[string]any{})
	text := resultText(t, res)
	want := "Could not read " + h.envFile + ": no longer leads to the file it named at start-up; a link along the path was changed, so it is not read; restart the server once the path is right. Nothing was sent to Together."
	if !res.IsError || text != want {
		t.Errorf("result = %s\nwant %s", text, want)
	}
	if n := h.srv.Count(); n != 0 {
		t.Errorf("%d requests were sent", n)
	}
	assertNoLeak(t, map[string]string{"result": text, "logs": h.logs.String()}, "CANARYVALUE-other")
}

func TestImportIsOfferedOnlyWithEnvFilesAndNeverReadOnly(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		sel  tools.Selection
		want bool
	}{
		{tools.Selection{}, false},
		{tools.Selection{EnvFiles: true}, true},
		{tools.Selection{EnvFiles: true, ReadOnly: true}, false},
		{tools.Selection{EnvFiles: true, Names: []string{"get_secret"}}, false},
	} {
		s, err := tools.NewServer(tools.Config{Tools: tt.sel, Logger: zerolog.Nop(), EnvFiles: []envfile.Source{{Path: "/srv/.env"}}})
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

func TestImportIsNoOracleForGuessedValues(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	// A PIN, a long password, and a value that is another key's name.
	if err := os.WriteFile(h.envFile, []byte("PIN=4821\nPASSWORD=hunter2-CANARYVALUE\nA=B\nB=CANARYVALUE-b\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	guesses := []string{"admin", "4821", "0000", "hunter2-CANARYVALUE", "hunter2-CANARYVALUf"}
	for _, prefix := range []string{"", "p/"} {
		got, res := h.importCall(t, map[string]any{"keys": guesses, "prefix": prefix, "dry_run": true})
		if res.IsError {
			t.Fatal(resultText(t, res))
		}
		if len(got.Results) != len(guesses) {
			t.Fatalf("%d rows for %d keys: %s", len(got.Results), len(guesses), encoded(t, res))
		}
		var first string
		for _, r := range got.Results {
			if !slices.Contains(guesses, r.Key) || r.Name != prefix+r.Key {
				t.Errorf("a key or name did not come back as sent: %+v", r)
			}
			// Every wrong guess, and every right one, reads the same.
			row := r.Outcome + "|" + r.Reason
			if first == "" {
				first = row
			} else if row != first {
				t.Errorf("row %q reads %q, others %q: a guess can be told apart", r.Key, row, first)
			}
		}
	}
	// Importing all: the row of B is whole though A's value is "B".
	got, res := h.importCall(t, map[string]any{"dry_run": true})
	if o := outcomes(got); o["A"] != "would_create" || o["B"] != "would_create" || len(got.Results) != 4 {
		t.Errorf("rows = %s", encoded(t, res))
	}
	for _, r := range got.Results {
		if r.Name != r.Key {
			t.Errorf("%+v: the name was withheld", r)
		}
	}
	if h.api.Len() != 0 {
		t.Error("a dry run stored something")
	}
	assertNoLeak(t, map[string]string{"logs": h.logs.String()}, "hunter2-CANARYVALUE", "CANARYVALUE-b")
}

// guessHarness is a harness whose dotenv file holds PW=hunter22, a value
// the caller never sees, and WORD=overwrite, a word of the server's own
// answers, and SELF_NAMED, whose key is its value; the secrets d-PW and
// d-WORD exist.
func guessHarness(t *testing.T) *harness {
	t.Helper()
	h := newHarness(t, nil)
	if err := os.WriteFile(h.envFile, []byte("PW=hunter22\nWORD=overwrite\nSELF_NAMED=SELF_NAMED\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"d-PW", "d-WORD"} {
		if r := h.call(t, "create_secret", map[string]any{"name": name, "value": canaryValue}); r.IsError {
			t.Fatal(resultText(t, r))
		}
	}
	return h
}

// importRows imports with args and returns each key's outcome, reason and
// secret's description, failing if anything was withheld.
func (h *harness) importRows(t *testing.T, args map[string]any) map[string]string {
	t.Helper()
	got, res := h.importCall(t, args)
	if res.IsError || strings.Contains(encoded(t, res), togetherapi.Redacted) {
		t.Fatalf("the import withholds something:\n%s", encoded(t, res))
	}
	m := map[string]string{}
	for _, r := range got.Results {
		m[r.Key] = r.Outcome + "|" + r.Reason + "|" + fmt.Sprint(r.Secret["description"])
	}
	return m
}

func TestImportIsNoOracleForAPrefixTheCallerSends(t *testing.T) {
	t.Parallel()
	// A name that holds its value is refused only where the file put the
	// value there: a prefix that holds it is the caller's guess, and the
	// row must read the same whether the guess is right or not.
	h := guessHarness(t)
	for _, guess := range []string{"hunter22", "hunter23"} {
		got := h.importRows(t, map[string]any{"prefix": guess + "-", "dry_run": true})
		if want := "would_create||<nil>"; got["PW"] != want || got["WORD"] != want {
			t.Errorf("prefix %s-: rows = %q, want both %q", guess, got, want)
		}
		// The file, not the caller, put this value in its name.
		if !strings.HasPrefix(got["SELF_NAMED"], "invalid|name contains the secret value") {
			t.Errorf("prefix %s-: the key that holds its value reads %q", guess, got["SELF_NAMED"])
		}
	}
	if h.api.Len() != 2 {
		t.Errorf("the dry runs stored something: %d secrets", h.api.Len())
	}
}

func TestImportShowsADescriptionTheCallerWroteAndItsOwnWordsWhole(t *testing.T) {
	t.Parallel()
	// A description is the caller's to write and to read in every list:
	// withheld for holding a value of the file, it would say which guess
	// was right. The server's own reason holds WORD's value, and is
	// neither the caller's business nor a secret.
	h := guessHarness(t)
	for _, guess := range []string{"hunter22", "hunter23"} {
		desc := "my " + guess + " guess"
		for _, name := range []string{"d-PW", "d-WORD"} {
			if r := h.call(t, "update_secret", map[string]any{"id": name, "description": desc}); r.IsError {
				t.Fatal(resultText(t, r))
			}
		}
		got := h.importRows(t, map[string]any{"prefix": "d-", "dry_run": true})
		want := "skipped|a secret with this name exists; set overwrite to replace its value|" + desc
		if got["PW"] != want || got["WORD"] != want {
			t.Errorf("description %q: rows = %q, want both %q", desc, got, want)
		}
	}
}

func TestAnImportThatReplacesIsNoOracleForANameOrDescriptionTheCallerWrote(t *testing.T) {
	t.Parallel()
	// A replace keeps the secret's name and description: they are the
	// caller's words, and whether they hold the file's value must change
	// nothing of what it reads.
	h := guessHarness(t)
	for _, guess := range []string{"hunter22", "hunter23"} {
		// A name made of the guess, by an import, replaced by the next.
		prefix := guess + "-"
		if got := h.importRows(t, map[string]any{"prefix": prefix, "keys": []string{"PW"}}); got["PW"] != "created||<nil>" {
			t.Fatalf("prefix %s: rows = %q", prefix, got)
		}
		got := h.importRows(t, map[string]any{"prefix": prefix, "keys": []string{"PW"}, "overwrite": true})
		if want := "replaced||<nil>"; got["PW"] != want {
			t.Errorf("prefix %s, replaced: rows = %q, want %q", prefix, got, want)
		}
		// A description the caller wrote on a secret the import replaces.
		desc := "my " + guess + " guess"
		if r := h.call(t, "update_secret", map[string]any{"id": "d-PW", "description": desc}); r.IsError {
			t.Fatal(resultText(t, r))
		}
		got = h.importRows(t, map[string]any{"prefix": "d-", "keys": []string{"PW"}, "overwrite": true})
		if want := "replaced||" + desc; got["PW"] != want {
			t.Errorf("description %q, replaced: rows = %q, want %q", desc, got, want)
		}
	}
	for _, name := range []string{"hunter22-PW", "hunter23-PW", "d-PW"} {
		if !h.api.ValueMatches(name, "hunter22") {
			t.Errorf("%s does not hold the file's value", name)
		}
	}
}

func TestImportRefusesValuesReadersTakeDifferentlyKeyByKey(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	src := "GOOD=CANARYVALUE-good\n" +
		"PASS=\"P@ss\\word-CANARYVALUE\"\n" +
		"TAB=\"a\\tb-CANARYVALUE\"\n" +
		"bad key=CANARYVALUE-oops\n" +
		"LATIN1=\"p\xe4ssw\xf6rd-123\"\n" +
		"KEPT='P@ss\\word-CANARYVALUE-kept'\n"
	if err := os.WriteFile(h.envFile, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	got, res := h.importCall(t, map[string]any{})
	if res.IsError {
		t.Fatal(resultText(t, res))
	}
	want := map[string]struct {
		outcome string
		line    int
		words   string
	}{
		"GOOD":   {"created", 1, ""},
		"PASS":   {"invalid", 2, "single quotes"},
		"TAB":    {"invalid", 3, "bash, docker compose and godotenv read differently"},
		"":       {"invalid", 4, "line 4 is not a NAME=value assignment"},
		"LATIN1": {"invalid", 5, "not valid UTF-8"},
		"KEPT":   {"created", 6, ""},
	}
	if len(got.Results) != len(want) {
		t.Fatalf("rows = %s", encoded(t, res))
	}
	for _, r := range got.Results {
		w, ok := want[r.Key]
		if !ok || r.Outcome != w.outcome || r.Line != w.line || !strings.Contains(r.Reason, w.words) {
			t.Errorf("%q: %+v, want %+v", r.Key, r, w)
		}
	}
	if h.api.Len() != 2 || !h.api.ValueMatches("KEPT", `P@ss\word-CANARYVALUE-kept`) {
		t.Errorf("%d secrets stored, or KEPT not as written", h.api.Len())
	}
	assertNoLeak(t, map[string]string{"result": encoded(t, res), "logs": h.logs.String()}, "CANARYVALUE", "ssw", "oops")
}

func TestImportLogsTheFileInAFieldOfItsOwn(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	if err := os.WriteFile(h.envFile, []byte("A=CANARYVALUE-a\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, res := h.importCall(t, map[string]any{"dry_run": true}); res.IsError {
		t.Fatal(resultText(t, res))
	}
	logs := h.logs.String()
	if !strings.Contains(logs, `"file":"`+h.envFile+`"`) || strings.Contains(logs, `"secret":"`+h.envFile+`"`) {
		t.Errorf("log = %s", logs)
	}
}
