package sandbox

import (
	"container/list"
	"crypto/sha256"
	"net/http"
	"strings"
	"sync"
)

// Accounts is a sandbox per API key: any bearer token is accepted, and each
// distinct one gets an account of its own, so callers of a shared server in
// sandbox mode cannot see each other's secrets. Accounts are found by a
// digest of the key, so no key is kept, and at most max are kept: the least
// recently used is forgotten first.
type Accounts struct {
	opts Options
	max  int

	mu    sync.Mutex
	byKey map[[sha256.Size]byte]*list.Element
	lru   *list.List // of *account, most recent first
}

type account struct {
	digest [sha256.Size]byte
	server *Server
}

// NewAccounts returns an empty set of sandbox accounts, keeping at most max.
func NewAccounts(opts Options, max int) *Accounts {
	opts.APIKey = APIKey // each account's own key; requests are rewritten to it
	return &Accounts{opts: opts, max: max, byKey: map[[sha256.Size]byte]*list.Element{}, lru: list.New()}
}

// ServeHTTP serves the request from the account of its bearer token.
func (a *Accounts) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || token == "" {
		writeError(w, http.StatusUnauthorized, "authentication_error", "Invalid API key provided")
		return
	}
	s := a.account(sha256.Sum256([]byte(token)))
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+APIKey)
	s.ServeHTTP(w, r)
}

// Transport returns a RoundTripper that serves each request in memory from
// the account of its key.
func (a *Accounts) Transport() http.RoundTripper { return roundTripper{a} }

// Len returns how many accounts are kept.
func (a *Accounts) Len() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.lru.Len()
}

func (a *Accounts) account(d [sha256.Size]byte) *Server {
	a.mu.Lock()
	defer a.mu.Unlock()
	if e, ok := a.byKey[d]; ok {
		a.lru.MoveToFront(e)
		return e.Value.(*account).server
	}
	for a.lru.Len() >= a.max && a.lru.Len() > 0 {
		old := a.lru.Back()
		delete(a.byKey, old.Value.(*account).digest)
		a.lru.Remove(old)
	}
	acc := &account{digest: d, server: New(a.opts)}
	a.byKey[d] = a.lru.PushFront(acc)
	return acc.server
}
