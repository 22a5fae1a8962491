package tools_test

import (
	"strings"
	"testing"
)

func TestAScopeRefusalSaysWhichRuleTheNameBroke(t *testing.T) {
	t.Parallel()
	h := newHarnessWith(t, scoped, nil)
	if _, err := h.client.CreateSecret(h.ctx(), createRequest("team-a/TOKEN", "inside-value-1234")); err != nil {
		t.Fatal(err)
	}
	sent := len(h.changesSent())
	const rule = `This server acts only on names that start with "team-a/", have something after it, and have no empty, "." or ".." segment (set by --name-prefix). Nothing was sent to Together.`
	for _, tt := range []struct {
		tool string
		args map[string]any
		want string
	}{
		{"create_secret", map[string]any{"name": "team-a/../x", "value": canaryValue}, `Refused: name has a ".." segment. ` + rule + ` Choose a name within the scope, such as "team-a/NAME".`},
		{"create_secret", map[string]any{"name": "team-a/./x", "value": canaryValue}, `Refused: name has a "." segment.`},
		{"create_secret", map[string]any{"name": "team-a//x", "value": canaryValue}, `Refused: name has an empty segment (a "/" at its start or end, or two in a row).`},
		{"create_secret", map[string]any{"name": "team-a/x/", "value": canaryValue}, `Refused: name has an empty segment`},
		{"create_secret", map[string]any{"name": "team-b/x", "value": canaryValue}, `Refused: name does not start with one of the scope's prefixes. ` + rule},
		{"request_secret_from_user", map[string]any{"name": "team-a/../x"}, `Refused: name has a ".." segment. ` + rule},
		{"update_secret", map[string]any{"id": "team-a/TOKEN", "name": "team-a/../team-b/x"}, `Refused: name, the new name, has a ".." segment. ` + rule},
		{"import_env_file", map[string]any{}, `Refused: prefix was not given, so each secret would be named by its key alone, outside the scope. ` + rule +
			` Give a prefix within the scope, such as "team-a/".`},
		{"import_env_file", map[string]any{"prefix": "team-b/"}, `Refused: prefix does not start with one of the scope's prefixes. ` + rule},
		{"import_env_file", map[string]any{"prefix": "team-a/../"}, `Refused: prefix has a ".." segment. ` + rule},
	} {
		r := h.call(t, tt.tool, tt.args)
		if text := resultText(t, r); !r.IsError || !strings.Contains(text, tt.want) {
			t.Errorf("%s %v:\n got %s\nwant %s", tt.tool, tt.args, text, tt.want)
		}
	}
	if got := h.changesSent()[sent:]; len(got) != 0 {
		t.Errorf("refused calls sent %v", got)
	}
}
