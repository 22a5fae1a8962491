package tools_test

import (
	"context"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
)

func TestACallWhoseTransportGaveNoDepsIsRefusedAndTheServerServesOn(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	// A transport that forgot WithDeps: the call's context carries none.
	res, err := h.mcp.CallTool(context.Background(), mcp.CallToolRequest{Params: mcp.CallToolParams{
		Name: "create_secret", Arguments: map[string]any{"name": "NO_DEPS", "value": canaryValue},
	}})
	if err != nil {
		t.Fatalf("CallTool: protocol error %v", err)
	}
	text := resultText(t, res)
	if !res.IsError || !strings.Contains(text, "misconfigured") || !strings.Contains(text, "Nothing was sent to Together") || !strings.Contains(text, "Tell the operator") {
		t.Errorf("a call without Deps = %s", encoded(t, res))
	}
	if n := h.srv.Count(); n != 0 {
		t.Errorf("%d requests reached the API", n)
	}

	events := logEvents(t, h.logs.String())
	if len(events) != 1 {
		t.Fatalf("%d log events for one call, want 1: %v", len(events), events)
	}
	ev := events[0]
	if ev["level"] != "error" || ev["tool"] != "create_secret" || ev["outcome"] != "server_fault" ||
		!strings.Contains(ev["fault"].(string), "tools.WithDeps") || ev["stack"] != nil {
		t.Errorf("log event = %v; want one error naming the missing tools.WithDeps, and no panic", ev)
	}
	assertNoLeak(t, map[string]string{"result": encoded(t, res), "logs": h.logs.String()})

	// The next call, with its Deps, is served as usual.
	if r := h.call(t, "create_secret", map[string]any{"name": "WITH_DEPS", "value": canaryValue}); r.IsError {
		t.Errorf("a call with Deps after one without = %s", resultText(t, r))
	}
}

func TestAToolNotOfferedSaysHowToOfferItEvenWithoutDeps(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	res, err := h.mcp.CallTool(context.Background(), mcp.CallToolRequest{Params: mcp.CallToolParams{Name: "nuke_all"}})
	if err != nil {
		t.Fatalf("CallTool: protocol error %v", err)
	}
	if text := resultText(t, res); !res.IsError || !strings.Contains(text, "no tool of that name") {
		t.Errorf("an unknown tool without Deps = %s", text)
	}
}
