package togetherapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/together-secrets-mcp/together-secrets-mcp/internal/apitest"
	"github.com/together-secrets-mcp/together-secrets-mcp/togetherapi"
)

const testKey = "tk-CANARYKEY-0123456789abcdef"

// fakeAPI starts the shared stand-in answering every request with h, and
// returns it with what it received of each request.
func fakeAPI(t *testing.T, h http.HandlerFunc) (*apitest.API, func() []apitest.Request) {
	t.Helper()
	api := apitest.NewAnswering(t, h)
	return api, api.Received
}

func newClient(t *testing.T, baseURL string, mod ...func(*togetherapi.Config)) *togetherapi.Client {
	t.Helper()
	cfg := togetherapi.Config{BaseURL: baseURL, APIKey: togetherapi.NewSensitive(testKey), UserAgent: "together-secrets-mcp/test", Timeout: 5 * time.Second}
	for _, m := range mod {
		m(&cfg)
	}
	c, err := togetherapi.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { togetherapi.CloseIdleConnections(c) })
	return c
}

func respond(status int, body string, headers ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

const okBody = `{"object":"secret","id":"sec-1","name":"HF_TOKEN","description":"d","created_at":"2026-11-26T00:00:00Z","updated_at":"2026-11-26T00:00:00Z","created_by":"u1","last_updated_by":"u1"}`

func TestCreateSecretSendsTheDocumentedRequest(t *testing.T) {
	t.Parallel()
	srv, requests := fakeAPI(t, respond(200, okBody))
	c := newClient(t, srv.URL+"/v1/")

	got, err := c.CreateSecret(context.Background(), togetherapi.CreateSecretRequest{
		Name: "HF_TOKEN", Value: togetherapi.NewSensitive(canary), Description: "d", ProjectID: "p1",
	})
	if err != nil {
		t.Fatalf("CreateSecret: %v", err)
	}
	want := &togetherapi.Secret{Object: "secret", ID: "sec-1", Name: "HF_TOKEN", Description: "d",
		CreatedAt: "2026-11-26T00:00:00Z", UpdatedAt: "2026-11-26T00:00:00Z", CreatedBy: "u1", LastUpdatedBy: "u1"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("secret (-want +got):\n%s", diff)
	}

	reqs := requests()
	if len(reqs) != 1 {
		t.Fatalf("got %d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.Method != "POST" || r.Path != "/v1/deployments/secrets" {
		t.Errorf("request line = %s %s, want POST /v1/deployments/secrets", r.Method, r.Path)
	}
	for k, v := range map[string]string{
		"Authorization": "Bearer " + testKey,
		"Content-Type":  "application/json",
		"Accept":        "application/json",
		"User-Agent":    "together-secrets-mcp/test",
	} {
		if got := r.Header.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(r.Body), &body); err != nil {
		t.Fatalf("body is not JSON: %v", err)
	}
	wantBody := map[string]any{"name": "HF_TOKEN", "value": canary, "description": "d", "project_id": "p1"}
	if diff := cmp.Diff(wantBody, body); diff != "" {
		t.Errorf("body (-want +got):\n%s", diff)
	}
}

func TestCreateSecretOmitsUnsetOptionalFields(t *testing.T) {
	t.Parallel()
	srv, requests := fakeAPI(t, respond(200, okBody))
	c := newClient(t, srv.URL+"/v1")
	if _, err := c.CreateSecret(context.Background(), togetherapi.CreateSecretRequest{Name: "A", Value: togetherapi.NewSensitive("v")}); err != nil {
		t.Fatal(err)
	}
	if got := requests()[0].Body; got != `{"name":"A","value":"v"}` {
		t.Errorf("body = %s", got)
	}
}

func TestCreateSecretKeepsOnlyDocumentedStringFields(t *testing.T) {
	t.Parallel()
	// A response that echoes the value in fields the API does not document,
	// and has a documented field of the wrong type, must neither leak the
	// value nor turn a created secret into an error.
	body := `{"object":"secret","id":"sec-9","name":"N","value":"` + "v4lue" + `","secret_value":"v4lue",
		"nested":{"value":"v4lue"},"created_by":{"id":"u"},"description":null}`
	srv, _ := fakeAPI(t, respond(200, body))
	c := newClient(t, srv.URL+"/v1")
	got, err := c.CreateSecret(context.Background(), togetherapi.CreateSecretRequest{Name: "N", Value: togetherapi.NewSensitive("v4lue")})
	if err != nil {
		t.Fatal(err)
	}
	want := &togetherapi.Secret{Object: "secret", ID: "sec-9", Name: "N"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("secret (-want +got):\n%s", diff)
	}
}

func TestCreateSecretWithholdsWholeEveryFieldThatCarriesTheValue(t *testing.T) {
	t.Parallel()
	// The API put the value where the caller did not: each such field is
	// withheld whole, never returned torn; the rest come back intact.
	body := `{"object":"secret","id":"sec-v4lue-xyz","name":"N","description":"holds v4lue-xyz",` +
		`"created_at":"2026-11-26T02:39:03Z","updated_at":"v4lue-xyz","created_by":"\u0076\u0034lue-xyz","last_updated_by":"u-1"}`
	srv, _ := fakeAPI(t, respond(200, body))
	c := newClient(t, srv.URL+"/v1")
	got, err := c.CreateSecret(context.Background(), togetherapi.CreateSecretRequest{Name: "N", Value: togetherapi.NewSensitive("v4lue-xyz")})
	if err != nil {
		t.Fatal(err)
	}
	r := togetherapi.Redacted
	want := &togetherapi.Secret{Object: "secret", ID: r, Name: "N", Description: r, CreatedAt: "2026-11-26T02:39:03Z", UpdatedAt: r, CreatedBy: r, LastUpdatedBy: "u-1"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("secret (-want +got):\n%s", diff)
	}
}

func TestShortValuesNeverTearTheMetadata(t *testing.T) {
	t.Parallel()
	// Values that occur by chance in Together's own fields, as an earlier
	// scrubber tore them: "e" in the id, "secret" in object, "2026" in the
	// timestamps, "1" and "prod" in the name.
	body := `{"object":"secret","id":"sec-950e74a1","name":"prod/1","description":"true story",` +
		`"created_at":"2026-11-26T02:39:03Z","updated_at":"2026-11-26T02:39:03Z","created_by":"user-e1","last_updated_by":"user-e1"}`
	for _, value := range []string{"e", "1", "2026", "true", "prod", "secret", "sec", "e74a1", "39:03Z"} {
		t.Run(value, func(t *testing.T) {
			srv, _ := fakeAPI(t, respond(200, body))
			c := newClient(t, srv.URL+"/v1")
			got, err := c.CreateSecret(context.Background(), togetherapi.CreateSecretRequest{Name: "prod/1", Value: togetherapi.NewSensitive(value), Description: "true story"})
			if err != nil {
				t.Fatal(err)
			}
			want := &togetherapi.Secret{Object: "secret", ID: "sec-950e74a1", Name: "prod/1", Description: "true story",
				CreatedAt: "2026-11-26T02:39:03Z", UpdatedAt: "2026-11-26T02:39:03Z", CreatedBy: "user-e1", LastUpdatedBy: "user-e1"}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("secret (-want +got):\n%s", diff)
			}
		})
	}
}

func TestACreateRequestIsValidatedByTheAPIsRules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		req       togetherapi.CreateSecretRequest
		wantField string
		wantText  string
	}{
		{"empty name", togetherapi.CreateSecretRequest{Value: togetherapi.NewSensitive("v")}, "name", "required"},
		{"long name", togetherapi.CreateSecretRequest{Name: strings.Repeat("a", 101), Value: togetherapi.NewSensitive("v")}, "name", "at most 100 characters (it has 101)"},
		{"bad character", togetherapi.CreateSecretRequest{Name: "my secret", Value: togetherapi.NewSensitive("v")}, "name", "found ' ' at position 3"},
		{"non-ASCII letter", togetherapi.CreateSecretRequest{Name: "clé", Value: togetherapi.NewSensitive("v")}, "name", "found 'é' at position 3"},
		{"empty value", togetherapi.CreateSecretRequest{Name: "A"}, "value", "required"},
		{"long description", togetherapi.CreateSecretRequest{Name: "A", Value: togetherapi.NewSensitive("v"), Description: strings.Repeat("é", 501)}, "description", "at most 500 characters (it has 501)"},
		{"huge value", togetherapi.CreateSecretRequest{Name: "A", Value: togetherapi.NewSensitive(strings.Repeat("v", togetherapi.ValueMaxBytes+1))}, "value", "at most 65536 bytes (it has 65537)"},
		{"name holding the value", togetherapi.CreateSecretRequest{Name: "db/hunter22-password", Value: togetherapi.NewSensitive("hunter22")}, "name", "contains the secret value"},
		{"name that is a short value", togetherapi.CreateSecretRequest{Name: "pin", Value: togetherapi.NewSensitive("pin")}, "name", "contains the secret value"},
		{"description holding the value", togetherapi.CreateSecretRequest{Name: "A", Value: togetherapi.NewSensitive("hunter22"), Description: "the password is hunter22"}, "description", "contains the secret value"},
		{"description holding an escaped value", togetherapi.CreateSecretRequest{Name: "A", Value: togetherapi.NewSensitive("hunter22"), Description: `pw: \u0068unter22`}, "description", "contains the secret value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.req.Validate()
			var fe *togetherapi.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want a *FieldError", err)
			}
			if fe.Field != tt.wantField || !strings.Contains(fe.Problem, tt.wantText) {
				t.Errorf("err = %q, want field %s and %q", fe, tt.wantField, tt.wantText)
			}
		})
	}
}

func TestNameRulesAcceptTheDocumentedCharacterSet(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"a", "HF_TOKEN", "prod/db.password-2", strings.Repeat("x", 100), "a/b/c", "..."} {
		if err := togetherapi.ValidateName("name", name); err != nil {
			t.Errorf("ValidateName(%q) = %v", name, err)
		}
	}
}

func TestNoAPIKeyFailsWithoutSending(t *testing.T) {
	t.Parallel()
	srv, requests := fakeAPI(t, respond(200, okBody))
	c := newClient(t, srv.URL+"/v1", func(c *togetherapi.Config) { c.APIKey = togetherapi.Sensitive{} })
	_, err := c.CreateSecret(context.Background(), togetherapi.CreateSecretRequest{Name: "A", Value: togetherapi.NewSensitive("v")})
	if !errors.Is(err, togetherapi.ErrNoAPIKey) {
		t.Errorf("err = %v, want ErrNoAPIKey", err)
	}
	if n := len(requests()); n != 0 {
		t.Errorf("%d requests were sent without a key", n)
	}
}

func TestNewChecksTheBaseURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url     string
		wantErr string
		want    string
	}{
		{"", "", "https://api.together.ai/v1"},
		{"https://api.together.ai/v1/", "", "https://api.together.ai/v1"},
		{"http://localhost:8080/v1", "", "http://localhost:8080/v1"},
		{"http://127.0.0.1:9/v1", "", "http://127.0.0.1:9/v1"},
		{"http://[::1]:9", "", "http://[::1]:9"},
		{"http://api.together.ai/v1", "use https", ""},
		{"http://10.0.0.1/v1", "use https", ""},
		{"ftp://api.together.ai", "absolute https URL", ""},
		{"api.together.ai/v1", "absolute https URL", ""},
		{"https://user:pw@api.together.ai/v1", "must not carry credentials", ""},
		{"https://api.together.ai/v1?x=1", "must not carry credentials, a query", ""},
		{"https://bad host/", "is not a URL", ""},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			c, err := togetherapi.New(togetherapi.Config{BaseURL: tt.url})
			if tt.wantErr != "" {
				var fe *togetherapi.FieldError
				if !errors.As(err, &fe) || fe.Field != "BaseURL" || !strings.Contains(fe.Problem, tt.wantErr) || strings.Contains(fe.Problem, "togetherapi") {
					t.Fatalf("err = %v, want a *FieldError for BaseURL whose Problem says %q and names no package", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "pw@") {
					t.Errorf("error repeats credentials: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := togetherapi.BaseURL(c); got != tt.want {
				t.Errorf("BaseURL = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestNewRefusesNegativeLimitsWithAFieldErrorNamingTheField(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		cfg   togetherapi.Config
		field string
	}{
		{togetherapi.Config{Timeout: -time.Second}, "Timeout"},
		{togetherapi.Config{AttemptTimeout: -time.Second}, "AttemptTimeout"},
		{togetherapi.Config{MaxRetries: -1}, "MaxRetries"},
	} {
		var fe *togetherapi.FieldError
		if _, err := togetherapi.New(tt.cfg); !errors.As(err, &fe) || fe.Field != tt.field || fe.Problem == "" {
			t.Errorf("%+v: err = %v, want a *FieldError for %s", tt.cfg, err, tt.field)
		}
	}
}

func TestAPIErrorsAreTypedAndScrubbed(t *testing.T) {
	t.Parallel()
	value := "v4lue-CANARY-" + "xyz"
	quoting := `{"error":{"message":"bad request: {\"name\":\"A\",\"value\":\"` + value + `\"} with key ` + testKey + `","type":"invalid_request_error","code":"bad"}}`
	tests := []struct {
		name        string
		h           http.HandlerFunc
		wantStatus  int
		wantIs      error
		wantMessage string
	}{
		{"error.message", respond(400, `{"error":{"message":"name is invalid","type":"invalid_request_error"}}`), 400, nil, "name is invalid"},
		{"message", respond(400, `{"message":"bad name"}`), 400, nil, "bad name"},
		{"string error", respond(400, `{"error":"bad thing"}`), 400, nil, "bad thing"},
		{"raw text", respond(400, "plain words\n"), 400, nil, "plain words"},
		{"empty body", respond(500, ""), 500, togetherapi.ErrServer, "Internal Server Error"},
		{"html page", respond(502, "<html><body>Bad gateway</body></html>", "Content-Type", "text/html"), 502, togetherapi.ErrServer, "HTML page"},
		{"quotes value and key", respond(400, quoting), 400, nil, "bad request: {\"name\":\"A\",\"value\":\"[REDACTED]\"} with key [REDACTED]"},
		{"quotes value in raw text", respond(500, "failed on "+value+"\n", "Content-Type", "text/plain"), 500, togetherapi.ErrServer, "failed on [REDACTED]"},
		{"401", respond(401, `{"error":{"message":"Invalid API key"}}`), 401, togetherapi.ErrUnauthorized, "Invalid API key"},
		{"403", respond(403, `{"message":"forbidden"}`), 403, togetherapi.ErrForbidden, "forbidden"},
		{"404", respond(404, `{"message":"nope"}`), 404, togetherapi.ErrNotFound, "nope"},
		{"409", respond(409, `{"message":"secret exists"}`), 409, togetherapi.ErrAlreadyExists, "secret exists"},
		{"400 already exists", respond(400, `{"error":{"message":"Secret with name A already exists"}}`), 400, togetherapi.ErrAlreadyExists, "already exists"},
		{"429", respond(429, `{"message":"slow down"}`, "Retry-After", "7"), 429, togetherapi.ErrRateLimited, "slow down"},
		{"long message is cut", respond(400, `{"message":"`+strings.Repeat("x", 5000)+`"}`), 400, nil, strings.Repeat("x", 100)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := fakeAPI(t, tt.h)
			c := newClient(t, srv.URL+"/v1")
			_, err := c.CreateSecret(context.Background(), togetherapi.CreateSecretRequest{Name: "A", Value: togetherapi.NewSensitive(value)})
			var apiErr *togetherapi.APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("err = %v, want *APIError", err)
			}
			if apiErr.StatusCode != tt.wantStatus {
				t.Errorf("status = %d, want %d", apiErr.StatusCode, tt.wantStatus)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("errors.Is(err, %v) = false", tt.wantIs)
			}
			if !strings.Contains(apiErr.Message, tt.wantMessage) {
				t.Errorf("message = %q, want it to contain %q", apiErr.Message, tt.wantMessage)
			}
			if len(apiErr.Message) > 600 {
				t.Errorf("message is %d bytes long; it should be bounded", len(apiErr.Message))
			}
			for _, s := range []string{value, testKey, "CANARY"} {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error leaks %q: %v", s, err)
				}
			}
		})
	}
}

func TestAPIErrorCarriesRequestIDAndRetryAfter(t *testing.T) {
	t.Parallel()
	srv, _ := fakeAPI(t, respond(429, `{}`, "X-Request-Id", "req-42", "Retry-After-Ms", "1500"))
	c := newClient(t, srv.URL+"/v1")
	_, err := c.CreateSecret(context.Background(), togetherapi.CreateSecretRequest{Name: "A", Value: togetherapi.NewSensitive("v")})
	var apiErr *togetherapi.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("err = %v", err)
	}
	if apiErr.RequestID != "req-42" || apiErr.RetryAfter != 1500*time.Millisecond {
		t.Errorf("RequestID = %q, RetryAfter = %s", apiErr.RequestID, apiErr.RetryAfter)
	}
	if !strings.Contains(err.Error(), "request id req-42") {
		t.Errorf("Error() = %q lacks the request id", err)
	}
}

func TestChanceOccurrencesOfShortValuesAreAllowed(t *testing.T) {
	t.Parallel()
	srv, requests := fakeAPI(t, respond(200, okBody))
	c := newClient(t, srv.URL+"/v1")
	for _, v := range []string{"e", "prod", "1"} {
		req := togetherapi.CreateSecretRequest{Name: "prod/e-1", Value: togetherapi.NewSensitive(v), Description: "prod key, 1 of e"}
		if _, err := c.CreateSecret(context.Background(), req); err != nil {
			t.Errorf("value %q: %v", v, err)
		}
	}
	if n := len(requests()); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
}

func TestRequestIDsAreKeptOnlyInTheirShape(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ header, want string }{
		{"req-42:a.b_c", "req-42:a.b_c"},
		{"Bearer " + testKey, ""},
		{"<script>alert(1)</script>", ""},
		{strings.Repeat("r", 129), ""},
	} {
		srv, _ := fakeAPI(t, respond(400, `{}`, "X-Request-Id", tt.header))
		c := newClient(t, srv.URL+"/v1")
		var info togetherapi.CallInfo
		_, err := c.CreateSecret(togetherapi.WithCallInfo(context.Background(), &info), togetherapi.CreateSecretRequest{Name: "A", Value: togetherapi.NewSensitive("v")})
		var apiErr *togetherapi.APIError
		if !errors.As(err, &apiErr) || apiErr.RequestID != tt.want || info.RequestID != tt.want {
			t.Errorf("X-Request-Id %q: RequestID = %q / %q, want %q", tt.header, apiErr.RequestID, info.RequestID, tt.want)
		}
	}
}

func TestResponseHeadersAreCapped(t *testing.T) {
	t.Parallel()
	srv, _ := fakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		for i := range 200 {
			w.Header().Set(fmt.Sprintf("X-Filler-%d", i), strings.Repeat("h", 1000))
		}
		respond(200, okBody)(w, r)
	})
	c := newClient(t, srv.URL+"/v1")
	_, err := c.ListSecrets(context.Background())
	var te *togetherapi.TransportError
	if !errors.As(err, &te) || !strings.Contains(err.Error(), "header") {
		t.Errorf("err = %v, want a transport error about the headers", err)
	}
}

func TestRedirectsAreNeverFollowed(t *testing.T) {
	t.Parallel()
	target, hits := fakeAPI(t, func(http.ResponseWriter, *http.Request) {})
	for _, status := range []int{301, 302, 307, 308} {
		srv, _ := fakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, target.URL+"/steal", status)
		})
		c := newClient(t, srv.URL+"/v1")
		_, err := c.CreateSecret(context.Background(), togetherapi.CreateSecretRequest{Name: "A", Value: togetherapi.NewSensitive("v")})
		if !errors.Is(err, togetherapi.ErrRedirect) {
			t.Errorf("%d: err = %v, want ErrRedirect", status, err)
		}
	}
	if n := len(hits()); n != 0 {
		t.Errorf("the redirect target received %d requests", n)
	}
}

func TestResponseBodiesAreCapped(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", togetherapi.MaxResponseBytes+10)
	for _, status := range []int{200, 500} {
		srv, _ := fakeAPI(t, respond(status, big))
		c := newClient(t, srv.URL+"/v1")
		_, err := c.CreateSecret(context.Background(), togetherapi.CreateSecretRequest{Name: "A", Value: togetherapi.NewSensitive("v")})
		if !tooLarge(err, togetherapi.MaxResponseBytes) {
			t.Errorf("HTTP %d: err = %v, want a *MalformedError for a body over %d bytes", status, err, togetherapi.MaxResponseBytes)
		}
	}
}

func TestABodyDeclaredOverTheCapIsRefusedBeforeItIsRead(t *testing.T) {
	t.Parallel()
	for _, status := range []int{200, 500} {
		srv, _ := fakeAPI(t, declaresMoreThan(status, togetherapi.MaxResponseBytes))
		// A client that waited for the declared body would fail by its
		// budget, not by the cap, and be caught.
		c := newClient(t, srv.URL+"/v1", func(c *togetherapi.Config) { c.Timeout = time.Minute })
		_, err := c.GetSecret(context.Background(), "sec-1")
		if !tooLarge(err, togetherapi.MaxResponseBytes) {
			t.Errorf("HTTP %d: err = %v, want a *MalformedError for a body declared over %d bytes", status, err, togetherapi.MaxResponseBytes)
		}
	}
}

// declaresMoreThan answers with a Content-Length one byte over limit, sends
// the start of the body and then waits for the client to hang up: a client
// that reads a body its declared length already puts over the cap waits
// here until its own timeout.
func declaresMoreThan(status int, limit int64) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.FormatInt(limit+1, 10))
		w.WriteHeader(status)
		_, _ = io.WriteString(w, `{"object":"list","data":[`)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}
}

// unknownOutcome returns the *ChangeError of a change whose answer was lost
// that err is or wraps, or nil.
func unknownOutcome(err error) *togetherapi.ChangeError {
	var e *togetherapi.ChangeError
	if errors.As(err, &e) && e.Effect == togetherapi.MayHaveBeenMade {
		return e
	}
	return nil
}

// tooLarge reports whether err is an answer not read for going past limit.
func tooLarge(err error, limit int64) bool {
	var me *togetherapi.MalformedError
	return errors.As(err, &me) && me.Limit == limit
}

func TestMalformedSuccessBodyIsReported(t *testing.T) {
	t.Parallel()
	for _, body := range []string{"", "not json", `["a"]`, `{"id":`} {
		srv, _ := fakeAPI(t, respond(200, body))
		c := newClient(t, srv.URL+"/v1")
		_, err := c.CreateSecret(context.Background(), togetherapi.CreateSecretRequest{Name: "A", Value: togetherapi.NewSensitive("v")})
		if !errors.As(err, new(*togetherapi.MalformedError)) {
			t.Errorf("body %q: err = %v, want a *MalformedError", body, err)
		}
	}
}

func TestTimeoutAndCancellation(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	defer close(release)
	srv, _ := fakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})

	c := newClient(t, srv.URL+"/v1", func(c *togetherapi.Config) { c.Timeout = 50 * time.Millisecond })
	_, err := c.CreateSecret(context.Background(), togetherapi.CreateSecretRequest{Name: "A", Value: togetherapi.NewSensitive("v")})
	// The request was sent and never answered: it may have been created.
	unknown := unknownOutcome(err)
	var te *togetherapi.TransportError
	if unknown == nil || !errors.As(err, &te) || te.Timeout == 0 || unknown.Name != "A" || unknown.Since.IsZero() ||
		!strings.HasPrefix(unknown.Lost, "Together did not answer within") {
		t.Errorf("err = %v, want a ChangeError that may have been made, from a timeout, that says how to check", err)
	}

	c = newClient(t, srv.URL+"/v1")
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	_, err = c.CreateSecret(ctx, togetherapi.CreateSecretRequest{Name: "A", Value: togetherapi.NewSensitive("v")})
	if !errors.Is(err, context.Canceled) || errors.As(err, &te) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestUnreachableHostIsATransportError(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c := newClient(t, "http://"+addr+"/v1")
	_, err = c.CreateSecret(context.Background(), togetherapi.CreateSecretRequest{Name: "A", Value: togetherapi.NewSensitive("v")})
	var te *togetherapi.TransportError
	if !errors.As(err, &te) {
		t.Fatalf("err = %v, want *TransportError", err)
	}
	if te.Host != addr || te.Op != "POST /deployments/secrets" {
		t.Errorf("TransportError = %+v", te)
	}
}

func TestCallInfoReportsTheWire(t *testing.T) {
	t.Parallel()
	srv, _ := fakeAPI(t, respond(200, okBody, "X-Request-Id", "req-7"))
	c := newClient(t, srv.URL+"/v1")
	var info togetherapi.CallInfo
	ctx := togetherapi.WithCallInfo(context.Background(), &info)
	if _, err := c.CreateSecret(ctx, togetherapi.CreateSecretRequest{Name: "A", Value: togetherapi.NewSensitive("v")}); err != nil {
		t.Fatal(err)
	}
	if info.Attempts != 1 || info.StatusCode != 200 || info.RequestID != "req-7" || info.Resolution != "" {
		t.Errorf("CallInfo = %+v", info)
	}
}

func TestConcurrentCallsReuseTheirConnections(t *testing.T) {
	t.Parallel()
	// http.Transport keeps 2 idle connections per host by default, so a
	// second burst would open nearly all its connections again.
	const n = 40
	var (
		mu       sync.Mutex
		newConns int
		gate     = make(chan struct{})
		inFlight atomic.Int32
	)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		g := gate
		mu.Unlock()
		if inFlight.Add(1) == n {
			close(g)
		}
		select {
		case <-g:
		case <-time.After(10 * time.Second):
		}
		respond(200, `{"object":"list","data":[]}`)(w, r)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			mu.Lock()
			newConns++
			mu.Unlock()
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	c := newClient(t, srv.URL+"/v1")
	defer togetherapi.CloseIdleConnections(c)

	burst := func() {
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				if _, err := c.ListSecrets(context.Background()); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
	}
	burst()
	mu.Lock()
	first := newConns
	gate = make(chan struct{})
	mu.Unlock()
	inFlight.Store(0)
	burst()
	mu.Lock()
	defer mu.Unlock()
	if first != n || newConns != n {
		t.Errorf("opened %d connections for the first burst and %d for the second; want %d and 0", first, newConns-first, n)
	}
}

func TestAHugeBodyCostsBoundedMemory(t *testing.T) {
	// 64 MiB streamed from a small buffer: only the client's reading shows.
	srv, _ := fakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(500)
		chunk := make([]byte, 32<<10)
		for range (64 << 20) / len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	c := newClient(t, srv.URL+"/v1")
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := c.CreateSecret(context.Background(), togetherapi.CreateSecretRequest{Name: "A", Value: togetherapi.NewSensitive("v")})
	runtime.ReadMemStats(&after)
	if !tooLarge(err, togetherapi.MaxResponseBytes) {
		t.Errorf("err = %v, want a *MalformedError for a body over %d bytes", err, togetherapi.MaxResponseBytes)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 16<<20 {
		t.Errorf("the call allocated %d MiB for a 64 MiB body; reading must stop at the cap", grew>>20)
	}
}

func TestNameCheckAgreesWithTheDocumentedPattern(t *testing.T) {
	t.Parallel()
	re := regexp.MustCompile(togetherapi.NamePattern)
	for c := 0; c < 256; c++ {
		name := "a" + string(rune(c)) + "b"
		if got, want := togetherapi.ValidateName("name", name) == nil, re.MatchString(name); got != want {
			t.Errorf("name %q: accepted = %v, but the pattern says %v", name, got, want)
		}
	}
}
