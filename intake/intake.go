// Package intake serves one-time pages on which the user types a secret
// value in their own browser, so that the value never passes through the
// model. It knows nothing of MCP: a caller issues a link for one secret with
// a function to store the value, hands the link to the user however it can,
// and may wait for the outcome.
//
// The rules, each held by a test:
//   - It listens on loopback only, unless told otherwise, and only while a
//     link is pending (and a short grace after, so a spent link still says
//     so); the Host header must name the address it serves.
//   - A link is http://HOST:PORT/s/TOKEN, TOKEN 256 bits from crypto/rand. It
//     works until one submission succeeds, it expires, or it is cancelled.
//     Only a digest of the token is kept; logs carry a fingerprint of it.
//   - A POST must come from the page itself: its own Origin, or Origin
//     "null" with Sec-Fetch-Site: same-origin. Bodies are capped at 1 MiB.
//   - Pages are plain HTML with no script, loading nothing from elsewhere,
//     sent with a Content-Security-Policy, no-referrer and no-store. They
//     never show a value, a key, or anything of another link.
//   - Unknown tokens are rate limited.
//   - The value goes to the store function and nowhere else; what the page
//     shows of a failure is scrubbed of it. A value that is not valid UTF-8
//     is refused, since it would be stored altered.
//   - The user may decline: the link dies with nothing sent, and a caller
//     waiting on it learns so.
//
// Team (team.go) is the team-mode page, for HTTP mode's replicas: its links
// carry their request sealed (team_link.go), and its rules are on the type.
package intake

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/together-secrets-mcp/together-secrets-mcp/internal/netguard"
	"github.com/together-secrets-mcp/together-secrets-mcp/togetherapi"
)

// Defaults.
const (
	DefaultAddr = "127.0.0.1:0"
	DefaultTTL  = 10 * time.Minute
	// maxBody bounds a submission.
	maxBody = 1 << 20
	// maxWrongTokens is how many unknown tokens a minute are answered
	// before the rest are refused for the minute.
	maxWrongTokens = 30
	// keepTombstones is how long a spent, expired or cancelled link is
	// remembered, so that it can say which.
	keepTombstones = time.Hour
	// maxPending bounds the links waiting for the user at once: each
	// holds its request until it is used or expires, so without a bound a
	// caller that asks again and again holds memory without end, and no
	// user has a hundred values to type at once.
	maxPending = 100
)

// Config configures a Server.
type Config struct {
	// Addr is where to listen; DefaultAddr (a free loopback port) when
	// empty.
	Addr string
	// AllowNonLoopback must be set for an Addr that is not loopback.
	AllowNonLoopback bool
	// TTL is how long a link works; DefaultTTL when zero.
	TTL time.Duration
	// Sandbox says values go to an in-memory stand-in, and pages say so.
	Sandbox bool
	// Redact lists strings no page may show, such as the API key.
	Redact togetherapi.Scrubber
	// Logger receives one event per page request, never a value or token.
	Logger zerolog.Logger
	// Grace is how long the listener stays open once nothing is pending;
	// a minute when zero.
	Grace time.Duration
}

// Request is what a link is for.
type Request struct {
	// Name and Description are shown on the page.
	Name, Description string
	// Replace says a secret of that name exists and its value will be
	// replaced; ExistingID is its ID, shown on the page.
	Replace    bool
	ExistingID string
	// Store stores the value the user submitted and returns the secret's
	// metadata. Its error's text is shown on the page, scrubbed; the link
	// stays usable after a failure.
	Store func(ctx context.Context, value togetherapi.Sensitive) (*togetherapi.Secret, error)
}

// Errors a Ticket's Wait returns.
var (
	ErrExpired   = errors.New("intake: the link expired before a value was stored")
	ErrCancelled = errors.New("intake: the link was cancelled")
	ErrDeclined  = errors.New("intake: the user declined on the page")
)

// state is how a link ended; "" while it is pending.
type state string

const (
	pending   state = ""
	stored    state = "stored"
	expired   state = "expired"
	cancelled state = "cancelled"
	declined  state = "declined"
)

// Ticket is one issued link.
type Ticket struct {
	// URL is the link to give the user.
	URL string
	// ExpiresAt is when the link stops working.
	ExpiresAt time.Time
	// ID names the ticket to the program, not to the user: it is not the
	// link's token, and knowing it opens nothing.
	ID string

	req    Request
	digest [sha256.Size]byte
	done   chan struct{}
	srv    *Server

	// Guarded by srv.mu.
	storing bool
	// endedWhileStoring is the end (expired, cancelled) that came while a
	// submission was being stored; it takes effect only if that fails.
	endedWhileStoring state
	state             state
	secret            *togetherapi.Secret
	timer             *time.Timer
}

// Wait returns the stored secret's metadata once the user has submitted a
// value and it was stored, ErrExpired or ErrCancelled once the link is dead,
// or ctx's error.
func (t *Ticket) Wait(ctx context.Context) (*togetherapi.Secret, error) {
	select {
	case <-t.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	t.srv.mu.Lock()
	defer t.srv.mu.Unlock()
	switch t.state {
	case stored:
		return t.secret, nil
	case expired:
		return nil, ErrExpired
	case declined:
		return nil, ErrDeclined
	}
	return nil, ErrCancelled
}

// Replace reports whether the link replaces an existing secret's value.
func (t *Ticket) Replace() bool { return t.req.Replace }

// Cancel kills the link at once, as when the user declined.
func (t *Ticket) Cancel() { t.srv.finish(t, cancelled, nil) }

// Server serves the intake pages. It is safe for concurrent use.
type Server struct {
	cfg Config
	now func() time.Time

	mu         sync.Mutex
	srv        *http.Server
	ln         net.Listener
	base       string // http://host:port
	hostPort   string
	pending    map[[sha256.Size]byte]*Ticket
	byID       map[string]*Ticket
	tombstones map[[sha256.Size]byte]tombstone
	idleTimer  *time.Timer
	wrong      int
	wrongSince time.Time
}

type tombstone struct {
	state state
	at    time.Time
}

// New returns a Server for cfg; it listens only once a link is issued.
func New(cfg Config) (*Server, error) {
	if cfg.Addr == "" {
		cfg.Addr = DefaultAddr
	}
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.Grace <= 0 {
		cfg.Grace = time.Minute
	}
	host, _, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("%q is not an address such as 127.0.0.1:8765", cfg.Addr)
	}
	if !netguard.IsLoopback(host) && !cfg.AllowNonLoopback {
		return nil, fmt.Errorf("%s is not a loopback address; a page beyond this machine must be chosen explicitly", cfg.Addr)
	}
	return &Server{cfg: cfg, now: time.Now, pending: map[[sha256.Size]byte]*Ticket{}, byID: map[string]*Ticket{},
		tombstones: map[[sha256.Size]byte]tombstone{}}, nil
}

// Issue starts listening if need be, and returns a new one-time link for req.
func (s *Server) Issue(req Request) (*Ticket, error) {
	token := make([]byte, 32)
	id := make([]byte, 16)
	if _, err := rand.Read(token); err != nil {
		return nil, err
	}
	if _, err := rand.Read(id); err != nil {
		return nil, err
	}
	tok := base64.RawURLEncoding.EncodeToString(token)

	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.pending) >= maxPending {
		return nil, fmt.Errorf("%d links already wait for the user, the most this server keeps open at once: "+
			"have the user use or decline them, or wait until they expire (each lasts %s)", maxPending, s.cfg.TTL)
	}
	if err := s.listenLocked(); err != nil {
		return nil, err
	}
	t := &Ticket{
		URL:       s.base + "/s/" + tok,
		ExpiresAt: s.now().Add(s.cfg.TTL).UTC().Truncate(time.Second),
		ID:        hex.EncodeToString(id),
		req:       req,
		digest:    sha256.Sum256([]byte(tok)),
		done:      make(chan struct{}),
		srv:       s,
	}
	s.pending[t.digest] = t
	s.byID[t.ID] = t
	t.timer = time.AfterFunc(s.cfg.TTL, func() { s.finish(t, expired, nil) })
	if s.idleTimer != nil {
		s.idleTimer.Stop()
		s.idleTimer = nil
	}
	s.cfg.Logger.Info().Str("link", fingerprint(t.digest)).Str("secret", s.cfg.Redact.Scrub(req.Name)).
		Bool("replace", req.Replace).Time("expires_at", t.ExpiresAt).Msg("intake link issued")
	return t, nil
}

// Ticket returns the pending or finished ticket with the given ID, if
// it is still known.
func (s *Server) Ticket(id string) (*Ticket, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.byID[id]
	return t, ok
}

// Close stops serving at once; pending links die.
func (s *Server) Close() error {
	s.mu.Lock()
	pending := make([]*Ticket, 0, len(s.pending))
	for _, t := range s.pending {
		pending = append(pending, t)
	}
	s.mu.Unlock()
	for _, t := range pending {
		s.finish(t, cancelled, nil)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closeLocked()
}

// Addr returns the address being served, or "" when not listening.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hostPort
}

func (s *Server) listenLocked() error {
	if s.ln != nil {
		return nil
	}
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("intake: listening on %s: %w", s.cfg.Addr, err)
	}
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1" // the user opens it on this machine, or through a published port
	}
	s.ln = ln
	s.hostPort = net.JoinHostPort(host, port)
	s.base = "http://" + s.hostPort
	s.srv = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       30 * time.Second,
		MaxHeaderBytes:    32 << 10,
		// Connection errors go to the same log, never straight to stderr.
		ErrorLog: log.New(s.cfg.Logger, "", 0),
	}
	srv := s.srv
	go func() { _ = srv.Serve(ln) }()
	s.cfg.Logger.Info().Str("addr", s.hostPort).Msg("intake page listening")
	return nil
}

func (s *Server) closeLocked() error {
	if s.srv == nil {
		return nil
	}
	srv := s.srv
	s.srv, s.ln, s.base, s.hostPort = nil, nil, "", ""
	if s.idleTimer != nil {
		s.idleTimer.Stop()
		s.idleTimer = nil
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}()
	s.cfg.Logger.Info().Msg("intake page closed: nothing pending")
	return nil
}

// finish ends a ticket once, and closes the listener after the grace if
// nothing else is pending.
func (s *Server) finish(t *Ticket, end state, secret *togetherapi.Secret) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t.state != pending {
		return
	}
	if t.storing && end != stored {
		// A value is on its way to Together: what it does decides.
		t.endedWhileStoring = end
		return
	}
	t.state, t.secret = end, secret
	t.timer.Stop()
	delete(s.pending, t.digest)
	s.tombstones[t.digest] = tombstone{state: end, at: s.now()}
	for d, ts := range s.tombstones {
		if s.now().Sub(ts.at) > keepTombstones {
			delete(s.tombstones, d)
		}
	}
	close(t.done)
	// The ID stays known for a while, so a retried call can read the outcome.
	time.AfterFunc(keepTombstones, func() {
		s.mu.Lock()
		delete(s.byID, t.ID)
		s.mu.Unlock()
	})
	s.cfg.Logger.Info().Str("link", fingerprint(t.digest)).Str("outcome", string(end)).Msg("intake link ended")
	if len(s.pending) == 0 && s.srv != nil {
		if s.idleTimer != nil {
			s.idleTimer.Stop()
		}
		s.idleTimer = time.AfterFunc(s.cfg.Grace, func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			if len(s.pending) == 0 {
				_ = s.closeLocked()
			}
		})
	}
}

// fingerprint names a link in the logs without revealing its token.
func fingerprint(d [sha256.Size]byte) string { return netguard.FingerprintOf(d) }
