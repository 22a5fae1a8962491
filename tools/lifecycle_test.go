package tools_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/rs/zerolog"

	"github.com/together-secrets-mcp/together-secrets-mcp/internal/syncio"
	"github.com/together-secrets-mcp/together-secrets-mcp/tools"
)

// structured decodes a result's structured content.
func structured(t *testing.T, r *mcp.CallToolResult) map[string]any {
	t.Helper()
	if r.IsError {
		t.Fatalf("tool error: %s", resultText(t, r))
	}
	b, _ := json.Marshal(r.StructuredContent)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestAnAgentSessionCreatesFindsRotatesRenamesAndDeletes(t *testing.T) {
	t.Parallel()
	const rotated = "CANARYVALUE-rotated-31415926"
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			h := newHarness(t, p.opts)
			var outputs []string
			call := func(tool string, args map[string]any) *mcp.CallToolResult {
				r := h.call(t, tool, args)
				outputs = append(outputs, encoded(t, r))
				return r
			}

			made := structured(t, call("create_secret", map[string]any{"name": "prod/HF_TOKEN", "value": canaryValue, "description": "HF"}))
			structured(t, call("create_secret", map[string]any{"name": "dev/HF_TOKEN", "value": "dev-value"}))

			list := structured(t, call("list_secrets", map[string]any{"name_prefix": "prod/"}))
			if list["count"] != 1.0 || list["secrets"].([]any)[0].(map[string]any)["name"] != "prod/HF_TOKEN" {
				t.Errorf("list_secrets prod/ = %v", list)
			}
			if all := structured(t, call("list_secrets", nil)); all["count"] != 2.0 {
				t.Errorf("list_secrets = %v", all)
			}

			got := structured(t, call("get_secret", map[string]any{"id": "prod/HF_TOKEN"}))
			if got["id"] != made["id"] || got["description"] != "HF" {
				t.Errorf("get_secret by a name with / = %v", got)
			}
			if byID := structured(t, call("get_secret", map[string]any{"id": made["id"]})); byID["name"] != "prod/HF_TOKEN" {
				t.Errorf("get_secret by ID = %v", byID)
			}

			structured(t, call("update_secret", map[string]any{"id": "prod/HF_TOKEN", "value": rotated}))
			if !h.api.ValueMatches("prod/HF_TOKEN", rotated) {
				t.Error("the value was not rotated")
			}
			renamed := structured(t, call("update_secret", map[string]any{"id": "prod/HF_TOKEN", "name": "prod/HUGGINGFACE_TOKEN", "description": ""}))
			if renamed["name"] != "prod/HUGGINGFACE_TOKEN" || renamed["id"] != made["id"] || renamed["description"] != nil {
				t.Errorf("after rename = %v", renamed)
			}

			del := structured(t, call("delete_secret", map[string]any{"id": "prod/HUGGINGFACE_TOKEN"}))
			if del["deleted"] != true || del["secret"].(map[string]any)["id"] != made["id"] {
				t.Errorf("delete_secret = %v", del)
			}
			gone := call("get_secret", map[string]any{"id": made["id"]})
			if !gone.IsError || !strings.Contains(resultText(t, gone), "no secret has that ID or name") {
				t.Errorf("get after delete = %s", encoded(t, gone))
			}
			if h.api.Len() != 1 {
				t.Errorf("%d secrets left, want 1", h.api.Len())
			}

			texts := map[string]string{"logs": h.logs.String()}
			for i, o := range outputs {
				texts["result "+string(rune('a'+i))] = o
			}
			assertNoLeak(t, texts, rotated, "dev-value")
		})
	}
}

func TestLifecycleToolsRefuseBadArgumentsBeforeCallingTogether(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	tests := []struct {
		tool string
		args any
		want string
	}{
		{"get_secret", nil, "id is required"},
		{"get_secret", map[string]any{"id": ""}, "id must not be empty"},
		{"get_secret", map[string]any{"id": 7}, "id must be a string, not a number"},
		{"get_secret", map[string]any{"id": "A", "name": "B"}, `unknown argument "name"`},
		{"delete_secret", map[string]any{}, "id is required"},
		{"list_secrets", map[string]any{"prefix": "x"}, `unknown argument "prefix"; the accepted ones are name_prefix`},
		{"list_secrets", map[string]any{"name_prefix": 1}, "name_prefix must be a string"},
		{"update_secret", map[string]any{"id": "A"}, "change nothing: give at least one of name, value or description"},
		{"update_secret", map[string]any{"id": "A", "project_id": "p"}, "change nothing"},
		{"update_secret", map[string]any{"id": "A", "value": ""}, "value must not be empty; leave it out to keep the value"},
		{"update_secret", map[string]any{"id": "A", "name": ""}, "name must not be empty"},
		{"update_secret", map[string]any{"id": "A", "name": "a b"}, "name may contain only"},
		{"update_secret", map[string]any{"id": "A", "value": 5}, "value must be a string"},
		{"update_secret", map[string]any{"id": "A", "description": strings.Repeat("d", 501)}, "description must be at most 500"},
		{"update_secret", map[string]any{"value": canaryValue}, "id is required"},
	}
	for _, tt := range tests {
		t.Run(tt.tool+" "+tt.want, func(t *testing.T) {
			r := h.call(t, tt.tool, tt.args)
			if !r.IsError || !strings.Contains(resultText(t, r), tt.want) || !strings.Contains(resultText(t, r), "Nothing was sent") {
				t.Errorf("result = %s, want an error saying %q", encoded(t, r), tt.want)
			}
			assertNoLeak(t, map[string]string{"result": encoded(t, r)})
		})
	}
	if n := h.srv.Count(); n != 0 {
		t.Errorf("%d requests reached the API", n)
	}
}

func TestLifecycleToolsReportMissingSecrets(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	for _, tc := range []struct {
		tool string
		args map[string]any
	}{
		{"get_secret", map[string]any{"id": "NOPE"}},
		{"get_secret", map[string]any{"id": "no/such/name"}},
		{"update_secret", map[string]any{"id": "NOPE", "value": canaryValue}},
		{"delete_secret", map[string]any{"id": "NOPE"}},
	} {
		r := h.call(t, tc.tool, tc.args)
		if !r.IsError || !strings.Contains(resultText(t, r), "no secret has that ID or name. Use list_secrets to find it.") {
			t.Errorf("%s = %s", tc.tool, encoded(t, r))
		}
		assertNoLeak(t, map[string]string{"result": encoded(t, r)})
	}
}

func TestUpdateNeverEchoesTheNewValueEvenWhenTheAPIDoes(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	structured(t, h.call(t, "create_secret", map[string]any{"name": "E", "value": "old"}))
	// The API answers the update with the new value in every field.
	h.setFault(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			h.api.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"object":"secret","id":"x","name":"E","value":%q,"description":%q,"created_by":%q}`, canaryValue, canaryValue, canaryValue)
	})
	r := h.call(t, "update_secret", map[string]any{"id": "E", "value": canaryValue})
	if r.IsError {
		t.Fatal(resultText(t, r))
	}
	assertNoLeak(t, map[string]string{"result": encoded(t, r), "logs": h.logs.String()})
}

func TestToolSelection(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		sel     tools.Selection
		want    []string
		wantErr string
	}{
		{"default", tools.Selection{}, []string{"create_secret", "list_secrets", "get_secret", "update_secret"}, ""},
		{"allow delete", tools.Selection{AllowDelete: true}, []string{"create_secret", "list_secrets", "get_secret", "update_secret", "delete_secret"}, ""},
		{"read only", tools.Selection{ReadOnly: true, AllowDelete: true}, []string{"list_secrets", "get_secret"}, ""},
		{"exact", tools.Selection{Names: []string{"get_secret", "delete_secret"}}, []string{"get_secret", "delete_secret"}, ""},
		{"exact and read only", tools.Selection{Names: []string{"create_secret", "get_secret"}, ReadOnly: true}, []string{"get_secret"}, ""},
		{"duplicates", tools.Selection{Names: []string{"get_secret", "get_secret"}}, []string{"get_secret"}, ""},
		{"unknown", tools.Selection{Names: []string{"create_secret", "rotate_secret"}}, nil,
			`unknown tool "rotate_secret"; the tools are create_secret, list_secrets, get_secret, update_secret, delete_secret`},
		{"nothing left", tools.Selection{Names: []string{"create_secret"}, ReadOnly: true}, nil, "no tool is left to offer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.sel.Resolve()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("Resolve = %v, %v; want %v", got, err, tt.want)
			}

			// The server lists exactly those, and refuses the others.
			s, err := tools.NewServer(tools.Config{Tools: tt.sel, Logger: zerolog.Nop()})
			if err != nil {
				t.Fatal(err)
			}
			listed := slices.Sorted(maps.Keys(rawToolsList(t, s)))
			if !slices.Equal(listed, slices.Sorted(slices.Values(tt.want))) {
				t.Errorf("server lists %v, want %v", listed, tt.want)
			}
		})
	}
}

func TestACallToAToolNotOfferedNamesTheSettingThatOffersIt(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		sel  tools.Selection
		tool string
		want string
	}{
		{"delete by default", tools.Selection{}, "delete_secret", "delete_secret is not offered by this server: start the server with --allow-delete to offer it"},
		{"write when read-only", tools.Selection{ReadOnly: true, AllowDelete: true}, "create_secret", "the server runs read-only (--read-only), which offers only list_secrets and get_secret"},
		{"left out of the list", tools.Selection{Names: []string{"get_secret"}}, "list_secrets", "it is not among the tools chosen with --tools"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs := &syncio.Buffer{}
			s, err := tools.NewServer(tools.Config{Tools: tt.sel, Logger: zerolog.New(logs), Advice: testAdvice})
			if err != nil {
				t.Fatal(err)
			}
			c, err := client.NewInProcessClient(s)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := c.Initialize(t.Context(), mcp.InitializeRequest{}); err != nil {
				t.Fatal(err)
			}
			res, err := c.CallTool(t.Context(), mcp.CallToolRequest{Params: mcp.CallToolParams{Name: tt.tool, Arguments: map[string]any{"id": "x", "name": "x", "value": canaryValue}}})
			if err != nil {
				t.Fatalf("CallTool: %v", err)
			}
			if text := resultText(t, res); !res.IsError || !strings.Contains(text, tt.want) || !strings.Contains(text, "Nothing was sent") {
				t.Errorf("result = %q, want an error saying %q", text, tt.want)
			}
			if !strings.Contains(logs.String(), `"outcome":"not_offered"`) {
				t.Errorf("log = %s", logs.String())
			}
			// A tool that does not exist is answered with those offered.
			res, err = c.CallTool(t.Context(), mcp.CallToolRequest{Params: mcp.CallToolParams{Name: "rotate_secret"}})
			if err != nil || !res.IsError || !strings.Contains(resultText(t, res), "The tools it offers are") {
				t.Errorf("an unknown tool: %v %v", err, res)
			}
		})
	}
}

func TestEachToolDeclaresItsRisk(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	list, err := h.mcp.ListTools(t.Context(), mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	// read-only, destructive, idempotent, open-world
	want := map[string][4]bool{
		"create_secret": {false, false, false, true},
		"list_secrets":  {true, false, true, true},
		"get_secret":    {true, false, true, true},
		"update_secret": {false, true, true, true},
		"delete_secret": {false, true, true, true},
		// It may replace values; run again, it has the same effect.
		"import_env_file": {false, true, true, true},
		// It may replace a value; a second call is a second request.
		"request_secret_from_user": {false, true, false, true},
		// It changes a running deployment; the same call twice changes
		// nothing the second time.
		"attach_secret": {false, true, true, true},
	}
	if len(list.Tools) != len(want) {
		t.Errorf("%d tools listed, want %d", len(list.Tools), len(want))
	}
	for _, tool := range list.Tools {
		a := tool.Annotations
		got := [4]bool{*a.ReadOnlyHint, *a.DestructiveHint, *a.IdempotentHint, *a.OpenWorldHint}
		if got != want[tool.Name] {
			t.Errorf("%s hints = %v, want %v", tool.Name, got, want[tool.Name])
		}
	}
}

// The context budget: agents pay for every tool definition on every turn,
// counted as bytes of the tools/list result / 4.
const (
	defaultToolsTokens = 1200
	oneToolTokens      = 350
)

func TestTheDefaultToolsFitTheContextBudget(t *testing.T) {
	t.Parallel()
	// As stdio serves them by default: with the one-time value page.
	s, err := tools.NewServer(tools.Config{Logger: zerolog.Nop(), Tools: tools.Selection{Intake: true}})
	if err != nil {
		t.Fatal(err)
	}
	resp := s.HandleMessage(t.Context(), []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
	b, _ := json.Marshal(resp)
	var wire struct {
		Result json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(b, &wire); err != nil {
		t.Fatal(err)
	}
	tokens := len(wire.Result) / 4
	t.Logf("default tools/list: %d bytes, about %d tokens", len(wire.Result), tokens)
	if tokens > defaultToolsTokens {
		t.Errorf("the default tools cost about %d tokens, over the %d budget", tokens, defaultToolsTokens)
	}
}

func TestEveryToolFitsItsOwnContextBudget(t *testing.T) {
	t.Parallel()
	// Every tool, attach_secret and delete_secret among them, and
	// import_env_file with a dotenv file of a common path's length.
	h := newHarness(t, nil)
	envPath, _ := json.Marshal(h.envFile)
	list := h.rawToolsList(t)
	if len(list) != len(tools.AllTools) {
		t.Fatalf("%d tools listed, want all %d", len(list), len(tools.AllTools))
	}
	for _, name := range tools.AllTools {
		raw := bytes.ReplaceAll(list[name], envPath, []byte(`"/srv/app/.env.production"`))
		tokens := len(raw) / 4
		t.Logf("%s: %d bytes, about %d tokens", name, len(raw), tokens)
		if tokens > oneToolTokens {
			t.Errorf("%s costs about %d tokens, over the %d budget", name, tokens, oneToolTokens)
		}
	}
}

func TestAListThatIsNotFoundPointsAtTheBaseURL(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.setFault(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNotFound) })
	r := h.call(t, "list_secrets", nil)
	if !r.IsError || !strings.Contains(resultText(t, r), "TOGETHER_BASE_URL") || strings.Contains(resultText(t, r), "no secret has") {
		t.Errorf("list_secrets on a 404 = %s", encoded(t, r))
	}
}

func TestAListOfALargeAccountIsCutAndSaysHowToNarrowIt(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	for i := range 205 {
		if r := h.call(t, "create_secret", map[string]any{"name": fmt.Sprintf("team/app-%03d", i), "value": canaryValue}); r.IsError {
			t.Fatal(resultText(t, r))
		}
	}
	res := h.call(t, "list_secrets", nil)
	got := structured(t, res)
	if got["count"] != 200.0 || got["total"] != 205.0 || got["truncated"] != true || len(got["secrets"].([]any)) != 200 {
		t.Fatalf("count %v total %v truncated %v", got["count"], got["total"], got["truncated"])
	}
	if !strings.Contains(encoded(t, res), "Narrow the list with name_prefix") {
		t.Error("the cut list does not say how to narrow it")
	}
	narrow := structured(t, h.call(t, "list_secrets", map[string]any{"name_prefix": "team/app-20"}))
	if narrow["count"] != 5.0 || narrow["truncated"] != nil {
		t.Errorf("narrowed list: %v", narrow)
	}
}
