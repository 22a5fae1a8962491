// Command together-secrets-mcp is an MCP server that lets AI assistants and
// coding agents store secrets in a Together AI account without ever seeing a
// value again.
//
// Run with no arguments it serves one agent on stdin and stdout with the
// operator's key; with --http it serves many over streamable HTTP, each with
// its own key. "demo" creates a secret in the in-memory sandbox, attaches it
// to a deployment and reads it back, through this same binary as an MCP
// server. --help lists every setting.
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"slices"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/together-secrets-mcp/together-secrets-mcp/intake"
	"github.com/together-secrets-mcp/together-secrets-mcp/internal/asynclog"
	"github.com/together-secrets-mcp/together-secrets-mcp/internal/audit"
	"github.com/together-secrets-mcp/together-secrets-mcp/internal/envfile"
	"github.com/together-secrets-mcp/together-secrets-mcp/internal/httpserve"
	"github.com/together-secrets-mcp/together-secrets-mcp/internal/linkseal"
	"github.com/together-secrets-mcp/together-secrets-mcp/sandbox"
	"github.com/together-secrets-mcp/together-secrets-mcp/togetherapi"
	"github.com/together-secrets-mcp/together-secrets-mcp/tools"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version string

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr))
}

// run is main with its dependencies passed in, and returns the exit code.
func run(args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	cfg, err := parseConfig(args, getenv)
	if err != nil {
		return startupFailed(stderr, err)
	}
	switch cfg.command {
	case "help":
		usage(stdout, buildVersion())
		return 0
	case "version":
		fmt.Fprintf(stdout, "together-secrets-mcp %s\n", buildVersion())
		return 0
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	// Before the log starts, so that their failures read like every other
	// start-up error.
	rs, err := prepare(ctx, cfg)
	if err != nil {
		return startupFailed(stderr, err)
	}
	if cfg.command == "demo" {
		return runDemo(ctx, stdout, stderr)
	}

	// Log lines are written in the background, so no tool call waits on
	// stderr; Close flushes them all before the program exits.
	logOut := asynclog.New(stderr, 1<<20, func(n int) []byte {
		var b bytes.Buffer
		l := newLogger(cfg, &b)
		l.Warn().Int("dropped_log_lines", n).Msg("log lines were dropped: stderr was not being read")
		return b.Bytes()
	})
	// A host that never reads stderr must not hold up the exit either.
	defer logOut.Close(2 * time.Second)
	logger := newLogger(cfg, logOut)
	if limit := setMemoryLimit(getenv, os.ReadFile); limit > 0 {
		logger.Info().Int64("memory_limit_bytes", limit).Msg("Go memory limit set to 90% of the container's")
	}
	client, err := newClient(cfg, rs.key)
	if err != nil {
		return startupFailed(logOut, err)
	}
	// From here on the key is the client's alone.
	rs.key = togetherapi.Sensitive{}
	if cfg.auditLog != "" {
		if rs.audit, err = audit.Open(cfg.auditLog); err != nil {
			return startupFailed(logOut, settingError("audit-log", "%v", err))
		}
		defer rs.audit.Close()
		// Until run returns, not only until the first SIGTERM: a SIGHUP
		// during the drain must reopen the trail, not kill the calls still
		// in flight with their outcomes unwritten.
		defer reopenOnHangUp(rs.audit, logger)()
	}
	if cfg.http.addr != "" {
		return serveHTTP(ctx, cfg, rs, client, logger, logOut)
	}
	return serveStdio(ctx, cfg, rs, client, logger, logOut, stdin, stdout)
}

// resources are what run opens and resolves from the settings, which only
// name them: the operator's key (until the client holds it), the dotenv
// files, and the audit trail.
type resources struct {
	key          togetherapi.Sensitive
	envFiles     []envfile.Source
	envFileNotes []string // what start-up made of the dotenv files, to log
	audit        *audit.Log
	// linkKeys seal the team page's links; linkKeysMade says they were
	// made in memory, for want of a link key file.
	linkKeys     *linkseal.Keys
	linkKeysMade bool
}

// prepare resolves the key that cfg names, refuses a setting that holds
// it, then opens the dotenv files and reads the link keys: in that order,
// so that a key set where a path goes is refused before an error of
// opening it could repeat it.
func prepare(ctx context.Context, cfg config) (resources, error) {
	var rs resources
	var err error
	if rs.key, err = resolveKey(ctx, cfg); err != nil {
		return rs, err
	}
	if err = cfg.noSettingHoldsKey(rs.key); err != nil {
		return rs, err
	}
	if rs.envFiles, rs.envFileNotes, err = openEnvFiles(cfg.envFiles); err != nil {
		return rs, err
	}
	rs.linkKeys, rs.linkKeysMade, err = linkKeys(cfg)
	return rs, err
}

// openEnvFiles opens each dotenv file as it is now, once: a file named
// twice, once by a relative path, is one.
func openEnvFiles(paths []string) (files []envfile.Source, notes []string, err error) {
	for _, path := range paths {
		src, err := envfile.Open(path)
		if err != nil {
			return nil, nil, settingError("env-file", "cannot use %s as a dotenv file: %v", path, err)
		}
		if !filepath.IsAbs(path) {
			notes = append(notes, fmt.Sprintf("--env-file %s is a relative path, taken as %s from the directory the server started in; "+
				"an absolute path does not depend on where a host starts the server", path, src.Path))
		}
		if !slices.ContainsFunc(files, func(s envfile.Source) bool { return s.Path == src.Path }) {
			files = append(files, src)
		}
	}
	return files, notes, nil
}

// serveHTTP serves MCP over HTTP, each request with its caller's own key,
// until ctx is cancelled and the calls in flight have finished, and returns
// the exit code. base holds no key.
func serveHTTP(ctx context.Context, cfg config, rs resources, base *togetherapi.Client, logger zerolog.Logger, errOut io.Writer) int {
	if cfg.sandbox {
		logger.Warn().Msg("sandbox mode: each caller's key has its own in-memory account; nothing reaches Together")
	}
	toolsCfg := tools.Config{
		Version: buildVersion(),
		Sandbox: cfg.sandbox,
		Logger:  logger,
		Tools:   cfg.tools,
		Advice:  httpAdvice(cfg),

		NamePrefixes: cfg.namePrefixes,
		Audit:        rs.audit,
	}
	page, err := teamPage(cfg, rs, &toolsCfg, base, logger)
	if err != nil {
		return startupFailed(errOut, err)
	}
	srv, err := httpserve.New(httpserve.Config{
		Addr:           cfg.http.addr,
		TLSCert:        cfg.http.tlsCert,
		TLSKey:         cfg.http.tlsKey,
		AllowedOrigins: cfg.http.allowedOrigins,
		AllowedHosts:   cfg.http.allowedHosts,
		MaxInFlight:    cfg.http.maxInFlight,
		MaxConnections: cfg.http.maxConnections,
		BodyBudget:     bodyBudget(memoryLimit()),
		ShutdownDelay:  cfg.http.shutdownDelay,
		CallTimeout:    cfg.timeout,
		Tools:          toolsCfg,
		Page:           page,
		Base:           base,
		Logger:         logger,
		Words:          httpWords(),
	})
	if err != nil {
		return startupFailed(errOut, err)
	}
	for _, note := range cfg.ignored {
		logger.Warn().Msg(note + ": HTTP mode uses each caller's own key, serves no dotenv file, and serves the value page at " + settingName("public-url"))
	}
	if cfg.tools.ValuesFromUserOnly && page == nil {
		logger.Warn().Msg(settingName("values-from-user-only") + " is set, and without " + settingName("public-url") + " HTTP mode serves no value page (nor any dotenv file): " +
			"no tool can set a value; secrets can only be listed, read, renamed, described and deleted")
	}
	if err := srv.Serve(ctx); err != nil {
		if se := (*httpserve.SettingError)(nil); errors.As(err, &se) {
			return startupFailed(errOut, httpSettingError(se))
		}
		// The server stopped by itself, and has logged why.
		return 1
	}
	return 0
}

// teamPage builds the team page of request_secret_from_user, for HTTP
// mode with a public URL, puts it into tc, and says at start-up how it is
// served; nil, and says which setting serves it, without one.
func teamPage(cfg config, rs resources, tc *tools.Config, base *togetherapi.Client, logger zerolog.Logger) (*httpserve.Page, error) {
	if cfg.publicURL == "" {
		if cfg.linkKeyFile != "" {
			logger.Warn().Msg(settingName("link-key-file") + " is set, and is not used: the value page whose links its keys seal is served only with " + settingName("public-url"))
		}
		logger.Info().Msg("the one-time value page of request_secret_from_user is not served, and the tool not offered: set " + settingName("public-url") + " to serve it")
		return nil, nil
	}
	team, err := tools.NewTeamPage(*tc, base, intake.TeamConfig{
		Keys: rs.linkKeys, PublicURL: cfg.publicURL, TTL: cfg.intake.TTL, Logger: logger, Sandbox: cfg.sandbox,
	})
	if err != nil {
		return nil, settingError("public-url", "%v", err)
	}
	tc.Team = team
	logger.Info().Str("public_url", team.Link("")).Str("link_ttl", cfg.intake.TTL.String()).Msg("serving the one-time value page of request_secret_from_user")
	if rs.linkKeysMade {
		logger.Warn().Msg("no " + settingName("link-key-file") + ": links are sealed with a key made in memory at start-up, so they work only on this replica, and die with it; " +
			"give every replica the same file, made with: openssl rand -hex 32")
	}
	return &httpserve.Page{Path: team.Path(), Host: team.Host(), Handler: team}, nil
}

// maxSandboxAccounts bounds the in-memory accounts of sandbox mode over
// HTTP.
const maxSandboxAccounts = 1000

// reopenOnHangUp reopens the audit trail on each SIGHUP, as logrotate
// expects of a program whose log it has moved away, until stop is called.
// After stop a SIGHUP is ignored: the trail is closed next, and the program
// is on its way out.
func reopenOnHangUp(l *audit.Log, logger zerolog.Logger) (stop func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	quit, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		for {
			select {
			case <-hup:
				if err := l.Reopen(); err != nil {
					logger.Error().Str("audit_log", l.Path()).Str("error", err.Error()).Msg("audit log not reopened: every change is refused until it can be")
				} else {
					logger.Info().Str("audit_log", l.Path()).Msg("audit log reopened")
				}
			case <-quit:
				return
			}
		}
	}()
	return func() {
		signal.Ignore(syscall.SIGHUP)
		close(quit)
		<-finished
	}
}

// newClient builds the program's one client: Together's or the sandbox's,
// with the operator's key over stdio, and none over HTTP, where each
// request brings its caller's.
func newClient(cfg config, key togetherapi.Sensitive) (*togetherapi.Client, error) {
	c := togetherapi.Config{
		BaseURL:    cfg.apiRoot(),
		UserAgent:  "together-secrets-mcp/" + buildVersion(),
		Timeout:    cfg.timeout,
		MaxRetries: cfg.retries,
	}
	switch {
	case cfg.sandbox && cfg.http.addr != "":
		// Each caller's key has an account of its own.
		c.Transport = sandbox.NewAccounts(sandbox.Options{}, maxSandboxAccounts).Transport()
	case cfg.sandbox:
		c.Transport, c.APIKey = sandbox.New(sandbox.Options{}).Transport(), togetherapi.NewSensitive(sandbox.APIKey)
	case cfg.http.addr == "":
		c.APIKey = key
	}
	client, err := togetherapi.New(c)
	if fe := (*togetherapi.FieldError)(nil); errors.As(err, &fe) {
		return nil, errors.New(fe.Problem)
	}
	if err != nil {
		return nil, err
	}
	return client, nil
}

// apiRoot is the API root the client sends to: the sandbox's, or the one
// configured.
func (c config) apiRoot() string {
	if c.sandbox {
		return sandbox.BaseURL
	}
	return c.baseURL
}

// startupFailed writes a start-up error as one plain line, the same for
// every setting and both transports, and returns the exit code for it.
func startupFailed(w io.Writer, err error) int {
	fmt.Fprintf(w, "together-secrets-mcp: %v\n", err)
	return 2
}

func newLogger(cfg config, stderr io.Writer) zerolog.Logger {
	w := stderr
	if cfg.logFormat == "console" {
		w = zerolog.ConsoleWriter{Out: stderr, NoColor: true, TimeFormat: time.RFC3339}
	}
	return zerolog.New(w).Level(cfg.logLevel).With().Timestamp().Logger()
}

// buildVersion is the version set at build time, else the module version
// recorded by go install, else "dev".
func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}
