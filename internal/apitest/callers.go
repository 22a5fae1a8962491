package apitest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/together-secrets-mcp/together-secrets-mcp/sandbox"
)

// Callers stands in for Together with an account for each of a few known
// keys, each the sandbox, which enforces the API's rules; any other key is
// refused with 401, as Together refuses a key it does not know. Every
// request's key, method and path are recorded.
type Callers struct {
	srv      *httptest.Server
	accounts map[string]*sandbox.Server
	mu       sync.Mutex
	seen     []string // "key METHOD path"
}

// NewCallers starts a stand-in that knows keys, stamping secrets with now
// (time.Now when nil); it is closed when the test ends.
func NewCallers(t testing.TB, now func() time.Time, keys ...string) *Callers {
	t.Helper()
	c := &Callers{accounts: map[string]*sandbox.Server{}}
	for _, k := range keys {
		c.accounts[k] = sandbox.New(sandbox.Options{APIKey: k, Now: now})
	}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		c.mu.Lock()
		c.seen = append(c.seen, key+" "+r.Method+" "+r.URL.Path)
		c.mu.Unlock()
		account := c.accounts[key]
		if account == nil {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":{"message":"Invalid API key provided","type":"authentication_error"}}`))
			return
		}
		account.ServeHTTP(w, r)
	}))
	t.Cleanup(c.srv.Close)
	return c
}

// URL is the stand-in's root; the API is under URL()+"/v1".
func (c *Callers) URL() string { return c.srv.URL }

// Account is the account of key, for a test to read what reached it.
func (c *Callers) Account(key string) *sandbox.Server { return c.accounts[key] }

// Requests are the requests seen so far, each as "key METHOD path".
func (c *Callers) Requests() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.seen...)
}

// Changes are the requests seen so far that change something: every one
// but a GET.
func (c *Callers) Changes() []string {
	var out []string
	for _, r := range c.Requests() {
		if _, rest, _ := strings.Cut(r, " "); !strings.HasPrefix(rest, "GET ") {
			out = append(out, r)
		}
	}
	return out
}
