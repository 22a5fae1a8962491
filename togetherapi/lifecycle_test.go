package togetherapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/together-secrets-mcp/together-secrets-mcp/internal/apitest"
	"github.com/together-secrets-mcp/together-secrets-mcp/togetherapi"
)

func ptr[T any](v T) *T { return &v }

func TestTheWholeLifecycleAgainstTheStandIn(t *testing.T) {
	t.Parallel()
	s, srv := newScripted(t)
	c := newClient(t, srv.URL+"/v1")
	ctx := context.Background()

	made, err := c.CreateSecret(ctx, togetherapi.CreateSecretRequest{Name: "prod/db.password", Value: togetherapi.NewSensitive("one"), Description: "db"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateSecret(ctx, togetherapi.CreateSecretRequest{Name: "PLAIN", Value: togetherapi.NewSensitive("p")}); err != nil {
		t.Fatal(err)
	}

	list, err := c.ListSecrets(ctx)
	if err != nil || len(list) != 2 || list[0].Name != "PLAIN" || list[1].Name != "prod/db.password" {
		t.Fatalf("ListSecrets = %+v, %v", list, err)
	}

	for _, id := range []string{made.ID, "prod/db.password"} {
		got, err := c.GetSecret(ctx, id)
		if err != nil {
			t.Fatalf("GetSecret(%q): %v", id, err)
		}
		if diff := cmp.Diff(made, got); diff != "" {
			t.Errorf("GetSecret(%q) (-created +got):\n%s", id, diff)
		}
	}

	rotated, err := c.UpdateSecret(ctx, "prod/db.password", togetherapi.UpdateSecretRequest{Value: togetherapi.NewSensitive("two")})
	if err != nil {
		t.Fatal(err)
	}
	if rotated.ID != made.ID || rotated.Name != "prod/db.password" || rotated.Description != "db" || !s.api.ValueMatches("prod/db.password", "two") {
		t.Errorf("after rotation: %+v", rotated)
	}

	renamed, err := c.UpdateSecret(ctx, made.ID, togetherapi.UpdateSecretRequest{Name: "prod/db/password", Description: ptr("")})
	if err != nil {
		t.Fatal(err)
	}
	if renamed.Name != "prod/db/password" || renamed.Description != "" || !s.api.ValueMatches("prod/db/password", "two") {
		t.Errorf("after rename: %+v", renamed)
	}

	deleted, err := c.DeleteSecret(ctx, "prod/db/password")
	if err != nil {
		t.Fatal(err)
	}
	if deleted.ID != made.ID {
		t.Errorf("DeleteSecret returned %+v", deleted)
	}
	if _, err := c.GetSecret(ctx, made.ID); !errors.Is(err, togetherapi.ErrNotFound) {
		t.Errorf("GetSecret after delete: err = %v, want ErrNotFound", err)
	}
	if _, err := c.GetSecret(ctx, "prod/db/password"); !errors.Is(err, togetherapi.ErrNotFound) {
		t.Errorf("GetSecret by name after delete: err = %v, want ErrNotFound", err)
	}

	// Names with "/" and every update and delete go by ID through the list;
	// nothing ever puts a raw name with "/" in a path.
	for _, r := range s.requests() {
		if strings.Count(r, "/") > 4 {
			t.Errorf("a name was put in a path: %s", r)
		}
	}
}

func TestUpdateSendsOnlyWhatChanges(t *testing.T) {
	t.Parallel()
	var patches []string
	s, srv := newScripted(t)
	c := newClient(t, srv.URL+"/v1")
	ctx := context.Background()
	made, err := c.CreateSecret(ctx, togetherapi.CreateSecretRequest{Name: "N", Value: togetherapi.NewSensitive("v")})
	if err != nil {
		t.Fatal(err)
	}
	record := func(w http.ResponseWriter, r *http.Request, api http.Handler) {
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		b, _ := json.Marshal(body)
		patches = append(patches, string(b))
		r.Body = http.NoBody
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(made)
	}
	for _, req := range []togetherapi.UpdateSecretRequest{
		{Value: togetherapi.NewSensitive("new")},
		{Name: "M"},
		{Description: ptr("")},
		{Description: ptr("d"), ProjectID: "p"},
	} {
		s.stand.Script(nil, record) // the list answers normally; the PATCH is recorded
		if _, err := c.UpdateSecret(ctx, "N", req); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{`{"value":"new"}`, `{"name":"M"}`, `{"description":""}`, `{"description":"d","project_id":"p"}`}
	if diff := cmp.Diff(want, patches); diff != "" {
		t.Errorf("PATCH bodies (-want +got):\n%s", diff)
	}
}

func TestAnUpdateRequestIsValidatedByTheAPIsRules(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		req  togetherapi.UpdateSecretRequest
		want string
	}{
		{togetherapi.UpdateSecretRequest{}, "changes nothing"},
		{togetherapi.UpdateSecretRequest{ProjectID: "p"}, "changes nothing"},
		{togetherapi.UpdateSecretRequest{Name: "bad name"}, "name may contain only"},
		{togetherapi.UpdateSecretRequest{Description: ptr(strings.Repeat("d", 501))}, "description must be at most 500"},
		{togetherapi.UpdateSecretRequest{Value: togetherapi.NewSensitive(strings.Repeat("v", togetherapi.ValueMaxBytes+1))}, "value must be at most 65536 bytes"},
		{togetherapi.UpdateSecretRequest{Name: "hunter22-db", Value: togetherapi.NewSensitive("hunter22")}, "name contains the secret value"},
		{togetherapi.UpdateSecretRequest{Description: ptr("pw hunter22"), Value: togetherapi.NewSensitive("hunter22")}, "description contains the secret value"},
	} {
		if err := tt.req.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v.Validate() = %v, want %q", tt.req, err, tt.want)
		}
	}
}

func TestUpdateAndDeleteReportMissingAndTakenNames(t *testing.T) {
	t.Parallel()
	_, srv := newScripted(t)
	c := newClient(t, srv.URL+"/v1")
	ctx := context.Background()
	for _, n := range []string{"A", "B"} {
		if _, err := c.CreateSecret(ctx, togetherapi.CreateSecretRequest{Name: n, Value: togetherapi.NewSensitive("v")}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.UpdateSecret(ctx, "NOPE", togetherapi.UpdateSecretRequest{Name: "X"}); !errors.Is(err, togetherapi.ErrNotFound) {
		t.Errorf("update of a missing secret: %v", err)
	}
	if _, err := c.DeleteSecret(ctx, "NOPE"); !errors.Is(err, togetherapi.ErrNotFound) {
		t.Errorf("delete of a missing secret: %v", err)
	}
	if _, err := c.UpdateSecret(ctx, "A", togetherapi.UpdateSecretRequest{Name: "B"}); !errors.Is(err, togetherapi.ErrAlreadyExists) {
		t.Errorf("rename onto a taken name: %v", err)
	}
}

func TestLostAnswersToUpdateAndDeleteAreRetriedSafely(t *testing.T) {
	t.Parallel()
	s, srv := newScripted(t)
	c, _ := retryClient(t, srv.URL, 2)
	ctx := context.Background()
	if _, err := c.CreateSecret(ctx, togetherapi.CreateSecretRequest{Name: "R", Value: togetherapi.NewSensitive("v")}); err != nil {
		t.Fatal(err)
	}

	// The rename takes effect but its answer is lost; sending the same PATCH
	// to the same ID again changes nothing more.
	s.stand.Script(nil, actThenAnswer(502))
	got, err := c.UpdateSecret(ctx, "R", togetherapi.UpdateSecretRequest{Name: "R2"})
	if err != nil || got.Name != "R2" {
		t.Fatalf("update = %+v, %v", got, err)
	}

	// The delete takes effect but its answer is lost; the retry's 404 means
	// it is gone.
	s.stand.Script(nil, actThenAnswer(504))
	var info togetherapi.CallInfo
	if _, err := c.DeleteSecret(togetherapi.WithCallInfo(ctx, &info), "R2"); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if !strings.Contains(info.Resolution, "already gone, so it was deleted") || s.api.Len() != 0 {
		t.Errorf("Resolution = %q, %d secrets left", info.Resolution, s.api.Len())
	}
}

func TestIDsAreEscapedInPaths(t *testing.T) {
	t.Parallel()
	srv, requests := fakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Method == http.MethodGet {
			_, _ = w.Write([]byte(`{"object":"list","data":[{"id":"odd id/1?","name":"N"}]}`))
			return
		}
		_, _ = w.Write([]byte(`{"id":"odd id/1?","name":"N"}`))
	})
	c := newClient(t, srv.URL+"/v1")
	if _, err := c.DeleteSecret(context.Background(), "N"); err != nil {
		t.Fatal(err)
	}
	reqs := requests()
	if got := reqs[len(reqs)-1]; got.Method != "DELETE" || got.Path != "/v1/deployments/secrets/odd%20id%2F1%3F" {
		t.Errorf("DELETE went to %s %s", got.Method, got.Path)
	}
}

func TestUpdateRefusesANewValueTheKeptNameHolds(t *testing.T) {
	t.Parallel()
	s, srv := newScripted(t)
	c := newClient(t, srv.URL+"/v1")
	ctx := context.Background()
	if _, err := c.CreateSecret(ctx, togetherapi.CreateSecretRequest{Name: "svc/hunter22", Value: togetherapi.NewSensitive("old-value")}); err != nil {
		t.Fatal(err)
	}
	_, err := c.UpdateSecret(ctx, "svc/hunter22", togetherapi.UpdateSecretRequest{Value: togetherapi.NewSensitive("hunter22")})
	var fe *togetherapi.FieldError
	if !errors.As(err, &fe) || fe.Field != "name" || !strings.Contains(fe.Problem, "current name contains the new value") {
		t.Fatalf("err = %v", err)
	}
	if !s.api.ValueMatches("svc/hunter22", "old-value") {
		t.Error("the value was changed")
	}
	// Renaming in the same call is the way out.
	if _, err := c.UpdateSecret(ctx, "svc/hunter22", togetherapi.UpdateSecretRequest{Name: "svc/db", Value: togetherapi.NewSensitive("hunter22")}); err != nil {
		t.Fatal(err)
	}
}

func TestLookupsWorkInLargeAccounts(t *testing.T) {
	t.Parallel()
	apitest.NeedsHeavyLoad(t)
	// 20,000 secrets with long descriptions list in about 12 MiB, far past
	// the 1 MiB cap on other answers.
	var b strings.Builder
	b.WriteString(`{"object":"list","data":[`)
	for i := range 20000 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"object":"secret","id":"sec-%05d","name":"team/app-%05d","description":%q,"created_at":"2026-11-26T00:00:00Z"}`,
			i, i, strings.Repeat("d", 500))
	}
	b.WriteString(`]}`)
	list := b.String()
	var patched atomic.Int32
	srv, _ := fakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet:
			respond(200, list)(w, r)
		case http.MethodPatch:
			patched.Add(1)
			respond(200, `{"object":"secret","id":"sec-19999","name":"team/app-19999"}`)(w, r)
		}
	})
	// Three reads of 12 MiB take seconds under -race on a busy machine: a
	// budget that cannot run out first, since the test is of the lookups.
	c := newClient(t, srv.URL+"/v1", func(c *togetherapi.Config) { c.Timeout = time.Minute })
	ctx := context.Background()
	all, err := c.ListSecrets(ctx)
	if err != nil || len(all) != 20000 {
		t.Fatalf("ListSecrets: %d secrets, %v", len(all), err)
	}
	got, err := c.GetSecret(ctx, "team/app-19999")
	if err != nil || got.ID != "sec-19999" {
		t.Fatalf("GetSecret by name: %+v, %v", got, err)
	}
	if _, err := c.UpdateSecret(ctx, "team/app-19999", togetherapi.UpdateSecretRequest{Description: ptr("x")}); err != nil || patched.Load() != 1 {
		t.Fatalf("UpdateSecret by name: %v (%d patches)", err, patched.Load())
	}
}

func TestAFailedLookupSaysTheChangeWasNotSent(t *testing.T) {
	t.Parallel()
	srv, requests := fakeAPI(t, declaresMoreThan(http.StatusOK, togetherapi.MaxListBytes))
	c := newClient(t, srv.URL+"/v1", func(c *togetherapi.Config) { c.Timeout = time.Minute })
	_, err := c.DeleteSecret(context.Background(), "team/x")
	var ce *togetherapi.ChangeError
	if !errors.As(err, &ce) || ce.Effect != togetherapi.NotMade || !tooLarge(err, togetherapi.MaxListBytes) {
		t.Fatalf("err = %v, want a ChangeError that made nothing, for a list too large", err)
	}
	for _, r := range requests() {
		if r.Method != http.MethodGet {
			t.Errorf("sent %s %s", r.Method, r.Path)
		}
	}
}
