package sandbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/together-secrets-mcp/together-secrets-mcp/togetherapi"
)

// ExampleDeployment is the name of the deployment every sandbox starts
// with, so that attaching a secret can be tried at once. Its plain
// WANDB_API_KEY shows what the server does with a secret someone put in a
// plain variable: it is sent back unchanged on every update and never shown.
const ExampleDeployment = "example-eval"

// ExamplePlainValue is the example's plain WANDB_API_KEY, for checks that it
// never shows.
const ExamplePlainValue = "sandbox-plain-wandb-0a1b2c3d4e5f"

// rolloutTime is how long a deployment reports Updating after a change.
const rolloutTime = 2 * time.Second

// deployment is one deployment as the API holds it. Plain values are kept as
// given, as Together keeps them: the API returns them to anyone with the key.
type deployment struct {
	ID        string        `json:"id"`
	Name      string        `json:"name"`
	Image     string        `json:"image"`
	CreatedAt string        `json:"created_at"`
	UpdatedAt string        `json:"updated_at"`
	Variables []envVariable `json:"environment_variables"`
	updated   time.Time
}

type envVariable struct {
	Name            string  `json:"name"`
	Value           *string `json:"value,omitempty"`
	ValueFromSecret *string `json:"value_from_secret,omitempty"`
}

func (s *Server) seedDeployments() {
	now := s.opts.Now().UTC()
	plain := func(name, v string) envVariable { return envVariable{Name: name, Value: &v} }
	d := &deployment{
		ID: "dep-" + newID()[4:], Name: ExampleDeployment, Image: "registry.together.ai/example/eval:latest",
		CreatedAt: now.Format(time.RFC3339Nano), UpdatedAt: now.Format(time.RFC3339Nano), updated: now.Add(-rolloutTime),
		Variables: []envVariable{
			plain("MODEL_ID", "meta-llama/Llama-3.3-70B-Instruct-Turbo"),
			plain("LOG_LEVEL", "info"),
			plain("WANDB_API_KEY", ExamplePlainValue),
		},
	}
	s.deployments = map[string]*deployment{d.ID: d}
}

// AddDeployment adds a deployment with the given plain variables, for
// tests that need more than the example. It returns the deployment's ID.
func (s *Server) AddDeployment(name string, plain map[string]string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now().UTC()
	d := &deployment{ID: "dep-" + newID()[4:], Name: name, Image: "registry.together.ai/example/app:latest",
		CreatedAt: now.Format(time.RFC3339Nano), UpdatedAt: now.Format(time.RFC3339Nano), updated: now.Add(-rolloutTime)}
	keys := make([]string, 0, len(plain))
	for k := range plain {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := plain[k]
		d.Variables = append(d.Variables, envVariable{Name: k, Value: &v})
	}
	s.deployments[d.ID] = d
	return d.ID
}

// Variables returns a deployment's variables as the API holds them, plain
// values included, for tests that check an update left them alone.
func (s *Server) Variables(deployment string) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.deployment(deployment)
	if d == nil {
		return nil
	}
	out := map[string]string{}
	for _, v := range d.Variables {
		if v.Value != nil {
			out[v.Name] = "value:" + *v.Value
		} else {
			out[v.Name] = "secret:" + *v.ValueFromSecret
		}
	}
	return out
}

// view is a deployment as an answer shows it, its status read now: Failed
// when a variable names a secret that does not exist or a name twice,
// Updating for a while after a change, Ready after.
func (s *Server) view(d *deployment) map[string]any {
	status := "Ready"
	seen := map[string]bool{}
	for _, v := range d.Variables {
		if seen[v.Name] || (v.ValueFromSecret != nil && s.secrets[*v.ValueFromSecret] == nil && s.byName(*v.ValueFromSecret) == nil) {
			status = "Failed"
		}
		seen[v.Name] = true
	}
	if status == "Ready" && s.opts.Now().Sub(d.updated) < rolloutTime {
		status = "Updating"
	}
	return map[string]any{
		"object": "deployment", "id": d.ID, "name": d.Name, "image": d.Image, "status": status,
		"min_replicas": 1, "max_replicas": 1, "gpu_type": "h100-80gb", "gpu_count": 1,
		"created_at": d.CreatedAt, "updated_at": d.UpdatedAt, "environment_variables": d.Variables,
	}
}

func (s *Server) listDeployments(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	all := make([]*deployment, 0, len(s.deployments))
	for _, d := range s.deployments {
		all = append(all, d)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Name < all[j].Name })
	data := make([]map[string]any, len(all))
	for i, d := range all {
		data[i] = s.view(d)
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": data})
}

func (s *Server) getDeployment(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d := s.deploymentOf(w, r); d != nil {
		writeJSON(w, http.StatusOK, s.view(d))
	}
}

// updateDeployment applies UpdateDeploymentRequest's environment_variables
// as the API does: the list sent replaces the whole list.
func (s *Server) updateDeployment(w http.ResponseWriter, r *http.Request) {
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, maxBodyBytes)); err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "invalid_request_error", "request body too large")
		return
	}
	var body struct {
		Variables *[]envVariable `json:"environment_variables"`
	}
	dec := json.NewDecoder(&buf)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil || dec.More() {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "request body is not a valid update; the sandbox changes only environment_variables")
		return
	}
	if body.Variables != nil {
		for i, v := range *body.Variables {
			if msg := checkVariable(v); msg != "" {
				writeError(w, http.StatusBadRequest, "invalid_request_error", fmt.Sprintf("environment_variables[%d]: %s", i, msg))
				return
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.deploymentOf(w, r)
	if d == nil {
		return
	}
	if body.Variables != nil {
		d.Variables = *body.Variables
		d.updated = s.opts.Now().UTC()
		d.UpdatedAt = d.updated.Format(time.RFC3339Nano)
	}
	writeJSON(w, http.StatusOK, s.view(d))
}

// checkVariable applies the API's rules to one variable, saying what is
// wrong without quoting a value.
func checkVariable(v envVariable) string {
	if err := togetherapi.ValidateVariableName("name", v.Name); err != nil {
		return err.Error()
	}
	hasValue, hasRef := v.Value != nil, v.ValueFromSecret != nil && *v.ValueFromSecret != ""
	if hasValue == hasRef {
		return "exactly one of value and value_from_secret must be set"
	}
	return ""
}

// deploymentOf finds the deployment the path's {id} names, by ID and then
// by name, or answers 404. The caller holds s.mu.
func (s *Server) deploymentOf(w http.ResponseWriter, r *http.Request) *deployment {
	id := r.PathValue("id")
	if d := s.deployment(id); d != nil {
		return d
	}
	writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("deployment %q not found", id))
	return nil
}

// deployment finds a deployment by ID or name. The caller holds s.mu.
func (s *Server) deployment(idOrName string) *deployment {
	if d, ok := s.deployments[idOrName]; ok {
		return d
	}
	for _, d := range s.deployments {
		if d.Name == idOrName {
			return d
		}
	}
	return nil
}
