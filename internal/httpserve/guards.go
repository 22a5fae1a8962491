package httpserve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/together-secrets-mcp/together-secrets-mcp/internal/netguard"
	"github.com/together-secrets-mcp/together-secrets-mcp/togetherapi"
	"github.com/together-secrets-mcp/together-secrets-mcp/tools"
)

// The guards of /mcp, each a middleware with one job, chained in
// New. A guard that refuses answers in this server's words and
// says what to change; one that passes calls next.

// guard wraps a handler with one check.
type guard func(next http.Handler) http.Handler

// chain puts guards in front of h, the first outermost.
func chain(h http.Handler, guards ...guard) http.Handler {
	for i := len(guards) - 1; i >= 0; i-- {
		h = guards[i](h)
	}
	return h
}

// requestInfo is what the guards learn of a request for its log event.
type requestInfo struct {
	caller string // a fingerprint of the caller's key
}

type requestInfoKey struct{}

// callerKey carries the caller's key from bearerGuard to depsGuard.
type callerKey struct{}

// hostGuard refuses a Host this server was not told to answer to: against
// DNS rebinding on loopback, and a proxy forwarding a name it does not
// know.
func (s *Server) hostGuard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		local, _ := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
		if !s.hostAllowed(r.Host, local) {
			writePlain(w, http.StatusForbidden, fmt.Sprintf("forbidden: this server does not answer to the host %q; "+
				"if a proxy forwards that name, add it to %s on the server", r.Host, s.cfg.Words.AllowedHosts))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// hostAllowed reports whether a request's Host header may be served on a
// connection to local: a loopback name always, an allowed host always, and
// any other only when no list is set and the connection did not come in on
// loopback, where a foreign name is the mark of DNS rebinding.
func (s *Server) hostAllowed(host string, local net.Addr) bool {
	host = strings.ToLower(host)
	name := host
	if hn, _, err := net.SplitHostPort(host); err == nil {
		name = hn
	}
	if netguard.IsLoopback(name) {
		return true
	}
	for _, a := range s.cfg.AllowedHosts {
		if a == host || a == name {
			return true
		}
	}
	if len(s.cfg.AllowedHosts) > 0 || s.loopback {
		return false
	}
	if tcp, ok := local.(*net.TCPAddr); ok && tcp.IP.IsLoopback() {
		return false
	}
	return true
}

// originGuard lets through requests without an Origin (clients that are no
// browser), from a configured origin (with CORS headers, and an answer to
// the preflight), and, on loopback, from a loopback origin.
func (s *Server) originGuard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch origin := r.Header.Get("Origin"); {
		case origin == "":
		case slices.Contains(s.cfg.AllowedOrigins, strings.ToLower(origin)):
			cors(w, origin)
			if r.Method == http.MethodOptions {
				w.WriteHeader(http.StatusNoContent)
				return
			}
		case s.loopback && isLoopbackOrigin(origin):
			// A page served from this machine; no CORS headers, so a
			// browser lets it call only from the same origin.
		default:
			writePlain(w, http.StatusForbidden, "forbidden: origin not allowed; a browser client's origin must be listed in "+s.cfg.Words.AllowedOrigins+" on the server")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// isLoopbackOrigin reports whether origin is http(s) on a loopback host.
func isLoopbackOrigin(origin string) bool {
	u, err := url.Parse(origin)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && netguard.IsLoopback(u.Hostname())
}

// methodGuard refuses a query string, where a key must never go, and GET:
// a stateless server has no session for a standing stream to serve, and
// one held open would take a request slot for nothing.
func methodGuard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.RawQuery != "" {
			writePlain(w, http.StatusBadRequest, "bad request: no query parameters are accepted; send the API key in the Authorization header")
			return
		}
		if r.Method == http.MethodGet {
			w.Header().Set("Allow", "POST, DELETE")
			writePlain(w, http.StatusMethodNotAllowed, "method not allowed: this server is stateless and offers no standing event stream; POST each message")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// bearerGuard takes the caller's Together key from the Authorization
// header, and names the caller in the log by its fingerprint.
func bearerGuard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, ok := bearerToken(r.Header.Get("Authorization"))
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="together-secrets-mcp"`)
			writePlain(w, http.StatusUnauthorized, "unauthorized: send your Together API key in the header \"Authorization: Bearer <key>\", set in your MCP client's configuration of this server")
			return
		}
		if info, ok := r.Context().Value(requestInfoKey{}).(*requestInfo); ok {
			info.caller = netguard.Fingerprint(key)
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), callerKey{}, togetherapi.NewSensitive(key))))
	})
}

// bearerToken reads a bearer token from an Authorization header. The
// scheme is case-insensitive (RFC 7235); the token is not.
func bearerToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// bodyGuard reads a POST's body whole, at most MaxRequestBody bytes and
// within the body deadline, and puts it back for mcp-go to read. The bodies
// held at once share one budget of bytes, taken as they arrive and given
// back when the request is done: a caller who stalls holds no in-flight
// slot, so without it nothing would bound what stalled bodies hold
// together. A drain ends every body still being read at once, rather than
// waiting on a caller who stalls.
func (s *Server) bodyGuard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			next.ServeHTTP(w, r)
			return
		}
		if r.ContentLength > MaxRequestBody {
			writePlain(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", MaxRequestBody))
			return
		}
		rc := http.NewResponseController(w)
		_ = rc.SetReadDeadline(time.Now().Add(s.cfg.BodyTimeout))
		done := s.reading.add(rc)
		var body net.Buffers
		var held int64
		var err error
		if !s.draining.Load() {
			body, held, err = readBody(r.Body, r.ContentLength, s.bodies)
		}
		defer s.bodies.give(held)
		done()
		if s.draining.Load() || err != nil {
			refuseBody(w, err, s.draining.Load(), s.cfg.BodyTimeout)
			return
		}
		_ = rc.SetReadDeadline(time.Time{})
		r.ContentLength = bufferedLen(body)
		r.Body = io.NopCloser(&body)
		next.ServeHTTP(w, r)
	})
}

// refuseBody answers a body that was not read whole: err is why, unless
// the server is draining.
func refuseBody(w http.ResponseWriter, err error, draining bool, timeout time.Duration) {
	switch {
	case draining:
		w.Header().Set("Connection", "close")
		writePlain(w, http.StatusServiceUnavailable, "shutting down: retry, and another replica will answer")
	case errors.Is(err, errBodyTooLarge):
		writePlain(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", MaxRequestBody))
	case errors.Is(err, errNoBodyBudget):
		w.Header().Set("Connection", "close")
		w.Header().Set("Retry-After", "1")
		writePlain(w, http.StatusServiceUnavailable, "busy: too many request bodies are held at once; retry in a second")
	default:
		w.Header().Set("Connection", "close")
		writePlain(w, http.StatusRequestTimeout, fmt.Sprintf("request timeout: the body was not sent within %s", timeout))
	}
}

// How a body is read: in pieces, each taken from the budget before it is
// made, the first small and each twice the last up to the largest, so that
// what a body holds is never much more than what has arrived.
const (
	firstBodyPiece = 4 << 10
	maxBodyPiece   = 64 << 10
)

var (
	errBodyTooLarge = errors.New("request body over the limit")
	errNoBodyBudget = errors.New("no budget left for request bodies")
)

// readBody reads body, declared bytes long or -1 when unknown, into pieces
// taken from budget. It returns them and the bytes they took, to give back
// when the request is done, whatever the error.
func readBody(body io.Reader, declared int64, budget *byteBudget) (pieces net.Buffers, held int64, err error) {
	var n int64
	for size := int64(firstBodyPiece); ; size = min(2*size, maxBodyPiece) {
		// One byte past the limit tells a body over it.
		want := min(size, MaxRequestBody+1-n)
		if declared >= 0 {
			if n == declared {
				return pieces, held, nil
			}
			want = min(want, declared-n)
		}
		if !budget.take(want) {
			return pieces, held, errNoBodyBudget
		}
		held += want
		piece, err := fill(body, make([]byte, want))
		n += int64(len(piece))
		if len(piece) > 0 {
			pieces = append(pieces, piece)
		} else {
			budget.give(want)
			held -= want
		}
		switch {
		case n > MaxRequestBody:
			return pieces, held, errBodyTooLarge
		case err == io.EOF && n < declared:
			// Short of what was declared: cut off, not whole.
			return pieces, held, io.ErrUnexpectedEOF
		case err == io.EOF:
			return pieces, held, nil
		case err != nil:
			return pieces, held, err
		}
	}
}

// fill reads into p until it is full or the first error, which it returns
// as the reader gave it: io.EOF is the end of the body; anything else, such
// as a body cut short, is not.
func fill(r io.Reader, p []byte) ([]byte, error) {
	n := 0
	for n < len(p) {
		k, err := r.Read(p[n:])
		n += k
		if err != nil {
			return p[:n], err
		}
	}
	return p, nil
}

func bufferedLen(b net.Buffers) int64 {
	var n int64
	for _, p := range b {
		n += int64(len(p))
	}
	return n
}

// inFlightGuard serves at most MaxInFlight requests at once, and
// answers the rest 503 at once rather than queueing them.
func (s *Server) inFlightGuard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case s.inFlight <- struct{}{}:
			defer func() { <-s.inFlight }()
		default:
			w.Header().Set("Retry-After", "1")
			writePlain(w, http.StatusServiceUnavailable, "busy: too many requests in flight; retry in a second")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// depsGuard gives the request's tool calls a client with the caller's key.
func (s *Server) depsGuard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, _ := r.Context().Value(callerKey{}).(togetherapi.Sensitive)
		var caller string
		if info, ok := r.Context().Value(requestInfoKey{}).(*requestInfo); ok {
			caller = info.caller
		}
		ctx := tools.WithDeps(r.Context(), tools.Deps{Client: s.cfg.Base.WithAPIKey(key), Caller: caller})
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// bodyReads are the requests whose bodies are being read, so that a drain
// can end them at once.
type bodyReads struct {
	mu   sync.Mutex
	next int
	rcs  map[int]*http.ResponseController
}

// add records rc and returns the function that forgets it.
func (b *bodyReads) add(rc *http.ResponseController) (done func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.rcs == nil {
		b.rcs = map[int]*http.ResponseController{}
	}
	id := b.next
	b.next++
	b.rcs[id] = rc
	return func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		delete(b.rcs, id)
	}
}

// cutAll makes every body being read fail now.
func (b *bodyReads) cutAll() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, rc := range b.rcs {
		_ = rc.SetReadDeadline(time.Now())
	}
}

// cors sets the headers that let an allowed browser origin call.
func cors(w http.ResponseWriter, origin string) {
	hd := w.Header()
	hd.Set("Access-Control-Allow-Origin", origin)
	hd.Add("Vary", "Origin")
	hd.Set("Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS")
	hd.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Accept, Mcp-Protocol-Version, Mcp-Session-Id, Last-Event-ID")
	hd.Set("Access-Control-Expose-Headers", "Mcp-Session-Id, WWW-Authenticate")
	hd.Set("Access-Control-Max-Age", "600")
}

// byteBudget is a number of bytes that requests take from and give back.
type byteBudget struct {
	mu   sync.Mutex
	size int64
	free int64
}

func newByteBudget(size int64) *byteBudget {
	return &byteBudget{size: size, free: size}
}

// take takes n bytes if they are free, and reports whether it did. It
// never waits: a request that cannot have them is refused at once.
func (b *byteBudget) take(n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if n > b.free {
		return false
	}
	b.free -= n
	return true
}

func (b *byteBudget) give(n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.free += n
}

// held is how many bytes are taken.
func (b *byteBudget) held() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.size - b.free
}
