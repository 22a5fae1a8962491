package intake_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rs/zerolog"

	"github.com/together-secrets-mcp/together-secrets-mcp/intake"
	"github.com/together-secrets-mcp/together-secrets-mcp/internal/apitest"
	"github.com/together-secrets-mcp/together-secrets-mcp/internal/linkseal"
	"github.com/together-secrets-mcp/together-secrets-mcp/internal/netguard"
	"github.com/together-secrets-mcp/together-secrets-mcp/internal/syncio"
	"github.com/together-secrets-mcp/together-secrets-mcp/togetherapi"
)

// The canaries: the value typed on the page, the key of the account that
// made the link, and a key of another account. None may ever show, and each
// starts with one of apitest.Canaries, which AssertClean looks for.
const (
	teamValue = "CANARYVALUE-team-9f8e7d6c"
	makerKey  = "CANARYKEY-maker-5e4d3c2b1a"
	otherKey  = "CANARYKEY-other-0f1e2d3c4b"
)

// makerCallID is the call_id of the call that made the test's links.
const makerCallID = "4b7de831e6d12f59"

// storeCall is what reached the store.
type storeCall struct {
	req        intake.TeamRequest
	key, value togetherapi.Sensitive
}

// teamStore records what reached it, and answers as the test says.
type teamStore struct {
	mu     sync.Mutex
	calls  []storeCall
	answer func(storeCall) (*togetherapi.Secret, error)
}

func (s *teamStore) store(_ context.Context, r intake.TeamRequest, key, value togetherapi.Sensitive) (*togetherapi.Secret, error) {
	c := storeCall{req: r, key: key, value: value}
	s.mu.Lock()
	s.calls = append(s.calls, c)
	answer := s.answer
	s.mu.Unlock()
	if answer != nil {
		return answer(c)
	}
	return &togetherapi.Secret{Object: "secret", ID: "sec-team-1", Name: r.Name, UpdatedAt: "2026-07-28T12:00:05Z"}, nil
}

func (s *teamStore) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.calls)
}

func (s *teamStore) setAnswer(f func(storeCall) (*togetherapi.Secret, error)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answer = f
}

// teamPage is a team page behind a real HTTP server, with everything it
// wrote kept for the canary scan.
type teamPage struct {
	team  *intake.Team
	srv   *httptest.Server
	keys  *linkseal.Keys
	clock *apitest.Clock
	store *teamStore
	logs  *syncio.Buffer

	mu      sync.Mutex
	events  []intake.TeamEvent
	written []string
}

func newTeamPage(t *testing.T, cfg intake.TeamConfig) *teamPage {
	t.Helper()
	p := &teamPage{clock: apitest.NewClock(time.Date(2026, 7, 28, 12, 0, 0, 0, time.UTC)), store: &teamStore{}, logs: &syncio.Buffer{}}
	var handler http.Handler
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(p.srv.Close)
	if cfg.Keys == nil {
		keys, err := linkseal.NewKeys()
		if err != nil {
			t.Fatal(err)
		}
		cfg.Keys = keys
	}
	p.keys = cfg.Keys
	cfg.PublicURL = p.srv.URL
	cfg.Logger = zerolog.New(p.logs)
	cfg.Now = p.clock.Now
	cfg.Store = p.store.store
	cfg.Record = func(_ context.Context, e intake.TeamEvent) {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.events = append(p.events, e)
	}
	team, err := intake.NewTeam(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p.team, handler = team, team
	t.Cleanup(func() { p.scanForCanaries(t) })
	return p
}

// scanForCanaries fails the test if any response, log line or recorded
// event holds the value or either key.
func (p *teamPage) scanForCanaries(t *testing.T) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	apitest.AssertClean(t, map[string]string{
		"logs":      p.logs.String(),
		"events":    fmt.Sprintf("%+v", p.events),
		"responses": strings.Join(p.written, "\n"),
	})
}

// link seals a ticket made by the key's account, and returns its link.
func (p *teamPage) link(t *testing.T, change func(*linkseal.Ticket)) string {
	t.Helper()
	now := p.clock.Now()
	tk := linkseal.Ticket{
		Action:      linkseal.Create,
		Name:        "prod/HF_TOKEN",
		Description: "Hugging Face read token",
		Fingerprint: p.keys.Fingerprint(togetherapi.NewSensitive(makerKey)),
		CallID:      makerCallID,
		Caller:      netguard.Fingerprint(makerKey),
		IssuedAt:    now.Unix(),
		ExpiresAt:   now.Add(10 * time.Minute).Unix(),
	}
	if change != nil {
		change(&tk)
	}
	sealed, err := p.keys.SealTicket(tk)
	if err != nil {
		t.Fatal(err)
	}
	return p.team.Link(sealed)
}

func (p *teamPage) get(t *testing.T, link string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, link, nil)
	if err != nil {
		t.Fatal(err)
	}
	code, _, body := p.do(t, req)
	return code, body
}

// post sends the form as the page's own does, from the page's origin;
// headers change that ("" removes one).
func (p *teamPage) post(t *testing.T, link string, form url.Values, headers map[string]string) (int, http.Header, string) {
	t.Helper()
	return p.do(t, p.postRequest(t, link, form, headers))
}

// postRequest is the request post sends.
func (p *teamPage) postRequest(t *testing.T, link string, form url.Values, headers map[string]string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, link, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", p.srv.URL)
	for k, v := range headers {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	return req
}

func (p *teamPage) do(t *testing.T, req *http.Request) (int, http.Header, string) {
	t.Helper()
	a := p.send(req)
	if a.err != nil {
		t.Fatal(a.err)
	}
	for _, problem := range a.problems {
		t.Error(problem)
	}
	return a.status, a.header, a.body
}

// pageAnswer is what send got, and what it found wrong in the headers.
type pageAnswer struct {
	status   int
	header   http.Header
	body     string
	problems []string
	err      error
}

// send is do for a goroutine: it fails no test, and returns what went
// wrong for the test to report.
func (p *teamPage) send(req *http.Request) pageAnswer {
	resp, err := p.srv.Client().Do(req)
	if err != nil {
		return pageAnswer{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return pageAnswer{err: err}
	}
	p.mu.Lock()
	p.written = append(p.written, fmt.Sprint(resp.Header), string(b))
	p.mu.Unlock()
	a := pageAnswer{status: resp.StatusCode, header: resp.Header, body: string(b)}
	for k, want := range map[string]string{
		"Referrer-Policy":        "no-referrer",
		"Cache-Control":          "no-store",
		"X-Frame-Options":        "DENY",
		"X-Content-Type-Options": "nosniff",
	} {
		if got := resp.Header.Get(k); got != want {
			a.problems = append(a.problems, fmt.Sprintf("%s = %q, want %q", k, got, want))
		}
	}
	csp := resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "form-action 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			a.problems = append(a.problems, fmt.Sprintf("Content-Security-Policy %q lacks %q", csp, want))
		}
	}
	return a
}

func (p *teamPage) outcomes() []intake.TeamOutcome {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []intake.TeamOutcome
	for _, e := range p.events {
		out = append(out, e.Outcome)
	}
	return out
}

func form(key, value string) url.Values {
	return url.Values{"api_key": {key}, "value": {value}, "action": {"store"}}
}

func TestATeamLinkShowsTheRequestAndAsksForTheKeyOfTheAccountThatMadeIt(t *testing.T) {
	t.Parallel()
	p := newTeamPage(t, intake.TeamConfig{})
	code, page := p.get(t, p.link(t, nil))
	for _, want := range []string{"prod/HF_TOKEN", "Hugging Face read token", "This will create", "API key of the Together account that made this link",
		"forwarded to anyone else", `name="api_key"`, `name="value"`, `value="decline"`, "formnovalidate", "until 12:10:00 UTC", "in about 10m"} {
		if code != http.StatusOK || !strings.Contains(page, want) {
			t.Errorf("form (%d) lacks %q", code, want)
		}
	}
	if n := strings.Count(page, `type="password"`); n != 2 || strings.Count(page, `autocomplete="off"`) != 3 {
		t.Errorf("want two password fields, the form and both with autocomplete off:\n%s", page)
	}
	if strings.Contains(page, "<script") || strings.Contains(page, "src=") || strings.Contains(page, "href=") {
		t.Error("the page loads or runs something")
	}
	_, page = p.get(t, p.link(t, func(tk *linkseal.Ticket) {
		tk.Action, tk.SecretID, tk.UpdatedAt = linkseal.Update, "sec-existing-9", "2026-07-27T08:00:00Z"
	}))
	if !strings.Contains(page, "This will replace the value") || !strings.Contains(page, "sec-existing-9") || !strings.Contains(page, "Replace value") {
		t.Errorf("an update's page:\n%s", page)
	}
}

func TestTheTypedKeyAndTheValueReachStoreExactly(t *testing.T) {
	t.Parallel()
	p := newTeamPage(t, intake.TeamConfig{})
	link := p.link(t, nil)
	code, _, page := p.post(t, link, form("  "+makerKey+"\t", teamValue), nil)
	if code != http.StatusOK || !strings.Contains(page, "The secret prod/HF_TOKEN was created") || !strings.Contains(page, "sec-team-1") {
		t.Fatalf("%d %s", code, page)
	}
	if p.store.count() != 1 {
		t.Fatalf("%d calls of Store, want 1", p.store.count())
	}
	c := p.store.calls[0]
	if c.key != togetherapi.NewSensitive(makerKey) || c.value != togetherapi.NewSensitive(teamValue) {
		t.Error("Store did not get the typed key (without its blanks) and the value as typed")
	}
	want := intake.TeamRequest{Name: "prod/HF_TOKEN", Description: "Hugging Face read token", CallID: makerCallID, Caller: netguard.Fingerprint(makerKey),
		IssuedAt: p.clock.Now(), ExpiresAt: p.clock.Now().Add(10 * time.Minute)}
	if diff := cmp.Diff(want, c.req); diff != "" {
		t.Errorf("Store got another request (-want +got):\n%s", diff)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.events) != 1 || p.events[0].Outcome != intake.TeamStored || p.events[0].Request.CallID != makerCallID || p.events[0].Secret.ID != "sec-team-1" {
		t.Errorf("events = %+v, want one stored, naming the call that made the link", p.events)
	}
}

func TestAForeignKeyIsRefusedWithNothingSentAndTheSixthInAMinuteWaits(t *testing.T) {
	t.Parallel()
	p := newTeamPage(t, intake.TeamConfig{})
	first, second := p.link(t, nil), p.link(t, nil)
	for i := range 5 {
		code, _, page := p.post(t, first, form(otherKey, teamValue), nil)
		if code != http.StatusForbidden || !strings.Contains(page, "This link was made for another account") {
			t.Fatalf("wrong key %d: %d %s", i+1, code, page)
		}
	}
	code, h, page := p.post(t, first, form(otherKey, teamValue), nil)
	if code != http.StatusTooManyRequests || h.Get("Retry-After") != "60" || !strings.Contains(page, "Wait 60 seconds") {
		t.Fatalf("the sixth wrong key: %d, Retry-After %q: %s", code, h.Get("Retry-After"), page)
	}
	p.clock.Advance(45 * time.Second)
	if code, h, _ := p.post(t, first, form(makerKey, teamValue), nil); code != http.StatusTooManyRequests || h.Get("Retry-After") != "15" {
		t.Errorf("the right key within the minute: %d, Retry-After %q; want 429 and the 15 seconds left", code, h.Get("Retry-After"))
	}
	if p.store.count() != 0 {
		t.Fatalf("%d values were sent through a limited link or with a foreign key", p.store.count())
	}
	if code, _, _ := p.post(t, second, form(makerKey, teamValue), nil); code != http.StatusOK {
		t.Errorf("another link was limited too: %d", code)
	}
	p.clock.Advance(15 * time.Second)
	if code, _, _ := p.post(t, first, form(makerKey, teamValue), nil); code != http.StatusOK || p.store.count() != 2 {
		t.Errorf("after the minute: %d, %d stored", code, p.store.count())
	}
	want := []intake.TeamOutcome{"key_mismatch", "key_mismatch", "key_mismatch", "key_mismatch", "key_mismatch", "stored", "stored"}
	if got := p.outcomes(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("outcomes %v, want %v", got, want)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if r := p.events[0].Request; r.Caller != netguard.Fingerprint(makerKey) || r.CallID != makerCallID {
		t.Errorf("a mismatch names %q and %q, want the call that made the link", r.Caller, r.CallID)
	}
	if strings.Contains(fmt.Sprintf("%+v", p.events), netguard.Fingerprint(otherKey)) {
		t.Error("a mismatch names the typed key by its fingerprint")
	}
}

func TestTheRightKeyDoesNotUseUpATry(t *testing.T) {
	t.Parallel()
	p := newTeamPage(t, intake.TeamConfig{})
	p.store.setAnswer(func(storeCall) (*togetherapi.Secret, error) { return nil, errors.New("HTTP 503: try later") })
	link := p.link(t, nil)
	for i := range 8 {
		if code, _, page := p.post(t, link, form(makerKey, teamValue), nil); code != http.StatusBadGateway || !strings.Contains(page, "The link still works") {
			t.Fatalf("try %d with the right key: %d %s", i+1, code, page)
		}
	}
}

func TestALinkTheKeysDidNotSealIsNotValidAndStoresNothing(t *testing.T) {
	t.Parallel()
	p := newTeamPage(t, intake.TeamConfig{})
	link := p.link(t, nil)
	sealed := link[strings.LastIndex(link, "/")+1:]
	flipped := []byte(sealed)
	flipped[len(flipped)/2] ^= 'A' ^ 'B'
	if flipped[len(flipped)/2] == sealed[len(sealed)/2] {
		t.Fatal("nothing flipped")
	}
	foreign, _ := linkseal.NewKeys()
	other, err := foreign.SealTicket(linkseal.Ticket{Action: linkseal.Create, Name: "prod/HF_TOKEN", Fingerprint: foreign.Fingerprint(togetherapi.NewSensitive(makerKey)),
		IssuedAt: p.clock.Now().Unix(), ExpiresAt: p.clock.Now().Add(time.Hour).Unix()})
	if err != nil {
		t.Fatal(err)
	}
	state, err := p.keys.SealRequestState(linkseal.RequestState{Tool: "request_secret_from_user", Fingerprint: p.keys.Fingerprint(togetherapi.NewSensitive(makerKey)), IssuedAt: 1, ExpiresAt: p.clock.Now().Add(time.Hour).Unix()})
	if err != nil {
		t.Fatal(err)
	}
	for name, bad := range map[string]string{
		"a flipped byte":            string(flipped),
		"a cut":                     sealed[:len(sealed)-2],
		"another key set's ticket":  other,
		"a request state":           state,
		"garbage":                   "not-a-ticket",
		"an escaped newline inside": sealed[:8] + "%0A" + sealed[8:],
	} {
		u := p.team.Link(bad)
		if code, page := p.get(t, u); code != http.StatusNotFound || !strings.Contains(page, "This link is not valid; ask your assistant for a new one") {
			t.Errorf("%s: GET %d %s", name, code, page)
		}
		if code, _, page := p.post(t, u, form(makerKey, teamValue), nil); code != http.StatusNotFound || !strings.Contains(page, "not valid") {
			t.Errorf("%s: POST %d %s", name, code, page)
		}
	}
	if p.store.count() != 0 {
		t.Errorf("%d values stored through links that are not valid", p.store.count())
	}
	if strings.Contains(p.logs.String(), sealed) {
		t.Error("the log holds a ticket")
	}
}

func TestAnExpiredLinkSaysSoAndStoresNothing(t *testing.T) {
	t.Parallel()
	p := newTeamPage(t, intake.TeamConfig{})
	link := p.link(t, nil)
	p.clock.Advance(10 * time.Minute)
	if code, page := p.get(t, link); code != http.StatusGone || !strings.Contains(page, "This link has expired") || !strings.Contains(page, "prod/HF_TOKEN") ||
		!strings.Contains(page, "Links work for 10 minutes") || strings.Contains(page, "not valid") {
		t.Errorf("GET %d %s", code, page)
	}
	if code, _, page := p.post(t, link, form(makerKey, teamValue), nil); code != http.StatusGone || !strings.Contains(page, "expired") {
		t.Errorf("POST %d %s", code, page)
	}
	if p.store.count() != 0 {
		t.Error("an expired link stored a value")
	}
}

func TestTheTeamPagesGuardsRefuseWithNothingSent(t *testing.T) {
	t.Parallel()
	p := newTeamPage(t, intake.TeamConfig{})
	link := p.link(t, nil)
	tests := []struct {
		name    string
		form    url.Values
		headers map[string]string
		status  int
		says    string
	}{
		{"a POST from another origin", form(makerKey, teamValue), map[string]string{"Origin": "https://evil.example"}, 403, "sent from this page itself"},
		{"a POST from the same host on another scheme", form(makerKey, teamValue), map[string]string{"Origin": strings.Replace(p.srv.URL, "http:", "https:", 1)}, 403, "sent from this page itself"},
		{"a POST without an origin", form(makerKey, teamValue), map[string]string{"Origin": ""}, 403, "sent from this page itself"},
		{"a null origin from another site", form(makerKey, teamValue), map[string]string{"Origin": "null", "Sec-Fetch-Site": "cross-site"}, 403, "sent from this page itself"},
		{"a null origin without fetch metadata", form(makerKey, teamValue), map[string]string{"Origin": "null"}, 403, "sent from this page itself"},
		{"a body over 1 MiB", form(makerKey, strings.Repeat("v", 2<<20)), nil, 413, "far too large"},
		{"a value over 64 KiB", form(makerKey, strings.Repeat("v", togetherapi.ValueMaxBytes+1)), nil, 413, "at most 65536"},
		{"an empty value", form(makerKey, ""), nil, 422, "The value is empty"},
		{"a value that is not UTF-8", form(makerKey, "p\xe4ssw\xf6rd-"+teamValue), nil, 422, "not valid UTF-8"},
		{"an empty key", form("", teamValue), nil, 422, "The API key is empty"},
		{"a key of blanks", form(" \t ", teamValue), nil, 422, "The API key is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, page := p.post(t, link, tt.form, tt.headers)
			if code != tt.status || !strings.Contains(page, tt.says) {
				t.Errorf("%d, want %d saying %q:\n%s", code, tt.status, tt.says, page)
			}
		})
	}
	req, _ := http.NewRequest(http.MethodPut, link, nil)
	if code, h, _ := p.do(t, req); code != http.StatusMethodNotAllowed || h.Get("Allow") != "GET, POST" {
		t.Errorf("PUT: %d, Allow %q", code, h.Get("Allow"))
	}
	if code, _ := p.get(t, p.srv.URL+"/s/whatever"); code != http.StatusNotFound {
		t.Errorf("a path outside the links: %d", code)
	}
	if p.store.count() != 0 {
		t.Fatalf("%d values sent through refused requests", p.store.count())
	}
	// The real form, under a no-referrer policy, still works.
	if code, _, _ := p.post(t, link, form(makerKey, teamValue), map[string]string{"Origin": "null", "Sec-Fetch-Site": "same-origin"}); code != http.StatusOK || p.store.count() != 1 {
		t.Errorf("same-origin null submit: %d, %d stored", code, p.store.count())
	}
}

func TestDeclineStoresNothingAndSaysTheLinkStaysValid(t *testing.T) {
	t.Parallel()
	p := newTeamPage(t, intake.TeamConfig{})
	link := p.link(t, nil)
	code, _, page := p.post(t, link, url.Values{"api_key": {otherKey}, "value": {teamValue}, "action": {"decline"}}, nil)
	if code != http.StatusOK || !strings.Contains(page, "Nothing was stored") || !strings.Contains(page, "stays valid until 12:10:00 UTC") {
		t.Errorf("decline: %d %s", code, page)
	}
	if p.store.count() != 0 || fmt.Sprint(p.outcomes()) != "[declined]" {
		t.Errorf("%d stored, outcomes %v", p.store.count(), p.outcomes())
	}
	if code, _ := p.get(t, link); code != http.StatusOK {
		t.Errorf("the page said the link stays valid, but it answers %d", code)
	}
}

func TestAStoreRefusalIsWordedAndAFailureShowsNoValueOrKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		err     error
		status  int
		says    string
		outcome intake.TeamOutcome
	}{
		{"the name is taken", fmt.Errorf("create: %w", intake.ErrNameTaken), 409, "A secret named prod/HF_TOKEN already exists, perhaps stored through this very link", "replay_refused"},
		{"Together says the name exists", &togetherapi.APIError{StatusCode: 409, Message: "secret already exists"}, 409, "already exists", "replay_refused"},
		{"the secret changed since", fmt.Errorf("update: %w", intake.ErrSecretChanged), 409, "has changed since this link was made", "replay_refused"},
		{"a rule refused it", &intake.RefusedError{Reason: "The name is outside the scope of this server."}, 403, "The name is outside the scope of this server. Nothing was sent to Together.", "refused"},
		{"Together refused the key", &togetherapi.APIError{StatusCode: 401, Message: "invalid key " + makerKey}, 403, "Together refused the API key", "failed"},
		{"any other failure, quoting both keys and the value", errors.New("HTTP 400: value " + teamValue + " rejected for " + makerKey + " and " + otherKey),
			502, "It could not be stored: HTTP 400: value [REDACTED] rejected for [REDACTED] and [REDACTED]", "failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newTeamPage(t, intake.TeamConfig{Redact: togetherapi.Scrubber{togetherapi.NewSensitive(otherKey)}})
			p.store.setAnswer(func(storeCall) (*togetherapi.Secret, error) { return nil, tt.err })
			code, _, page := p.post(t, p.link(t, nil), form(makerKey, teamValue), nil)
			if code != tt.status || !strings.Contains(page, tt.says) {
				t.Errorf("%d, want %d saying %q:\n%s", code, tt.status, tt.says, page)
			}
			if got := p.outcomes(); len(got) != 1 || got[0] != tt.outcome {
				t.Errorf("outcomes %v, want %s", got, tt.outcome)
			}
		})
	}
}

func TestAPanicInTheTeamStoreShowsAndLogsNothingOfTheValueOrKey(t *testing.T) {
	t.Parallel()
	p := newTeamPage(t, intake.TeamConfig{})
	p.store.setAnswer(func(c storeCall) (*togetherapi.Secret, error) {
		panic(fmt.Sprintf("bug while storing %s with %s", teamValue, makerKey))
	})
	if code, _, _ := p.post(t, p.link(t, nil), form(makerKey, teamValue), nil); code != http.StatusInternalServerError {
		t.Errorf("%d, want 500", code)
	}
	if !strings.Contains(p.logs.String(), "team page panicked") {
		t.Errorf("the panic was not logged:\n%s", p.logs.String())
	}
}

func TestOneLinkStoresOneValueAtATimeOnAReplica(t *testing.T) {
	t.Parallel()
	p := newTeamPage(t, intake.TeamConfig{})
	entered, release := make(chan struct{}), make(chan struct{})
	p.store.setAnswer(func(c storeCall) (*togetherapi.Secret, error) {
		close(entered)
		<-release
		return &togetherapi.Secret{ID: "sec-slow", Name: c.req.Name}, nil
	})
	link := p.link(t, nil)
	first := make(chan pageAnswer, 1)
	req := p.postRequest(t, link, form(makerKey, teamValue), nil)
	go func() { first <- p.send(req) }()
	select {
	case <-entered:
	case a := <-first:
		t.Fatalf("the first submission ended before it was stored: %d %v %s", a.status, a.err, a.body)
	case <-time.After(10 * time.Second):
		t.Fatal("waited 10s for the first submission to reach the store")
	}
	if code, _, page := p.post(t, link, form(makerKey, teamValue), nil); code != http.StatusConflict || !strings.Contains(page, "being stored right now") {
		t.Errorf("a second submission while the first is stored: %d %s", code, page)
	}
	close(release)
	if a := apitest.Receive(t, "the first submission's answer", first); a.err != nil || len(a.problems) != 0 || a.status != http.StatusOK || p.store.count() != 1 {
		t.Errorf("the first: %d %v %v, %d stored", a.status, a.err, a.problems, p.store.count())
	}
}

func TestALinkSealedBeforeARotationStillStores(t *testing.T) {
	t.Parallel()
	old, err := linkseal.ParseKeys([]byte(strings.Repeat("ab", 32)))
	if err != nil {
		t.Fatal(err)
	}
	rotated, err := linkseal.ParseKeys([]byte(strings.Repeat("cd", 32) + "\n" + strings.Repeat("ab", 32)))
	if err != nil {
		t.Fatal(err)
	}
	p := newTeamPage(t, intake.TeamConfig{Keys: rotated})
	p.keys = old // the link was made before the rotation
	link := p.link(t, nil)
	if code, _, page := p.post(t, link, form(makerKey, teamValue), nil); code != http.StatusOK || p.store.count() != 1 {
		t.Errorf("%d %s", code, page)
	}
	if code, _, _ := p.post(t, link, form(otherKey, teamValue), nil); code != http.StatusForbidden {
		t.Errorf("another key after the rotation: %d", code)
	}
}

func TestTheTeamPageLogsOneEventARequestWithoutTheTicket(t *testing.T) {
	t.Parallel()
	p := newTeamPage(t, intake.TeamConfig{})
	link := p.link(t, nil)
	sealed := link[strings.LastIndex(link, "/")+1:]
	p.get(t, link)
	p.post(t, link, form(makerKey, teamValue), nil)
	lines := strings.Split(strings.TrimSpace(p.logs.String()), "\n")
	want := netguard.Fingerprint(sealed)
	if len(lines) != 2 {
		t.Fatalf("%d log lines, want 2:\n%s", len(lines), p.logs.String())
	}
	for i, method := range []string{"GET", "POST"} {
		for _, part := range []string{`"method":"` + method + `"`, `"status":200`, `"link":"` + want + `"`} {
			if !strings.Contains(lines[i], part) {
				t.Errorf("log line %q lacks %s", lines[i], part)
			}
		}
	}
	if strings.Contains(p.logs.String(), sealed) {
		t.Error("the log holds the ticket")
	}
}

func TestTheSandboxTeamPageNeverSaysTheValueGoesToTogether(t *testing.T) {
	t.Parallel()
	p := newTeamPage(t, intake.TeamConfig{Sandbox: true})
	_, page := p.get(t, p.link(t, nil))
	if strings.Contains(page, "to Together") || strings.Contains(page, "in Together") || !strings.Contains(page, "memory") {
		t.Errorf("the sandbox page claims the value reaches Together:\n%s", page)
	}
}

func TestThePublicURLMustBeHTTPSAndHoldOnlyAnOriginAndAPath(t *testing.T) {
	t.Parallel()
	keys, err := linkseal.NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	store := (&teamStore{}).store
	tests := []struct {
		url, path, link, host, problem string
	}{
		{url: "https://secrets.example.com", path: "/v/", link: "https://secrets.example.com/v/T", host: "secrets.example.com"},
		{url: "HTTPS://Secrets.Example.COM:443/team/", path: "/team/v/", link: "https://secrets.example.com/team/v/T", host: "secrets.example.com"},
		{url: "https://secrets.example.com:8443/a b", path: "/a%20b/v/", link: "https://secrets.example.com:8443/a%20b/v/T", host: "secrets.example.com:8443"},
		{url: "https://secrets.example.com/{x...}/{$}", path: "/%7Bx...%7D/%7B$%7D/v/", link: "https://secrets.example.com/%7Bx...%7D/%7B$%7D/v/T", host: "secrets.example.com"},
		{url: "https://secrets.example.com//", problem: "must not hold an empty, \".\" or \"..\" segment in its path"},
		{url: "https://secrets.example.com/team//a", problem: "must not hold an empty"},
		{url: "https://secrets.example.com/a/../team", problem: "must not hold an empty"},
		{url: "https://secrets.example.com/./team/", problem: "must not hold an empty"},
		{url: "http://127.0.0.1:8080", path: "/v/", link: "http://127.0.0.1:8080/v/T", host: "127.0.0.1:8080"},
		{url: "https://secrets.example.com:/team", path: "/team/v/", link: "https://secrets.example.com/team/v/T", host: "secrets.example.com"},
		{url: "https://secrets.example.com:08443", path: "/v/", link: "https://secrets.example.com:8443/v/T", host: "secrets.example.com:8443"},
		{url: "https://[::1]:8443", path: "/v/", link: "https://[::1]:8443/v/T", host: "[::1]:8443"},
		{url: "https://sécrets.example.com", problem: "in ASCII"},
		{url: "https://s%C3%A9crets.example.com", problem: "in ASCII"},
		{url: "https://[fe80::1%25eth0]:8443", problem: "without a zone"},
		{url: "https://:8443", problem: "in ASCII"},
		{url: "https://secrets.example.com:0", problem: "a port from 1 to 65535"},
		{url: "https://secrets.example.com:99999", problem: "a port from 1 to 65535"},
		{url: "http://secrets.example.com", problem: "must use https"},
		{url: "ftp://secrets.example.com", problem: "must use https"},
		{url: "https://user:hunter2-pass@secrets.example.com", problem: "must not hold a user name or password"},
		{url: "https://secrets.example.com/?a=b", problem: "must not hold a query"},
		{url: "https://secrets.example.com/#top", problem: "must not hold a query or a fragment"},
		{url: "secrets.example.com", problem: "must be an absolute URL"},
		{url: "", problem: "must be an absolute URL"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			team, err := intake.NewTeam(intake.TeamConfig{Keys: keys, Store: store, PublicURL: tt.url})
			if tt.problem != "" {
				if cerr := intake.CheckPublicURL(tt.url); cerr == nil || cerr.Error() != err.Error() {
					t.Errorf("CheckPublicURL = %v, want what NewTeam says: %v", cerr, err)
				}
				var pe *intake.PublicURLError
				if !errors.As(err, &pe) || !strings.Contains(pe.Problem, tt.problem) || strings.Contains(err.Error(), "hunter2") {
					t.Errorf("err = %v, want a *PublicURLError saying %q without quoting the URL", err, tt.problem)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if team.Path() != tt.path || team.Link("T") != tt.link || team.Host() != tt.host {
				t.Errorf("Path %q, Link %q, Host %q; want %q, %q, %q", team.Path(), team.Link("T"), team.Host(), tt.path, tt.link, tt.host)
			}
			if err := intake.CheckPublicURL(tt.url); err != nil {
				t.Errorf("CheckPublicURL refuses what NewTeam takes: %v", err)
			}
		})
	}
}

func TestOneCallersLinksTakeOnlyTheirShareOfTheCountedLinks(t *testing.T) {
	t.Parallel()
	p := newTeamPage(t, intake.TeamConfig{})
	// One caller has links made and types a wrong key on each, as fast as
	// they like, to fill the table that counts wrong keys.
	var refused int
	for i := range 200 {
		link := p.link(t, func(tk *linkseal.Ticket) { tk.Fingerprint = p.keys.Fingerprint(togetherapi.NewSensitive(otherKey)) })
		switch code, _, page := p.post(t, link, form(makerKey, teamValue), nil); code {
		case http.StatusForbidden:
		case http.StatusTooManyRequests:
			refused++
		default:
			t.Fatalf("link %d: %d %s", i, code, page)
		}
	}
	if refused == 0 {
		t.Error("one caller's links were all counted: enough of them fill the table, and lock every other caller's link out")
	}
	if code, _, page := p.post(t, p.link(t, nil), form(makerKey, teamValue), nil); code != http.StatusOK || p.store.count() != 1 {
		t.Errorf("another caller's link: %d %s", code, page)
	}
}
