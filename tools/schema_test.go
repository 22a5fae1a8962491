package tools_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestToolsListMatchesGolden snapshots every tool definition as clients see
// it, so a change to a schema, a description or an annotation is a visible
// diff. Run with -update to accept a change.
func TestToolsListMatchesGolden(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	for name, raw := range h.rawToolsList(t) {
		t.Run(name, func(t *testing.T) {
			// The configured env file's path is the test's own temporary one.
			envPath, _ := json.Marshal(h.envFile)
			raw = bytes.ReplaceAll(raw, envPath, []byte(`"/srv/app/.env.production"`))
			var buf bytes.Buffer
			if err := json.Indent(&buf, raw, "", "  "); err != nil {
				t.Fatal(err)
			}
			got := append(buf.Bytes(), '\n')
			path := filepath.Join("testdata", name+".json")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("no golden file (run go test ./tools -run Golden -update): %v", err)
			}
			if !bytes.Equal(normalize(t, want), normalize(t, got)) {
				t.Errorf("%s differs from %s; if the change is intended, run go test ./tools -run Golden -update\ngot:\n%s", name, path, got)
			}
		})
	}
}

// normalize re-encodes JSON so that key order and spacing do not matter.
func normalize(t *testing.T, b []byte) []byte {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(v)
	return out
}

func TestEveryToolSetsAllFourAnnotationsAndAnOutputSchema(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	list, err := h.mcp.ListTools(t.Context(), mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Tools) == 0 {
		t.Fatal("no tools listed")
	}
	for _, tool := range list.Tools {
		a := tool.Annotations
		if a.Title == "" || a.ReadOnlyHint == nil || a.DestructiveHint == nil || a.IdempotentHint == nil || a.OpenWorldHint == nil {
			t.Errorf("%s: annotations not all set: %+v", tool.Name, a)
		}
		raw, _ := json.Marshal(tool)
		var wire struct {
			InputSchema  map[string]any `json:"inputSchema"`
			OutputSchema map[string]any `json:"outputSchema"`
		}
		if err := json.Unmarshal(raw, &wire); err != nil {
			t.Fatal(err)
		}
		if wire.InputSchema["type"] != "object" || wire.InputSchema["additionalProperties"] != false {
			t.Errorf("%s: input schema is not a closed object: %v", tool.Name, wire.InputSchema)
		}
		if wire.OutputSchema["type"] != "object" {
			t.Errorf("%s: no object output schema: %v", tool.Name, wire.OutputSchema)
		}
		if _, ok := wire.OutputSchema["properties"].(map[string]any)["value"]; ok {
			t.Errorf("%s: the output schema has a value field", tool.Name)
		}
	}
}

func TestCreateSecretSchemaMirrorsTheAPI(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	list, err := h.mcp.ListTools(t.Context(), mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var schema struct {
		Properties map[string]map[string]any `json:"properties"`
		Required   []string                  `json:"required"`
	}
	for _, tool := range list.Tools {
		if tool.Name == "create_secret" {
			raw, _ := json.Marshal(tool)
			var w struct {
				InputSchema json.RawMessage `json:"inputSchema"`
			}
			_ = json.Unmarshal(raw, &w)
			if err := json.Unmarshal(w.InputSchema, &schema); err != nil {
				t.Fatal(err)
			}
			a := tool.Annotations
			if *a.ReadOnlyHint || *a.DestructiveHint || *a.IdempotentHint || !*a.OpenWorldHint {
				t.Errorf("create_secret hints = read-only %v, destructive %v, idempotent %v, open-world %v; want false, false, false, true",
					*a.ReadOnlyHint, *a.DestructiveHint, *a.IdempotentHint, *a.OpenWorldHint)
			}
		}
	}
	if len(schema.Required) != 2 || schema.Required[0] != "name" || schema.Required[1] != "value" {
		t.Errorf("required = %v, want [name value]", schema.Required)
	}
	checks := []struct {
		prop, key string
		want      any
	}{
		{"name", "minLength", 1.0}, {"name", "maxLength", 100.0}, {"name", "pattern", "^[A-Za-z0-9_./-]+$"},
		{"value", "minLength", 1.0}, {"description", "maxLength", 500.0}, {"project_id", "type", "string"},
	}
	for _, c := range checks {
		if got := schema.Properties[c.prop][c.key]; got != c.want {
			t.Errorf("%s.%s = %v, want %v", c.prop, c.key, got, c.want)
		}
	}
	if len(schema.Properties) != 4 {
		t.Errorf("%d properties, want the 4 of CreateSecretRequest", len(schema.Properties))
	}
}

func TestEachToolAcceptsExactlyTheArgumentsItsSchemaLists(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	for name, raw := range h.rawToolsList(t) {
		t.Run(name, func(t *testing.T) {
			var tool struct {
				InputSchema struct {
					Properties json.RawMessage `json:"properties"`
				} `json:"inputSchema"`
			}
			if err := json.Unmarshal(raw, &tool); err != nil {
				t.Fatal(err)
			}
			names := propertyNames(t, tool.InputSchema.Properties)
			res := h.call(t, name, map[string]any{"not_an_argument": true})
			want := "the accepted ones are " + strings.Join(names, ", ")
			if text := resultText(t, res); !res.IsError || !strings.Contains(text, want) {
				t.Errorf("an unknown argument = %s; want it to say %q", text, want)
			}
		})
	}
}

// propertyNames returns the keys of a JSON object in the order written.
func propertyNames(t *testing.T, obj json.RawMessage) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(obj))
	if _, err := dec.Token(); err != nil {
		t.Fatal(err)
	}
	var names []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return names
}
