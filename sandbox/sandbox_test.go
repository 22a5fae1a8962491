package sandbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/together-secrets-mcp/together-secrets-mcp/sandbox"
	"github.com/together-secrets-mcp/together-secrets-mcp/togetherapi"
)

// do sends one request to a fresh or given sandbox and returns the status
// and the decoded body.
func do(t *testing.T, s *sandbox.Server, method, path, contentType, body string, auth ...string) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	key := sandbox.APIKey
	if len(auth) > 0 {
		key = auth[0]
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	var out map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &out)
	return rec.Code, out
}

func TestTheSandboxIsAsStrictAsTheAPI(t *testing.T) {
	t.Parallel()
	const path = "/v1/deployments/secrets"
	tests := []struct {
		name, method, path, contentType, body, key string
		want                                       int
	}{
		{"no key", "POST", path, "application/json", `{"name":"A","value":"v"}`, "", 401},
		{"wrong key", "POST", path, "application/json", `{"name":"A","value":"v"}`, "nope", 401},
		{"not JSON content", "POST", path, "text/plain", `{"name":"A","value":"v"}`, sandbox.APIKey, 415},
		{"unknown field", "POST", path, "application/json", `{"name":"A","value":"v","secret":"x"}`, sandbox.APIKey, 400},
		{"trailing data", "POST", path, "application/json", `{"name":"A","value":"v"} {}`, sandbox.APIKey, 400},
		{"missing value", "POST", path, "application/json", `{"name":"A"}`, sandbox.APIKey, 400},
		{"bad name", "POST", path, "application/json", `{"name":"a b","value":"v"}`, sandbox.APIKey, 400},
		{"long description", "POST", path, "application/json", `{"name":"A","value":"v","description":"` + strings.Repeat("d", 501) + `"}`, sandbox.APIKey, 400},
		{"wrong method", "PUT", path + "/x", "application/json", `{}`, sandbox.APIKey, 405},
		{"unknown path", "GET", "/v1/other", "", "", sandbox.APIKey, 404},
		{"created", "POST", path, "application/json; charset=utf-8", `{"name":"A","value":"v","project_id":"p"}`, sandbox.APIKey, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := do(t, sandbox.New(sandbox.Options{}), tt.method, tt.path, tt.contentType, tt.body, tt.key)
			if status != tt.want {
				t.Errorf("status = %d, want %d (%v)", status, tt.want, body)
			}
			if status >= 400 && status != 404 && status != 405 {
				if msg, _ := body["error"].(map[string]any)["message"].(string); msg == "" {
					t.Errorf("error body has no error.message: %v", body)
				}
			}
		})
	}
}

func TestTheSandboxKeepsNamesUniqueAndNeverAnswersWithAValue(t *testing.T) {
	t.Parallel()
	s := sandbox.New(sandbox.Options{})
	const path = "/v1/deployments/secrets"
	if status, _ := do(t, s, "POST", path, "application/json", `{"name":"A","value":"CANARY-1"}`); status != 200 {
		t.Fatalf("create: %d", status)
	}
	if status, body := do(t, s, "POST", path, "application/json", `{"name":"A","value":"CANARY-2"}`); status != http.StatusConflict {
		t.Errorf("duplicate: %d %v", status, body)
	}
	if status, _ := do(t, s, "POST", path, "application/json", `{"name":"B","value":"CANARY-3"}`); status != 200 {
		t.Fatalf("create B: %d", status)
	}
	if status, body := do(t, s, "PATCH", path+"/B", "application/json", `{"name":"A"}`); status != http.StatusConflict {
		t.Errorf("rename onto a taken name: %d %v", status, body)
	}
	if !s.ValueMatches("A", "CANARY-1") || s.ValueMatches("A", "CANARY-2") {
		t.Error("the first value was not kept")
	}
	for _, p := range []string{path, path + "/A"} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", p, nil)
		req.Header.Set("Authorization", "Bearer "+sandbox.APIKey)
		s.ServeHTTP(rec, req)
		if strings.Contains(rec.Body.String(), "CANARY") {
			t.Errorf("GET %s answers with a value: %s", p, rec.Body.String())
		}
	}
}

func TestEachKeyHasAnAccountOfItsOwn(t *testing.T) {
	t.Parallel()
	accts := sandbox.NewAccounts(sandbox.Options{}, 2)
	client := func(key string) *togetherapi.Client {
		c, err := togetherapi.New(togetherapi.Config{BaseURL: sandbox.BaseURL, APIKey: togetherapi.NewSensitive(key), Transport: accts.Transport()})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	ctx := context.Background()
	a, b := client("key-a"), client("key-b")
	if _, err := a.CreateSecret(ctx, togetherapi.CreateSecretRequest{Name: "A_ONLY", Value: togetherapi.NewSensitive("v")}); err != nil {
		t.Fatal(err)
	}
	if list, err := b.ListSecrets(ctx); err != nil || len(list) != 0 {
		t.Errorf("key-b sees %v, %v", list, err)
	}
	if list, err := a.ListSecrets(ctx); err != nil || len(list) != 1 {
		t.Errorf("key-a sees %v, %v", list, err)
	}
	// A third key pushes out the least recently used account (b's).
	if _, err := client("key-c").ListSecrets(ctx); err != nil || accts.Len() != 2 {
		t.Errorf("accounts = %d, %v", accts.Len(), err)
	}
	if list, _ := a.ListSecrets(ctx); len(list) != 1 {
		t.Error("the most recently used account was forgotten")
	}
	if _, err := client("").ListSecrets(ctx); !errors.Is(err, togetherapi.ErrNoAPIKey) {
		t.Errorf("no key: %v", err)
	}
}
