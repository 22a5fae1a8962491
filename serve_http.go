package main

import (
	"context"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/mark3labs/mcp-go/server"
	"github.com/rs/zerolog"

	"github.com/together-secrets-mcp/together-secrets-mcp/internal/netguard"
	"github.com/together-secrets-mcp/together-secrets-mcp/togetherapi"
	"github.com/together-secrets-mcp/together-secrets-mcp/tools"
)

// Limits of HTTP mode.
const (
	defaultMaxInFlight = 256
	// defaultMaxConnections bounds the open connections, apart from the
	// requests being served, so callers that stall cannot hold every
	// descriptor; beyond it, a connection serving no request gives up its
	// place, or new connections wait to be accepted.
	defaultMaxConnections = 1024
	// bodyTimeout bounds reading one request's body. It is read before an
	// in-flight slot is taken, so a caller who stalls holds only its own
	// connection, and only this long.
	bodyTimeout = 10 * time.Second
	// maxRequestBody bounds a request: the largest tool call's arguments
	// (448 KiB) and its JSON-RPC envelope.
	maxRequestBody = 1 << 20
	// maxSandboxAccounts bounds the in-memory accounts of sandbox mode.
	maxSandboxAccounts = 1000
)

// httpSettings configures HTTP mode.
type httpSettings struct {
	addr           string // "" for stdio
	tlsCert        string
	tlsKey         string
	behindProxy    bool
	allowedOrigins []string
	// allowedHosts are the Host names, lower-case, that a proxy may
	// forward; a loopback name is always allowed.
	allowedHosts   []string
	maxInFlight    int
	maxConnections int
	loopback       bool // addr is a loopback address
	// shutdownDelay is how long a SIGTERM keeps the server serving with
	// /readyz failing, before it stops taking requests.
	shutdownDelay time.Duration
	// Timeouts; their defaults are set by check, and tests shorten them.
	readHeaderTimeout, bodyTimeout, idleTimeout time.Duration
}

// check checks the HTTP settings together, and sets the timeouts. A
// non-loopback address needs TLS, or the explicit word that a proxy in
// front terminates it.
func (hs *httpSettings) check() error {
	hs.readHeaderTimeout, hs.bodyTimeout, hs.idleTimeout = 10*time.Second, bodyTimeout, 120*time.Second
	if hs.maxConnections < hs.maxInFlight {
		return settingError("max-connections", "%d is fewer than %s, %d: every request needs a connection", hs.maxConnections, settingName("max-in-flight"), hs.maxInFlight)
	}
	if (hs.tlsCert == "") != (hs.tlsKey == "") {
		return settingError("tls-cert", "and %s go together: set both or neither", settingName("tls-key"))
	}
	if hs.addr == "" {
		return nil
	}
	host, _, _ := net.SplitHostPort(hs.addr)
	hs.loopback = netguard.IsLoopback(host)
	if !hs.loopback && hs.tlsCert == "" && !hs.behindProxy {
		return settingError("http", "%s listens beyond this machine, where keys would cross the network in clear: "+
			"serve TLS with %s and %s, or, behind a proxy that terminates TLS, say so with %s set to true", hs.addr, settingName("tls-cert"), settingName("tls-key"), settingName("behind-tls-proxy"))
	}
	return nil
}

// hostAllowed reports whether a request's Host header may be served on a
// connection to local: a loopback name always, a name listed in
// --allowed-hosts always, and any other only when no list is set and the
// connection did not come in on loopback, where a foreign name is the mark
// of DNS rebinding.
func (hs httpSettings) hostAllowed(host string, local net.Addr) bool {
	host = strings.ToLower(host)
	name := host
	if hn, _, err := net.SplitHostPort(host); err == nil {
		name = hn
	}
	if netguard.IsLoopback(name) {
		return true
	}
	for _, a := range hs.allowedHosts {
		if a == host || a == name {
			return true
		}
	}
	if len(hs.allowedHosts) > 0 || hs.loopback {
		return false
	}
	if tcp, ok := local.(*net.TCPAddr); ok && tcp.IP.IsLoopback() {
		return false
	}
	return true
}

// isLoopbackOrigin reports whether origin is http(s) on a loopback host.
func isLoopbackOrigin(origin string) bool {
	u, err := url.Parse(origin)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && netguard.IsLoopback(u.Hostname())
}

// httpAdvice names the settings of HTTP mode for the tools' errors: the key
// is the caller's, sent with each request.
func httpAdvice(cfg config) tools.Advice {
	a := advice(cfg)
	a.KeySource = "the Authorization header your MCP client sends (Bearer and your Together API key)"
	a.SetKey = "Send your Together API key as \"Authorization: Bearer <key>\" in the MCP client's configuration of this server."
	a.RejectedKey = "put a current key from the Together dashboard (Settings > API keys) in the \"Authorization: Bearer <key>\" header " +
		"that your MCP client sends to this server (its configuration of this server), then reconnect. Nothing on the server needs to change."
	return a
}

// serveHTTP serves MCP over stateless streamable HTTP at /mcp, each request
// with its caller's own key, until ctx is cancelled; then it stops taking
// requests, lets those in flight finish within the call timeout, and
// returns the exit code.
func serveHTTP(ctx context.Context, cfg config, base *togetherapi.Client, logger zerolog.Logger, errOut io.Writer) int {
	h, err := newHTTPHandler(cfg, base, logger)
	if err != nil {
		return startupFailed(errOut, err)
	}
	for _, note := range cfg.ignored {
		logger.Warn().Msg(note + ": HTTP mode uses each caller's own key, and serves no page or dotenv file")
	}
	if cfg.tools.ValuesFromUserOnly {
		logger.Warn().Msg(settingName("values-from-user-only") + " is set, and HTTP mode serves no page or dotenv file: no tool can set a value; secrets can only be listed, read, renamed, described and deleted")
	}
	ln, err := net.Listen("tcp", cfg.http.addr)
	if err != nil {
		return startupFailed(errOut, settingError("http", "cannot listen on %s: %v", cfg.http.addr, err))
	}
	srv, capped := h.server(cfg, ln)
	logger.Info().Str("version", buildVersion()).Str("addr", ln.Addr().String()).Bool("tls", cfg.http.tlsCert != "").
		Bool("sandbox", cfg.sandbox).Strs("allowed_origins", cfg.http.allowedOrigins).Int("max_in_flight", cfg.http.maxInFlight).
		Int("max_connections", cfg.http.maxConnections).Int64("body_budget_bytes", h.bodies.size).
		Msg("serving MCP over streamable HTTP at /mcp")

	served := make(chan error, 1)
	go func() {
		if cfg.http.tlsCert != "" {
			served <- srv.ServeTLS(capped, cfg.http.tlsCert, cfg.http.tlsKey)
		} else {
			served <- srv.Serve(capped)
		}
	}()
	select {
	case err := <-served:
		logger.Error().Err(err).Msg("HTTP server stopped")
		return 1
	case <-ctx.Done():
	}
	// Say so to the load balancer at once, and keep serving while it
	// stops sending: endpoints take a second or more to forget a pod.
	h.notReady.Store(true)
	if d := cfg.http.shutdownDelay; d > 0 {
		logger.Info().Dur("shutdown_delay", d).Msg("not ready: still serving until load balancers stop sending")
		select {
		case <-time.After(d):
		case err := <-served:
			logger.Error().Err(err).Msg("HTTP server stopped")
			return 1
		}
	}
	// Stop taking requests; let those in flight finish, but end any body
	// still being read: its caller may never finish sending it.
	h.drain()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.timeout+5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		logger.Warn().Err(err).Msg("requests still in flight when the shutdown timeout ran out")
	}
	logger.Info().Msg("stopped")
	return 0
}

// drain marks the server as stopping: /readyz fails, and every request
// body still being read ends now with 503.
func (h *httpHandler) drain() {
	h.draining.Store(true)
	h.reading.cutAll()
}

// httpHandler is HTTP mode's handler: guards, then MCP with the caller's key.
type httpHandler struct {
	settings httpSettings
	base     *togetherapi.Client
	logger   zerolog.Logger
	inFlight chan struct{}
	draining atomic.Bool
	notReady atomic.Bool // /readyz fails: a SIGTERM came
	reading  bodyReads
	bodies   *byteBudget // what the bodies held at once may take together
	// guarded is mcp behind the guards of /mcp.
	guarded http.Handler
}

// newHTTPHandler serves MCP with base, which holds no key: each request's
// client is base with its caller's key.
func newHTTPHandler(cfg config, base *togetherapi.Client, logger zerolog.Logger) (*httpHandler, error) {
	if cfg.sandbox {
		logger.Warn().Msg("sandbox mode: each caller's key has its own in-memory account; nothing reaches Together")
	}
	s, err := tools.NewServer(tools.Config{
		Version: buildVersion(),
		Sandbox: cfg.sandbox,
		Logger:  logger,
		Tools:   cfg.tools,
		Advice:  httpAdvice(cfg),

		NamePrefixes: cfg.namePrefixes,
		Audit:        cfg.audit,
	})
	if err != nil {
		return nil, err
	}
	mcpHTTP := server.NewStreamableHTTPServer(s,
		server.WithStateLess(true),
		// This server checks Host itself, with --allowed-hosts for a proxy
		// in front and refusals that say what to change.
		server.WithDisableLocalhostProtection(true),
		// Its transport events go to the same log, not straight to stderr.
		server.WithStreamableHTTPLogger(slog.New(slog.NewTextHandler(logger.With().Str("component", "mcp-http").Logger(), nil))),
	)
	h := &httpHandler{
		settings: cfg.http,
		base:     base,
		logger:   logger,
		inFlight: make(chan struct{}, cfg.http.maxInFlight),
		bodies:   newByteBudget(bodyBudget(memoryLimit())),
	}
	// The order matters: cheap refusals first; then the body, read whole
	// under its own deadline; only then a slot, so a caller who stalls
	// holds none.
	h.guarded = chain(mcpHTTP, h.hostGuard, h.originGuard, methodGuard, bearerGuard, h.bodyGuard, h.inFlightGuard, h.depsGuard)
	return h, nil
}

// server returns the http.Server for h, with every timeout set, to serve
// on ln behind the connection cap, which it tells what each connection is
// doing.
func (h *httpHandler) server(cfg config, ln net.Listener) (*http.Server, *connCap) {
	capped := newConnCap(ln, h.settings.maxConnections)
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: h.settings.readHeaderTimeout,
		ReadTimeout:       h.settings.readHeaderTimeout + 30*time.Second,
		// A tool call may take the whole call budget before it answers.
		WriteTimeout:   cfg.timeout + 30*time.Second,
		IdleTimeout:    h.settings.idleTimeout,
		MaxHeaderBytes: 64 << 10,
		ErrorLog:       log.New(h.logger.With().Str("component", "http").Logger(), "", 0),
		ConnState:      capped.track,
	}, capped
}

func (h *httpHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	var caller string
	defer func() {
		// One event per request; never the key, at most its fingerprint.
		ev := h.logger.Info()
		if sw.status >= 500 || (sw.status >= 400 && sw.status != http.StatusUnauthorized) {
			ev = h.logger.Warn()
		}
		ev = ev.Str("method", r.Method).Str("path", r.URL.Path).Int("status", sw.code()).Dur("duration_ms", time.Since(start))
		if caller != "" {
			ev = ev.Str("caller", caller)
		}
		ev.Msg("http request")
	}()
	defer func() {
		// Runs before the log event above. A panic's value could hold anything, a key included: it is
		// neither sent nor logged, unlike net/http's own recovery.
		if p := recover(); p != nil {
			h.logger.Error().Str("path", r.URL.Path).Msg("panic serving an HTTP request")
			if sw.status == 0 {
				writePlain(sw, http.StatusInternalServerError, "internal error")
			}
		}
	}()

	switch r.URL.Path {
	case "/healthz":
		writePlain(sw, http.StatusOK, "ok")
		return
	case "/readyz":
		if h.notReady.Load() || h.draining.Load() {
			writePlain(sw, http.StatusServiceUnavailable, "shutting down")
			return
		}
		writePlain(sw, http.StatusOK, "ready")
		return
	case "/mcp":
	default:
		writePlain(sw, http.StatusNotFound, "not found: MCP is served at /mcp")
		return
	}

	info := &requestInfo{}
	h.guarded.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), requestInfoKey{}, info)))
	caller = info.caller
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
