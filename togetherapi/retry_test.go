package togetherapi_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/together-secrets-mcp/together-secrets-mcp/internal/apitest"
	"github.com/together-secrets-mcp/together-secrets-mcp/sandbox"
	"github.com/together-secrets-mcp/together-secrets-mcp/togetherapi"
)

// step is how the scripted API answers one request. api is the real
// stand-in: a step that calls it lets the request take effect.
type step = apitest.Step

// scripted is the sandbox behind the shared stand-in and a script of
// faults, one step per request; once the script runs out, or for a nil
// step, the sandbox answers.
type scripted struct {
	api   *sandbox.Server
	stand *apitest.API
}

func newScripted(t *testing.T, steps ...step) (*scripted, *apitest.API) {
	t.Helper()
	return scriptedFrom(t, sandbox.Options{APIKey: testKey}, steps...)
}

// scriptedFrom is newScripted with a sandbox made with opts.
func scriptedFrom(t *testing.T, opts sandbox.Options, steps ...step) (*scripted, *apitest.API) {
	t.Helper()
	stand := apitest.NewSandbox(t, opts)
	stand.Script(steps...)
	return &scripted{api: stand.Account(opts.APIKey), stand: stand}, stand
}

// requests are the requests received so far, each as "METHOD path", the
// path unescaped, so that a name put in a path shows its slashes.
func (s *scripted) requests() []string {
	var out []string
	for _, r := range s.stand.Received() {
		path, err := url.PathUnescape(r.Path)
		if err != nil {
			path = r.Path
		}
		out = append(out, r.Method+" "+path)
	}
	return out
}

func answer(status int, headers ...string) step {
	return func(w http.ResponseWriter, r *http.Request, _ http.Handler) {
		_, _ = io.Copy(io.Discard, r.Body)
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		w.WriteHeader(status)
	}
}

// actThenAnswer lets the request take effect, then answers status instead,
// as a gateway does when the service's answer is lost behind it.
func actThenAnswer(status int) step {
	return func(w http.ResponseWriter, r *http.Request, api http.Handler) {
		api.ServeHTTP(httptest.NewRecorder(), r)
		w.WriteHeader(status)
	}
}

// actThenReset lets the request take effect, then drops the connection.
func actThenReset() step {
	return func(w http.ResponseWriter, r *http.Request, api http.Handler) {
		api.ServeHTTP(httptest.NewRecorder(), r)
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			if tc, ok := conn.(*net.TCPConn); ok {
				_ = tc.SetLinger(0)
			}
			conn.Close()
		}
	}
}

// actThenHang lets the request take effect, then never answers.
func actThenHang() step {
	return func(w http.ResponseWriter, r *http.Request, api http.Handler) {
		api.ServeHTTP(httptest.NewRecorder(), r)
		<-r.Context().Done()
	}
}

// retryClient is a client with retries on, whose waits are recorded.
func retryClient(t *testing.T, url string, retries int) (*togetherapi.Client, *[]time.Duration) {
	t.Helper()
	c := newClient(t, url+"/v1", func(c *togetherapi.Config) { c.MaxRetries = retries; c.Timeout = 5 * time.Second })
	var waits []time.Duration
	togetherapi.SetSleep(c, func(ctx context.Context, d time.Duration) error {
		waits = append(waits, d)
		return ctx.Err()
	})
	return c, &waits
}

func create(c *togetherapi.Client, ctx context.Context, name string) (*togetherapi.Secret, error) {
	return c.CreateSecret(ctx, togetherapi.CreateSecretRequest{Name: name, Value: togetherapi.NewSensitive("v-" + name)})
}

func TestRetriesWhatTheAPIDidNotAct(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		steps     []step
		wantWaits []time.Duration // exact waits, or nil to check only the count
		wantCalls int
	}{
		{"429 with retry-after-ms", []step{answer(429, "Retry-After-Ms", "120")}, []time.Duration{120 * time.Millisecond}, 2},
		{"429 with Retry-After seconds", []step{answer(429, "Retry-After", "2")}, []time.Duration{2 * time.Second}, 2},
		{"503 twice", []step{answer(503), answer(503)}, nil, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, srv := newScripted(t, tt.steps...)
			c, waits := retryClient(t, srv.URL, 2)
			var info togetherapi.CallInfo
			var events []togetherapi.RetryEvent
			info.OnRetry = func(ev togetherapi.RetryEvent) { events = append(events, ev) }
			if _, err := create(c, togetherapi.WithCallInfo(context.Background(), &info), "R"); err != nil {
				t.Fatalf("create after retries: %v", err)
			}
			if got := len(s.requests()); got != tt.wantCalls || info.Attempts != tt.wantCalls {
				t.Errorf("%d requests, %d attempts reported; want %d", got, info.Attempts, tt.wantCalls)
			}
			if tt.wantWaits != nil && !equalDurations(*waits, tt.wantWaits) {
				t.Errorf("waits = %v, want %v", *waits, tt.wantWaits)
			}
			if len(events) != tt.wantCalls-1 || events[0].Attempt != 1 || events[0].StatusCode == 0 || events[0].Op != "POST /deployments/secrets" {
				t.Errorf("retry events = %+v", events)
			}
			if s.api.Len() != 1 {
				t.Errorf("the API holds %d secrets, want 1", s.api.Len())
			}
		})
	}
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestBackoffGrowsWithJitterAndStopsAtTheLimit(t *testing.T) {
	t.Parallel()
	_, srv := newScripted(t, answer(503), answer(503), answer(503), answer(503))
	c, waits := retryClient(t, srv.URL, 3)
	_, err := create(c, context.Background(), "B")
	if !errors.Is(err, togetherapi.ErrServer) {
		t.Fatalf("err = %v, want the last 503", err)
	}
	if len(*waits) != 3 {
		t.Fatalf("waits = %v, want 3", *waits)
	}
	for i, w := range *waits {
		base := 500 * time.Millisecond << i
		if w > base || w < base*3/4 {
			t.Errorf("wait %d = %s, want within [%s, %s]", i, w, base*3/4, base)
		}
	}
}

func TestDoesNotRetryWhatCouldRepeatAnEffectOrWaitTooLong(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		steps []step
		want  error
	}{
		{"400", []step{answer(400)}, nil},
		{"401", []step{answer(401)}, togetherapi.ErrUnauthorized},
		{"409", []step{answer(409)}, togetherapi.ErrAlreadyExists},
		{"429 asking for a minute", []step{answer(429, "Retry-After", "60")}, togetherapi.ErrRateLimited},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, srv := newScripted(t, tt.steps...)
			c, _ := retryClient(t, srv.URL, 2)
			_, err := create(c, context.Background(), "N")
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
			if n := len(s.requests()); n != 1 {
				t.Errorf("%d requests, want 1: %v", n, s.requests())
			}
		})
	}
}

func TestRetriesAConnectionThatNeverSentTheRequest(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c, waits := retryClient(t, "http://"+addr, 2)
	var info togetherapi.CallInfo
	_, err = create(c, togetherapi.WithCallInfo(context.Background(), &info), "C")
	var te *togetherapi.TransportError
	if !errors.As(err, &te) || unknownOutcome(err) != nil {
		t.Errorf("err = %v, want a plain TransportError: nothing was sent", err)
	}
	if info.Attempts != 3 || len(*waits) != 2 {
		t.Errorf("attempts = %d, waits = %v; want 3 attempts", info.Attempts, *waits)
	}
}

func TestAnAmbiguousCreateIsSettledWithoutADuplicate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name           string
		steps          []step
		retries        int
		wantResolution string
		wantRequests   []string
	}{
		{
			name: "502 after the secret was made", steps: []step{actThenAnswer(502)}, retries: 2,
			wantResolution: "the answer was lost: Together answered HTTP 502 (Bad Gateway), which does not say; reading the secret back showed it created at",
			wantRequests:   []string{"POST /v1/deployments/secrets", "GET /v1/deployments/secrets"},
		},
		{
			name: "504 after the secret was made", steps: []step{actThenAnswer(504)}, retries: 0,
			wantResolution: "the answer was lost: Together answered HTTP 504",
			wantRequests:   []string{"POST /v1/deployments/secrets", "GET /v1/deployments/secrets"},
		},
		{
			name: "connection reset after the secret was made", steps: []step{actThenReset()}, retries: 2,
			wantResolution: "the answer was lost: the connection to Together broke",
			wantRequests:   []string{"POST /v1/deployments/secrets", "GET /v1/deployments/secrets"},
		},
		{
			name: "timeout after the secret was made", steps: []step{actThenHang()}, retries: 2,
			wantResolution: "the answer was lost: Together did not answer within",
			wantRequests:   []string{"POST /v1/deployments/secrets", "GET /v1/deployments/secrets"},
		},
		{
			name: "502 before anything was made", steps: []step{answer(502)}, retries: 2,
			wantResolution: "the answer was lost: Together answered HTTP 502 (Bad Gateway), which does not say; reading the secrets back showed it was not created; sent it again",
			wantRequests:   []string{"POST /v1/deployments/secrets", "GET /v1/deployments/secrets", "POST /v1/deployments/secrets"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, srv := newScripted(t, tt.steps...)
			c, _ := retryClient(t, srv.URL, tt.retries)
			if strings.Contains(tt.name, "timeout") {
				c = newClient(t, srv.URL+"/v1", func(c *togetherapi.Config) { c.Timeout = 2 * time.Second; c.AttemptTimeout = 100 * time.Millisecond })
			}
			var info togetherapi.CallInfo
			got, err := create(c, togetherapi.WithCallInfo(context.Background(), &info), "AMBIG")
			if err != nil {
				t.Fatalf("create: %v", err)
			}
			if got.Name != "AMBIG" || got.ID == "" {
				t.Errorf("secret = %+v", got)
			}
			if !strings.Contains(info.Resolution, tt.wantResolution) {
				t.Errorf("Resolution = %q, want it to contain %q", info.Resolution, tt.wantResolution)
			}
			if s.api.Len() != 1 || !s.api.ValueMatches("AMBIG", "v-AMBIG") {
				t.Errorf("the API holds %d secrets, want exactly the one", s.api.Len())
			}
			if got := s.requests(); strings.Join(got, ",") != strings.Join(tt.wantRequests, ",") {
				t.Errorf("requests = %v, want %v", got, tt.wantRequests)
			}
		})
	}
}

func TestAnAmbiguousCreateOfATakenNameReportsItWasTaken(t *testing.T) {
	t.Parallel()
	past := time.Now().Add(-time.Hour)
	s, srv := scriptedFrom(t, sandbox.Options{APIKey: testKey, Now: func() time.Time { return past }})
	old := s.api
	c0 := newClient(t, srv.URL+"/v1")
	if _, err := create(c0, context.Background(), "TAKEN"); err != nil {
		t.Fatal(err)
	}
	// The name was taken an hour ago, and the first answer is lost.
	s.stand.Script(answer(502))
	c, _ := retryClient(t, srv.URL, 2)
	var info togetherapi.CallInfo
	_, err := create(c, togetherapi.WithCallInfo(context.Background(), &info), "TAKEN")
	if !errors.Is(err, togetherapi.ErrAlreadyExists) || !strings.Contains(err.Error(), "before this call") {
		t.Errorf("err = %v, want already exists, from before this call", err)
	}
	if !old.ValueMatches("TAKEN", "v-TAKEN") || old.Len() != 1 {
		t.Error("the existing secret was changed")
	}
}

func TestAnUnsettleableCreateSaysHowToCheck(t *testing.T) {
	t.Parallel()
	// Every request fails ambiguously, the read-back included.
	s, srv := newScripted(t, answer(502), answer(502), answer(502), answer(502), answer(502), answer(502))
	c, _ := retryClient(t, srv.URL, 2)
	_, err := create(c, context.Background(), "LOST")
	unknown := unknownOutcome(err)
	if unknown == nil {
		t.Fatalf("err = %v, want a ChangeError that may have been made", err)
	}
	if unknown.Detail != "reading the secrets back failed too" || unknown.Name != "LOST" || unknown.Since.IsZero() ||
		!strings.HasPrefix(unknown.Lost, "Together answered HTTP 502") {
		t.Errorf("Detail = %q, Name = %q, Since = %s, Lost = %q", unknown.Detail, unknown.Name, unknown.Since, unknown.Lost)
	}
	for _, r := range s.requests() {
		if strings.HasPrefix(r, "POST") && r != s.requests()[0] {
			t.Errorf("sent the create again without knowing the first failed: %v", s.requests())
		}
	}
}

func TestIdempotentReadsRetryGatewayErrors(t *testing.T) {
	t.Parallel()
	s, srv := newScripted(t, answer(502), answer(504))
	c, _ := retryClient(t, srv.URL, 2)
	if _, err := c.ListSecrets(context.Background()); err != nil {
		t.Fatalf("list after two gateway errors: %v", err)
	}
	if n := len(s.requests()); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
}

func TestTheBudgetBoundsRetriesAndWaits(t *testing.T) {
	t.Parallel()
	// A Retry-After longer than what is left of the budget is not waited for.
	s, srv := newScripted(t, answer(429, "Retry-After", "3"))
	c := newClient(t, srv.URL+"/v1", func(c *togetherapi.Config) { c.MaxRetries = 2; c.Timeout = time.Second })
	var waits []time.Duration
	togetherapi.SetSleep(c, func(ctx context.Context, d time.Duration) error { waits = append(waits, d); return nil })
	_, err := create(c, context.Background(), "SLOW")
	if !errors.Is(err, togetherapi.ErrRateLimited) {
		t.Errorf("err = %v, want the 429", err)
	}
	if len(waits) != 0 {
		t.Errorf("waited %v for a retry the budget could not hold", waits)
	}
	if n := len(s.requests()); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

func TestAnAbsurdRetryAfterIsNeverWaitedForNorShortened(t *testing.T) {
	t.Parallel()
	s, srv := newScripted(t, answer(429, "Retry-After", "18446744074"))
	c, waits := retryClient(t, srv.URL, 2)
	_, err := create(c, context.Background(), "A")
	var apiErr *togetherapi.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 429 {
		t.Fatalf("err = %v, want the 429", err)
	}
	if apiErr.RetryAfter != togetherapi.RetryAfterCap {
		t.Errorf("RetryAfter = %s, want the cap %s", apiErr.RetryAfter, togetherapi.RetryAfterCap)
	}
	if len(*waits) != 0 || len(s.requests()) != 1 {
		t.Errorf("waited %v over %d requests; want no retry", *waits, len(s.requests()))
	}
}

func TestARetryThatFindsItsOwnSecretReportsItCreated(t *testing.T) {
	t.Parallel()
	// A 503 whose request did create the secret: the retry meets "already
	// exists", which is this call's own secret, not a taken name.
	s, srv := newScripted(t, actThenAnswer(503))
	c, _ := retryClient(t, srv.URL, 2)
	var info togetherapi.CallInfo
	got, err := create(c, togetherapi.WithCallInfo(context.Background(), &info), "MINE")
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if got.Name != "MINE" || got.ID == "" {
		t.Errorf("secret = %+v", got)
	}
	if !strings.Contains(info.Resolution, "retry found the name taken; reading the secret back showed it created at") {
		t.Errorf("Resolution = %q", info.Resolution)
	}
	if s.api.Len() != 1 {
		t.Errorf("the API holds %d secrets, want 1", s.api.Len())
	}
}

func TestARetryThatFindsAnOlderSecretReportsTheNameTaken(t *testing.T) {
	t.Parallel()
	past := time.Now().Add(-time.Hour)
	s, srv := scriptedFrom(t, sandbox.Options{APIKey: testKey, Now: func() time.Time { return past }})
	if _, err := create(newClient(t, srv.URL+"/v1"), context.Background(), "OLD"); err != nil {
		t.Fatal(err)
	}
	// The first attempt is shed with 503; the retry reaches the old account.
	s.stand.Script(answer(503))
	c, _ := retryClient(t, srv.URL, 2)
	_, err := create(c, context.Background(), "OLD")
	if !errors.Is(err, togetherapi.ErrAlreadyExists) || !strings.Contains(err.Error(), "before this call") {
		t.Fatalf("err = %v, want already existed before this call", err)
	}
}

func TestASuccessThatIsNotASecretIsNotASuccess(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		step step
	}{
		{"HTML page, no id", func(w http.ResponseWriter, r *http.Request, _ http.Handler) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(201)
			_, _ = io.WriteString(w, "<html><body>Created</body></html>")
		}},
		{"JSON without an id", func(w http.ResponseWriter, r *http.Request, _ http.Handler) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(200)
			_, _ = io.WriteString(w, `{"object":"secret","name":"X"}`)
		}},
		{"JSON with an HTML content type", func(w http.ResponseWriter, r *http.Request, _ http.Handler) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(200)
			_, _ = io.WriteString(w, `{"object":"secret","id":"sec-1","name":"X"}`)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, srv := newScripted(t, tt.step)
			c, _ := retryClient(t, srv.URL, 2)
			_, err := create(c, context.Background(), "X")
			if !errors.As(err, new(*togetherapi.MalformedError)) {
				t.Fatalf("err = %v, want a *MalformedError", err)
			}
			// It read the secrets back to see, and did not send again.
			if got := strings.Join(s.requests(), ","); got != "POST /v1/deployments/secrets,GET /v1/deployments/secrets" {
				t.Errorf("requests = %s", got)
			}
		})
	}
}

func TestASuccessWithoutMetadataIsSettledByReadingBack(t *testing.T) {
	t.Parallel()
	// The secret was made, but the answer was an empty page: reading back
	// finds it, created during this call.
	s, srv := newScripted(t, func(w http.ResponseWriter, r *http.Request, api http.Handler) {
		api.ServeHTTP(httptest.NewRecorder(), r)
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(201)
	})
	c, _ := retryClient(t, srv.URL, 2)
	var info togetherapi.CallInfo
	got, err := create(c, togetherapi.WithCallInfo(context.Background(), &info), "MADE")
	if err != nil || got.Name != "MADE" {
		t.Fatalf("create = %+v, %v", got, err)
	}
	if !strings.Contains(info.Resolution, "without the secret's metadata") || s.api.Len() != 1 {
		t.Errorf("Resolution = %q, secrets = %d", info.Resolution, s.api.Len())
	}
}
