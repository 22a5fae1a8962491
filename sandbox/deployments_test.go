package sandbox_test

import (
	"testing"
	"time"

	"github.com/together-secrets-mcp/together-secrets-mcp/sandbox"
)

func TestTheSandboxDeploymentsFollowTheAPIsRules(t *testing.T) {
	t.Parallel()
	const path = "/v1/deployments/" + sandbox.ExampleDeployment
	tests := []struct {
		name, method, path, body string
		want                     int
	}{
		{"an unknown deployment", "GET", "/v1/deployments/nope", "", 404},
		{"an update of an unknown deployment", "PATCH", "/v1/deployments/nope", `{"environment_variables":[]}`, 404},
		{"a value and a reference", "PATCH", path, `{"environment_variables":[{"name":"A","value":"v","value_from_secret":"S"}]}`, 400},
		{"neither value nor reference", "PATCH", path, `{"environment_variables":[{"name":"A"}]}`, 400},
		{"a name the API refuses", "PATCH", path, `{"environment_variables":[{"name":"1A","value":"v"}]}`, 400},
		{"a field the sandbox does not change", "PATCH", path, `{"min_replicas":2}`, 400},
		{"the example", "GET", path, "", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := sandbox.New(sandbox.Options{})
			before := s.Variables(sandbox.ExampleDeployment)
			code, _ := do(t, s, tt.method, tt.path, "application/json", tt.body)
			if code != tt.want {
				t.Errorf("%s %s = %d, want %d", tt.method, tt.path, code, tt.want)
			}
			if after := s.Variables(sandbox.ExampleDeployment); len(after) != len(before) {
				t.Errorf("a refused request changed the variables: %v", after)
			}
		})
	}
}

func TestAnUpdateReplacesEveryVariableAndRollsTheDeploymentOut(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	s := sandbox.New(sandbox.Options{Now: func() time.Time { return now }})
	const path = "/v1/deployments/" + sandbox.ExampleDeployment
	if _, got := do(t, s, "GET", path, "", ""); got["status"] != "Ready" || len(got["environment_variables"].([]any)) != 3 {
		t.Fatalf("the example = %v", got)
	}
	// One variable sent: the others are gone, as the API's update does.
	code, got := do(t, s, "PATCH", path, "application/json", `{"environment_variables":[{"name":"ONLY","value_from_secret":"MISSING"}]}`)
	if code != 200 || len(got["environment_variables"].([]any)) != 1 {
		t.Fatalf("update = %d %v", code, got)
	}
	if vars := s.Variables(sandbox.ExampleDeployment); len(vars) != 1 || vars["ONLY"] != "secret:MISSING" {
		t.Errorf("after the update = %v", vars)
	}
	// A reference to a secret that does not exist fails the rollout.
	if _, got := do(t, s, "GET", path, "", ""); got["status"] != "Failed" {
		t.Errorf("status with a missing secret = %v", got["status"])
	}
	do(t, s, "POST", "/v1/deployments/secrets", "application/json", `{"name":"MISSING","value":"v"}`)
	if _, got := do(t, s, "GET", path, "", ""); got["status"] != "Updating" {
		t.Errorf("status just after a change = %v", got["status"])
	}
	now = now.Add(3 * time.Second)
	if _, got := do(t, s, "GET", path, "", ""); got["status"] != "Ready" {
		t.Errorf("status once rolled out = %v", got["status"])
	}
	if code, got := do(t, s, "GET", "/v1/deployments", "", ""); code != 200 || len(got["data"].([]any)) != 1 {
		t.Errorf("list = %d %v", code, got)
	}
}
