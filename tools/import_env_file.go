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

// importEnvFileSchema lists the configured files as the only values "file"
// may take, so the agent sees what it may read and can name nothing else.
func importEnvFileSchema(files []string) json.RawMessage {
	enum, _ := json.Marshal(files)
	if len(files) == 0 {
		enum = []byte("[]")
	}
	return json.RawMessage(fmt.Sprintf(`{
  "type": "object",
  "properties": {
    "file": {"type": "string", "enum": %s, "description": "Which configured dotenv file; may be left out when only one is configured."},
    "keys": {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": %d}, "maxItems": %d, "description": "Variable names to import; all when left out."},
    "prefix": {"type": "string", "maxLength": %d, "description": "Prepended to each key to make the secret name, e.g. prod/."},
    "overwrite": {"type": "boolean", "description": "Replace the value of secrets that exist (default false: skip them)."},
    "dry_run": {"type": "boolean", "description": "Report the plan and send no write."}
  },
  "additionalProperties": false
}`, enum, togetherapi.NameMaxLength, maxImportKeys, togetherapi.NameMaxLength))
}

var importEnvFileArgs = argNames(importEnvFileSchema(nil))

var importEnvFileOutputSchema = json.RawMessage(`{
  "type": "object",
  "properties": {
    "file": {"type": "string"},
    "dry_run": {"type": "boolean"},
    "results": {"type": "array", "items": {"type": "object", "properties": {
      "key": {"type": "string"}, "name": {"type": "string"}, "outcome": {"type": "string"},
      "reason": {"type": "string"}, "note": {"type": "string"}, "secret": ` + string(secretItemSchema) + `
    }, "required": ["key", "outcome"]}},
    "counts": {"type": "object", "additionalProperties": {"type": "integer"}}
  },
  "required": ["file", "dry_run", "results", "counts"]
}`)

func (t *toolset) importEnvFile() tool {
	def := mcp.NewToolWithRawSchema("import_env_file",
		"Import variables from a dotenv file the user configured into Together secrets, named prefix+KEY. "+
			"Values go from the file to Together; you never see them. Existing secrets are skipped unless overwrite. "+
			"Try dry_run first. Returns what happened to each key.",
		importEnvFileSchema(t.cfg.EnvFiles))
	def.RawOutputSchema = importEnvFileOutputSchema
	def = annotate(def, "Import dotenv file into Together", false, true, true)
	return tool{def: def, handle: t.handleImportEnvFile, byDefault: true, needsEnvFiles: true}
}

// Outcomes of one key.
const (
	keyCreated      = "created"
	keyReplaced     = "replaced"
	keySkipped      = "skipped"
	keyMissing      = "missing"
	keyFailed       = "failed"
	keyWouldCreate  = "would_create"
	keyWouldReplace = "would_replace"
)

// keyResult is what happened to one key.
type keyResult struct {
	Key     string              `json:"key"`
	Name    string              `json:"name,omitempty"`
	Outcome string              `json:"outcome"`
	Reason  string              `json:"reason,omitempty"`
	Note    string              `json:"note,omitempty"`
	Secret  *togetherapi.Secret `json:"secret,omitempty"`
	info    togetherapi.CallInfo
}

// importResult is import_env_file's structured result.
type importResult struct {
	File    string         `json:"file"`
	DryRun  bool           `json:"dry_run"`
	Results []keyResult    `json:"results"`
	Counts  map[string]int `json:"counts"`
}

// importRequest is import_env_file's arguments, checked.
type importRequest struct {
	file              string
	keys              []string // nil for all
	prefix            string
	overwrite, dryRun bool
}

func (t *toolset) parseImport(req mcp.CallToolRequest) (importRequest, error) {
	var out importRequest
	args, err := parseArguments(req, importEnvFileArgs)
	if err != nil {
		return out, err
	}
	file, ok, err := args.optionalString("file")
	switch {
	case err != nil:
		return out, err
	case !ok && len(t.cfg.EnvFiles) == 1:
		file = t.cfg.EnvFiles[0]
	case !ok:
		return out, &togetherapi.FieldError{Field: "file", Problem: "is required when several files are configured: one of " + strings.Join(t.cfg.EnvFiles, ", ")}
	case !slices.Contains(t.cfg.EnvFiles, file):
		return out, &togetherapi.FieldError{Field: "file", Problem: "must be one of the configured files: " + strings.Join(t.cfg.EnvFiles, ", ")}
	}
	out.file = file
	if out.prefix, _, err = args.optionalString("prefix"); err != nil {
		return out, err
	}
	if err := checkLength("prefix", out.prefix, togetherapi.NameMaxLength); err != nil {
		return out, err
	}
	for _, b := range []struct {
		key string
		dst *bool
	}{{"overwrite", &out.overwrite}, {"dry_run", &out.dryRun}} {
		if *b.dst, err = args.optionalBool(b.key); err != nil {
			return out, err
		}
	}
	if raw, ok := args["keys"]; ok && string(raw) != "null" {
		if err := json.Unmarshal(raw, &out.keys); err != nil {
			return out, &togetherapi.FieldError{Field: "keys", Problem: "must be an array of variable names"}
		}
		if len(out.keys) == 0 {
			return out, &togetherapi.FieldError{Field: "keys", Problem: "must name at least one key; leave it out to import all"}
		}
		if len(out.keys) > maxImportKeys {
			return out, &togetherapi.FieldError{Field: "keys", Problem: fmt.Sprintf("may name at most %d keys (it has %d)", maxImportKeys, len(out.keys))}
		}
		for _, k := range out.keys {
			if k == "" || len(k) > togetherapi.NameMaxLength {
				return out, &togetherapi.FieldError{Field: "keys", Problem: fmt.Sprintf("must hold names of 1 to %d characters", togetherapi.NameMaxLength)}
			}
		}
	}
	return out, nil
}

func (t *toolset) handleImportEnvFile(ctx context.Context, req mcp.CallToolRequest, rec *callRecord) *mcp.CallToolResult {
	const name = "import_env_file"
	in, err := t.parseImport(req)
	if err != nil {
		return invalidArguments(name, rec, err)
	}
	rec.secret = in.file

	f, err := envfile.Read(in.file)
	if err != nil {
		rec.outcome = outcomeError
		return mcp.NewToolResultError(fmt.Sprintf("Could not read %s: %s. Nothing was sent to Together.", in.file, fileProblem(err)))
	}
	// Every value of the file is kept out of every output of this call,
	// whether imported or not: an error from Together may quote any.
	for _, v := range f.Vars {
		if v != "" {
			rec.scrub = append(rec.scrub, togetherapi.NewSensitive(v))
		}
	}

	keys := in.keys
	if keys == nil {
		keys = f.Keys
	}
	keys = slices.Compact(slices.Sorted(slices.Values(keys)))
	if len(keys) > maxImportKeys {
		return invalidArguments(name, rec, &togetherapi.FieldError{Field: "keys",
			Problem: fmt.Sprintf("must be given: the file has %d keys, and one call imports at most %d", len(keys), maxImportKeys)})
	}
	// Every name must pass the create rules before anything is sent.
	var bad []string
	for _, k := range keys {
		if _, ok := f.Vars[k]; ok && togetherapi.ValidateName("name", in.prefix+k) != nil {
			bad = append(bad, quoteKey(k))
		}
	}
	if len(bad) > 0 {
		return invalidArguments(name, rec, &togetherapi.FieldError{Field: "prefix",
			Problem: fmt.Sprintf("with these keys makes invalid secret names (1-%d characters of letters, digits, _ - / .): %s",
				togetherapi.NameMaxLength, strings.Join(bad, ", "))})
	}

	existing, err := t.client(ctx).ListSecrets(ctx)
	if err != nil {
		return t.apiFailure(ctx, rec, operation{what: "list the secrets before importing " + in.file}, err)
	}
	byName := make(map[string]togetherapi.Secret, len(existing))
	for _, s := range existing {
		byName[s.Name] = s
	}

	out := importResult{File: in.file, DryRun: in.dryRun, Results: make([]keyResult, len(keys)), Counts: map[string]int{}}
	var work []int // indexes of keys with a write to send
	for i, k := range keys {
		r := &out.Results[i]
		r.Key = k
		value, ok := f.Vars[k]
		switch {
		case !ok:
			r.Outcome, r.Reason = keyMissing, "not in the file; its keys are "+listKeys(f.Keys)
			continue
		case value == "":
			r.Name, r.Outcome, r.Reason = in.prefix+k, keySkipped, "the value is empty"
			continue
		}
		r.Name = in.prefix + k
		current, exists := byName[r.Name]
		switch {
		case exists && !in.overwrite:
			r.Outcome, r.Reason, r.Secret = keySkipped, "a secret with this name exists; set overwrite to replace its value", &current
		case in.dryRun && exists:
			r.Outcome, r.Secret = keyWouldReplace, &current
		case in.dryRun:
			r.Outcome = keyWouldCreate
		default:
			work = append(work, i)
		}
	}

	// The writes, a few at a time; each follows the client's retry and
	// settle rules, and each key's outcome is its own.
	scrub := rec.scrubber()
	callInfo := togetherapi.CallInfoFrom(ctx)
	sem := make(chan struct{}, importConcurrency)
	var wg sync.WaitGroup
	for _, i := range work {
		r := &out.Results[i]
		value := togetherapi.NewSensitive(f.Vars[r.Key])
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
			var (
				s   *togetherapi.Secret
				err error
				op  operation
			)
			if exists {
				op = operation{what: fmt.Sprintf("replace the value of secret %q", r.Name), write: true, oneSecret: true}
				s, err = t.client(ctx).UpdateSecretOf(ctx, &current, togetherapi.UpdateSecretRequest{Value: value})
				r.Outcome = keyReplaced
			} else {
				op = operation{what: fmt.Sprintf("create secret %q", r.Name), write: true}
				s, err = t.client(ctx).CreateSecret(ctx, togetherapi.CreateSecretRequest{Name: r.Name, Value: value})
				r.Outcome = keyCreated
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
			callInfo.Attempts += out.Results[i].info.Attempts
			if s := out.Results[i].info.StatusCode; s != 0 {
				callInfo.StatusCode = s
			}
		}
	}

	for _, r := range out.Results {
		out.Counts[r.Outcome]++
	}
	if out.Counts[keyFailed] > 0 {
		rec.outcome = outcomeError
	}
	return structuredResult(out)
}

// listKeys names a file's keys, at most 50 of them.
func listKeys(keys []string) string {
	const most = 50
	if len(keys) <= most {
		return strings.Join(keys, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(keys[:most], ", "), len(keys)-most)
}

// fileProblem words an error reading a configured dotenv file.
func fileProblem(err error) string {
	var pe *envfile.ParseError
	switch {
	case errors.As(err, &pe):
		return strings.TrimPrefix(pe.Error(), pe.Path+", ")
	case errors.Is(err, envfile.ErrNotRegular):
		return "it is no longer a regular file"
	}
	return err.Error()
}
