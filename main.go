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
	"runtime/debug"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/together-secrets-mcp/together-secrets-mcp/internal/asynclog"
	"github.com/together-secrets-mcp/together-secrets-mcp/internal/audit"
	"github.com/together-secrets-mcp/together-secrets-mcp/sandbox"
	"github.com/together-secrets-mcp/together-secrets-mcp/togetherapi"
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
		usage(stdout)
		return 0
	case "version":
		fmt.Fprintf(stdout, "together-secrets-mcp %s\n", buildVersion())
		return 0
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if cfg.command == "demo" {
		return runDemo(ctx, stdout, stderr)
	}
	if cfg.keyCommand != "" && !cfg.sandbox && cfg.http.addr == "" {
		// Before the log starts, so that its failure reads like every
		// other start-up error.
		key, err := runKeyCommand(ctx, cfg.keyCommand, cfg.keyCommandTimeout)
		if err != nil {
			return startupFailed(stderr, settingError("api-key-command", "%v", err))
		}
		cfg.apiKey = key
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
	client, err := newClient(cfg)
	if err != nil {
		return startupFailed(logOut, err)
	}
	if cfg.auditLog != "" {
		if cfg.audit, err = audit.Open(cfg.auditLog); err != nil {
			return startupFailed(logOut, settingError("audit-log", "%v", err))
		}
		defer cfg.audit.Close()
		// Until run returns, not only until the first SIGTERM: a SIGHUP
		// during the drain must reopen the trail, not kill the calls still
		// in flight with their outcomes unwritten.
		defer reopenOnHangUp(cfg.audit, logger)()
	}
	// From here on the key is the client's alone.
	cfg.apiKey = togetherapi.Sensitive{}
	if cfg.http.addr != "" {
		return serveHTTP(ctx, cfg, client, logger, logOut)
	}
	return serveStdio(ctx, cfg, client, logger, logOut, stdin, stdout)
}

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
func newClient(cfg config) (*togetherapi.Client, error) {
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
		c.APIKey = cfg.apiKey
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
