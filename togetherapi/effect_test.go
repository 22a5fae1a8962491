package togetherapi_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/together-secrets-mcp/together-secrets-mcp/internal/apitest"
	"github.com/together-secrets-mcp/together-secrets-mcp/sandbox"
	"github.com/together-secrets-mcp/together-secrets-mcp/togetherapi"
)

// changesScripted is the sandbox behind a script of faults for the
// requests that change something, one step each in turn; reads, changes
// past the script and a nil step, the sandbox answers.
func changesScripted(t *testing.T, steps ...step) (*sandbox.Server, string) {
	t.Helper()
	stand := apitest.NewSandbox(t, sandbox.Options{APIKey: testKey})
	api := stand.Account(testKey)
	var n atomic.Int32
	stand.Answer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			if i := int(n.Add(1)) - 1; i < len(steps) && steps[i] != nil {
				steps[i](w, r, api)
				return
			}
		}
		api.ServeHTTP(w, r)
	}))
	return api, stand.URL
}

func TestTheEffectOfAFailedChangeIsUnknownExactlyWhenItsAnswerWasLost(t *testing.T) {
	t.Parallel()
	update := func(c *togetherapi.Client, ctx context.Context) error {
		_, err := c.UpdateSecret(ctx, "R", togetherapi.UpdateSecretRequest{Value: togetherapi.NewSensitive("rotated-0123456789")})
		return err
	}
	attach := func(c *togetherapi.Client, ctx context.Context) error {
		_, err := c.AttachSecretNamed(ctx, sandbox.ExampleDeployment, "R_TOKEN", "R", togetherapi.ChangeHooks{})
		return err
	}
	del := func(c *togetherapi.Client, ctx context.Context) error {
		_, err := c.DeleteSecret(ctx, "R")
		return err
	}
	huge := func(w http.ResponseWriter, r *http.Request, api http.Handler) {
		api.ServeHTTP(httptest.NewRecorder(), r)
		respond(200, strings.Repeat(" ", togetherapi.MaxResponseBytes+1))(w, r)
	}
	tests := []struct {
		name    string
		change  func(*togetherapi.Client, context.Context) error
		retries int
		timeout time.Duration
		steps   []step
		want    togetherapi.Effect
	}{
		{"an update answered 504", update, 0, 0, []step{actThenAnswer(504)}, togetherapi.MayHaveBeenMade},
		{"an update answered 500", update, 0, 0, []step{actThenAnswer(500)}, togetherapi.MayHaveBeenMade},
		{"an update whose connection broke", update, 0, 0, []step{actThenReset()}, togetherapi.MayHaveBeenMade},
		{"an update never answered", update, 0, 300 * time.Millisecond, []step{actThenHang()}, togetherapi.MayHaveBeenMade},
		{"an update answered success that is no secret", update, 0, 0, []step{actThenAnswer(200)}, togetherapi.MayHaveBeenMade},
		{"an update answered success too large to read", update, 0, 0, []step{huge}, togetherapi.MayHaveBeenMade},
		{"an update answered 504, then 504 at every retry", update, 2, 0, []step{actThenAnswer(504), answer(504), answer(504)}, togetherapi.MayHaveBeenMade},
		{"an update answered 504, whose retry is refused 429", update, 1, 0, []step{actThenAnswer(504), answer(429)}, togetherapi.MayHaveBeenMade},
		{"a delete answered 502", del, 0, 0, []step{actThenAnswer(502)}, togetherapi.MayHaveBeenMade},
		{"an attach answered 504", attach, 0, 0, []step{actThenAnswer(504)}, togetherapi.MayHaveBeenMade},
		{"an attach whose connection broke", attach, 0, 0, []step{actThenReset()}, togetherapi.MayHaveBeenMade},
		{"an update refused 400", update, 0, 0, []step{answer(400)}, togetherapi.NotMade},
		{"an update refused 503, even after retries", update, 2, 0, []step{answer(503), answer(503), answer(503)}, togetherapi.NotMade},
		{"an update refused 404", update, 0, 0, []step{answer(404)}, togetherapi.NotMade},
		{"an attach refused 400", attach, 0, 0, []step{answer(400)}, togetherapi.NotMade},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, url := changesScripted(t, append([]step{nil}, tt.steps...)...) // the create goes through
			c, _ := retryClient(t, url, tt.retries)
			if tt.timeout > 0 {
				c = newClient(t, url+"/v1", func(c *togetherapi.Config) { c.Timeout = tt.timeout })
			}
			if _, err := create(c, context.Background(), "R"); err != nil {
				t.Fatal(err)
			}
			err := tt.change(c, context.Background())
			if err == nil {
				t.Fatal("the change succeeded")
			}
			if got := togetherapi.EffectOf(err); got != tt.want {
				t.Errorf("EffectOf(%v) = %d, want %d", err, got, tt.want)
			}
			if (unknownOutcome(err) != nil) != (tt.want == togetherapi.MayHaveBeenMade) {
				t.Errorf("err = %v: a ChangeError that may have been made exactly when the answer was lost", err)
			}
		})
	}
}

func TestTheEffectOfACallIsKnownWhereNothingWasSentOrTheChangeWasAccepted(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		err  error
		want togetherapi.Effect
	}{
		{"no error", nil, togetherapi.Made},
		{"a read back that failed", &togetherapi.ChangeError{Effect: togetherapi.Made, Err: togetherapi.ErrServer}, togetherapi.Made},
		{"a lookup that failed", &togetherapi.ChangeError{Effect: togetherapi.NotMade, Err: context.Canceled}, togetherapi.NotMade},
		{"a lookup that failed, wrapped", fmt.Errorf("attach: %w", &togetherapi.ChangeError{Effect: togetherapi.NotMade, Err: togetherapi.ErrServer}), togetherapi.NotMade},
		{"no key", togetherapi.ErrNoAPIKey, togetherapi.NotMade},
		{"a change no longer safe to send", togetherapi.ErrDeploymentChanged, togetherapi.NotMade},
	} {
		if got := togetherapi.EffectOf(tt.err); got != tt.want {
			t.Errorf("%s: EffectOf = %d, want %d", tt.name, got, tt.want)
		}
	}
}
