package intake_test

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.uber.org/goleak"

	"github.com/together-secrets-mcp/together-secrets-mcp/intake"
	"github.com/together-secrets-mcp/together-secrets-mcp/internal/apitest"
	"github.com/together-secrets-mcp/together-secrets-mcp/internal/syncio"
	"github.com/together-secrets-mcp/together-secrets-mcp/togetherapi"
)

// canaryValue is the value the tests submit: a leak of it is found by
// apitest.AssertClean.
const canaryValue = "CANARYVALUE-intake-7a6b5c4d"

// store records what reached it, as the API would.
type store struct {
	mu     sync.Mutex
	values []string
	fail   error
}

func (s *store) fn(name string) func(context.Context, togetherapi.Sensitive) (*togetherapi.Secret, error) {
	return func(_ context.Context, v togetherapi.Sensitive) (*togetherapi.Secret, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.fail != nil {
			return nil, s.fail
		}
		// The value itself cannot be read here; that it came is enough.
		if !v.IsZero() {
			s.values = append(s.values, "stored")
		}
		return &togetherapi.Secret{Object: "secret", ID: "sec-123", Name: name}, nil
	}
}

func (s *store) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.values)
}

func newServer(t *testing.T, cfg intake.Config) (*intake.Server, *syncio.Buffer) {
	t.Helper()
	logs := &syncio.Buffer{}
	cfg.Logger = zerolog.New(logs)
	s, err := intake.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, logs
}

// submit posts value as the page's own form does.
func submit(t *testing.T, link, value string, headers map[string]string) (int, string) {
	t.Helper()
	u, _ := url.Parse(link)
	req, _ := http.NewRequest("POST", link, strings.NewReader(url.Values{"value": {value}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "http://"+u.Host)
	for k, v := range headers {
		if v == "" {
			req.Header.Del(k)
			continue
		}
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	return do(t, req)
}

func get(t *testing.T, link string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", link, nil)
	return do(t, req)
}

func do(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	resp, body := apitest.Do(t, req)
	for k, want := range map[string]string{
		"Referrer-Policy": "no-referrer",
		"Cache-Control":   "no-store",
	} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	csp := resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "form-action 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
		}
	}
	return resp.StatusCode, body
}

func TestAValueSubmittedOnThePageIsStoredOnceAndTheLinkDies(t *testing.T) {
	t.Parallel()
	st := &store{}
	s, logs := newServer(t, intake.Config{})
	tk, err := s.Issue(intake.Request{Name: "prod/HF_TOKEN", Description: "Hugging Face read token", Store: st.fn("prod/HF_TOKEN")})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tk.URL, "http://127.0.0.1:") || len(tk.URL[strings.LastIndex(tk.URL, "/")+1:]) < 43 {
		t.Fatalf("link %q: want loopback and a token of 256 bits", tk.URL)
	}
	code, page := get(t, tk.URL)
	for _, want := range []string{"prod/HF_TOKEN", "Hugging Face read token", "This will create", `type="password"`, `name="value"`, `autocomplete="off"`, "<label", "until"} {
		if code != 200 || !strings.Contains(page, want) {
			t.Errorf("form (%d) lacks %q", code, want)
		}
	}
	if strings.Contains(page, "<script") || strings.Contains(page, "src=") || strings.Contains(page, "href=") {
		t.Error("the page loads or runs something")
	}
	code, page = submit(t, tk.URL, canaryValue, nil)
	if code != 200 || !strings.Contains(page, "was created") || !strings.Contains(page, "sec-123") {
		t.Fatalf("submit: %d %s", code, page)
	}
	got, err := tk.Wait(context.Background())
	if err != nil || got.ID != "sec-123" || st.count() != 1 {
		t.Fatalf("Wait = %+v, %v; stored %d", got, err, st.count())
	}
	// Spent: a second submission stores nothing, and the page says why.
	code, page = submit(t, tk.URL, canaryValue, nil)
	if code != http.StatusGone || !strings.Contains(page, "has been used") || st.count() != 1 {
		t.Errorf("spent link: %d %s", code, page)
	}
	if code, page = get(t, tk.URL); code != http.StatusGone || !strings.Contains(page, "has been used") {
		t.Errorf("spent link: %d %s", code, page)
	}
	token := tk.URL[strings.LastIndex(tk.URL, "/")+1:]
	apitest.AssertClean(t, map[string]string{"page": page, "logs": logs.String()}, token)
}

func TestThePageSaysWhenItWillReplace(t *testing.T) {
	t.Parallel()
	s, _ := newServer(t, intake.Config{})
	tk, _ := s.Issue(intake.Request{Name: "DB_PASSWORD", Replace: true, ExistingID: "sec-9", Store: (&store{}).fn("DB_PASSWORD")})
	if _, page := get(t, tk.URL); !strings.Contains(page, "This will replace the value") || !strings.Contains(page, "sec-9") || !strings.Contains(page, "Replace value") {
		t.Errorf("page = %s", page)
	}
}

func TestGuardsRefuseWithoutStoring(t *testing.T) {
	t.Parallel()
	st := &store{}
	s, _ := newServer(t, intake.Config{})
	tk, _ := s.Issue(intake.Request{Name: "A", Store: st.fn("A")})
	u, _ := url.Parse(tk.URL)
	tests := []struct {
		name    string
		value   string
		headers map[string]string
		status  int
		says    string
	}{
		{"foreign host", canaryValue, map[string]string{"Host": "evil.example:" + u.Port()}, 403, "answers only at the address"},
		{"loopback name, other port", canaryValue, map[string]string{"Host": "localhost:1"}, 403, "answers only"},
		{"cross-origin post", canaryValue, map[string]string{"Origin": "https://evil.example"}, 403, "sent from this page itself"},
		{"missing origin", canaryValue, map[string]string{"Origin": ""}, 403, "sent from this page itself"},
		{"null origin from another site", canaryValue, map[string]string{"Origin": "null", "Sec-Fetch-Site": "cross-site"}, 403, "sent from this page itself"},
		{"null origin without fetch metadata", canaryValue, map[string]string{"Origin": "null"}, 403, "sent from this page itself"},
		{"empty value", "", nil, 422, "The value is empty"},
		{"value over 64 KiB", strings.Repeat("v", togetherapi.ValueMaxBytes+1), nil, 413, "at most 65536"},
		{"body over 1 MiB", strings.Repeat("v", 2<<20), nil, 413, "far too large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, page := submit(t, tk.URL, tt.value, tt.headers)
			if code != tt.status || !strings.Contains(page, tt.says) {
				t.Errorf("%d, want %d saying %q:\n%s", code, tt.status, tt.says, page)
			}
			apitest.AssertClean(t, map[string]string{"page": page})
		})
	}
	if st.count() != 0 {
		t.Fatalf("%d values were stored through guarded requests", st.count())
	}
	// The link still works for the real page, under a no-referrer policy too.
	if code, _ := submit(t, tk.URL, canaryValue, map[string]string{"Origin": "null", "Sec-Fetch-Site": "same-origin"}); code != 200 || st.count() != 1 {
		t.Errorf("same-origin null submit: %d, stored %d", code, st.count())
	}
}

func TestAFailedStoreLeavesTheLinkUsableAndShowsNoValue(t *testing.T) {
	t.Parallel()
	st := &store{fail: errors.New("HTTP 400: value " + canaryValue + " rejected")}
	s, _ := newServer(t, intake.Config{})
	tk, _ := s.Issue(intake.Request{Name: "A", Store: st.fn("A")})
	code, page := submit(t, tk.URL, canaryValue, nil)
	apitest.AssertClean(t, map[string]string{"page": page})
	if code != http.StatusBadGateway || !strings.Contains(page, "could not be stored") || !strings.Contains(page, "[REDACTED]") {
		t.Fatalf("%d %s", code, page)
	}
	st.mu.Lock()
	st.fail = nil
	st.mu.Unlock()
	if code, _ := submit(t, tk.URL, canaryValue, nil); code != 200 {
		t.Errorf("retry after a failure: %d", code)
	}
}

func TestExpiredAndCancelledLinksAreDeadAndSaySo(t *testing.T) {
	t.Parallel()
	st := &store{}
	s, _ := newServer(t, intake.Config{TTL: 100 * time.Millisecond})
	expiring, _ := s.Issue(intake.Request{Name: "A", Store: st.fn("A")})
	declined, _ := s.Issue(intake.Request{Name: "B", Store: st.fn("B")})
	declined.Cancel()
	if _, err := declined.Wait(context.Background()); !errors.Is(err, intake.ErrCancelled) {
		t.Errorf("cancelled: %v", err)
	}
	if code, page := submit(t, declined.URL, canaryValue, nil); code != http.StatusGone || !strings.Contains(page, "was cancelled") {
		t.Errorf("cancelled link: %d %s", code, page)
	}
	if _, err := expiring.Wait(context.Background()); !errors.Is(err, intake.ErrExpired) {
		t.Errorf("expired: %v", err)
	}
	if code, page := submit(t, expiring.URL, canaryValue, nil); code != http.StatusGone || !strings.Contains(page, "has expired") {
		t.Errorf("expired link: %d %s", code, page)
	}
	if st.count() != 0 {
		t.Errorf("%d stored through dead links", st.count())
	}
}

func TestGuessedTokensAreRateLimited(t *testing.T) {
	t.Parallel()
	s, _ := newServer(t, intake.Config{})
	tk, _ := s.Issue(intake.Request{Name: "A", Store: (&store{}).fn("A")})
	base := tk.URL[:strings.LastIndex(tk.URL, "/")+1]
	var last int
	for i := range 40 {
		last, _ = get(t, base+"guess"+strings.Repeat("x", i))
	}
	if last != http.StatusTooManyRequests {
		t.Errorf("the 40th guess got %d, want 429", last)
	}
	if code, _ := get(t, base+"nope"); code != http.StatusTooManyRequests {
		t.Errorf("guessing is not limited: %d", code)
	}
}

func TestItListensOnlyWhileALinkIsPending(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	s, _ := newServer(t, intake.Config{Grace: 50 * time.Millisecond})
	if s.Addr() != "" {
		t.Fatal("listening before any link")
	}
	tk, _ := s.Issue(intake.Request{Name: "A", Store: (&store{}).fn("A")})
	addr := s.Addr()
	if addr == "" {
		t.Fatal("not listening with a link pending")
	}
	if code, _ := submit(t, tk.URL, canaryValue, nil); code != 200 {
		t.Fatal(code)
	}
	apitest.WaitWithin(t, 3*time.Second, "the page to stop listening with nothing pending", func() bool { return s.Addr() == "" })
	if _, err := http.Get("http://" + addr + "/"); err == nil {
		t.Error("the port still answers")
	}
	http.DefaultClient.CloseIdleConnections()
}

func TestANonLoopbackAddressMustBeChosen(t *testing.T) {
	t.Parallel()
	if _, err := intake.New(intake.Config{Addr: "0.0.0.0:8765"}); err == nil || !strings.Contains(err.Error(), "not a loopback address") {
		t.Errorf("err = %v", err)
	}
	if _, err := intake.New(intake.Config{Addr: "0.0.0.0:0", AllowNonLoopback: true}); err != nil {
		t.Error(err)
	}
}

func TestAPanicWhileStoringShowsAndLogsNothingOfTheValue(t *testing.T) {
	t.Parallel()
	s, logs := newServer(t, intake.Config{})
	tk, _ := s.Issue(intake.Request{Name: "A", Store: func(context.Context, togetherapi.Sensitive) (*togetherapi.Secret, error) {
		panic("bug while storing " + canaryValue)
	}})
	code, page := submit(t, tk.URL, canaryValue, nil)
	if code != http.StatusInternalServerError {
		t.Errorf("%d, want 500", code)
	}
	apitest.AssertClean(t, map[string]string{"page": page, "logs": logs.String()})
	if !strings.Contains(logs.String(), "intake page panicked") {
		t.Errorf("the panic was not logged:\n%s", logs.String())
	}
}

// slowStore is a store for the ticket sent on tickets that takes as long
// as Together might: until the link has expired while the value was being
// stored. Then it answers with store.
func slowStore(tickets <-chan *intake.Ticket, store func(ctx context.Context) (*togetherapi.Secret, error)) func(context.Context, togetherapi.Sensitive) (*togetherapi.Secret, error) {
	return func(ctx context.Context, _ togetherapi.Sensitive) (*togetherapi.Secret, error) {
		tk := <-tickets
		if !apitest.Within(10*time.Second, func() bool { return intake.ExpiredWhileStoring(tk) }) {
			return nil, errors.New("the link did not expire while its value was being stored")
		}
		return store(ctx)
	}
}

func TestAValueBeingStoredWhenTheLinkExpiresStillCounts(t *testing.T) {
	t.Parallel()
	s, _ := newServer(t, intake.Config{TTL: 100 * time.Millisecond})
	tickets := make(chan *intake.Ticket, 1)
	tk, _ := s.Issue(intake.Request{Name: "SLOW", Store: slowStore(tickets, func(ctx context.Context) (*togetherapi.Secret, error) {
		return &togetherapi.Secret{ID: "sec-slow", Name: "SLOW"}, ctx.Err()
	})})
	tickets <- tk
	if code, page := submit(t, tk.URL, canaryValue, nil); code != 200 || !strings.Contains(page, "was created") {
		t.Fatalf("%d %s", code, page)
	}
	if got, err := tk.Wait(context.Background()); err != nil || got.ID != "sec-slow" {
		t.Errorf("Wait = %+v, %v; want the stored secret, not an expiry", got, err)
	}
}

func TestAFailedStoreAfterTheLinkExpiredLeavesItDead(t *testing.T) {
	t.Parallel()
	s, _ := newServer(t, intake.Config{TTL: 100 * time.Millisecond})
	tickets := make(chan *intake.Ticket, 1)
	tk, _ := s.Issue(intake.Request{Name: "SLOW", Store: slowStore(tickets, func(context.Context) (*togetherapi.Secret, error) {
		return nil, errors.New("HTTP 500")
	})})
	tickets <- tk
	if code, page := submit(t, tk.URL, canaryValue, nil); code != http.StatusGone || !strings.Contains(page, "Meanwhile the link expired") {
		t.Fatalf("status %d: %s", code, page)
	}
	if _, err := tk.Wait(context.Background()); !errors.Is(err, intake.ErrExpired) {
		t.Errorf("Wait = %v, want ErrExpired", err)
	}
}

// decline presses the page's Decline button, as its form sends it: the
// field left empty, or holding what was typed so far.
func decline(t *testing.T, link, typed string) (int, string) {
	t.Helper()
	u, _ := url.Parse(link)
	req, _ := http.NewRequest("POST", link, strings.NewReader(url.Values{"value": {typed}, "action": {"decline"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "http://"+u.Host)
	return do(t, req)
}

func TestDeclineKillsTheLinkWithNothingStoredAndTellsTheWaiter(t *testing.T) {
	t.Parallel()
	st := &store{}
	s, _ := newServer(t, intake.Config{})
	ticket, err := s.Issue(intake.Request{Name: "HF_TOKEN", Store: st.fn("HF_TOKEN")})
	if err != nil {
		t.Fatal(err)
	}
	if _, page := get(t, ticket.URL); !strings.Contains(page, `value="decline"`) || !strings.Contains(page, "formnovalidate") {
		t.Fatalf("the form offers no Decline that works with the field empty:\n%s", page)
	}
	waited := make(chan error, 1)
	go func() { _, err := ticket.Wait(context.Background()); waited <- err }()
	status, page := decline(t, ticket.URL, canaryValue)
	if status != http.StatusOK || !strings.Contains(page, "Nothing was stored") {
		t.Errorf("decline: %d %s", status, page)
	}
	apitest.AssertClean(t, map[string]string{"page": page})
	select {
	case err := <-waited:
		if !errors.Is(err, intake.ErrDeclined) {
			t.Errorf("Wait = %v, want ErrDeclined", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the waiter was not told")
	}
	if status, page := submit(t, ticket.URL, canaryValue, nil); status != http.StatusGone || !strings.Contains(page, "You declined") {
		t.Errorf("a submission after declining: %d %s", status, page)
	}
	if st.count() != 0 {
		t.Error("a declined link stored a value")
	}
}

func TestAValueThatIsNotUTF8IsRefusedOnThePage(t *testing.T) {
	t.Parallel()
	st := &store{}
	s, _ := newServer(t, intake.Config{})
	ticket, err := s.Issue(intake.Request{Name: "PW", Store: st.fn("PW")})
	if err != nil {
		t.Fatal(err)
	}
	status, page := submit(t, ticket.URL, "p\xe4ssw\xf6rd-123", nil)
	if status != http.StatusUnprocessableEntity || !strings.Contains(page, "not valid UTF-8") || strings.Contains(page, "rd-123") {
		t.Errorf("%d %s", status, page)
	}
	if st.count() != 0 {
		t.Error("a value that is not UTF-8 was stored")
	}
	// The link still works for a value typed again.
	if status, _ := submit(t, ticket.URL, "pässwörd-123", nil); status != http.StatusOK || st.count() != 1 {
		t.Errorf("a valid value after: %d, %d stored", status, st.count())
	}
}

func TestTheSandboxPageNeverSaysTheValueGoesToTogether(t *testing.T) {
	t.Parallel()
	s, _ := newServer(t, intake.Config{Sandbox: true})
	ticket, err := s.Issue(intake.Request{Name: "X", Store: (&store{}).fn("X")})
	if err != nil {
		t.Fatal(err)
	}
	_, page := get(t, ticket.URL)
	if strings.Contains(page, "to Together") || strings.Contains(page, "in Together") || !strings.Contains(page, "memory") {
		t.Errorf("the sandbox page claims the value reaches Together:\n%s", page)
	}
}

func TestThePageEscapesEveryTextItShows(t *testing.T) {
	t.Parallel()
	s, _ := newServer(t, intake.Config{})
	const hostile = `<script>alert(1)</script>"'&`
	ticket, err := s.Issue(intake.Request{Name: "N" + hostile, Description: "D" + hostile, Replace: true, ExistingID: "I" + hostile, Store: (&store{}).fn("X")})
	if err != nil {
		t.Fatal(err)
	}
	_, page := get(t, ticket.URL)
	if strings.Contains(page, "<script>") || strings.Count(page, "&lt;script&gt;alert(1)&lt;/script&gt;&#34;&#39;&amp;") != 4 {
		t.Errorf("a text is not escaped, or missing:\n%s", page)
	}
}

func TestAtMostAHundredLinksWaitForTheUserAtOnce(t *testing.T) {
	s, _ := newServer(t, intake.Config{})
	var first *intake.Ticket
	for i := range 100 {
		tk, err := s.Issue(intake.Request{Name: "A", Store: (&store{}).fn("A")})
		if err != nil {
			t.Fatalf("link %d: %v", i+1, err)
		}
		first = cmp.Or(first, tk)
	}
	_, err := s.Issue(intake.Request{Name: "A", Store: (&store{}).fn("A")})
	if err == nil || !strings.Contains(err.Error(), "100 links already wait for the user") || !strings.Contains(err.Error(), "decline") {
		t.Fatalf("the 101st link: %v", err)
	}
	// One ended makes room for the next.
	first.Cancel()
	if _, err := s.Issue(intake.Request{Name: "A", Store: (&store{}).fn("A")}); err != nil {
		t.Errorf("a link once one ended: %v", err)
	}
}
