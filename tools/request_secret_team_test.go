package tools_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/rs/zerolog"

	"github.com/together-secrets-mcp/together-secrets-mcp/intake"
	"github.com/together-secrets-mcp/together-secrets-mcp/internal/apitest"
	"github.com/together-secrets-mcp/together-secrets-mcp/internal/audit"
	"github.com/together-secrets-mcp/together-secrets-mcp/internal/linkseal"
	"github.com/together-secrets-mcp/together-secrets-mcp/internal/netguard"
	"github.com/together-secrets-mcp/together-secrets-mcp/internal/syncio"
	"github.com/together-secrets-mcp/together-secrets-mcp/togetherapi"
	"github.com/together-secrets-mcp/together-secrets-mcp/tools"
)

// The team tests' canaries: the key of the caller who makes links, the key
// of another caller, and the value typed on the page.
const (
	makerKey  = "CANARYKEY-maker-5e4d3c2b1a"
	otherKey  = "CANARYKEY-other-0f1e2d3c4b"
	teamValue = "CANARYVALUE-team-9f8e7d6c"
)

// teamReplica is what one HTTP replica serves: the MCP server of the tools
// and the team page, on a public URL of its own.
type teamReplica struct {
	server *server.MCPServer
	team   *intake.Team
	page   *httptest.Server
	logs   *syncio.Buffer
}

// teamHarness is HTTP mode's tools without their transport: replicas that
// share the link keys and one stand-in for Together that knows the maker's
// and the other caller's keys, and one audit trail.
type teamHarness struct {
	api       *apitest.API
	base      *togetherapi.Client
	keys      *linkseal.Keys
	auditPath string
	replicas  []*teamReplica

	mu      sync.Mutex
	written []string // every page the user was shown
}

// newTeamHarness starts a replica for each setup (one, with no setup),
// with now as the clock of Together and the pages (time.Now when nil).
func newTeamHarness(t *testing.T, now func() time.Time, setups ...func(*tools.Config)) *teamHarness {
	t.Helper()
	h := &teamHarness{api: apitest.NewCallers(t, now, makerKey, otherKey), auditPath: filepath.Join(t.TempDir(), "audit.log")}
	base, err := togetherapi.New(togetherapi.Config{BaseURL: h.api.URL + "/v1", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	h.base = base
	if h.keys, err = linkseal.NewKeys(); err != nil {
		t.Fatal(err)
	}
	trail, err := audit.Open(h.auditPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = trail.Close() })
	if len(setups) == 0 {
		setups = append(setups, nil)
	}
	for _, setup := range setups {
		r := &teamReplica{logs: &syncio.Buffer{}}
		cfg := tools.Config{Version: "test", Logger: zerolog.New(r.logs), Tools: tools.Selection{Intake: true}, Advice: testAdvice, CheckOutputs: true, Audit: trail}
		if setup != nil {
			setup(&cfg)
		}
		var page http.Handler
		r.page = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) { page.ServeHTTP(w, req) }))
		t.Cleanup(r.page.Close)
		r.team, err = tools.NewTeamPage(cfg, base, intake.TeamConfig{Keys: h.keys, PublicURL: r.page.URL, Logger: zerolog.New(r.logs), Now: now})
		if err != nil {
			t.Fatal(err)
		}
		page, cfg.Team = r.team, r.team
		if r.server, err = tools.NewServer(cfg); err != nil {
			t.Fatal(err)
		}
		h.replicas = append(h.replicas, r)
	}
	t.Cleanup(func() { h.assertClean(t) })
	return h
}

// as is the context of a call that key's caller makes: the Deps the bearer
// guard of HTTP mode builds.
func (h *teamHarness) as(key string) context.Context {
	return tools.WithDeps(context.Background(), tools.Deps{Client: h.base.WithAPIKey(togetherapi.NewSensitive(key)), Caller: netguard.Fingerprint(key)})
}

// client is mcp-go's client of the replicas: a call goes to the first, and
// its retry, the call again with a requestState, to the last, as a load
// balancer may send it.
func (h *teamHarness) client(t *testing.T, opts ...client.ClientOption) *client.Client {
	t.Helper()
	c, _ := h.clientOn(t, 0, len(h.replicas)-1, opts...)
	return c
}

// clientOn is a client whose calls go to replica first, and their retries
// to replica retry; its router lets a test alter a retry.
func (h *teamHarness) clientOn(t *testing.T, first, retry int, opts ...client.ClientOption) (*client.Client, *replicaRouter) {
	t.Helper()
	tr := &replicaRouter{first: transport.NewInProcessTransport(h.replicas[first].server), retry: transport.NewInProcessTransport(h.replicas[retry].server)}
	c := client.NewClient(tr, opts...)
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := c.Initialize(context.Background(), mcp.InitializeRequest{Params: mcp.InitializeParams{ClientInfo: mcp.Implementation{Name: "team-test", Version: "1"}}}); err != nil {
		t.Fatal(err)
	}
	return c, tr
}

// call makes a call as key's caller.
func (h *teamHarness) call(t *testing.T, c *client.Client, key, tool string, args map[string]any) *mcp.CallToolResult {
	t.Helper()
	res, err := c.CallTool(h.as(key), mcp.CallToolRequest{Params: mcp.CallToolParams{Name: tool, Arguments: args}})
	if err != nil {
		t.Fatalf("CallTool(%s): %v", tool, err)
	}
	h.keepWritten(encoded(t, res))
	return res
}

// submit posts the page's form as a browser does, with a key and a value
// (or the user declining), and returns the page's status and text.
func (h *teamHarness) submit(t *testing.T, link, key, value, action string) (int, string) {
	t.Helper()
	status, page, err := h.post(link, key, value, action)
	if err != nil {
		t.Fatal(err)
	}
	return status, page
}

// post is submit for a goroutine: it fails no test, and returns what went
// wrong for the test to report.
func (h *teamHarness) post(link, key, value, action string) (int, string, error) {
	u, err := url.Parse(link)
	if err != nil {
		return 0, "", err
	}
	form := url.Values{"api_key": {key}, "value": {value}, "action": {action}}
	req, err := http.NewRequest(http.MethodPost, link, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", u.Scheme+"://"+u.Host)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", fmt.Errorf("posting the team page's form: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	h.keepWritten(string(b))
	return resp.StatusCode, string(b), err
}

func (h *teamHarness) keepWritten(text string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.written = append(h.written, text)
}

// onReplica returns link as served by replica i: the same sealed ticket
// under that replica's public URL.
func (h *teamHarness) onReplica(i int, link string) string {
	return h.replicas[i].team.Link(link[strings.LastIndex(link, "/")+1:])
}

// assertClean fails the test if a canary is in any result, page, log or
// audit line.
func (h *teamHarness) assertClean(t *testing.T) {
	t.Helper()
	h.mu.Lock()
	texts := map[string]string{"results and pages": strings.Join(h.written, "\n")}
	h.mu.Unlock()
	for i, r := range h.replicas {
		texts[fmt.Sprintf("replica %d's log", i)] = r.logs.String()
	}
	if b, err := readFile(h.auditPath); err == nil {
		texts["audit trail"] = b
	}
	apitest.AssertClean(t, texts)
}

// replicaRouter is a client transport to two in-process replicas: the
// retry of a call, which carries a requestState, goes to the second.
type replicaRouter struct {
	first, retry *transport.InProcessTransport
	mu           sync.Mutex
	retries      int
	// change, when set, alters a retry before it is sent.
	change func(ctx context.Context, params map[string]any) context.Context
}

func (r *replicaRouter) Start(ctx context.Context) error {
	if err := r.first.Start(ctx); err != nil {
		return err
	}
	return r.retry.Start(ctx)
}

func (r *replicaRouter) SendRequest(ctx context.Context, req transport.JSONRPCRequest) (*transport.JSONRPCResponse, error) {
	b, err := json.Marshal(req.Params)
	if err != nil {
		return nil, err
	}
	var params map[string]any
	_ = json.Unmarshal(b, &params)
	if _, ok := params["requestState"]; !ok {
		return r.first.SendRequest(ctx, req)
	}
	r.mu.Lock()
	r.retries++
	change := r.change
	r.mu.Unlock()
	if change != nil {
		ctx = change(ctx, params)
		req.Params = params
	}
	return r.retry.SendRequest(ctx, req)
}

func (r *replicaRouter) SendNotification(ctx context.Context, n mcp.JSONRPCNotification) error {
	return r.first.SendNotification(ctx, n)
}

func (r *replicaRouter) SetNotificationHandler(f func(mcp.JSONRPCNotification)) {
	r.first.SetNotificationHandler(f)
}

func (r *replicaRouter) Close() error {
	return errors.Join(r.first.Close(), r.retry.Close())
}

func (r *replicaRouter) GetSessionId() string { return "" }

// pageUser answers a URL elicitation as the person at the browser: opens
// the link, types the key and the value (unless value is ""), and answers
// with action.
type pageUser struct {
	h      *teamHarness
	key    string
	value  string
	action mcp.ElicitationResponseAction
	// later, when set, submits the page in the background once it says,
	// after the answer is given.
	later func() bool

	mu    sync.Mutex
	asked []mcp.ElicitationParams
	// posted carries the page's answer to the submission, once it came:
	// Elicit runs on the client's goroutine, not the test's, so it reports
	// there instead of failing the test.
	posted chan posting
}

func (u *pageUser) Elicit(_ context.Context, req mcp.ElicitationRequest) (*mcp.ElicitationResult, error) {
	answer := &mcp.ElicitationResult{ElicitationResponse: mcp.ElicitationResponse{Action: u.action}}
	u.mu.Lock()
	u.asked = append(u.asked, req.Params)
	posted := make(chan posting, 1)
	if u.value != "" {
		u.posted = posted
	}
	u.mu.Unlock()
	submit := func() {
		var p posting
		p.status, p.page, p.err = u.h.post(req.Params.URL, u.key, u.value, "store")
		posted <- p
	}
	switch {
	case u.value == "":
	case u.later != nil:
		go func() {
			if !apitest.Within(10*time.Second, u.later) {
				posted <- posting{err: errors.New("waited 10s for the moment to submit the page")}
				return
			}
			submit()
		}()
	default:
		submit()
	}
	return answer, nil
}

// submitted waits for the page's answer to the user's submission, and
// returns it, failing the test unless the page answered 200.
func (u *pageUser) submitted(t *testing.T) string {
	t.Helper()
	u.mu.Lock()
	posted := u.posted
	u.mu.Unlock()
	return pageAnswer(t, posted, "the user never submitted the page").page
}

// modern are the options of a 2026-07-28 client that declares URL
// elicitation and answers it as u.
func modern(u *pageUser) []client.ClientOption {
	return []client.ClientOption{
		client.WithClientCapabilities(mcp.ClientCapabilities{Elicitation: &mcp.ElicitationCapability{URL: &struct{}{}}}),
		client.WithElicitationHandler(u),
	}
}

func readFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	return string(b), err
}

// linkOf returns the link of a result that hands one back.
// link has the maker's agent ask, through a client of its own, for a link
// for name, and returns it.
func (h *teamHarness) link(t *testing.T, name string) string {
	t.Helper()
	return linkOf(t, h.call(t, h.client(t), makerKey, "request_secret_from_user", map[string]any{"name": name}))
}

func linkOf(t *testing.T, res *mcp.CallToolResult) string {
	t.Helper()
	got := structured(t, res)
	link, _ := got["url"].(string)
	if res.IsError || got["status"] != "waiting_for_user" || link == "" {
		t.Fatalf("no link: %s", encoded(t, res))
	}
	return link
}

func TestALinkMadeOverHTTPStoresTheValueTypedWithTheKeyOfTheCallerWhoMadeIt(t *testing.T) {
	t.Parallel()
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			h := newTeamHarness(t, nil)
			c := h.client(t, p.opts...)
			res := h.call(t, c, makerKey, "request_secret_from_user", map[string]any{"name": "prod/WANDB_KEY", "description": "W&B key for the eval job"})
			link := linkOf(t, res)
			text := encoded(t, res)
			if !strings.HasPrefix(link, h.replicas[0].page.URL+"/v/") || strings.Contains(link, "WANDB") {
				t.Errorf("the link %q is not a sealed ticket under the public URL", link)
			}
			for _, want := range []string{"Show the user this link", "API key of the Together account", "get_secret", `"action":"create"`} {
				if !strings.Contains(text, want) {
					t.Errorf("the result lacks %q: %s", want, text)
				}
			}
			if sent := h.api.Changes(); len(sent) != 0 {
				t.Fatalf("sent before the user typed anything: %v", sent)
			}
			code, page := h.submit(t, link, makerKey, teamValue, "store")
			if code != http.StatusOK || !strings.Contains(page, "The secret prod/WANDB_KEY was created") {
				t.Fatalf("%d %s", code, page)
			}
			if !h.api.Account(makerKey).ValueMatches("prod/WANDB_KEY", teamValue) || h.api.Account(otherKey).Len() != 0 {
				t.Error("the value did not reach the account of the caller who made the link, exactly")
			}
			if r := h.call(t, c, makerKey, "get_secret", map[string]any{"id": "prod/WANDB_KEY"}); r.IsError {
				t.Errorf("get_secret: %s", resultText(t, r))
			}
			for _, sent := range h.api.Requests() {
				if !strings.HasPrefix(sent, makerKey+" ") {
					t.Errorf("a request reached Together with another key: %q", sent)
				}
			}
		})
	}
}

func TestAnotherCallersKeyOnALinkIsRefusedWithNothingSentAndTheRefusalAudited(t *testing.T) {
	t.Parallel()
	h := newTeamHarness(t, nil)
	link := h.link(t, "prod/WANDB_KEY")
	before := len(h.api.Requests())
	code, page := h.submit(t, link, otherKey, teamValue, "store")
	if code != http.StatusForbidden || !strings.Contains(page, "This link was made for another account") || strings.Contains(page, "CANARY") {
		t.Fatalf("%d %s", code, page)
	}
	if sent := h.api.Requests()[before:]; len(sent) != 0 {
		t.Errorf("requests sent on a foreign key: %v", sent)
	}
	lines := auditLines(t, h.auditPath)
	if len(lines) != 1 {
		t.Fatalf("audit lines %+v, want the refusal", lines)
	}
	made := logEvents(t, h.replicas[0].logs.String())
	var call map[string]any
	for _, ev := range made {
		if ev["tool"] == "request_secret_from_user" {
			call = ev
		}
	}
	if l := lines[0]; l.Phase != "refused" || !strings.Contains(l.Reason, "key mismatch") || l.Secret != "prod/WANDB_KEY" ||
		l.Caller != netguard.Fingerprint(makerKey) || call == nil || l.Caller != call["caller"] || l.CallID == "" {
		t.Errorf("the refusal's line %+v does not name the call that made the link, %v", l, call)
	}
}

func TestALinkStoresOnceOnAnyReplica(t *testing.T) {
	t.Parallel()
	h := newTeamHarness(t, nil, nil, nil)
	link := h.link(t, "prod/WANDB_KEY")
	if code, page := h.submit(t, h.onReplica(1, link), makerKey, teamValue, "store"); code != http.StatusOK {
		t.Fatalf("the other replica: %d %s", code, page)
	}
	for i := range h.replicas {
		code, page := h.submit(t, h.onReplica(i, link), makerKey, teamValue+"-again", "store")
		if code != http.StatusConflict || !strings.Contains(page, "already exists, perhaps stored through this very link") {
			t.Errorf("a replay on replica %d: %d %s", i, code, page)
		}
	}
	if sent := h.api.Changes(); len(sent) != 1 || !h.api.Account(makerKey).ValueMatches("prod/WANDB_KEY", teamValue) {
		t.Errorf("changes sent %v; want the one create, of the first value", sent)
	}
	var phases []string
	for _, l := range auditLines(t, h.auditPath) {
		phases = append(phases, l.Phase+":"+l.Outcome+":"+strings.SplitN(l.Reason, ":", 2)[0])
	}
	if want := "[attempt:: outcome:ok: refused:refused:replay refused:refused:replay]"; fmt.Sprint(phases) != want {
		t.Errorf("audit lines %v, want %s", phases, want)
	}
}

func TestAReplaceLinkIsUsedOnceAndRefusedOnceTheSecretChanged(t *testing.T) {
	t.Parallel()
	clock := apitest.NewClock(time.Date(2026, 7, 28, 12, 0, 0, 0, time.UTC))
	h := newTeamHarness(t, clock.Now)
	c := h.client(t)
	if r := h.call(t, c, makerKey, "create_secret", map[string]any{"name": "prod/DB", "value": teamValue}); r.IsError {
		t.Fatal(resultText(t, r))
	}
	clock.Advance(time.Second)
	res := h.call(t, c, makerKey, "request_secret_from_user", map[string]any{"name": "prod/DB", "description": "rotated"})
	link := linkOf(t, res)
	if got := structured(t, res); got["action"] != "replace" {
		t.Fatalf("result = %v", got)
	}
	clock.Advance(time.Minute)
	if code, page := h.submit(t, link, makerKey, teamValue+"-new", "store"); code != http.StatusOK || !strings.Contains(page, "was replaced") {
		t.Fatalf("%d %s", code, page)
	}
	clock.Advance(time.Minute)
	code, page := h.submit(t, h.onReplica(0, link), makerKey, teamValue+"-third", "store")
	if code != http.StatusConflict || !strings.Contains(page, "has changed since this link was made") {
		t.Errorf("a replay: %d %s", code, page)
	}
	if !h.api.Account(makerKey).ValueMatches("prod/DB", teamValue+"-new") {
		t.Error("the replay replaced the value")
	}
	var patches int
	for _, sent := range h.api.Changes() {
		if strings.Contains(sent, " PATCH ") {
			patches++
		}
	}
	if patches != 1 {
		t.Errorf("%d updates sent, want 1: %v", patches, h.api.Changes())
	}
}

// startOfASecond waits until the clock is early in a second, so that what
// the test does next falls in one second.
func startOfASecond(t *testing.T) {
	t.Helper()
	apitest.WaitUntil(t, "the start of a second", func() bool { return time.Now().Nanosecond() < 200*int(time.Millisecond) })
}

func TestALinkToReplaceAValueChangedThisSecondIsMadeOnlyOnceTheSecondIsOver(t *testing.T) {
	t.Parallel()
	h := newTeamHarness(t, nil)
	c := h.client(t)
	startOfASecond(t)
	created := h.call(t, c, makerKey, "create_secret", map[string]any{"name": "prod/DB", "value": teamValue})
	res := h.call(t, c, makerKey, "request_secret_from_user", map[string]any{"name": "prod/DB"})
	link := linkOf(t, res)
	changed, _ := time.Parse(time.RFC3339, structured(t, created)["updated_at"].(string))
	expires, _ := time.Parse(time.RFC3339, structured(t, res)["expires_at"].(string))
	if made := expires.Add(-intake.DefaultTTL); !made.After(changed) {
		t.Errorf("the link was made at %s, in the second of the last change, %s", made, changed)
	}
	if code, page := h.submit(t, link, makerKey, teamValue+"-new", "store"); code != http.StatusOK {
		t.Fatalf("%d %s", code, page)
	}
	if code, _ := h.submit(t, link, makerKey, teamValue+"-third", "store"); code != http.StatusConflict {
		t.Errorf("a replay within the second: %d", code)
	}
	if !h.api.Account(makerKey).ValueMatches("prod/DB", teamValue+"-new") {
		t.Error("the replay replaced the value")
	}
}

func TestALinkMadeInTheSecondOfTheLastChangeIsRefusedWithNothingSent(t *testing.T) {
	t.Parallel()
	clock := apitest.NewClock(time.Date(2026, 7, 28, 12, 0, 0, 0, time.UTC))
	h := newTeamHarness(t, clock.Now)
	c := h.client(t)
	s := structured(t, h.call(t, c, makerKey, "create_secret", map[string]any{"name": "prod/DB", "value": teamValue}))
	// A replica whose clock lags made it, within the second.
	link, _, err := h.replicas[0].team.Issue(intake.TeamRequest{Replace: true, Name: "prod/DB", SecretID: s["id"].(string), UpdatedAt: s["updated_at"].(string),
		Caller: netguard.Fingerprint(makerKey)}, togetherapi.NewSensitive(makerKey))
	if err != nil {
		t.Fatal(err)
	}
	before := len(h.api.Changes())
	code, page := h.submit(t, link, makerKey, teamValue+"-new", "store")
	if code != http.StatusForbidden || !strings.Contains(page, "made in the same second as the last change of prod/DB") || !strings.Contains(page, "Ask your assistant for a new link") {
		t.Errorf("%d %s", code, page)
	}
	if sent := h.api.Changes()[before:]; len(sent) != 0 {
		t.Errorf("sent: %v", sent)
	}
	lines := auditLines(t, h.auditPath)
	if l := lines[len(lines)-1]; l.Phase != "refused" || l.Action != "rotate" || !strings.Contains(l.Reason, "second") {
		t.Errorf("the last audit line is %+v, want the refusal", l)
	}
}

func TestALinkIsNotMadeWhileThisServersClockIsBeforeTheLastChange(t *testing.T) {
	t.Parallel()
	clock := apitest.NewClock(time.Date(2026, 7, 28, 12, 0, 0, 0, time.UTC))
	h := newTeamHarness(t, clock.Now)
	c := h.client(t)
	if r := h.call(t, c, makerKey, "create_secret", map[string]any{"name": "prod/DB", "value": teamValue}); r.IsError {
		t.Fatal(resultText(t, r))
	}
	// The clock stands still in the second of the change.
	start := time.Now()
	res := h.call(t, c, makerKey, "request_secret_from_user", map[string]any{"name": "prod/DB"})
	if !res.IsError || !strings.Contains(resultText(t, res), "call again in a few seconds") || time.Since(start) < 2*time.Second {
		t.Errorf("after %s: %s", time.Since(start), encoded(t, res))
	}
}

func TestTheStoringReplicasOwnScopeDecidesAgain(t *testing.T) {
	t.Parallel()
	h := newTeamHarness(t, nil, nil, func(c *tools.Config) { c.NamePrefixes = []string{"team-a/"} })
	link := h.link(t, "team-b/TOKEN")
	code, page := h.submit(t, h.onReplica(1, link), makerKey, teamValue, "store")
	if code != http.StatusForbidden || !strings.Contains(page, "team-b/TOKEN is outside the names this server may change") || !strings.Contains(page, "Nothing was sent") {
		t.Errorf("%d %s", code, page)
	}
	if sent := h.api.Changes(); len(sent) != 0 {
		t.Errorf("sent: %v", sent)
	}
	if lines := auditLines(t, h.auditPath); len(lines) != 1 || lines[0].Reason != "out of scope" || lines[0].Caller != netguard.Fingerprint(makerKey) {
		t.Errorf("audit lines %+v, want the refusal", lines)
	}
	// And where the link is made, as for every tool.
	c2, _ := h.clientOn(t, 1, 1)
	if r := h.call(t, c2, makerKey, "request_secret_from_user", map[string]any{"name": "team-b/TOKEN"}); !r.IsError || !strings.Contains(resultText(t, r), "Refused: name does not start with") {
		t.Errorf("a link out of scope: %s", encoded(t, r))
	}
}

func TestDeclineOnThePageStoresNothingAndIsAudited(t *testing.T) {
	t.Parallel()
	h := newTeamHarness(t, nil)
	link := h.link(t, "prod/WANDB_KEY")
	code, page := h.submit(t, link, "", "", "decline")
	if code != http.StatusOK || !strings.Contains(page, "Nothing was stored. You can close this page") {
		t.Fatalf("%d %s", code, page)
	}
	if len(h.api.Changes()) != 0 {
		t.Error("a decline sent a change")
	}
	if lines := auditLines(t, h.auditPath); len(lines) != 1 || lines[0].Reason != "declined on the page" || lines[0].Caller != netguard.Fingerprint(makerKey) {
		t.Errorf("audit lines %+v", lines)
	}
}

func TestDeclinesOnOneLinkAddToTheAuditTrailNoFasterThanWrongKeys(t *testing.T) {
	t.Parallel()
	h := newTeamHarness(t, nil)
	link := h.link(t, "prod/WANDB_KEY")
	declined, limited := 0, 0
	for range 50 {
		switch code, page := h.submit(t, link, "", "", "decline"); {
		case code == http.StatusOK && strings.Contains(page, "Nothing was stored"):
			declined++
		case code == http.StatusTooManyRequests && strings.Contains(page, "Nothing was stored") && strings.Contains(page, "Wait "):
			limited++
		default:
			t.Fatalf("a decline: %d %s", code, page)
		}
	}
	lines := auditLines(t, h.auditPath)
	if declined != 5 || limited != 45 || len(lines) != 5 {
		t.Errorf("50 declines of one link in a minute: %d answered, %d refused, %d audit lines; want 5, 45 and 5, as for wrong keys", declined, limited, len(lines))
	}
	if code, _ := h.submit(t, link, makerKey, teamValue, "store"); code != http.StatusTooManyRequests || len(h.api.Changes()) != 0 {
		t.Errorf("the maker's key after the link's tries are spent: %d, %d changes sent; want 429 and none, as after wrong keys", code, len(h.api.Changes()))
	}
}

func TestALinkWhoseNameOrDescriptionHoldsTheCallersKeyIsNotMade(t *testing.T) {
	t.Parallel()
	h := newTeamHarness(t, nil)
	c := h.client(t)
	for _, args := range []map[string]any{{"name": makerKey}, {"name": "prod/X", "description": "use " + makerKey}} {
		res := h.call(t, c, makerKey, "request_secret_from_user", args)
		if !res.IsError || !strings.Contains(resultText(t, res), "holds the API key this call was made with") {
			t.Errorf("%v: %s", args, encoded(t, res))
		}
	}
	if n := len(h.api.Requests()); n != 0 {
		t.Errorf("%d requests sent", n)
	}
}

func TestAModernClientsRetryOnAnotherReplicaReturnsTheMetadata(t *testing.T) {
	t.Parallel()
	h := newTeamHarness(t, nil, nil, nil)
	u := &pageUser{key: makerKey, value: teamValue, action: mcp.ElicitationResponseActionAccept}
	u.h = h
	c, router := h.clientOn(t, 0, 1, modern(u)...)
	res := h.call(t, c, makerKey, "request_secret_from_user", map[string]any{"name": "prod/WANDB_KEY", "description": "W&B"})
	got := structured(t, res)
	secret, _ := got["secret"].(map[string]any)
	if res.IsError || got["status"] != "stored" || got["action"] != "create" || secret["name"] != "prod/WANDB_KEY" || secret["id"] == nil {
		t.Fatalf("result = %s", encoded(t, res))
	}
	if len(u.asked) != 1 || u.asked[0].Mode != mcp.ElicitationModeURL || !strings.HasPrefix(u.asked[0].URL, h.replicas[0].page.URL+"/v/") || router.retries != 1 {
		t.Fatalf("asked %+v, %d retries", u.asked, router.retries)
	}
	if !h.api.Account(makerKey).ValueMatches("prod/WANDB_KEY", teamValue) {
		t.Error("the value was not stored")
	}
	if page := u.submitted(t); !strings.Contains(page, "was created") {
		t.Errorf("the page after the submit:\n%s", page)
	}
	var outcomes []string
	for _, ev := range logEvents(t, h.replicas[1].logs.String()) {
		if ev["tool"] == "request_secret_from_user" {
			outcomes = append(outcomes, fmt.Sprint(ev["outcome"]))
		}
	}
	if fmt.Sprint(outcomes) != "[ok]" {
		t.Errorf("the other replica logged the retry as %v", outcomes)
	}
}

func TestARetryWaitsForTheValueThenSaysItHasNotArrivedAndHowToCheck(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		arrive bool
		want   string
	}{
		{"the value arrives while the retry waits", true, `"status":"stored"`},
		{"the value never arrives", false, "has not arrived yet"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newTeamHarness(t, nil, func(c *tools.Config) { c.TeamWait = 1500 * time.Millisecond })
			u := &pageUser{key: makerKey, action: mcp.ElicitationResponseActionAccept}
			u.h = h
			if tt.arrive {
				// The user submits once the retry has looked and found
				// nothing yet.
				u.value = teamValue
				u.later = func() bool { return len(h.api.Requests()) >= 2 }
			}
			c := h.client(t, modern(u)...)
			res := h.call(t, c, makerKey, "request_secret_from_user", map[string]any{"name": "prod/WANDB_KEY"})
			if text := encoded(t, res); res.IsError || !strings.Contains(text, tt.want) {
				t.Errorf("result = %s", text)
			}
			if !tt.arrive && !strings.Contains(encoded(t, res), "get_secret") {
				t.Errorf("the result does not say how to check: %s", encoded(t, res))
			}
			if tt.arrive {
				u.submitted(t)
			}
		})
	}
}

func TestAModernClientThatDeclinesGetsNothingStored(t *testing.T) {
	t.Parallel()
	for _, action := range []mcp.ElicitationResponseAction{mcp.ElicitationResponseActionDecline, mcp.ElicitationResponseActionCancel} {
		t.Run(string(action), func(t *testing.T) {
			h := newTeamHarness(t, nil)
			u := &pageUser{action: action}
			u.h = h
			c := h.client(t, modern(u)...)
			res := h.call(t, c, makerKey, "request_secret_from_user", map[string]any{"name": "prod/WANDB_KEY"})
			if got := structured(t, res); res.IsError || got["status"] != "declined" || !strings.Contains(encoded(t, res), "stays valid until") {
				t.Errorf("result = %s", encoded(t, res))
			}
			if len(h.api.Changes()) != 0 {
				t.Error("a decline sent a change")
			}
		})
	}
}

func TestARetryWhoseStateIsAnotherCallersOrAlteredIsRefusedBeforeAnythingIsRead(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		change func(h *teamHarness) func(ctx context.Context, params map[string]any) context.Context
	}{
		{"another caller retries", func(h *teamHarness) func(context.Context, map[string]any) context.Context {
			return func(context.Context, map[string]any) context.Context { return h.as(otherKey) }
		}},
		{"the state is altered", func(*teamHarness) func(context.Context, map[string]any) context.Context {
			return func(ctx context.Context, p map[string]any) context.Context {
				s := []byte(p["requestState"].(string))
				s[len(s)/2] ^= 1
				p["requestState"] = string(s)
				return ctx
			}
		}},
		{"the retry names another secret", func(*teamHarness) func(context.Context, map[string]any) context.Context {
			return func(ctx context.Context, p map[string]any) context.Context {
				p["arguments"] = map[string]any{"name": "prod/OTHER"}
				return ctx
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newTeamHarness(t, nil, nil, nil)
			u := &pageUser{action: mcp.ElicitationResponseActionAccept}
			u.h = h
			c, router := h.clientOn(t, 0, 1, modern(u)...)
			change := tt.change(h)
			var before int
			router.change = func(ctx context.Context, p map[string]any) context.Context {
				before = len(h.api.Requests())
				return change(ctx, p)
			}
			res := h.call(t, c, makerKey, "request_secret_from_user", map[string]any{"name": "prod/WANDB_KEY"})
			if !res.IsError || !strings.Contains(resultText(t, res), "this requestState was not made by this server for this call") {
				t.Errorf("result = %s", encoded(t, res))
			}
			if sent := h.api.Requests()[before:]; router.retries != 1 || len(sent) != 0 {
				t.Errorf("%d retries; the retry sent %v", router.retries, sent)
			}
		})
	}
}

func TestAnOlderClientOverHTTPGetsTheLinkInTheResultEvenWithURLElicitation(t *testing.T) {
	t.Parallel()
	h := newTeamHarness(t, nil)
	u := &pageUser{action: mcp.ElicitationResponseActionAccept}
	u.h = h
	c := h.client(t, append(modern(u), client.WithProtocolVersion(mcp.ProtocolVersion20251125))...)
	link := linkOf(t, h.call(t, c, makerKey, "request_secret_from_user", map[string]any{"name": "prod/WANDB_KEY"}))
	if len(u.asked) != 0 || !strings.HasPrefix(link, h.replicas[0].page.URL) {
		t.Errorf("asked %+v; link %q", u.asked, link)
	}
}

func TestAValueTheNameHoldsIsRefusedOnTheTeamPageBeforeAnythingIsRecordedOrSent(t *testing.T) {
	t.Parallel()
	h := newTeamHarness(t, nil)
	const value = "hunter22-password"
	link := h.link(t, "prod/"+value)
	code, page := h.submit(t, link, makerKey, value, "store")
	if code == http.StatusOK || !strings.Contains(page, "Nothing was sent to Together") {
		t.Errorf("%d %s", code, page)
	}
	if len(h.api.Changes()) != 0 {
		t.Errorf("sent: %v", h.api.Changes())
	}
	if _, err := os.Stat(h.auditPath); err == nil {
		if lines := auditLines(t, h.auditPath); len(lines) != 0 {
			t.Errorf("audit lines for a change never attempted: %+v", lines)
		}
	}
}
