package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/together-secrets-mcp/together-secrets-mcp/internal/apitest"
	"github.com/together-secrets-mcp/together-secrets-mcp/internal/linkseal"
	"github.com/together-secrets-mcp/together-secrets-mcp/togetherapi"
)

// The team tests' canaries: the key of the caller who makes links, the key
// of another caller, and the value typed on the page.
const (
	teamMakerKey = "CANARYKEY-team-maker-77aa"
	teamOtherKey = "CANARYKEY-team-other-88bb"
	teamValue    = "CANARYVALUE-team-page-<&>\"é-99cc"
)

// teamReplicas are two real replicas of the binary behind one address, as
// a Service puts them, sharing a link key file and a stand-in for Together
// that knows the maker's and the other caller's keys. Every byte of every
// response that passes the front is kept, with both replicas' stderr and
// audit trails, for the leak check at the end.
type teamReplicas struct {
	api      *apitest.API
	front    *httptest.Server
	keyFile  string
	replicas []*proc
	targets  []*url.URL
	audits   []string

	mu        sync.Mutex
	next      int
	responses bytes.Buffer
	// route, when set, picks the replica for a request whose body is
	// given; -1 leaves it to the round robin.
	route  func(r *http.Request, body []byte) int
	served []int // the replica of each request, in order
}

func startTeamReplicas(t *testing.T, args ...string) *teamReplicas {
	t.Helper()
	tr := &teamReplicas{api: apitest.NewCallers(t, nil, teamMakerKey, teamOtherKey)}
	dir := t.TempDir()
	tr.keyFile = filepath.Join(dir, "link-key")
	if err := os.WriteFile(tr.keyFile, []byte(strings.Repeat("5a", 32)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			target, _ := r.In.Context().Value(targetKey{}).(*url.URL)
			r.SetURL(target)
			r.Out.Host = r.In.Host // the public host, as an ingress forwards it
		},
	}
	tr.front = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		i := tr.pick(r, body)
		rec := &recorder{ResponseWriter: w, into: tr}
		proxy.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), targetKey{}, tr.targets[i])))
	}))
	t.Cleanup(tr.front.Close)
	for i := range 2 {
		audit := filepath.Join(dir, fmt.Sprintf("audit-%d.log", i))
		p, base := startHTTP(t, []string{"TOGETHER_BASE_URL=" + tr.api.URL + "/v1"},
			append([]string{"--public-url", tr.front.URL, "--link-key-file", tr.keyFile, "--audit-log", audit}, args...)...)
		u, _ := url.Parse(base)
		tr.replicas, tr.targets, tr.audits = append(tr.replicas, p), append(tr.targets, u), append(tr.audits, audit)
	}
	return tr
}

// pick chooses the replica for a request: the route's choice, else the
// next in turn.
func (tr *teamReplicas) pick(r *http.Request, body []byte) int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	i := -1
	if tr.route != nil {
		i = tr.route(r, body)
	}
	if i < 0 {
		i = tr.next % 2
		tr.next++
	}
	tr.served = append(tr.served, i)
	return i
}

// recorder passes a response on and keeps a copy of its status, headers
// and body.
type recorder struct {
	http.ResponseWriter
	into *teamReplicas
}

func (r *recorder) WriteHeader(code int) {
	r.into.mu.Lock()
	fmt.Fprintf(&r.into.responses, "\n%d %v\n", code, r.Header())
	r.into.mu.Unlock()
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(p []byte) (int, error) {
	r.into.mu.Lock()
	r.into.responses.Write(p)
	r.into.mu.Unlock()
	return r.ResponseWriter.Write(p)
}

func (r *recorder) Flush() { http.NewResponseController(r.ResponseWriter).Flush() }

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// stop ends both replicas, and fails the test if any response, either
// replica's stdout or stderr, or either audit trail holds the value or a
// key.
func (tr *teamReplicas) stop(t *testing.T) {
	t.Helper()
	outputs := map[string]string{}
	for i, p := range tr.replicas {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		if code := p.waitExit(t); code != 0 {
			t.Errorf("replica %d exited %d", i, code)
		}
		trail, err := os.ReadFile(tr.audits[i])
		if err != nil {
			t.Fatal(err)
		}
		outputs[fmt.Sprintf("replica %d's stdout", i)] = p.allStdout()
		outputs[fmt.Sprintf("replica %d's stderr", i)] = p.stderr.String()
		outputs[fmt.Sprintf("replica %d's audit trail", i)] = string(trail)
	}
	tr.mu.Lock()
	outputs["every response"] = tr.responses.String()
	tr.mu.Unlock()
	apitest.AssertClean(t, outputs)
}

// auditLines are both replicas' audit lines, decoded.
func (tr *teamReplicas) auditLines(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, path := range tr.audits {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, auditEntries(t, string(b))...)
	}
	return out
}

// submit posts the page's form through the front, as the page's own form
// does, and returns the status and the page.
func (tr *teamReplicas) submit(t *testing.T, link, key, value string) (int, string) {
	t.Helper()
	form := url.Values{"api_key": {key}, "value": {value}, "action": {"store"}}
	req, _ := http.NewRequest(http.MethodPost, link, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", tr.front.URL)
	return do(t, req)
}

func (tr *teamReplicas) open(t *testing.T, link string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, link, nil)
	return do(t, req)
}

func do(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	resp, body := apitest.Do(t, req)
	return resp.StatusCode, body
}

// requestLink has the maker's agent call request_secret_from_user through
// the front, as a client without URL elicitation, and returns the link.
func (tr *teamReplicas) requestLink(t *testing.T, name string) string {
	t.Helper()
	c := apitest.MCPClient(t, tr.front.URL+"/mcp", teamMakerKey, "")
	res, err := c.CallTool(t.Context(), mcp.CallToolRequest{Params: mcp.CallToolParams{Name: "request_secret_from_user", Arguments: map[string]any{"name": name}}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(res)
	var out struct {
		StructuredContent struct{ Status, URL string } `json:"structuredContent"`
	}
	if err := json.Unmarshal(b, &out); err != nil || out.StructuredContent.Status != "waiting_for_user" || !strings.HasPrefix(out.StructuredContent.URL, tr.front.URL+"/v/") {
		t.Fatalf("request_secret_from_user: %s", b)
	}
	return out.StructuredContent.URL
}

// changes are the requests that reached Together and change something.
func (tr *teamReplicas) changes() []string { return tr.api.Changes() }

func TestTwoReplicasStoreALinksValueThroughEitherOnceAndOnlyWithTheMakersKey(t *testing.T) {
	t.Parallel()
	tr := startTeamReplicas(t)
	link := tr.requestLink(t, "team/WANDB_KEY")
	if code, page := tr.open(t, link); code != http.StatusOK || !strings.Contains(page, "team/WANDB_KEY") || !strings.Contains(page, "API key of the Together account that made this link") {
		t.Fatalf("the page: %d %s", code, page)
	}
	// The other caller's key, on either replica: refused, nothing sent.
	for range 2 {
		if code, page := tr.submit(t, link, teamOtherKey, teamValue); code != http.StatusForbidden || !strings.Contains(page, "made for another account") {
			t.Fatalf("the other caller's key: %d %s", code, page)
		}
	}
	for _, sent := range tr.api.Requests() {
		if strings.HasPrefix(sent, teamOtherKey+" ") {
			t.Errorf("a request was sent with the other caller's key: %q", sent)
		}
	}
	// The maker's key stores the exact value; a replay on either replica
	// sends nothing.
	if code, page := tr.submit(t, link, teamMakerKey, teamValue); code != http.StatusOK || !strings.Contains(page, "was created") {
		t.Fatalf("the maker's key: %d %s", code, page)
	}
	for range 2 {
		if code, _ := tr.submit(t, link, teamMakerKey, teamValue+"-again"); code != http.StatusConflict {
			t.Errorf("a replay: %d", code)
		}
	}
	if !tr.api.Account(teamMakerKey).ValueMatches("team/WANDB_KEY", teamValue) || tr.api.Account(teamOtherKey).Len() != 0 {
		t.Error("the exact value did not reach the maker's account alone")
	}
	if sent := tr.changes(); len(sent) != 1 || !strings.HasPrefix(sent[0], teamMakerKey+" POST ") {
		t.Errorf("changes sent: %v; want the one create", sent)
	}
	served := map[int]bool{}
	tr.mu.Lock()
	for _, i := range tr.served {
		served[i] = true
	}
	tr.mu.Unlock()
	if len(served) != 2 {
		t.Errorf("the front used replicas %v; want both", served)
	}
	var lines []string
	for _, l := range tr.auditLines(t) {
		lines = append(lines, fmt.Sprintf("%v:%v", l["phase"], strings.SplitN(fmt.Sprint(l["reason"]), ":", 2)[0]))
	}
	for _, want := range []string{"attempt:<nil>", "outcome:<nil>", "refused:key mismatch", "refused:replay"} {
		if !strings.Contains(strings.Join(lines, " "), want) {
			t.Errorf("the audit trails hold %v, and no %s", lines, want)
		}
	}
	tr.stop(t)
}

func TestTwoReplicasRefuseATamperedExpiredOrForeignKeyLink(t *testing.T) {
	t.Parallel()
	tr := startTeamReplicas(t)
	link := tr.requestLink(t, "team/WANDB_KEY")
	sealed := link[strings.LastIndex(link, "/")+1:]
	tampered := []byte(sealed)
	tampered[len(tampered)/2] ^= 'A' ^ 'B'

	keyText, _ := os.ReadFile(tr.keyFile)
	shared, err := linkseal.ParseKeys(keyText)
	if err != nil {
		t.Fatal(err)
	}
	foreign, _ := linkseal.NewKeys()
	ticket := func(k *linkseal.Keys, issued time.Time) string {
		s, err := k.SealTicket(linkseal.Ticket{Action: linkseal.Create, Name: "team/WANDB_KEY", Fingerprint: k.Fingerprint(togetherapi.NewSensitive(teamMakerKey)),
			IssuedAt: issued.Unix(), ExpiresAt: issued.Add(time.Minute).Unix()})
		if err != nil {
			t.Fatal(err)
		}
		return tr.front.URL + "/v/" + s
	}
	for _, tt := range []struct {
		name, link string
		status     int
		says       string
	}{
		{"a tampered link", tr.front.URL + "/v/" + string(tampered), http.StatusNotFound, "This link is not valid"},
		{"an expired link", ticket(shared, time.Now().Add(-time.Hour)), http.StatusGone, "This link has expired"},
		{"a link sealed with another key", ticket(foreign, time.Now()), http.StatusNotFound, "This link is not valid"},
	} {
		for range 2 { // once on each replica
			if code, page := tr.submit(t, tt.link, teamMakerKey, teamValue); code != tt.status || !strings.Contains(page, tt.says) {
				t.Errorf("%s: %d %s", tt.name, code, page)
			}
		}
	}
	if sent := tr.changes(); len(sent) != 0 {
		t.Errorf("changes sent: %v", sent)
	}
	tr.stop(t)
}

// teamUser answers a URL elicitation as the person at the browser: types
// the maker's key and the value on the page, then accepts.
type teamUser struct {
	t  *testing.T
	tr *teamReplicas
}

func (u *teamUser) Elicit(_ context.Context, req mcp.ElicitationRequest) (*mcp.ElicitationResult, error) {
	if code, page := u.tr.submit(u.t, req.Params.URL, teamMakerKey, teamValue); code != http.StatusOK {
		u.t.Errorf("the page: %d %s", code, page)
	}
	return &mcp.ElicitationResult{ElicitationResponse: mcp.ElicitationResponse{Action: mcp.ElicitationResponseActionAccept}}, nil
}

func TestA2026ClientsRetryOnTheOtherReplicaReturnsTheMetadata(t *testing.T) {
	t.Parallel()
	tr := startTeamReplicas(t)
	// The retry, which carries the requestState, goes to the replica that
	// did not serve the call.
	first := -1
	tr.route = func(r *http.Request, body []byte) int {
		switch {
		case bytes.Contains(body, []byte(`"requestState"`)):
			return 1 - first
		case bytes.Contains(body, []byte(`"request_secret_from_user"`)):
			first = tr.next % 2
		}
		return -1
	}
	httpTr, err := transport.NewStreamableHTTP(tr.front.URL+"/mcp", transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + teamMakerKey}))
	if err != nil {
		t.Fatal(err)
	}
	c := client.NewClient(httpTr,
		client.WithClientCapabilities(mcp.ClientCapabilities{Elicitation: &mcp.ElicitationCapability{URL: &struct{}{}}}),
		client.WithElicitationHandler(&teamUser{t: t, tr: tr}))
	if err := c.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Initialize(t.Context(), mcp.InitializeRequest{Params: mcp.InitializeParams{ClientInfo: mcp.Implementation{Name: "team-e2e", Version: "1"}}}); err != nil {
		t.Fatal(err)
	}
	res, err := c.CallTool(t.Context(), mcp.CallToolRequest{Params: mcp.CallToolParams{Name: "request_secret_from_user", Arguments: map[string]any{"name": "team/WANDB_KEY"}}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(res)
	if res.IsError || !strings.Contains(string(b), `"status":"stored"`) || !strings.Contains(string(b), `"name":"team/WANDB_KEY"`) || !strings.Contains(string(b), `"id":"sec-`) {
		t.Fatalf("result: %s", b)
	}
	if !tr.api.Account(teamMakerKey).ValueMatches("team/WANDB_KEY", teamValue) {
		t.Error("the value was not stored")
	}
	// Each replica logs one leg of the call, its log written in the
	// background.
	tr.mu.Lock()
	called := first
	tr.mu.Unlock()
	for i, want := range map[int]string{called: "input_required", 1 - called: "ok"} {
		waitForLog(t, tr.replicas[i], `"tool":"request_secret_from_user","outcome":"`+want+`"`)
	}
	tr.stop(t)
}

func TestAPublicURLWhosePathHoldsASpaceOrBracesServesItsLinks(t *testing.T) {
	t.Parallel()
	const public = "https://secrets.example.com/team a/{x...}"
	api := apitest.NewCallers(t, nil, teamMakerKey)
	p, base := startHTTP(t, []string{"TOGETHER_BASE_URL=" + api.URL + "/v1"}, "--public-url", public)
	c := apitest.MCPClient(t, base+"/mcp", teamMakerKey, "")
	res, err := c.CallTool(t.Context(), mcp.CallToolRequest{Params: mcp.CallToolParams{Name: "request_secret_from_user", Arguments: map[string]any{"name": "team/WANDB_KEY"}}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(res)
	var out struct {
		StructuredContent struct{ URL string } `json:"structuredContent"`
	}
	if err := json.Unmarshal(b, &out); err != nil || !strings.HasPrefix(out.StructuredContent.URL, "https://secrets.example.com/team%20a/%7Bx...%7D/v/") {
		t.Fatalf("request_secret_from_user: %s", b)
	}
	// As a proxy in front forwards it: the public host, to this replica.
	at := base + strings.TrimPrefix(out.StructuredContent.URL, "https://secrets.example.com")
	get, _ := http.NewRequest(http.MethodGet, at, nil)
	get.Host = "secrets.example.com"
	if code, page := do(t, get); code != http.StatusOK || !strings.Contains(page, "team/WANDB_KEY") {
		t.Errorf("the link: %d %s", code, page)
	}
	form := url.Values{"api_key": {teamMakerKey}, "value": {teamValue}, "action": {"store"}}
	post, _ := http.NewRequest(http.MethodPost, at, strings.NewReader(form.Encode()))
	post.Host = "secrets.example.com"
	post.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	post.Header.Set("Origin", "https://secrets.example.com")
	if code, page := do(t, post); code != http.StatusOK || !api.Account(teamMakerKey).ValueMatches("team/WANDB_KEY", teamValue) {
		t.Errorf("the form: %d %s", code, page)
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	if code := p.waitExit(t); code != 0 {
		t.Errorf("exit %d: %s", code, p.stderr.String())
	}
	apitest.AssertClean(t, map[string]string{"stderr": p.stderr.String()})
}
