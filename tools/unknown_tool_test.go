package tools_test

import (
	"os"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/together-secrets-mcp/together-secrets-mcp/internal/audit"
	"github.com/together-secrets-mcp/together-secrets-mcp/tools"
)

func TestACallToAToolThatDoesNotExistListsTheToolsOffered(t *testing.T) {
	t.Parallel()
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			h := newHarnessWith(t, func(c *tools.Config) { c.Tools = tools.Selection{Names: []string{"list_secrets", "get_secret"}} }, p.opts)
			want := "This server has no tool of that name. The tools it offers are list_secrets, get_secret (tools/list describes each); call one of them. Nothing was sent to Together."
			var answers []string
			for _, name := range []string{"nuke_all", "", "(unknown tool)", "List_Secrets", canaryKey} {
				r := h.call(t, name, map[string]any{"value": canaryValue})
				if text := resultText(t, r); !r.IsError || text != want {
					t.Errorf("a call to %q:\n got %s\nwant %s", name, text, want)
				}
				answers = append(answers, encoded(t, r))
			}
			for _, a := range answers[1:] {
				if a != answers[0] {
					t.Errorf("two unknown names are answered differently:\n%s\n%s", answers[0], a)
				}
			}
			// A tool left out still says how to offer it, and the stand-in
			// for the unknown is never listed.
			if text := resultText(t, h.call(t, "create_secret", map[string]any{"name": "X", "value": canaryValue})); !strings.Contains(text, "is not among the tools chosen with --tools") {
				t.Errorf("a tool not chosen: %s", text)
			}
			list, err := h.mcp.ListTools(h.ctx(), mcp.ListToolsRequest{})
			if err != nil || len(list.Tools) != 2 {
				t.Fatalf("tools/list = %v, %v", list, err)
			}
			if h.srv.Count() != 0 {
				t.Errorf("%d requests reached the API", h.srv.Count())
			}
			if logs := h.logs.String(); strings.Contains(logs, "nuke_all") || !strings.Contains(logs, `"outcome":"not_offered"`) {
				t.Errorf("log = %s", logs)
			}
		})
	}
}

func TestAValueSentToAToolThatDoesNotExistIsAuditedUnderValuesFromUserOnly(t *testing.T) {
	// Under the rule, a value sent in the chat is a refusal the trail
	// records, whichever tool it was sent to: a misspelt name must not
	// keep it out.
	var (
		path string
		log  *audit.Log
	)
	h := newHarnessWith(t, func(c *tools.Config) { valuesFromUserOnly(c); audited(t, &path, &log)(c) }, nil)
	want := resultText(t, h.call(t, "nuke_all", nil))
	for _, name := range []string{"Create_Secret", "create_secret ", "(unknown tool)"} {
		r := h.call(t, name, map[string]any{"name": "TARGET", "value": canaryValue})
		if text := resultText(t, r); !r.IsError || text != want {
			t.Errorf("a call to %q:\n got %s\nwant %s", name, text, want)
		}
	}
	lines := auditLines(t, path)
	if len(lines) != 3 {
		t.Fatalf("%d audit lines, want one for each call that sent arguments: %+v", len(lines), lines)
	}
	for _, e := range lines {
		if e.Phase != "refused" || e.Tool != "(unknown tool)" || e.Secret != "TARGET" || !strings.Contains(e.Reason, "may carry a value") {
			t.Errorf("audit line = %+v", e)
		}
	}
	b, _ := os.ReadFile(path)
	assertNoLeak(t, map[string]string{"audit": string(b), "log": h.logs.String()}, "Create_Secret")
}
