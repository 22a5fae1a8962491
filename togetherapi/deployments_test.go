package togetherapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/together-secrets-mcp/together-secrets-mcp/internal/apitest"
	"github.com/together-secrets-mcp/together-secrets-mcp/sandbox"
	"github.com/together-secrets-mcp/together-secrets-mcp/togetherapi"
)

const plainSecret = "PLAIN-in-a-variable-5566778899"

// deploymentBody is a Deployment as the API returns it, with fields this
// client never reads and a plain variable holding something secret.
func deploymentBody(updatedAt string, extra ...string) string {
	vars := []string{
		`{"name":"MODEL","value":"llama"}`,
		`{"name":"DB_PASSWORD","value":"` + plainSecret + `"}`,
		`{"name":"HF_TOKEN","value_from_secret":"HF_TOKEN"}`,
	}
	vars = append(vars, extra...)
	return `{"object":"deployment","id":"dep-1","name":"eval","status":"Ready","image":"img","min_replicas":1,` +
		`"volumes":[{"name":"v"}],"created_at":"2026-11-01T00:00:00Z","updated_at":"` + updatedAt + `",` +
		`"environment_variables":[` + strings.Join(vars, ",") + `]}`
}

func TestDeploymentsAreReadThroughAnAllowlistAndTheirPlainValuesAreNeverShown(t *testing.T) {
	t.Parallel()
	srv, _ := fakeAPI(t, respond(200, `{"object":"list","data":[`+deploymentBody("2026-11-02T00:00:00Z")+`]}`))
	c := newClient(t, srv.URL)
	info := &togetherapi.CallInfo{}
	deps, err := c.ListDeployments(togetherapi.WithCallInfo(t.Context(), info))
	if err != nil {
		t.Fatal(err)
	}
	if len(deps) != 1 || deps[0].ID != "dep-1" || deps[0].Name != "eval" || deps[0].Status != "Ready" || len(deps[0].Variables) != 3 {
		t.Fatalf("deployments = %+v", deps)
	}
	if v := deps[0].Variables[2]; v.Name != "HF_TOKEN" || v.ValueFromSecret != "HF_TOKEN" {
		t.Errorf("the reference read is %v", v)
	}
	if deps[0].Variables[1].ValueFromSecret != "" || deps[0].Variables[2].ValueFromSecret == "" {
		t.Error("a plain variable names a secret, or a reference names none")
	}
	b, _ := json.Marshal(deps)
	plain := deps[0].Variables[1]
	texts := []string{fmt.Sprintf("%v %+v %#v %s %q", deps, deps, deps, deps, deps), string(b),
		fmt.Sprint(plain, &plain), fmt.Sprintf("%#v %+v", &plain, togetherapi.VariableChange{Before: &plain})}
	for _, text := range texts {
		if strings.Contains(text, plainSecret) || strings.Contains(text, "llama") {
			t.Errorf("a plain value prints: %s", text)
		}
	}
	if !togetherapi.PlainValues(info).Contained("x " + plainSecret + " y") {
		t.Error("the plain value did not join the call's sensitive strings")
	}
}

func TestADeploymentNotOfTheDocumentedShapeIsRefusedWhole(t *testing.T) {
	t.Parallel()
	for name, v := range map[string]string{
		"value and reference": `{"name":"X","value":"` + plainSecret + `","value_from_secret":"S"}`,
		"neither":             `{"name":"X"}`,
		"no name":             `{"value":"` + plainSecret + `"}`,
		"a number":            `{"name":"X","value":5}`,
	} {
		t.Run(name, func(t *testing.T) {
			srv, _ := fakeAPI(t, respond(200, `{"data":[`+deploymentBody("2026-11-02T00:00:00Z", v)+`]}`))
			info := &togetherapi.CallInfo{}
			_, err := newClient(t, srv.URL).ListDeployments(togetherapi.WithCallInfo(t.Context(), info))
			if !errors.As(err, new(*togetherapi.MalformedError)) {
				t.Fatalf("err = %v", err)
			}
			if strings.Contains(err.Error(), plainSecret) {
				t.Errorf("the error quotes a plain value: %v", err)
			}
			if !togetherapi.PlainValues(info).Contained(plainSecret) {
				t.Error("a plain value of a refused deployment did not join the call's sensitive strings")
			}
		})
	}
}

func TestAnErrorAfterADeploymentReadIsScrubbedOfItsPlainValues(t *testing.T) {
	t.Parallel()
	// The update's 400 echoes the body it was sent, plain values and all.
	var gets atomic.Int32
	srv, _ := fakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPatch:
			respond(400, `{"error":{"message":"bad request: {\"environment_variables\":[{\"name\":\"DB_PASSWORD\",\"value\":\"`+plainSecret+`\"}]}"}}`)(w, r)
		case strings.HasPrefix(r.URL.Path, "/deployments/secrets"):
			respond(200, `{"data":[`+okBody+`]}`)(w, r)
		default:
			gets.Add(1)
			respond(200, deploymentBody("2026-11-02T00:00:00Z"))(w, r)
		}
	})
	_, err := newClient(t, srv.URL).AttachSecretNamed(t.Context(), "eval", "NEW", "HF_TOKEN", togetherapi.ChangeHooks{})
	var apiErr *togetherapi.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), plainSecret) || !strings.Contains(err.Error(), togetherapi.Redacted) {
		t.Errorf("the error shows a plain value: %v", err)
	}
}

func TestAttachSendsTheWholeListWithOneEntryChanged(t *testing.T) {
	t.Parallel()
	api := sandbox.New(sandbox.Options{APIKey: testKey})
	c := newClient(t, sandbox.BaseURL, func(cfg *togetherapi.Config) { cfg.Transport = api.Transport() })
	s, err := c.CreateSecret(t.Context(), togetherapi.CreateSecretRequest{Name: "HF_TOKEN", Value: togetherapi.NewSensitive("hf_value_1234567")})
	if err != nil {
		t.Fatal(err)
	}
	before := api.Variables(sandbox.ExampleDeployment)
	info := &togetherapi.CallInfo{}
	change, err := c.AttachSecretNamed(togetherapi.WithCallInfo(t.Context(), info), sandbox.ExampleDeployment, "HF_TOKEN", "HF_TOKEN", togetherapi.ChangeHooks{})
	if err != nil {
		t.Fatal(err)
	}
	after := api.Variables(sandbox.ExampleDeployment)
	for k, v := range before {
		if after[k] != v {
			t.Errorf("variable %s changed from %q to %q", k, v, after[k])
		}
	}
	if after["HF_TOKEN"] != "secret:"+s.ID || len(after) != len(before)+1 {
		t.Errorf("after = %v", after)
	}
	if !change.Changed || change.Before != nil || change.Secret.ID != s.ID || len(change.Unexpected) != 0 || change.Deployment.Status != "Updating" {
		t.Errorf("change = %+v", change)
	}
	// The secret, the deployment, the deployment again, the update, the read-back.
	if info.Requests != 5 {
		t.Errorf("%d requests, want 5", info.Requests)
	}

	again, err := c.AttachSecretNamed(t.Context(), sandbox.ExampleDeployment, "HF_TOKEN", s.ID, togetherapi.ChangeHooks{})
	if err != nil || again.Changed {
		t.Errorf("a second attach = %+v, %v", again, err)
	}
}

func TestAChangeThatMovesOnlyUpdatedAtStillStopsTheUpdate(t *testing.T) {
	t.Parallel()
	var gets atomic.Int32
	srv, rec := fakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/deployments/secrets"):
			respond(200, `{"data":[`+okBody+`]}`)(w, r)
		case gets.Add(1) == 1:
			respond(200, deploymentBody("2026-11-02T00:00:00Z"))(w, r)
		default:
			respond(200, deploymentBody("2026-11-02T00:00:01Z"))(w, r)
		}
	})
	_, err := newClient(t, srv.URL).AttachSecretNamed(t.Context(), "eval", "NEW", "HF_TOKEN", togetherapi.ChangeHooks{})
	if !errors.Is(err, togetherapi.ErrDeploymentChanged) {
		t.Fatalf("err = %v", err)
	}
	for _, r := range rec() {
		if r.Method != http.MethodGet {
			t.Errorf("sent %s %s", r.Method, r.Path)
		}
	}
}

// attachStandIn answers an attach: the secret, the deployment as
// deploymentBody for the two reads before the update, the update with
// patched, and every read after with readBack.
func attachStandIn(t *testing.T, patched, readBack http.HandlerFunc) string {
	t.Helper()
	var gets atomic.Int32
	srv, _ := fakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/deployments/secrets"):
			respond(200, `{"data":[`+okBody+`]}`)(w, r)
		case r.Method == http.MethodPatch:
			patched(w, r)
		case gets.Add(1) <= 2:
			respond(200, deploymentBody("2026-11-02T00:00:00Z"))(w, r)
		default:
			readBack(w, r)
		}
	})
	return srv.URL
}

func TestAReadBackThatDiffersNamesTheVariables(t *testing.T) {
	t.Parallel()
	const attached = `{"name":"NEW","value_from_secret":"sec-1"}`
	// Another change landed with ours: MODEL is gone, OTHER is new.
	other := strings.Replace(deploymentBody("2026-11-02T00:00:06Z", attached, `{"name":"OTHER","value":"x"}`), `{"name":"MODEL","value":"llama"},`, "", 1)
	base := attachStandIn(t, respond(200, deploymentBody("2026-11-02T00:00:05Z", attached)), respond(200, other))
	change, err := newClient(t, base).AttachSecretNamed(t.Context(), "eval", "NEW", "HF_TOKEN", togetherapi.ChangeHooks{})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(change.Unexpected, ","); got != "MODEL,OTHER" {
		t.Errorf("unexpected = %q, want MODEL,OTHER", got)
	}
}

func TestAFailedReadBackSaysTheChangeWasMade(t *testing.T) {
	t.Parallel()
	base := attachStandIn(t, respond(200, deploymentBody("2026-11-02T00:00:05Z")), respond(404, `{"error":{"message":"gone"}}`))
	_, err := newClient(t, base).AttachSecretNamed(t.Context(), "eval", "NEW", "HF_TOKEN", togetherapi.ChangeHooks{})
	var ce *togetherapi.ChangeError
	if !errors.As(err, &ce) || ce.Effect != togetherapi.Made || !errors.Is(err, togetherapi.ErrNotFound) {
		t.Errorf("err = %v", err)
	}
}

func TestVariableNamesFollowTheAPIsRule(t *testing.T) {
	t.Parallel()
	for name, ok := range map[string]bool{
		"HF_TOKEN": true, "_x": true, "a1": true, "A": true,
		"": false, "1A": false, "A-B": false, "A.B": false, "A B": false, "É": false, strings.Repeat("A", togetherapi.VariableNameMaxLength+1): false,
	} {
		err := togetherapi.ValidateVariableName("variable", name)
		var fe *togetherapi.FieldError
		if (err == nil) != ok || (err != nil && !errors.As(err, &fe)) {
			t.Errorf("ValidateVariableName(%q) = %v", name, err)
		}
	}
}

func TestAttachResolvesTheSecretBeforeReadingTheDeployment(t *testing.T) {
	t.Parallel()
	// Until the call's own arguments are settled, no plain value is read.
	srv, rec := fakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/deployments/secrets") {
			respond(200, `{"data":[`+okBody+`]}`)(w, r)
			return
		}
		respond(200, deploymentBody("2026-11-02T00:00:00Z"))(w, r)
	})
	info := &togetherapi.CallInfo{}
	_, err := newClient(t, srv.URL).AttachSecretNamed(togetherapi.WithCallInfo(t.Context(), info), "eval", "NEW", "NOT-THERE", togetherapi.ChangeHooks{})
	var ce *togetherapi.ChangeError
	if !errors.As(err, &ce) || ce.Effect != togetherapi.NotMade || !errors.Is(err, togetherapi.ErrNotFound) {
		t.Fatalf("err = %v", err)
	}
	for _, r := range rec() {
		if !strings.HasPrefix(r.Path, "/deployments/secrets") {
			t.Errorf("sent %s %s before the secret was found", r.Method, r.Path)
		}
	}
	if len(togetherapi.PlainValues(info)) != 0 {
		t.Error("the call read plain values")
	}
}

// unspellable is a list of variables as Together may send it, none of
// which Go decodes to what it spells but REF: half a surrogate pair, bytes
// that are not UTF-8, and markup and a line separator that an HTML-safe
// encoder would escape.
const unspellable = `[{"name":"LONE","value":"\ud800"},{"name":"BYTES","value":"` + "\xff\xfe" + `"},` +
	`{"name":"MARKUP","value":"<a&b>` + "\u2028" + `"},{"name":"REF","value_from_secret":"team\/db"}]`

// rawDeployment stands in for a deployment whose variables are held as the
// bytes last sent: unspellable at first, then each update's list as it
// came, which the sandbox, decoding what it is sent, cannot keep. readBack,
// if set, respells the list for every read after an update. It returns the
// base URL and the bodies of the updates.
func rawDeployment(t *testing.T, readBack func(vars string) string) (string, func() []string) {
	t.Helper()
	var (
		mu      sync.Mutex
		vars    = unspellable
		patched bool
		bodies  []string
	)
	srv := apitest.NewAnswering(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if strings.HasPrefix(r.URL.Path, "/deployments/secrets") {
			respond(200, `{"data":[`+okBody+`]}`)(w, r)
			return
		}
		updated := "2026-11-02T00:00:00Z"
		if r.Method == http.MethodPatch {
			b, _ := io.ReadAll(r.Body)
			bodies = append(bodies, string(b))
			var update struct {
				Variables json.RawMessage `json:"environment_variables"`
			}
			if err := json.Unmarshal(b, &update); err != nil {
				respond(400, `{"error":{"message":"not JSON"}}`)(w, r)
				return
			}
			vars, patched = string(update.Variables), true
		}
		shown := vars
		if patched {
			updated = "2026-11-02T00:00:05Z"
			if readBack != nil {
				shown = readBack(vars)
			}
		}
		respond(200, `{"id":"dep-1","name":"eval","status":"Ready","updated_at":"`+updated+`","environment_variables":`+shown+`}`)(w, r)
	}))
	return srv.URL, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(bodies)
	}
}

func TestAnotherVariableGoesBackByteForByteAsTogetherSentIt(t *testing.T) {
	t.Parallel()
	base, bodies := rawDeployment(t, nil)
	change, err := newClient(t, base).AttachSecretNamed(t.Context(), "eval", "NEW", "HF_TOKEN", togetherapi.ChangeHooks{})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"environment_variables":` + strings.TrimSuffix(unspellable, "]") + `,{"name":"NEW","value_from_secret":"sec-1"}]}` + "\n"
	if got := bodies(); len(got) != 1 || got[0] != want {
		t.Errorf("the update sent\n%q\nwant\n%q", got, want)
	}
	if !change.Changed || len(change.Unexpected) != 0 {
		t.Errorf("change = %+v", change)
	}
	// Nothing to change is still nothing, however the list is spelled.
	again, err := newClient(t, base).AttachSecretNamed(t.Context(), "eval", "NEW", "HF_TOKEN", togetherapi.ChangeHooks{})
	if err != nil || again.Changed || len(bodies()) != 1 {
		t.Errorf("a second attach = %+v, %v; %d updates", again, err, len(bodies()))
	}
}

func TestAReadBackThatRespellsAValueIsNotVerified(t *testing.T) {
	t.Parallel()
	// Together, as read back, holds U+FFFD where it held half a pair and two
	// bytes that were not UTF-8: what a decoder that replaced them would send.
	respelled := func(vars string) string {
		vars = strings.Replace(vars, `\ud800`, `\ufffd`, 1)
		return strings.Replace(vars, "\xff\xfe", "\ufffd\ufffd", 1)
	}
	base, _ := rawDeployment(t, respelled)
	change, err := newClient(t, base).AttachSecretNamed(t.Context(), "eval", "NEW", "HF_TOKEN", togetherapi.ChangeHooks{})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(change.Unexpected, ","); got != "LONE,BYTES" {
		t.Errorf("unexpected = %q, want LONE,BYTES", got)
	}
}

func TestACheckSeesWhatTheUpdateReplacesAndCanStopIt(t *testing.T) {
	t.Parallel()
	api := sandbox.New(sandbox.Options{APIKey: testKey})
	c := newClient(t, sandbox.BaseURL, func(cfg *togetherapi.Config) { cfg.Transport = api.Transport() })
	var ids []string
	for _, name := range []string{"FIRST", "SECOND"} {
		s, err := c.CreateSecret(t.Context(), togetherapi.CreateSecretRequest{Name: name, Value: togetherapi.NewSensitive("value-of-" + name)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, s.ID)
	}
	var seen []string
	record := togetherapi.ChangeHooks{Check: func(_ context.Context, v togetherapi.Variable) error {
		seen = append(seen, fmt.Sprint(v))
		return nil
	}}
	if _, err := c.AttachSecretNamed(t.Context(), sandbox.ExampleDeployment, "DB", "FIRST", record); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 0 {
		t.Errorf("a new variable replaces nothing, yet Check saw %v", seen)
	}
	errStop := errors.New("stop")
	stop := togetherapi.ChangeHooks{Check: func(_ context.Context, v togetherapi.Variable) error {
		seen = append(seen, fmt.Sprint(v))
		return errStop
	}}
	before := api.Variables(sandbox.ExampleDeployment)
	if _, err := c.AttachSecretNamed(t.Context(), sandbox.ExampleDeployment, "DB", "SECOND", stop); !errors.Is(err, errStop) {
		t.Errorf("attach over a refused variable: %v", err)
	}
	if _, err := c.AttachSecret(t.Context(), sandbox.ExampleDeployment, "DB", nil, stop); !errors.Is(err, errStop) {
		t.Errorf("detach of a refused variable: %v", err)
	}
	if after := api.Variables(sandbox.ExampleDeployment); !maps.Equal(after, before) {
		t.Errorf("a refused change changed the variables: %v, were %v", after, before)
	}
	want := "DB=value_from_secret:" + ids[0]
	if !slices.Equal(seen, []string{want, want}) {
		t.Errorf("Check saw %v, want %s twice", seen, want)
	}
	// A change to nothing is not checked: it replaces nothing.
	seen = nil
	if change, err := c.AttachSecretNamed(t.Context(), sandbox.ExampleDeployment, "DB", "FIRST", stop); err != nil || change.Changed || len(seen) != 0 {
		t.Errorf("a change to nothing = %+v, %v; Check saw %v", change, err, seen)
	}
}

func TestBeforeSendRunsOnlyWhenAnUpdateIsAboutToBeSent(t *testing.T) {
	t.Parallel()
	api := sandbox.New(sandbox.Options{APIKey: testKey})
	c := newClient(t, sandbox.BaseURL, func(cfg *togetherapi.Config) { cfg.Transport = api.Transport() })
	if _, err := c.CreateSecret(t.Context(), togetherapi.CreateSecretRequest{Name: "HF_TOKEN", Value: togetherapi.NewSensitive("hf_value_1234567")}); err != nil {
		t.Fatal(err)
	}
	calls := 0
	count := togetherapi.ChangeHooks{BeforeSend: func(context.Context) error { calls++; return nil }}
	errStop := errors.New("stop")
	stop := togetherapi.ChangeHooks{BeforeSend: func(context.Context) error { calls++; return errStop }}

	before := api.Variables(sandbox.ExampleDeployment)
	if _, err := c.AttachSecretNamed(t.Context(), sandbox.ExampleDeployment, "HF_TOKEN", "HF_TOKEN", stop); !errors.Is(err, errStop) || calls != 1 {
		t.Errorf("a stopped attach: %v, BeforeSend called %d times", err, calls)
	}
	if after := api.Variables(sandbox.ExampleDeployment); !maps.Equal(after, before) {
		t.Errorf("a stopped attach changed the variables: %v", after)
	}
	if change, err := c.AttachSecretNamed(t.Context(), sandbox.ExampleDeployment, "HF_TOKEN", "HF_TOKEN", count); err != nil || !change.Changed || calls != 2 {
		t.Errorf("an attach: %+v, %v, BeforeSend called %d times", change, err, calls)
	}
	for _, change := range []func() (*togetherapi.VariableChange, error){
		func() (*togetherapi.VariableChange, error) {
			return c.AttachSecretNamed(t.Context(), sandbox.ExampleDeployment, "HF_TOKEN", "HF_TOKEN", stop)
		},
		func() (*togetherapi.VariableChange, error) {
			return c.AttachSecret(t.Context(), sandbox.ExampleDeployment, "NOT_THERE", nil, stop)
		},
	} {
		if got, err := change(); err != nil || got.Changed || calls != 2 {
			t.Errorf("a change to nothing: %+v, %v, BeforeSend called %d times", got, err, calls)
		}
	}
}
