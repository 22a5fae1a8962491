// Package httpserve is HTTP mode: MCP over stateless streamable HTTP at
// /mcp, each request with its caller's own key, behind guards that each do
// one job (one file each), with /healthz, /readyz, a connection cap and the
// drain on shutdown. It takes its settings, checked, and the words that
// name them from its caller, and reads no environment.
package httpserve

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"path"
	"sync/atomic"
	"time"

	"github.com/mark3labs/mcp-go/server"
	"github.com/rs/zerolog"

	"github.com/together-secrets-mcp/together-secrets-mcp/internal/netguard"
	"github.com/together-secrets-mcp/together-secrets-mcp/togetherapi"
	"github.com/together-secrets-mcp/together-secrets-mcp/tools"
)

// MaxRequestBody bounds a request: the largest tool call's arguments
// (448 KiB) and its JSON-RPC envelope.
const MaxRequestBody = 1 << 20

// The timeouts a Config leaves at zero.
const (
	defaultReadHeaderTimeout = 10 * time.Second
	// defaultBodyTimeout bounds reading one request's body. It is read
	// before an in-flight slot is taken, so a caller who stalls holds only
	// its own connection, and only this long.
	defaultBodyTimeout = 10 * time.Second
	defaultIdleTimeout = 120 * time.Second
)

// Config is what HTTP mode serves with: settings the caller has checked
// together (a non-loopback address has TLS or a proxy in front; there are
// at least as many connections as requests in flight), and the words that
// name them.
type Config struct {
	// Addr is where to listen, such as 127.0.0.1:8080.
	Addr string
	// TLSCert and TLSKey are the files to serve TLS with; both empty for
	// plain HTTP.
	TLSCert, TLSKey string
	// AllowedOrigins are the browser origins that may call, each a
	// lower-case scheme://host.
	AllowedOrigins []string
	// AllowedHosts are the Host names, lower-case, that a proxy may
	// forward; a loopback name is always allowed.
	AllowedHosts []string
	// MaxInFlight bounds the requests served at once; MaxConnections the
	// connections open at once, beyond which one serving no request gives
	// up its place, or new ones wait to be accepted.
	MaxInFlight, MaxConnections int
	// BodyBudget is the bytes that the request bodies held at once may
	// take together.
	BodyBudget int64
	// ShutdownDelay is how long, once ctx is done, Serve keeps serving with
	// /readyz failing before it stops taking requests.
	ShutdownDelay time.Duration
	// CallTimeout is the time budget of one tool call: an answer may take
	// it whole, and the drain waits that long for the calls in flight.
	CallTimeout time.Duration
	// Timeouts of a request's headers, of its body, and of an idle
	// connection; zero for 10s, 10s and 120s.
	ReadHeaderTimeout, BodyTimeout, IdleTimeout time.Duration
	// Tools is the MCP server to serve at /mcp.
	Tools tools.Config
	// Page, when set, is served beside MCP, such as the team-mode value
	// page.
	Page *Page
	// Base is the client each request's is made from, with the caller's
	// key; it holds none itself.
	Base   *togetherapi.Client
	Logger zerolog.Logger
	// Words name the settings a refusal tells the caller to change.
	Words Words
}

// Words name the settings that HTTP mode's refusals tell a caller to have
// changed on the server, as the operator sets them, such as
// "--allowed-hosts (TOGETHER_SECRETS_ALLOWED_HOSTS)".
type Words struct {
	AllowedHosts   string
	AllowedOrigins string
}

// SettingError is a setting HTTP mode cannot serve with, such as an
// address it cannot listen on. The caller words it as the operator set it.
type SettingError struct {
	Setting string // the field of Config, such as "Addr"
	Problem string // what is wrong, without the setting's name
	Err     error
}

func (e *SettingError) Error() string { return e.Setting + ": " + e.Problem }

func (e *SettingError) Unwrap() error { return e.Err }

// Server is HTTP mode's handler: /healthz, /readyz, MCP at /mcp behind its
// guards, each request with its caller's own key, and a Page if one is set.
type Server struct {
	cfg      Config
	loopback bool // Addr is a loopback address
	inFlight chan struct{}
	draining atomic.Bool
	notReady atomic.Bool // /readyz fails: ctx is done
	reading  bodyReads
	bodies   *byteBudget // what the bodies held at once may take together
	// mux routes each path to its handler; a page served beside MCP is
	// one more route.
	mux *http.ServeMux
}

// New builds HTTP mode's handler for cfg.
func New(cfg Config) (*Server, error) {
	cfg.ReadHeaderTimeout = cmp.Or(cfg.ReadHeaderTimeout, defaultReadHeaderTimeout)
	cfg.BodyTimeout = cmp.Or(cfg.BodyTimeout, defaultBodyTimeout)
	cfg.IdleTimeout = cmp.Or(cfg.IdleTimeout, defaultIdleTimeout)
	mcpServer, err := tools.NewServer(cfg.Tools)
	if err != nil {
		return nil, err
	}
	mcpHTTP := server.NewStreamableHTTPServer(mcpServer,
		server.WithStateLess(true),
		// This server checks Host itself, with the allowed hosts for a
		// proxy in front and refusals that say what to change.
		server.WithDisableLocalhostProtection(true),
		// Its transport events go to the same log, not straight to stderr.
		server.WithStreamableHTTPLogger(slog.New(slog.NewTextHandler(cfg.Logger.With().Str("component", "mcp-http").Logger(), nil))),
	)
	host, _, _ := net.SplitHostPort(cfg.Addr)
	s := &Server{
		cfg:      cfg,
		loopback: netguard.IsLoopback(host),
		inFlight: make(chan struct{}, cfg.MaxInFlight),
		bodies:   newByteBudget(cfg.BodyBudget),
		mux:      http.NewServeMux(),
	}
	// The order matters: cheap refusals first; then the body, read whole
	// under its own deadline; only then a slot, so a caller who stalls
	// holds none.
	s.mux.Handle("/mcp", chain(mcpHTTP, s.hostGuard, s.originGuard, methodGuard, s.bearerGuard, s.bodyGuard, s.inFlightGuard))
	s.mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { writePlain(w, http.StatusOK, "ok") })
	s.mux.HandleFunc("/readyz", s.readyz)
	s.mux.HandleFunc("/", notFound)
	if cfg.Page != nil {
		s.mountPage(cfg.Page)
	}
	return s, nil
}

// Serve serves MCP over stateless streamable HTTP at /mcp on cfg.Addr
// until ctx is done; then it stops taking requests, lets those in flight
// finish within the call timeout, and returns nil. An address it cannot
// listen on is a *SettingError.
func (s *Server) Serve(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return &SettingError{Setting: "Addr", Problem: fmt.Sprintf("cannot listen on %s: %v", s.cfg.Addr, err), Err: err}
	}
	srv, capped := s.server(ln)
	logger := s.cfg.Logger
	logger.Info().Str("version", s.cfg.Tools.Version).Str("addr", ln.Addr().String()).Bool("tls", s.cfg.TLSCert != "").
		Bool("sandbox", s.cfg.Tools.Sandbox).Strs("allowed_origins", s.cfg.AllowedOrigins).Int("max_in_flight", s.cfg.MaxInFlight).
		Int("max_connections", s.cfg.MaxConnections).Int64("body_budget_bytes", s.bodies.size).
		Msg("serving MCP over streamable HTTP at /mcp")

	served := make(chan error, 1)
	go func() {
		if s.cfg.TLSCert != "" {
			served <- srv.ServeTLS(capped, s.cfg.TLSCert, s.cfg.TLSKey)
		} else {
			served <- srv.Serve(capped)
		}
	}()
	select {
	case err := <-served:
		logger.Error().Err(err).Msg("HTTP server stopped")
		return fmt.Errorf("HTTP server stopped: %w", err)
	case <-ctx.Done():
	}
	// Say so to the load balancer at once, and keep serving while it
	// stops sending: endpoints take a second or more to forget a pod.
	s.notReady.Store(true)
	if d := s.cfg.ShutdownDelay; d > 0 {
		logger.Info().Dur("shutdown_delay", d).Msg("not ready: still serving until load balancers stop sending")
		select {
		case <-time.After(d):
		case err := <-served:
			logger.Error().Err(err).Msg("HTTP server stopped")
			return fmt.Errorf("HTTP server stopped: %w", err)
		}
	}
	// Stop taking requests; let those in flight finish, but end any body
	// still being read: its caller may never finish sending it.
	s.drain()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), s.cfg.CallTimeout+5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		logger.Warn().Err(err).Msg("requests still in flight when the shutdown timeout ran out")
	}
	logger.Info().Msg("stopped")
	return nil
}

// drain marks the server as stopping: /readyz fails, and every request
// body still being read ends now with 503.
func (s *Server) drain() {
	s.draining.Store(true)
	s.reading.cutAll()
}

// server returns the http.Server for s, with every timeout set, to serve
// on ln behind the connection cap, which it tells what each connection is
// doing.
func (s *Server) server(ln net.Listener) (*http.Server, *connCap) {
	capped := newConnCap(ln, s.cfg.MaxConnections)
	return &http.Server{
		Handler:           s,
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		ReadTimeout:       s.cfg.ReadHeaderTimeout + 30*time.Second,
		// A tool call may take the whole call budget before it answers.
		WriteTimeout:   s.cfg.CallTimeout + 30*time.Second,
		IdleTimeout:    s.cfg.IdleTimeout,
		MaxHeaderBytes: 64 << 10,
		ErrorLog:       log.New(s.cfg.Logger.With().Str("component", "http").Logger(), "", 0),
		ConnState:      capped.track,
	}, capped
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	info := &requestInfo{}
	defer func() {
		// One event per request; never the key, at most its fingerprint.
		logger := s.cfg.Logger
		ev := logger.Info()
		if sw.status >= 500 || (sw.status >= 400 && sw.status != http.StatusUnauthorized) {
			ev = logger.Warn()
		}
		ev = ev.Str("method", r.Method).Str("path", s.loggedPath(r)).Int("status", sw.code()).Dur("duration_ms", time.Since(start))
		if caller := info.deps.Caller; caller != "" {
			ev = ev.Str("caller", caller)
		}
		ev.Msg("http request")
	}()
	defer func() {
		// Runs before the log event above. A panic's value could hold anything, a key included: it is
		// neither sent nor logged, unlike net/http's own recovery.
		if p := recover(); p != nil {
			s.cfg.Logger.Error().Str("path", s.loggedPath(r)).Msg("panic serving an HTTP request")
			if sw.status == 0 {
				writePlain(sw, http.StatusInternalServerError, "internal error")
			}
		}
	}()
	// The mux would answer a path not in its clean form, such as //mcp,
	// with a redirect to it; no such path is served.
	if !cleanPath(r.URL.Path) {
		notFound(sw, r)
		return
	}
	s.mux.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), requestInfoKey{}, info)))
}

// loggedPath is r's path for its log event: as it is where the mux serves
// it, and otherwise by its length alone. A client set up with its key in
// the URL, as some hosted servers take it, sends the key in the path.
// A page's links are logged by the page's path: each holds a sealed
// ticket, and the page logs the link by a fingerprint of it.
func (s *Server) loggedPath(r *http.Request) string {
	_, pattern := s.mux.Handler(r)
	switch {
	case !cleanPath(r.URL.Path) || pattern == "/":
		return fmt.Sprintf("(a path not served, %d bytes)", len(r.URL.Path))
	case s.cfg.Page != nil && pattern == s.cfg.Page.Path:
		return pattern
	}
	return r.URL.Path
}

// cleanPath reports whether p is in the form http.ServeMux routes without
// a redirect.
func cleanPath(p string) bool {
	c := path.Clean(p)
	return p != "" && p[0] == '/' && (p == c || p == c+"/")
}

func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	if s.notReady.Load() || s.draining.Load() {
		writePlain(w, http.StatusServiceUnavailable, "shutting down")
		return
	}
	writePlain(w, http.StatusOK, "ready")
}

func notFound(w http.ResponseWriter, _ *http.Request) {
	writePlain(w, http.StatusNotFound, "not found: MCP is served at /mcp")
}

func writePlain(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, msg+"\n")
}

// statusWriter records the status for the request's log event, and passes
// Flush through, which streamed responses need.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) code() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

// requestInfo is what the guards learn of a request for its log event:
// the Deps its tool calls were given, once the bearer guard has built them.
type requestInfo struct {
	deps tools.Deps
}

type requestInfoKey struct{}
