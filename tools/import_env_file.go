package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/together-secrets-mcp/together-secrets-mcp/internal/envfile"
	"github.com/together-secrets-mcp/together-secrets-mcp/togetherapi"
)

// Limits of one import: the keys one call takes, and how many requests to
// Together it has in flight at once.
const (
	maxImportKeys     = 500
	importConcurrency = 8
)

// importEnvFileArgs lists the configured files as the only values "file"
// may take, so the agent sees what it may read and can name nothing else.
func importEnvFileArgs(files []envfile.Source) params {
	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = f.Path
	}
	return params{
		{name: "file", typ: "string", enum: paths, desc: "Optional if only one."},
		{name: "keys", typ: "array", items: &param{typ: "string", minLen: 1, maxLen: togetherapi.NameMaxLength}, maxItems: maxImportKeys,
			desc: "Default: all."},
		{name: "prefix", typ: "string", maxLen: togetherapi.NameMaxLength, desc: "e.g. prod/"},
		{name: "overwrite", typ: "boolean", desc: "Replace existing values."},
		{name: "dry_run", typ: "boolean", desc: "Plan only."},
	}
}

var importEnvFileOutputSchema = json.RawMessage(`{
  "type": "object",
  "properties": {
    "file": {"type": "string"},
    "dry_run": {"type": "boolean"},
    "results": {"type": "array", "items": {"type": "object", "properties": {
      "key": {"type": "string"}, "name": {"type": "string"}, "line": {"type": "integer"}, "outcome": {"type": "string"},
      "reason": {"type": "string"}, "note": {"type": "string"}, "secret": {"type": "object"}
    }, "required": ["outcome"]}},
    "file_keys": {"type": "array"},
    "counts": {"type": "object", "additionalProperties": {"type": "integer"}}
  },
  "required": ["file", "dry_run", "results", "counts"]
}`)

func (t *toolset) importEnvFile() tool {
	x := define("import_env_file", "Import dotenv file",
		"Import a dotenv file the user configured into secrets named prefix+KEY; values go from it to Together, never to you. "+
			"Skips existing ones unless overwrite. Try dry_run first.",
		importEnvFileArgs(t.cfg.EnvFiles), importEnvFileOutputSchema, hints{destructive: true, idempotent: true})
	x.handle, x.byDefault, x.needsEnvFiles = t.handleImportEnvFile, true, true
	return x
}

// Outcomes of one key.
const (
	keyCreated      = "created"
	keyReplaced     = "replaced"
	keySkipped      = "skipped"
	keyMissing      = "missing"
	keyInvalid      = "invalid"
	keyFailed       = "failed"
	keyWouldCreate  = "would_create"
	keyWouldReplace = "would_replace"
)

// keyResult is what happened to one key, or to one line that assigns none.
type keyResult struct {
	Key     string              `json:"key,omitempty"`
	Name    string              `json:"name,omitempty"`
	Line    int                 `json:"line,omitempty"`
	Outcome string              `json:"outcome"`
	Reason  string              `json:"reason,omitempty"`
	Note    string              `json:"note,omitempty"`
	Secret  *togetherapi.Secret `json:"secret,omitempty"`
	info    togetherapi.CallInfo
}

// importResult is import_env_file's structured result.
type importResult struct {
	File    string      `json:"file"`
	DryRun  bool        `json:"dry_run"`
	Results []keyResult `json:"results"`
	// FileKeys are the file's keys, when a key asked for is missing.
	FileKeys []string       `json:"file_keys,omitempty"`
	Counts   map[string]int `json:"counts"`
}

// importRequest is import_env_file's arguments, checked.
type importRequest struct {
	file              envfile.Source
	keys              []string // nil for all
	prefix            string
	overwrite, dryRun bool
}

func (t *toolset) parseImport(rec *callRecord) (importRequest, error) {
	var out importRequest
	r := readArguments(rec, importEnvFileArgs(t.cfg.EnvFiles))
	out.file = t.readFile(r)
	out.prefix, _ = r.optStr("prefix")
	r.maxLen("prefix", out.prefix, togetherapi.NameMaxLength)
	if out.prefix != "" {
		// The prefix alone must be a valid start of a name; each name is
		// checked whole, key by key, later.
		r.check(togetherapi.ValidateName("prefix", out.prefix))
	}
	out.overwrite = r.optBool("overwrite")
	out.dryRun = r.optBool("dry_run")
	out.keys = readKeys(r)
	return out, r.err()
}

// readFile reads which configured file the call names.
func (t *toolset) readFile(r *argReader) envfile.Source {
	var paths []string
	for _, f := range t.cfg.EnvFiles {
		paths = append(paths, f.Path)
	}
	file, ok := r.optStr("file")
	switch {
	case !r.ok():
		return envfile.Source{}
	case !ok && len(paths) == 1:
		file = paths[0]
	case !ok:
		r.fail("file", "is required when several files are configured: one of "+strings.Join(paths, ", "))
		return envfile.Source{}
	case !slices.Contains(paths, file):
		r.fail("file", "must be one of the configured files: "+strings.Join(paths, ", "))
		return envfile.Source{}
	}
	return t.cfg.EnvFiles[slices.Index(paths, file)]
}

// readKeys reads the keys the call names: nil for all.
func readKeys(r *argReader) []string {
	raw, ok := r.args["keys"]
	if !r.ok() || !ok || string(raw) == "null" {
		return nil
	}
	var keys []string
	if err := json.Unmarshal(raw, &keys); err != nil {
		r.fail("keys", "must be an array of variable names")
		return nil
	}
	switch {
	case len(keys) == 0:
		r.fail("keys", "must name at least one key; leave it out to import all")
	case len(keys) > maxImportKeys:
		r.fail("keys", fmt.Sprintf("may name at most %d keys (it has %d)", maxImportKeys, len(keys)))
	case slices.ContainsFunc(keys, func(k string) bool { return k == "" || len(k) > togetherapi.NameMaxLength }):
		r.fail("keys", fmt.Sprintf("must hold names of 1 to %d characters", togetherapi.NameMaxLength))
	}
	return keys
}

// prefixProblem says how an import's prefix leads outside the scope, or ""
// when it leads into it. Every name is prefix+KEY: a prefix that does not
// lead into the scope makes every name fall outside it, and the file is
// not read.
func (t *toolset) prefixProblem(prefix string) string {
	p := t.scopeProblem(prefix + "K")
	if p != "" && prefix == "" {
		return "was not given, so each secret would be named by its key alone, outside the scope"
	}
	return p
}

func (t *toolset) handleImportEnvFile(ctx context.Context, deps Deps, req mcp.CallToolRequest, rec *callRecord) *mcp.CallToolResult {
	const name = "import_env_file"
	in, err := t.parseImport(rec)
	if err != nil {
		return invalidArguments(name, rec, err)
	}
	rec.file = in.file.Path
	if p := t.prefixProblem(in.prefix); p != "" {
		return t.outOfScope(ctx, rec, t.entry(ctx, rec, name, "import", in.prefix), "prefix", p)
	}

	f, err := in.file.Read()
	if err != nil {
		rec.outcome = outcomeError
		return mcp.NewToolResultError(fmt.Sprintf("Could not read %s: %s. Nothing was sent to Together.", in.file.Path, fileProblem(err)))
	}
	// Every value of the file is kept out of every output of this call,
	// whether imported or not: an error from Together may quote any.
	for _, v := range f.Vars {
		if !v.Value.IsZero() {
			rec.scrub = append(rec.scrub, v.Value)
		}
	}
	// What the caller sent, and the names and keys built from it and read
	// from the file, come back as they are: were a value to hide one, the
	// rows would say which guess was a value.
	rec.keep(in.file.Path, in.prefix)
	rec.keep(f.Keys...)
	rec.keep(in.keys...)

	keys := in.keys
	if keys == nil {
		keys = f.Keys
	}
	keys = slices.Compact(slices.Sorted(slices.Values(keys)))
	if len(keys) > maxImportKeys {
		return invalidArguments(name, rec, &argError{Field: "keys",
			Problem: fmt.Sprintf("must be given: the file has %d keys, and one call imports at most %d", len(keys), maxImportKeys)})
	}

	out, live := checkKeys(rec, in, f, keys)
	byName := map[string]togetherapi.Secret{}
	if len(live) > 0 {
		existing, err := deps.Client.ListSecrets(ctx)
		if err != nil {
			return t.apiFailure(ctx, rec, operation{what: "list the secrets before importing " + in.file.Path}, err)
		}
		for _, s := range existing {
			byName[s.Name] = s
		}
	}
	var work []int // indexes of keys with a write to send
	for _, i := range live {
		if s, ok := byName[out.Results[i].Name]; ok {
			// Read with no value in play, as list_secrets shows it: a
			// description the caller wrote, withheld for holding a value
			// of the file, would say which guess was right.
			rec.keep(s.Object, s.ID, s.Name, s.Description, s.CreatedAt, s.UpdatedAt, s.CreatedBy, s.LastUpdatedBy)
		}
		if planKey(&out.Results[i], in, byName) {
			work = append(work, i)
		}
	}
	t.writeKeys(ctx, deps.Client, rec, f, out.Results, work, byName)

	for _, r := range out.Results {
		out.Counts[r.Outcome]++
		// The server's own words, and Together's already scrubbed: a
		// value of the file that one of them holds is no reason to hide it.
		rec.keep(r.Outcome, r.Reason)
	}
	if out.Counts[keyFailed] > 0 {
		rec.outcome = outcomeError
	}
	return structuredResult(out)
}

// checkKeys starts an import's result with a row for each key, and for each
// line that assigns none when importing all, and returns the indexes of the
// keys that can be imported.
func checkKeys(rec *callRecord, in importRequest, f *envfile.File, keys []string) (out importResult, live []int) {
	out = importResult{File: in.file.Path, DryRun: in.dryRun, Results: make([]keyResult, len(keys)), Counts: map[string]int{}}
	for i, k := range keys {
		r := &out.Results[i]
		r.Key, r.Name = k, in.prefix+k
		rec.keep(r.Name)
		if checkKey(r, f) {
			live = append(live, i)
		}
		if r.Outcome == keyMissing {
			out.FileKeys = f.Keys
		}
	}
	if in.keys == nil {
		// Importing all: a line that assigns no key is reported by its
		// number, and nothing of it is shown.
		for _, b := range f.BadLines {
			out.Results = append(out.Results, keyResult{Line: b.Line, Outcome: keyInvalid, Reason: fmt.Sprintf("line %d %s", b.Line, b.Problem)})
		}
	}
	return out, live
}

// checkKey holds one key to the file and to the API's rules, and reports
// whether it can be imported.
func checkKey(r *keyResult, f *envfile.File) bool {
	v, ok := f.Vars[r.Key]
	if !ok {
		r.Outcome, r.Reason = keyMissing, "not in the file (its keys are in file_keys)"
		if len(f.BadLines) > 0 {
			r.Reason += fmt.Sprintf("; %s could not be read as NAME=value", lineList(f.BadLines))
		}
		return false
	}
	r.Line = v.Line
	if v.Problem != "" {
		r.Outcome, r.Reason = keyInvalid, fmt.Sprintf("line %d %s", v.Line, v.Problem)
		return false
	}
	var fe *togetherapi.FieldError
	if err := togetherapi.ValidateName("name", r.Name); errors.As(err, &fe) {
		r.Outcome, r.Reason = keyInvalid, "the secret name "+fe.Problem
		return false
	}
	if v.Value.IsZero() {
		r.Outcome, r.Reason = keySkipped, "the value is empty"
		return false
	}
	if err := (togetherapi.CreateSecretRequest{Name: r.Name, Value: v.Value}).Validate(); err != nil && !heldByPrefix(err, r.Key, v.Value) {
		// Such as a value held in its own key: refused here, dry run or not.
		r.Outcome, r.Reason = keyInvalid, err.Error()
		return false
	}
	return true
}

// heldByPrefix reports whether err refuses a name only because the prefix
// the caller sent brings the value into it. The caller never sees the
// file's values: refusing its prefix for holding one would tell it that
// its guess was right. What it sends it already knows, and could store as
// a name with any tool; only a key that holds the value is the file's.
func heldByPrefix(err error, key string, value togetherapi.Sensitive) bool {
	return holdsValue(err) && !(togetherapi.Scrubber{value}).Withholds("name", key)
}

// planKey decides what to do with a key that can be imported, given the
// secrets that exist, and reports whether a write is to be sent for it.
func planKey(r *keyResult, in importRequest, byName map[string]togetherapi.Secret) bool {
	current, exists := byName[r.Name]
	switch {
	case exists && !in.overwrite:
		r.Outcome, r.Reason, r.Secret = keySkipped, "a secret with this name exists; set overwrite to replace its value", &current
	case in.dryRun && exists:
		r.Outcome, r.Secret = keyWouldReplace, &current
	case in.dryRun:
		r.Outcome = keyWouldCreate
	default:
		return true
	}
	return false
}

// writeKeys sends the writes of the keys at work through c, a few at a
// time; each follows the client's retry and settle rules, and each key's
// outcome is its own.
func (t *toolset) writeKeys(ctx context.Context, c *togetherapi.Client, rec *callRecord, f *envfile.File, results []keyResult, work []int, byName map[string]togetherapi.Secret) {
	scrub := rec.scrubber()
	rec.callID() // made once, before the writes share it
	callInfo := togetherapi.CallInfoFrom(ctx)
	sem := make(chan struct{}, importConcurrency)
	var wg sync.WaitGroup
	for _, i := range work {
		r := &results[i]
		current, exists := byName[r.Name]
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			// Each key's calls report on their own; the call's record
			// sums them once all are done.
			if callInfo != nil {
				r.info.OnRetry = callInfo.OnRetry // retries are logged as they happen
			}
			ctx := togetherapi.WithCallInfo(ctx, &r.info)
			value := f.Vars[r.Key].Value
			var (
				s   *togetherapi.Secret
				err error
				op  operation
			)
			e := t.entry(ctx, rec, "import_env_file", "create", r.Name)
			if exists {
				e.Action, e.SecretID = "rotate", current.ID
			}
			if !t.inScope(r.Name) {
				t.auditRefusal(ctx, rec, e, "out of scope")
				r.Outcome, r.Reason = keyInvalid, "the secret name is outside the names this server may act on ("+t.scopeWords()+")"
				return
			}
			err = t.audited(ctx, rec, e, func() (string, error) {
				if exists {
					op = operation{what: "replace the value of this secret", write: true, oneSecret: true}
					// The name and description it keeps are the caller's,
					// and the value is not: they are not held against it.
					s, err = c.UpdateSecretOf(ctx, &current, togetherapi.UpdateSecretRequest{Value: value, KeptUnchecked: true})
					r.Outcome = keyReplaced
				} else {
					op = operation{what: "create this secret", write: true}
					s, err = c.CreateSecret(ctx, togetherapi.CreateSecretRequest{Name: r.Name, Value: value})
					r.Outcome = keyCreated
				}
				return idOf(s), err
			})
			if errors.Is(err, errAuditUnwritable) {
				r.Outcome, r.Reason = keyFailed, "not sent: the audit log ("+t.advice.AuditLog+") cannot be written, and this server sends no change it cannot record"
				return
			}
			if err != nil {
				_, reason := t.describeFailure(ctx, op, err)
				r.Outcome, r.Reason = keyFailed, scrub.Scrub(reason)
				return
			}
			if s.Name == "" {
				s.Name = r.Name
			}
			r.Secret = s
			if r.info.Resolution != "" {
				r.Note = scrub.Scrub(r.info.Resolution)
			}
		})
	}
	wg.Wait()
	if callInfo != nil {
		for _, i := range work {
			info := &results[i].info
			callInfo.Requests += info.Requests
			callInfo.Attempts = max(callInfo.Attempts, info.Attempts)
			if s := info.StatusCode; s != 0 {
				callInfo.StatusCode = s
			}
		}
	}
}

// lineList names the lines of problems, at most ten of them.
func lineList(bad []envfile.LineProblem) string {
	const most = 10
	var nums []string
	for i, b := range bad {
		if i == most {
			nums = append(nums, fmt.Sprintf("and %d more", len(bad)-most))
			break
		}
		nums = append(nums, fmt.Sprint(b.Line))
	}
	if len(bad) == 1 {
		return "line " + nums[0]
	}
	return "lines " + strings.Join(nums, ", ")
}

// fileProblem words an error reading a configured dotenv file.
func fileProblem(err error) string {
	switch {
	case errors.Is(err, envfile.ErrNotRegular):
		return "it is no longer a regular file"
	}
	for _, kind := range []error{envfile.ErrMoved, envfile.ErrPseudoFS} {
		if errors.Is(err, kind) {
			return kind.Error() + ", so it is not read; restart the server once the path is right"
		}
	}
	return err.Error()
}
