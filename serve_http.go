package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/mark3labs/mcp-go/server"
	"github.com/rs/zerolog"

	"github.com/together-secrets-mcp/together-secrets-mcp/sandbox"
	"github.com/together-secrets-mcp/together-secrets-mcp/togetherapi"
	"github.com/together-secrets-mcp/together-secrets-mcp/tools"
)

// Limits of HTTP mode.
const (
	defaultMaxInFlight = 256
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
	maxInFlight    int
	loopback       bool // addr is a loopback address
	// Timeouts; their defaults are set by parseHTTPSettings, and tests
	// shorten them.
	readHeaderTimeout, idleTimeout time.Duration
}

// parseHTTPSettings checks the HTTP settings. A non-loopback address needs
// TLS, or the explicit word that a proxy in front terminates it.
func parseHTTPSettings(addr, cert, key string, behindProxy bool, origins, maxInFlight string) (httpSettings, error) {
	hs := httpSettings{addr: strings.TrimSpace(addr), tlsCert: cert, tlsKey: key, behindProxy: behindProxy,
		readHeaderTimeout: 10 * time.Second, idleTimeout: 120 * time.Second}
	n, err := strconv.Atoi(maxInFlight)
	if err != nil || n < 1 || n > 100000 {
		return hs, settingError("max-in-flight", "%q is not a whole number from 1 to 100000", maxInFlight)
	}
	hs.maxInFlight = n
	for _, o := range strings.Split(origins, ",") {
		if o = strings.TrimSpace(o); o == "" {
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
			return hs, settingError("allowed-origins", "%q is not a full origin such as https://agents.example.com", o)
		}
		hs.allowedOrigins = append(hs.allowedOrigins, u.Scheme+"://"+strings.ToLower(u.Host))
	}
	if (cert == "") != (key == "") {
		return hs, settingError("tls-cert", "and --tls-key (TOGETHER_SECRETS_TLS_KEY) go together: set both or neither")
	}
	if hs.addr == "" {
		return hs, nil
	}
	host, _, err := net.SplitHostPort(hs.addr)
	if err != nil {
		return hs, settingError("http", "%q is not an address such as 127.0.0.1:8080 or :8080", hs.addr)
	}
	hs.loopback = isLoopbackHost(host)
	if !hs.loopback && cert == "" && !behindProxy {
		return hs, settingError("http", "%s listens beyond this machine, where keys would cross the network in clear: "+
			"serve TLS with --tls-cert and --tls-key, or, behind a proxy that terminates TLS, say so with --behind-tls-proxy "+
			"(TOGETHER_SECRETS_BEHIND_TLS_PROXY=true)", hs.addr)
	}
	return hs, nil
}

func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// isLoopbackOrigin reports whether origin is http(s) on a loopback host.
func isLoopbackOrigin(origin string) bool {
	u, err := url.Parse(origin)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && isLoopbackHost(strings.Trim(u.Hostname(), "[]"))
}

// httpAdvice names the settings of HTTP mode for the tools' errors: the key
// is the caller's, sent with each request.
func httpAdvice(cfg config) tools.Advice {
	a := advice(cfg)
	a.KeySource = "the Authorization header your MCP client sends (Bearer and your Together API key)"
	a.SetKey = "Send your Together API key as \"Authorization: Bearer <key>\" in the MCP client's configuration of this server."
	return a
}

// serveHTTP serves MCP over stateless streamable HTTP at /mcp, each request
// with its caller's own key, until ctx is cancelled; then it stops taking
// requests, lets those in flight finish within the call timeout, and
// returns the exit code.
func serveHTTP(ctx context.Context, cfg config, clientCfg togetherapi.Config, logger zerolog.Logger) int {
	h, err := newHTTPHandler(cfg, clientCfg, logger)
	if err != nil {
		logger.Error().Msg("together-secrets-mcp: " + err.Error())
		return 2
	}
	if !cfg.apiKey.IsZero() || cfg.keyCommand != "" {
		logger.Warn().Msg("HTTP mode uses each caller's own key; the server's key setting is ignored")
	}
	srv := h.server(cfg)
	ln, err := net.Listen("tcp", cfg.http.addr)
	if err != nil {
		logger.Error().Msg(settingError("http", "cannot listen on %s: %v", cfg.http.addr, err).Error())
		return 2
	}
	logger.Info().Str("version", buildVersion()).Str("addr", ln.Addr().String()).Bool("tls", cfg.http.tlsCert != "").
		Bool("sandbox", cfg.sandbox).Strs("allowed_origins", cfg.http.allowedOrigins).Int("max_in_flight", cfg.http.maxInFlight).
		Msg("serving MCP over streamable HTTP at /mcp")

	served := make(chan error, 1)
	go func() {
		if cfg.http.tlsCert != "" {
			served <- srv.ServeTLS(ln, cfg.http.tlsCert, cfg.http.tlsKey)
		} else {
			served <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-served:
		logger.Error().Err(err).Msg("HTTP server stopped")
		return 1
	case <-ctx.Done():
	}
	// Stop taking requests; let those in flight finish.
	h.draining.Store(true)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.timeout+5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		logger.Warn().Err(err).Msg("requests still in flight when the shutdown timeout ran out")
	}
	logger.Info().Msg("stopped")
	return 0
}

// httpHandler is HTTP mode's handler: guards, then MCP with the caller's key.
type httpHandler struct {
	settings httpSettings
	base     *togetherapi.Client
	mcp      http.Handler
	logger   zerolog.Logger
	inFlight chan struct{}
	draining atomic.Bool
}

func newHTTPHandler(cfg config, clientCfg togetherapi.Config, logger zerolog.Logger) (*httpHandler, error) {
	clientCfg.APIKey = togetherapi.Sensitive{} // each request brings its own
	if cfg.sandbox {
		clientCfg.BaseURL = sandbox.BaseURL
		clientCfg.Transport = sandbox.NewAccounts(sandbox.Options{}, maxSandboxAccounts).Transport()
		logger.Warn().Msg("sandbox mode: each caller's key has its own in-memory account; nothing reaches Together")
	}
	base, err := togetherapi.New(clientCfg)
	if err != nil {
		return nil, err
	}
	s, err := tools.NewServer(tools.Config{
		Version: buildVersion(),
		Sandbox: cfg.sandbox,
		Logger:  logger,
		Tools:   cfg.tools,
		Advice:  httpAdvice(cfg),
	})
	if err != nil {
		return nil, err
	}
	mcpHTTP := server.NewStreamableHTTPServer(s,
		server.WithStateLess(true),
		// Its transport events go to the same log, not straight to stderr.
		server.WithStreamableHTTPLogger(slog.New(slog.NewTextHandler(logger.With().Str("component", "mcp-http").Logger(), nil))),
	)
	return &httpHandler{
		settings: cfg.http,
		base:     base,
		mcp:      mcpHTTP,
		logger:   logger,
		inFlight: make(chan struct{}, cfg.http.maxInFlight),
	}, nil
}

// server returns the http.Server for h, with every timeout set.
func (h *httpHandler) server(cfg config) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: h.settings.readHeaderTimeout,
		ReadTimeout:       h.settings.readHeaderTimeout + 30*time.Second,
		// A tool call may take the whole call budget before it answers.
		WriteTimeout:   cfg.timeout + 30*time.Second,
		IdleTimeout:    h.settings.idleTimeout,
		MaxHeaderBytes: 64 << 10,
		ErrorLog:       log.New(h.logger.With().Str("component", "http").Logger(), "", 0),
	}
}

func (h *httpHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	caller := ""
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
		if h.draining.Load() {
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

	// Against DNS rebinding: on a loopback address, only a loopback name
	// may be asked for.
	if h.settings.loopback {
		host, _, err := net.SplitHostPort(r.Host)
		if err != nil {
			host = r.Host
		}
		if !isLoopbackHost(strings.Trim(host, "[]")) {
			writePlain(sw, http.StatusForbidden, "forbidden: this server answers only to localhost")
			return
		}
	}
	if origin := r.Header.Get("Origin"); origin != "" {
		switch {
		case slices.Contains(h.settings.allowedOrigins, strings.ToLower(origin)):
			h.cors(sw, origin)
			if r.Method == http.MethodOptions {
				sw.WriteHeader(http.StatusNoContent)
				return
			}
		case h.settings.loopback && isLoopbackOrigin(origin):
			// A page served from this machine; no CORS headers, so a
			// browser lets it call only from the same origin.
		default:
			writePlain(sw, http.StatusForbidden, "forbidden: origin not allowed")
			return
		}
	}
	if r.URL.RawQuery != "" {
		writePlain(sw, http.StatusBadRequest, "bad request: no query parameters are accepted; send the API key in the Authorization header")
		return
	}
	if r.Method == http.MethodGet {
		// Stateless: there is no session for a standing stream to serve,
		// and one held open would take a request slot for nothing. The
		// specification's answer for a server without one is 405.
		sw.Header().Set("Allow", "POST, DELETE")
		writePlain(sw, http.StatusMethodNotAllowed, "method not allowed: this server is stateless and offers no standing event stream; POST each message")
		return
	}

	select {
	case h.inFlight <- struct{}{}:
		defer func() { <-h.inFlight }()
	default:
		sw.Header().Set("Retry-After", "1")
		writePlain(sw, http.StatusServiceUnavailable, "busy: too many requests in flight; retry in a second")
		return
	}

	key, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if key = strings.TrimSpace(key); !ok || key == "" {
		sw.Header().Set("WWW-Authenticate", `Bearer realm="together-secrets-mcp"`)
		writePlain(sw, http.StatusUnauthorized, "unauthorized: send your Together API key as Authorization: Bearer <key>")
		return
	}
	caller = fingerprint(key)

	if r.Method == http.MethodPost {
		switch {
		case r.ContentLength > maxRequestBody:
			writePlain(sw, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", maxRequestBody))
			return
		case r.ContentLength >= 0:
			// Its length is known and within the cap: mcp-go reads it.
		default:
			// Chunked: read it here, so an excess is a 413 and not a
			// JSON-RPC parse error.
			body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody+1))
			if err != nil {
				writePlain(sw, http.StatusBadRequest, "bad request: the body could not be read")
				return
			}
			if len(body) > maxRequestBody {
				writePlain(sw, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", maxRequestBody))
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
	}

	apiKey := togetherapi.NewSensitive(key)
	ctx := tools.WithDeps(r.Context(), tools.Deps{
		Client: h.base.WithAPIKey(apiKey),
		Redact: togetherapi.Scrubber{apiKey},
		Caller: caller,
	})
	h.mcp.ServeHTTP(sw, r.WithContext(ctx))
}

// cors sets the headers that let an allowed browser origin call.
func (h *httpHandler) cors(w http.ResponseWriter, origin string) {
	hd := w.Header()
	hd.Set("Access-Control-Allow-Origin", origin)
	hd.Add("Vary", "Origin")
	hd.Set("Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS")
	hd.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Accept, Mcp-Protocol-Version, Mcp-Session-Id, Last-Event-ID")
	hd.Set("Access-Control-Expose-Headers", "Mcp-Session-Id, WWW-Authenticate")
	hd.Set("Access-Control-Max-Age", "600")
}

// fingerprint tells callers apart in the logs without revealing a key.
func fingerprint(key string) string {
	d := sha256.Sum256([]byte(key))
	return "sha256:" + hex.EncodeToString(d[:6])
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
