// Command together-secrets-mcp is an MCP server that lets AI assistants and
// coding agents store secrets in a Together AI account without ever seeing a
// value again.
//
// Run with no arguments it serves one agent on stdin and stdout with the
// operator's key; with --http it serves many over streamable HTTP, each with
// its own key. "demo" runs one create_secret round trip against the
// in-memory sandbox. --help lists every setting.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/together-secrets-mcp/together-secrets-mcp/intake"
	"github.com/together-secrets-mcp/together-secrets-mcp/internal/asynclog"
	"github.com/together-secrets-mcp/together-secrets-mcp/internal/envfile"
	"github.com/together-secrets-mcp/together-secrets-mcp/togetherapi"
	"github.com/together-secrets-mcp/together-secrets-mcp/tools"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version string

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr))
}

// config is every setting, read once from flags and the environment.
type config struct {
	apiKey    togetherapi.Sensitive
	keySource string // where the key came from, for the start-up log
	// keyCommand, when set, is run at start-up to print the key.
	keyCommand        string
	keyCommandTimeout time.Duration
	baseURL           string
	timeout           time.Duration
	retries           int
	logLevel          zerolog.Level
	logFormat         string
	sandbox           bool
	tools             tools.Selection
	envFiles          []envfile.Source // dotenv files import_env_file may read
	envFileNotes      []string         // what start-up made of them, to log
	command           string           // "" to serve, or "demo"
	http              httpSettings
	intake            intake.Config // the one-time value page (stdio)
}

// setting is one configurable value: its flag, its variable and its help.
type setting struct {
	flag, env, def, help string
}

var settings = []setting{
	{"", "TOGETHER_API_KEY", "", "Together API key. Kept out of argv on purpose: set it in the environment."},
	{"api-key-file", "TOGETHER_API_KEY_FILE", "", "file holding the API key (surrounding whitespace is trimmed), instead of TOGETHER_API_KEY"},
	{"api-key-command", "TOGETHER_API_KEY_COMMAND", "", "shell command that prints the API key, run once at start-up (such as: op read op://vault/together/credential)"},
	{"api-key-command-timeout", "TOGETHER_API_KEY_COMMAND_TIMEOUT", defaultKeyTimeout.String(), "how long the key command may run before it is killed"},
	{"base-url", "TOGETHER_BASE_URL", togetherapi.DefaultBaseURL, "API root; must be https unless the host is localhost"},
	{"timeout", "TOGETHER_SECRETS_TIMEOUT", togetherapi.DefaultTimeout.String(), "time budget of one tool call's API requests, retries included"},
	{"max-retries", "TOGETHER_SECRETS_MAX_RETRIES", strconv.Itoa(togetherapi.DefaultMaxRetries), "how often a failed request that is safe to repeat is sent again (0 for never)"},
	{"log-level", "TOGETHER_SECRETS_LOG_LEVEL", "info", "debug, info, warn or error"},
	{"log-format", "TOGETHER_SECRETS_LOG_FORMAT", "json", "json or console; logs always go to stderr"},
	{"sandbox", "TOGETHER_SECRETS_SANDBOX", "false", "serve an in-memory stand-in for Together: no key, no network"},
	{"tools", "TOGETHER_SECRETS_TOOLS", defaultToolsHelp(), "offer exactly these tools, comma-separated, from " + strings.Join(tools.AllTools, ", ") + " (" + strings.Join(tools.EnvFileTools, ", ") + " only with --env-file)"},
	{"allow-delete", "TOGETHER_SECRETS_ALLOW_DELETE", "false", "also offer delete_secret (deleting a secret a deployment uses breaks it)"},
	{"read-only", "TOGETHER_SECRETS_READ_ONLY", "false", "offer only list_secrets and get_secret, whatever else is set"},
	{"env-file", "TOGETHER_SECRETS_ENV_FILES", "", "a dotenv file import_env_file may read; repeat the flag, or list them comma-separated in the variable (stdio only)"},
	{"intake-addr", "TOGETHER_SECRETS_INTAKE_ADDR", intake.DefaultAddr, "where the one-time value page of request_secret_from_user listens (stdio only; a free loopback port by default)"},
	{"intake-allow-non-loopback", "TOGETHER_SECRETS_INTAKE_ALLOW_NON_LOOPBACK", "false", "allow --intake-addr beyond loopback, such as 0.0.0.0:8765 in a container whose port is published to 127.0.0.1"},
	{"intake-ttl", "TOGETHER_SECRETS_INTAKE_TTL", intake.DefaultTTL.String(), "how long a one-time value link works, at least 10s"},
	{"http", "TOGETHER_SECRETS_HTTP", "", "serve MCP over streamable HTTP at ADDR (such as 127.0.0.1:8080) instead of stdio; each caller sends its own key"},
	{"tls-cert", "TOGETHER_SECRETS_TLS_CERT", "", "HTTP mode: serve TLS with this certificate file (PEM)"},
	{"tls-key", "TOGETHER_SECRETS_TLS_KEY", "", "HTTP mode: the TLS certificate's private key file (PEM)"},
	{"behind-tls-proxy", "TOGETHER_SECRETS_BEHIND_TLS_PROXY", "false", "HTTP mode: allow plain HTTP on a non-loopback address, because a proxy in front terminates TLS"},
	{"allowed-origins", "TOGETHER_SECRETS_ALLOWED_ORIGINS", "", "HTTP mode: browser origins allowed to call, comma-separated full origins such as https://agents.example.com"},
	{"allowed-hosts", "TOGETHER_SECRETS_ALLOWED_HOSTS", "", "HTTP mode: Host names a proxy in front may forward, comma-separated, such as mcp.example.com (loopback names are always served)"},
	{"max-in-flight", "TOGETHER_SECRETS_MAX_IN_FLIGHT", strconv.Itoa(defaultMaxInFlight), "HTTP mode: requests served at once; more get 503 with Retry-After"},
	{"max-connections", "TOGETHER_SECRETS_MAX_CONNECTIONS", strconv.Itoa(defaultMaxConnections), "HTTP mode: connections open at once, at least --max-in-flight; more wait to be accepted"},
}

func usage(w io.Writer) {
	fmt.Fprintf(w, `together-secrets-mcp %s: an MCP server that stores secrets in Together AI,
spoken over stdio, or over streamable HTTP with --http.

Usage:
  together-secrets-mcp [flags]              serve MCP on stdin/stdout, for one agent
  together-secrets-mcp --http ADDR [flags]  serve MCP at http://ADDR/mcp, each caller with its own key
  together-secrets-mcp demo                 one create_secret round trip against the sandbox
  together-secrets-mcp --version

Settings (a flag wins over its environment variable):
`, buildVersion())
	for _, s := range settings {
		if s.flag == "" {
			fmt.Fprintf(w, "  %s (environment only)\n", s.env)
		} else {
			fmt.Fprintf(w, "  --%s, %s\n", s.flag, s.env)
		}
		help := s.help
		if s.def != "" && s.def != "false" {
			help += " (default " + s.def + ")"
		}
		fmt.Fprintf(w, "        %s\n", help)
	}
	fmt.Fprintf(w, "  --version\n        print the version and exit\n  --help\n        print this help and exit\n")
}

// defaultToolsHelp says which tools are offered by default, and when.
func defaultToolsHelp() string {
	var always []string
	for _, n := range tools.DefaultTools {
		if !slices.Contains(tools.EnvFileTools, n) && !slices.Contains(tools.IntakeTools, n) {
			always = append(always, n)
		}
	}
	return strings.Join(always, ",") + "; with " + strings.Join(tools.IntakeTools, ",") + " over stdio, and " +
		strings.Join(tools.EnvFileTools, ",") + " with --env-file"
}

// settingError is a start-up error that names the setting by its flag and
// its environment variable, so the user can find it whichever they used.
func settingError(flag, problem string, args ...any) error {
	name := "--" + flag
	for _, s := range settings {
		if s.flag == flag {
			name += " (" + s.env + ")"
		}
	}
	return fmt.Errorf("%s: %s", name, fmt.Sprintf(problem, args...))
}

// logLevels are the documented levels; zerolog knows more (trace,
// disabled) that would silence warnings the user needs to see.
var logLevels = map[string]zerolog.Level{
	"debug": zerolog.DebugLevel, "info": zerolog.InfoLevel, "warn": zerolog.WarnLevel, "error": zerolog.ErrorLevel,
}

// maxKeyFileBytes bounds the key file: a key is tens of bytes, and a path
// such as /dev/zero must not exhaust memory.
const maxKeyFileBytes = 64 << 10

// parseConfig reads flags over the environment. It never prints; a flag
// error comes back as an error naming the flag and its variable.
func parseConfig(args []string, getenv func(string) string) (config, error) {
	cfg := config{}
	fs := flag.NewFlagSet("together-secrets-mcp", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	env := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	keyFile := fs.String("api-key-file", env("TOGETHER_API_KEY_FILE", ""), "")
	keyCommand := fs.String("api-key-command", env("TOGETHER_API_KEY_COMMAND", ""), "")
	keyTimeout := fs.String("api-key-command-timeout", env("TOGETHER_API_KEY_COMMAND_TIMEOUT", defaultKeyTimeout.String()), "")
	baseURL := fs.String("base-url", env("TOGETHER_BASE_URL", togetherapi.DefaultBaseURL), "")
	timeout := fs.String("timeout", env("TOGETHER_SECRETS_TIMEOUT", togetherapi.DefaultTimeout.String()), "")
	retries := fs.String("max-retries", env("TOGETHER_SECRETS_MAX_RETRIES", strconv.Itoa(togetherapi.DefaultMaxRetries)), "")
	logLevel := fs.String("log-level", env("TOGETHER_SECRETS_LOG_LEVEL", "info"), "")
	logFormat := fs.String("log-format", env("TOGETHER_SECRETS_LOG_FORMAT", "json"), "")
	sandboxEnv, err := parseBool("sandbox", env("TOGETHER_SECRETS_SANDBOX", "false"))
	if err != nil {
		return cfg, err
	}
	sandboxFlag := fs.Bool("sandbox", sandboxEnv, "")
	toolList := fs.String("tools", env("TOGETHER_SECRETS_TOOLS", ""), "")
	allowDeleteEnv, err := parseBool("allow-delete", env("TOGETHER_SECRETS_ALLOW_DELETE", "false"))
	if err != nil {
		return cfg, err
	}
	allowDelete := fs.Bool("allow-delete", allowDeleteEnv, "")
	readOnlyEnv, err := parseBool("read-only", env("TOGETHER_SECRETS_READ_ONLY", "false"))
	if err != nil {
		return cfg, err
	}
	readOnly := fs.Bool("read-only", readOnlyEnv, "")
	var envFiles listFlag
	fs.Var(&envFiles, "env-file", "")
	intakeAddr := fs.String("intake-addr", env("TOGETHER_SECRETS_INTAKE_ADDR", intake.DefaultAddr), "")
	intakeAnyEnv, err := parseBool("intake-allow-non-loopback", env("TOGETHER_SECRETS_INTAKE_ALLOW_NON_LOOPBACK", "false"))
	if err != nil {
		return cfg, err
	}
	intakeAny := fs.Bool("intake-allow-non-loopback", intakeAnyEnv, "")
	intakeTTL := fs.String("intake-ttl", env("TOGETHER_SECRETS_INTAKE_TTL", intake.DefaultTTL.String()), "")
	httpAddr := fs.String("http", env("TOGETHER_SECRETS_HTTP", ""), "")
	tlsCert := fs.String("tls-cert", env("TOGETHER_SECRETS_TLS_CERT", ""), "")
	tlsKey := fs.String("tls-key", env("TOGETHER_SECRETS_TLS_KEY", ""), "")
	behindProxyEnv, err := parseBool("behind-tls-proxy", env("TOGETHER_SECRETS_BEHIND_TLS_PROXY", "false"))
	if err != nil {
		return cfg, err
	}
	behindProxy := fs.Bool("behind-tls-proxy", behindProxyEnv, "")
	origins := fs.String("allowed-origins", env("TOGETHER_SECRETS_ALLOWED_ORIGINS", ""), "")
	hosts := fs.String("allowed-hosts", env("TOGETHER_SECRETS_ALLOWED_HOSTS", ""), "")
	maxInFlight := fs.String("max-in-flight", env("TOGETHER_SECRETS_MAX_IN_FLIGHT", strconv.Itoa(defaultMaxInFlight)), "")
	maxConns := fs.String("max-connections", env("TOGETHER_SECRETS_MAX_CONNECTIONS", strconv.Itoa(defaultMaxConnections)), "")
	showVersion := fs.Bool("version", false, "")
	help := fs.Bool("help", false, "")
	fs.BoolVar(help, "h", false, "")

	if err := fs.Parse(args); err != nil {
		return cfg, fmt.Errorf("%w; run with --help to list the settings", err)
	}
	switch {
	case *help:
		cfg.command = "help"
		return cfg, nil
	case *showVersion:
		cfg.command = "version"
		return cfg, nil
	}
	switch rest := fs.Args(); {
	case len(rest) == 1 && rest[0] == "demo":
		cfg.command = "demo"
	case len(rest) > 0:
		return cfg, fmt.Errorf("unexpected argument %q; the only command is \"demo\" (run with --help)", rest[0])
	}

	cfg.baseURL = *baseURL
	if err := togetherapi.CheckBaseURL(cfg.baseURL); err != nil {
		return cfg, settingError("base-url", "%v", err)
	}
	cfg.sandbox = *sandboxFlag
	cfg.logFormat = *logFormat
	if cfg.logFormat != "json" && cfg.logFormat != "console" {
		return cfg, settingError("log-format", "%q is not json or console", cfg.logFormat)
	}
	level, ok := logLevels[*logLevel]
	if !ok {
		return cfg, settingError("log-level", "%q is not one of debug, info, warn, error", *logLevel)
	}
	cfg.logLevel = level
	if cfg.timeout, err = time.ParseDuration(*timeout); err != nil || cfg.timeout <= 0 {
		return cfg, settingError("timeout", "%q is not a positive duration such as 30s or 2m", *timeout)
	}

	if len(envFiles) == 0 {
		for _, f := range strings.Split(env("TOGETHER_SECRETS_ENV_FILES", ""), ",") {
			if f = strings.TrimSpace(f); f != "" {
				envFiles = append(envFiles, f)
			}
		}
	}
	for _, f := range envFiles {
		src, err := envfile.Open(f)
		if err != nil {
			return cfg, settingError("env-file", "cannot use %s as a dotenv file: %v", f, err)
		}
		if !filepath.IsAbs(f) {
			cfg.envFileNotes = append(cfg.envFileNotes, fmt.Sprintf("--env-file %s is a relative path, taken as %s from the directory the server started in; "+
				"an absolute path does not depend on where a host starts the server", f, src.Path))
		}
		if !slices.ContainsFunc(cfg.envFiles, func(s envfile.Source) bool { return s.Path == src.Path }) {
			cfg.envFiles = append(cfg.envFiles, src)
		}
	}
	if cfg.http, err = parseHTTPSettings(*httpAddr, *tlsCert, *tlsKey, *behindProxy, *origins, *hosts, *maxInFlight, *maxConns); err != nil {
		return cfg, err
	}
	if cfg.http.addr != "" && len(cfg.envFiles) > 0 {
		// Every caller would import the operator's files into their account.
		return cfg, settingError("env-file", "is for stdio only: over HTTP, every caller could import the server's files into their own account")
	}
	if cfg.intake.TTL, err = time.ParseDuration(*intakeTTL); err != nil || cfg.intake.TTL < 10*time.Second {
		return cfg, settingError("intake-ttl", "%q is not a duration of 10s or more, such as 10m", *intakeTTL)
	}
	cfg.intake.Addr, cfg.intake.AllowNonLoopback = *intakeAddr, *intakeAny
	if cfg.http.addr == "" {
		// Checked now, so a bad address stops start-up; it listens on first use.
		if _, err := intake.New(cfg.intake); err != nil {
			return cfg, settingError("intake-addr", "%v (set --intake-allow-non-loopback to mean it)", err)
		}
	}
	cfg.tools = tools.Selection{AllowDelete: *allowDelete, ReadOnly: *readOnly, EnvFiles: len(cfg.envFiles) > 0,
		// The page is for a user at this machine: stdio only.
		Intake: cfg.http.addr == ""}
	for _, name := range strings.Split(*toolList, ",") {
		if name = strings.TrimSpace(name); name != "" {
			cfg.tools.Names = append(cfg.tools.Names, name)
		}
	}
	if _, err := cfg.tools.Resolve(); err != nil {
		return cfg, settingError("tools", "%v", err)
	}
	if cfg.retries, err = strconv.Atoi(*retries); err != nil || cfg.retries < 0 || cfg.retries > 10 {
		return cfg, settingError("max-retries", "%q is not a whole number from 0 to 10", *retries)
	}

	if cfg.keyCommandTimeout, err = time.ParseDuration(*keyTimeout); err != nil || cfg.keyCommandTimeout <= 0 {
		return cfg, settingError("api-key-command-timeout", "%q is not a positive duration such as 30s or 2m", *keyTimeout)
	}
	key := strings.TrimSpace(getenv("TOGETHER_API_KEY"))
	var sources []string
	for _, s := range []struct {
		set  bool
		name string
	}{
		{key != "", "TOGETHER_API_KEY"},
		{*keyFile != "", "--api-key-file (TOGETHER_API_KEY_FILE)"},
		{strings.TrimSpace(*keyCommand) != "", "--api-key-command (TOGETHER_API_KEY_COMMAND)"},
	} {
		if s.set {
			sources = append(sources, s.name)
		}
	}
	switch {
	case len(sources) > 1:
		return cfg, fmt.Errorf("the API key may come from one place, and %s are all set; keep only one", strings.Join(sources, " and "))
	case *keyFile != "":
		if key, err = readKeyFile(*keyFile); err != nil {
			return cfg, settingError("api-key-file", "%v", err)
		}
		cfg.keySource = "the key file " + *keyFile + " (--api-key-file / TOGETHER_API_KEY_FILE)"
	case strings.TrimSpace(*keyCommand) != "":
		// Run by run(), not here: parsing has no side effects, and the
		// sandbox, --help and --version need no key.
		cfg.keyCommand = strings.TrimSpace(*keyCommand)
		cfg.keySource = "the key command (--api-key-command / TOGETHER_API_KEY_COMMAND)"
	case key != "":
		cfg.keySource = "TOGETHER_API_KEY"
	}
	cfg.apiKey = togetherapi.NewSensitive(key)
	return cfg, nil
}

// listFlag is a flag that may be given more than once.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	if strings.TrimSpace(v) == "" {
		return errors.New("must name a file")
	}
	*l = append(*l, v)
	return nil
}

// readKeyFile reads a key from path, trimmed, reading at most
// maxKeyFileBytes. Its errors never quote the contents.
func readKeyFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("cannot read the key file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxKeyFileBytes+1))
	defer clear(b)
	switch {
	case err != nil:
		return "", fmt.Errorf("cannot read the key file %s: %w", path, err)
	case len(b) > maxKeyFileBytes:
		return "", fmt.Errorf("the key file %s holds more than %d bytes; it should hold only the API key", path, maxKeyFileBytes)
	}
	key := strings.TrimSpace(string(b))
	if key == "" {
		return "", fmt.Errorf("the key file %s is empty", path)
	}
	return key, nil
}

// parseBool reads the environment variable of the boolean setting flag.
func parseBool(flag, v string) (bool, error) {
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, settingError(flag, "%q is not true or false", v)
	}
	return b, nil
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
	clientCfg := togetherapi.Config{
		BaseURL:   cfg.baseURL,
		APIKey:    cfg.apiKey,
		UserAgent: "together-secrets-mcp/" + buildVersion(),
		Timeout:   cfg.timeout,
		// The client reads 0 as its default; here 0 means none.
		MaxRetries: cfg.retries,
	}
	if cfg.retries == 0 {
		clientCfg.MaxRetries = -1
	}
	if cfg.http.addr != "" {
		return serveHTTP(ctx, cfg, clientCfg, logger, logOut)
	}
	return serveStdio(ctx, cfg, clientCfg, logger, logOut, stdin, stdout)
}

// startupFailed writes a start-up error as one plain line, the same for
// every setting and both transports, and returns the exit code for it.
func startupFailed(w io.Writer, err error) int {
	fmt.Fprintf(w, "together-secrets-mcp: %v\n", err)
	return 2
}

// advice names this program's settings for the tools' error messages.
func advice(cfg config) tools.Advice {
	return tools.Advice{
		KeySource: cfg.keySource,
		SetKey: "Set TOGETHER_API_KEY (or --api-key-file / TOGETHER_API_KEY_FILE, or --api-key-command / TOGETHER_API_KEY_COMMAND) " +
			"in the \"env\" of this server's entry in the MCP client's configuration, then restart the server. " +
			"To try the tools without a key, start the server with --sandbox.",
		BaseURL:     "TOGETHER_BASE_URL (--base-url)",
		ReadOnly:    "--read-only / TOGETHER_SECRETS_READ_ONLY",
		Tools:       "--tools / TOGETHER_SECRETS_TOOLS",
		AllowDelete: "--allow-delete (or TOGETHER_SECRETS_ALLOW_DELETE=true)",
		EnvFile:     "--env-file PATH (or TOGETHER_SECRETS_ENV_FILES)",
	}
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
