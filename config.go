package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/together-secrets-mcp/together-secrets-mcp/intake"
	"github.com/together-secrets-mcp/together-secrets-mcp/internal/httpserve"
	"github.com/together-secrets-mcp/together-secrets-mcp/internal/keycommand"
	"github.com/together-secrets-mcp/together-secrets-mcp/internal/linkseal"
	"github.com/together-secrets-mcp/together-secrets-mcp/internal/netguard"
	"github.com/together-secrets-mcp/together-secrets-mcp/togetherapi"
	"github.com/together-secrets-mcp/together-secrets-mcp/tools"
)

// config is every setting, read once from flags and the environment. It
// names files and commands; what they hold is read by run, once the
// settings are parsed (see resolveKey and openEnvFiles).
type config struct {
	// The API key's sources, of which join lets one be set: the key the
	// variable holds, once join has checked it; a file that holds the key;
	// a command that prints it.
	keyVar  togetherapi.Sensitive
	keyFile string
	// keyCommand, when set, is run at start-up to print the key.
	keyCommand        string
	keyCommandTimeout time.Duration
	// texts are the values every setting was given, as given, so that one
	// holding the key can be refused once the key is known.
	texts        []settingText
	baseURL      string
	timeout      time.Duration
	retries      int
	logLevel     zerolog.Level
	logFormat    string
	sandbox      bool
	tools        tools.Selection
	envFiles     []string // dotenv files import_env_file may read, as given
	command      string   // "" to serve, "demo", "help" or "version"
	http         httpSettings
	intake       intake.Config // the one-time value page (stdio); its TTL for both pages
	namePrefixes []string      // the names the tools may act on; all when empty
	auditLog     string        // where the audit trail goes: a path, "-" for stderr, "" for none
	// publicURL, in HTTP mode, is where browsers reach the team page; ""
	// serves none. linkKeyFile names the file of the link keys every
	// replica shares, read by run.
	publicURL   string
	linkKeyFile string

	// What the settings said, before the checks that join several.
	keyEnv    string // cleared by join
	toolNames []string
	given     []*setting // the settings set by flag or variable
	// ignored are notes on settings given that do not apply to the
	// transport chosen, to log at start-up.
	ignored []string
}

// httpSettings configure HTTP mode.
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
	// shutdownDelay is how long a SIGTERM keeps the server serving with
	// /readyz failing, before it stops taking requests.
	shutdownDelay time.Duration
}

// Limits of HTTP mode.
const (
	defaultMaxInFlight = 256
	// defaultMaxConnections bounds the open connections, apart from the
	// requests being served, so callers that stall cannot hold every
	// descriptor; beyond it, a connection serving no request gives up its
	// place, or new connections wait to be accepted.
	defaultMaxConnections = 1024
)

// check checks the HTTP settings together. A non-loopback address needs
// TLS, or the explicit word that a proxy in front terminates it.
func (hs httpSettings) check() error {
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
	if !netguard.IsLoopback(host) && hs.tlsCert == "" && !hs.behindProxy {
		return settingError("http", "%s listens beyond this machine, where keys would cross the network in clear: "+
			"serve TLS with %s and %s, or, behind a proxy that terminates TLS, say so with %s set to true", hs.addr, settingName("tls-cert"), settingName("tls-key"), settingName("behind-tls-proxy"))
	}
	return nil
}

// kind is how a setting is written.
type kind int

const (
	text    kind = iota
	boolean      // a flag with no value; "true" or "false" in the variable
	list         // a flag given once per item; items comma-separated in the variable
)

// mode is a set of transports; the zero mode is both.
type mode int

const (
	stdio mode = 1 << iota
	httpMode
)

// setting is one configurable value, declared once: its flag, variable,
// default and help, and how its text is taken into the config. Flags,
// variables, --help, start-up errors and the words of advice all derive
// from this table; adding a setting is adding an entry.
type setting struct {
	flag, env string // flag is "" for a setting read from the environment only
	def       string // the value when neither is set; also shown in --help
	help      string
	kind      kind
	modes     mode // the transports it applies to
	// apply takes the setting's value (an item, for a list) into c. Its
	// error says what is wrong with the value; the caller names the
	// setting.
	apply func(c *config, v string) error
}

// keyVariable holds the API key: a variable only, so the key never shows
// in argv.
const keyVariable = "TOGETHER_API_KEY"

// defaultRetries is how many times a failed request that is safe to repeat
// is sent again, as Together's own SDKs do.
const defaultRetries = 2

// settings is the one table of settings, in the order --help lists them.
var settings = []setting{
	{modes: stdio, env: keyVariable, help: "Together API key. Kept out of argv on purpose: set it in the environment.",
		apply: func(c *config, v string) error { c.keyEnv = v; return nil }},
	{modes: stdio, flag: "api-key-file", env: "TOGETHER_API_KEY_FILE", help: "file holding the API key on one line (surrounding whitespace is trimmed), instead of TOGETHER_API_KEY",
		apply: func(c *config, v string) error { c.keyFile = v; return nil }},
	{modes: stdio, flag: "api-key-command", env: "TOGETHER_API_KEY_COMMAND", help: "shell command that prints the API key on one line, run once at start-up (such as: op read op://vault/together/credential)",
		apply: func(c *config, v string) error { c.keyCommand = v; return nil }},
	{modes: stdio, flag: "api-key-command-timeout", env: "TOGETHER_API_KEY_COMMAND_TIMEOUT", def: keycommand.DefaultTimeout.String(), help: "how long the key command may run before it is killed",
		apply: func(c *config, v string) error { return positiveDuration(&c.keyCommandTimeout, v) }},
	{flag: "base-url", env: "TOGETHER_BASE_URL", def: togetherapi.DefaultBaseURL, help: "API root; must be https unless the host is localhost",
		apply: func(c *config, v string) error { c.baseURL = v; return togetherapi.CheckBaseURL(v) }},
	{flag: "timeout", env: "TOGETHER_SECRETS_TIMEOUT", def: togetherapi.DefaultTimeout.String(), help: "time budget of one tool call's API requests, retries included",
		apply: func(c *config, v string) error { return positiveDuration(&c.timeout, v) }},
	{flag: "max-retries", env: "TOGETHER_SECRETS_MAX_RETRIES", def: strconv.Itoa(defaultRetries), help: "how often a failed request that is safe to repeat is sent again (0 for never)",
		apply: func(c *config, v string) error { return wholeNumber(&c.retries, v, 0, 10) }},
	{flag: "log-level", env: "TOGETHER_SECRETS_LOG_LEVEL", def: "info", help: "debug, info, warn or error",
		apply: func(c *config, v string) error {
			level, ok := logLevels[v]
			if !ok {
				return fmt.Errorf("%q is not one of debug, info, warn, error", v)
			}
			c.logLevel = level
			return nil
		}},
	{flag: "log-format", env: "TOGETHER_SECRETS_LOG_FORMAT", def: "json", help: "json or console; logs always go to stderr",
		apply: func(c *config, v string) error {
			if v != "json" && v != "console" {
				return fmt.Errorf("%q is not json or console", v)
			}
			c.logFormat = v
			return nil
		}},
	{flag: "sandbox", env: "TOGETHER_SECRETS_SANDBOX", kind: boolean, help: "serve an in-memory stand-in for Together: no key, no network",
		apply: func(c *config, v string) error { return parseBool(&c.sandbox, v) }},
	{flag: "tools", env: "TOGETHER_SECRETS_TOOLS", def: defaultToolsHelp(), kind: list,
		help:  "offer exactly these tools, comma-separated, from " + strings.Join(tools.AllTools, ", ") + " (" + strings.Join(tools.EnvFileTools, ", ") + " only with --env-file)",
		apply: func(c *config, v string) error { c.toolNames = append(c.toolNames, v); return nil }},
	{flag: "allow-delete", env: "TOGETHER_SECRETS_ALLOW_DELETE", kind: boolean, help: "also offer delete_secret (refused while a deployment uses the secret, unless the call overrides)",
		apply: func(c *config, v string) error { return parseBool(&c.tools.AllowDelete, v) }},
	{flag: "allow-deployment-changes", env: "TOGETHER_SECRETS_ALLOW_DEPLOYMENT_CHANGES", kind: boolean,
		help:  "also offer attach_secret, which sets or removes one variable of a deployment (each change rolls the deployment out again)",
		apply: func(c *config, v string) error { return parseBool(&c.tools.AllowDeploymentChanges, v) }},
	{flag: "values-from-user-only", env: "TOGETHER_SECRETS_VALUES_FROM_USER_ONLY", kind: boolean,
		help:  "no tool takes a value as an argument: create_secret is not offered and update_secret takes no value; values come only from the page and dotenv files",
		apply: func(c *config, v string) error { return parseBool(&c.tools.ValuesFromUserOnly, v) }},
	{flag: "name-prefix", env: "TOGETHER_SECRETS_NAME_PREFIXES", kind: list,
		help:  "act only on secrets whose names start with this, ending in /, -, _ or ., such as team-a/; repeat the flag, or list them comma-separated in the variable",
		apply: (*config).addNamePrefix},
	{flag: "audit-log", env: "TOGETHER_SECRETS_AUDIT_LOG",
		help:  "append one JSON line per attempted change to this file (created 0600; reopened on SIGHUP), or - for stderr; a change that cannot be recorded is refused",
		apply: func(c *config, v string) error { c.auditLog = v; return nil }},
	{flag: "read-only", env: "TOGETHER_SECRETS_READ_ONLY", kind: boolean, help: "offer only list_secrets and get_secret, whatever else is set",
		apply: func(c *config, v string) error { return parseBool(&c.tools.ReadOnly, v) }},
	{modes: stdio, flag: "env-file", env: "TOGETHER_SECRETS_ENV_FILES", kind: list, help: "a dotenv file import_env_file may read; repeat the flag, or list them comma-separated in the variable",
		apply: func(c *config, v string) error { c.envFiles = append(c.envFiles, v); return nil }},
	{modes: stdio, flag: "intake-addr", env: "TOGETHER_SECRETS_INTAKE_ADDR", def: intake.DefaultAddr, help: "where the one-time value page of request_secret_from_user listens (a free loopback port by default)",
		apply: func(c *config, v string) error { c.intake.Addr = v; return nil }},
	{modes: stdio, flag: "intake-allow-non-loopback", env: "TOGETHER_SECRETS_INTAKE_ALLOW_NON_LOOPBACK", kind: boolean, help: "allow --intake-addr beyond loopback, such as 0.0.0.0:8765 in a container whose port is published to 127.0.0.1",
		apply: func(c *config, v string) error { return parseBool(&c.intake.AllowNonLoopback, v) }},
	{flag: "intake-ttl", env: "TOGETHER_SECRETS_INTAKE_TTL", def: intake.DefaultTTL.String(), help: "how long a one-time value link works, from 10s to 24h",
		apply: func(c *config, v string) error {
			// A day at most: a team link cannot be revoked short of rotating
			// the link key, so one that works for weeks is a way in that
			// outlives whoever it was sent to.
			d, err := time.ParseDuration(v)
			if err != nil || d < 10*time.Second || d > 24*time.Hour {
				return fmt.Errorf("%q is not a duration from 10s to 24h, such as 10m", v)
			}
			c.intake.TTL = d
			return nil
		}},
	{flag: "http", env: "TOGETHER_SECRETS_HTTP", help: "serve MCP over streamable HTTP at ADDR (such as 127.0.0.1:8080) instead of stdio; each caller sends its own key",
		apply: func(c *config, v string) error {
			if _, _, err := net.SplitHostPort(v); v != "" && err != nil {
				return fmt.Errorf("%q is not an address such as 127.0.0.1:8080 or :8080", v)
			}
			c.http.addr = v
			return nil
		}},
	{flag: "tls-cert", env: "TOGETHER_SECRETS_TLS_CERT", modes: httpMode, help: "serve TLS with this certificate file (PEM)",
		apply: func(c *config, v string) error { c.http.tlsCert = v; return nil }},
	{flag: "tls-key", env: "TOGETHER_SECRETS_TLS_KEY", modes: httpMode, help: "the TLS certificate's private key file (PEM)",
		apply: func(c *config, v string) error { c.http.tlsKey = v; return nil }},
	{flag: "behind-tls-proxy", env: "TOGETHER_SECRETS_BEHIND_TLS_PROXY", kind: boolean, modes: httpMode, help: "allow plain HTTP on a non-loopback address, because a proxy in front terminates TLS",
		apply: func(c *config, v string) error { return parseBool(&c.http.behindProxy, v) }},
	{flag: "allowed-origins", env: "TOGETHER_SECRETS_ALLOWED_ORIGINS", kind: list, modes: httpMode, help: "browser origins allowed to call, comma-separated full origins such as https://agents.example.com",
		apply: (*config).addOrigin},
	{flag: "allowed-hosts", env: "TOGETHER_SECRETS_ALLOWED_HOSTS", kind: list, modes: httpMode, help: "Host names a proxy in front may forward, comma-separated, such as mcp.example.com (loopback names are always served)",
		apply: (*config).addHost},
	{flag: "max-in-flight", env: "TOGETHER_SECRETS_MAX_IN_FLIGHT", def: strconv.Itoa(defaultMaxInFlight), modes: httpMode, help: "requests served at once; more get 503 with Retry-After",
		apply: func(c *config, v string) error { return wholeNumber(&c.http.maxInFlight, v, 1, 100000) }},
	{flag: "shutdown-delay", env: "TOGETHER_SECRETS_SHUTDOWN_DELAY", def: "0s", modes: httpMode,
		help: "on SIGTERM, how long to keep serving with /readyz failing, so that load balancers stop sending first; then calls in flight finish",
		apply: func(c *config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 || d > 10*time.Minute {
				return fmt.Errorf("%q is not a duration from 0s to 10m, such as 5s", v)
			}
			c.http.shutdownDelay = d
			return nil
		}},
	{flag: "public-url", env: "TOGETHER_SECRETS_PUBLIC_URL", modes: httpMode,
		help: "the address browsers reach this server at, such as https://secrets.example.com (https, but for a loopback host): serves the one-time value page " +
			"of request_secret_from_user under its path, on the caller's key; without it the page is not served",
		apply: (*config).setPublicURL},
	{flag: "link-key-file", env: "TOGETHER_SECRETS_LINK_KEY_FILE", modes: httpMode,
		help: "file holding the key that seals the value page's links, the same for every replica: hex or base64 of at least 32 bytes (openssl rand -hex 32), " +
			"and during a rotation the previous key on a second line; without it a key is made in memory, and links work only on the replica that made them",
		apply: func(c *config, v string) error { c.linkKeyFile = v; return nil }},
	{flag: "max-connections", env: "TOGETHER_SECRETS_MAX_CONNECTIONS", def: strconv.Itoa(defaultMaxConnections), modes: httpMode, help: "connections open at once, at least --max-in-flight; beyond it, an idle one gives up its place, else new ones wait to be accepted",
		apply: func(c *config, v string) error { return wholeNumber(&c.http.maxConnections, v, 1, 1000000) }},
}

// lookup returns the setting of a flag, or of a variable read from the
// environment only.
func lookup(name string) *setting {
	for i := range settings {
		if settings[i].flag == name || (settings[i].flag == "" && settings[i].env == name) {
			return &settings[i]
		}
	}
	panic("no setting " + name)
}

// settingName names a setting both ways a user may have set it, such as
// "--timeout (TOGETHER_SECRETS_TIMEOUT)".
func settingName(name string) string {
	s := lookup(name)
	if s.flag == "" {
		return s.env
	}
	return "--" + s.flag + " (" + s.env + ")"
}

// settingError is a start-up error that names the setting by its flag and
// its environment variable, so the user can find it whichever they used.
func settingError(name, problem string, args ...any) error {
	return fmt.Errorf("%s: %s", settingName(name), fmt.Sprintf(problem, args...))
}

// usage writes --help: the program's version, how to run it, and every
// setting.
func usage(w io.Writer, version string) {
	fmt.Fprintf(w, `together-secrets-mcp %s: an MCP server that stores secrets in Together AI,
spoken over stdio, or over streamable HTTP with --http.

Usage:
  together-secrets-mcp [flags]              serve MCP on stdin/stdout, for one agent
  together-secrets-mcp --http ADDR [flags]  serve MCP at http://ADDR/mcp, each caller with its own key
  together-secrets-mcp demo                 create, attach and read a secret against the sandbox
  together-secrets-mcp --version

Settings (a flag wins over its environment variable):
`, version)
	for _, s := range settings {
		if s.flag == "" {
			fmt.Fprintf(w, "  %s (environment only)\n", s.env)
		} else {
			fmt.Fprintf(w, "  --%s, %s\n", s.flag, s.env)
		}
		help := s.help
		switch s.modes {
		case httpMode:
			help = "HTTP mode: " + help
		case stdio:
			help += " (stdio only)"
		}
		if s.def != "" {
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

// logLevels are the documented levels; zerolog knows more (trace,
// disabled) that would silence warnings the user needs to see.
var logLevels = map[string]zerolog.Level{
	"debug": zerolog.DebugLevel, "info": zerolog.InfoLevel, "warn": zerolog.WarnLevel, "error": zerolog.ErrorLevel,
}

// maxKeyFileBytes bounds the key file: a key is tens of bytes, and a path
// such as /dev/zero must not exhaust memory.
const maxKeyFileBytes = 64 << 10

// flagValue holds what the command line said of one setting.
type flagValue struct {
	s     *setting
	items []string
}

func (f *flagValue) String() string { return strings.Join(f.items, ",") }

// Set takes the flag's text as given; values refuses one that holds nothing,
// in the same words for a flag and a variable.
func (f *flagValue) Set(v string) error {
	f.items = append(f.items, v)
	return nil
}

// IsBoolFlag lets a boolean setting's flag stand alone, as --sandbox.
func (f *flagValue) IsBoolFlag() bool { return f.s.kind == boolean }

// parseConfig reads flags over the environment, and nothing else: it opens
// no file the settings name and runs no command, so that --help, --version
// and a setting's mistake need neither. It never prints; a flag error
// comes back as an error naming the flag and its variable.
//
// Its errors quote what a setting was given, so one that holds the key the
// variable holds, set there by mistake, is scrubbed of it; a key from a
// file or a command is known only later, when prepare refuses any setting
// that holds it before anything quotes it.
func parseConfig(args []string, getenv func(string) string) (config, error) {
	cfg, err := parseSettings(args, getenv)
	if err != nil {
		scrub := togetherapi.Scrubber{togetherapi.NewSensitive(strings.TrimSpace(getenv(keyVariable)))}
		if text := scrub.Scrub(err.Error()); text != err.Error() {
			return cfg, errors.New(text)
		}
	}
	return cfg, err
}

func parseSettings(args []string, getenv func(string) string) (config, error) {
	cfg := config{}
	fs := flag.NewFlagSet("together-secrets-mcp", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	given := map[*setting]*flagValue{}
	for i := range settings {
		if s := &settings[i]; s.flag != "" {
			given[s] = &flagValue{s: s}
			fs.Var(given[s], s.flag, "")
		}
	}
	showVersion := fs.Bool("version", false, "")
	help := fs.Bool("help", false, "")
	fs.BoolVar(help, "h", false, "")
	if err := fs.Parse(args); err != nil {
		if keyFlagGiven(args) {
			return cfg, errKeyFlag
		}
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
	var err error
	if cfg.command, err = command(fs.Args()); err != nil {
		return cfg, err
	}

	for i := range settings {
		s := &settings[i]
		if (given[s] != nil && len(given[s].items) > 0) || strings.TrimSpace(getenv(s.env)) != "" {
			cfg.given = append(cfg.given, s)
		}
		vs, err := values(s, given[s], getenv)
		if err != nil {
			return cfg, settingError(nameOf(s), "%v", err)
		}
		for _, v := range vs {
			cfg.texts = append(cfg.texts, settingText{s, v})
			if err := s.apply(&cfg, v); err != nil {
				return cfg, settingError(nameOf(s), "%v", err)
			}
		}
	}
	return cfg, cfg.join()
}

// command is the command the arguments left after the flags name: "" to
// serve, or "demo", which takes none.
func command(rest []string) (string, error) {
	switch {
	case len(rest) == 0:
		return "", nil
	case rest[0] != "demo":
		return "", fmt.Errorf("unexpected argument %s; the only command is \"demo\" (run with --help)", shownArgument(rest[0]))
	case len(rest) > 1:
		return "", fmt.Errorf("demo takes no arguments: remove the argument %s after it, and run it alone, as: together-secrets-mcp demo", shownArgument(rest[1]))
	}
	return "demo", nil
}

// shownArgument quotes an argument for an error, unless it is long enough to
// be a key given in the wrong place, which start-up errors never repeat.
func shownArgument(a string) string {
	if len(a) >= keycommand.KeyLikeLen {
		return fmt.Sprintf("(%d characters, not shown in case it is a key)", len(a))
	}
	return strconv.Quote(a)
}

// errKeyFlag answers a key given as a flag, which would show in argv.
var errKeyFlag = errors.New("there is no --api-key flag: the API key is never taken from the command line, where ps shows it to every user of the machine; " +
	"set " + keyVariable + " in the environment, or give " + settingName("api-key-file") + " or " + settingName("api-key-command"))

// keyFlagGiven reports whether args hold a flag such as --api-key, with or
// without a value, before any "--".
func keyFlagGiven(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		name, _, _ := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-"), "=")
		if strings.HasPrefix(a, "-") && slices.Contains([]string{"api-key", "api_key", "apikey", "key", "together-api-key"}, strings.ToLower(name)) {
			return true
		}
	}
	return false
}

// values are what a setting says: the flag's, else the variable's, else the
// default; each item of a list. A setting given but holding nothing (a flag
// given "", a variable of blanks, a list of only commas) is refused rather
// than read as unset: read as unset, --name-prefix "," would lift the scope
// it was meant to set. A variable set to "" is unset, as a host that passes
// every field of its form (an MCP bundle) sets an empty one.
func values(s *setting, f *flagValue, getenv func(string) string) ([]string, error) {
	var raw []string
	given := "the variable"
	switch env := getenv(s.env); {
	case f != nil && len(f.items) > 0:
		raw, given = f.items, "the flag"
	case env != "":
		raw = []string{env}
	case s.kind == list:
		return nil, nil
	case s.kind == boolean:
		return []string{"false"}, nil
	default:
		return []string{s.def}, nil
	}
	var out []string
	for _, r := range raw {
		items := []string{r}
		if s.kind == list {
			items = strings.Split(r, ",")
		}
		n := len(out)
		for _, item := range items {
			if item = strings.TrimSpace(item); item != "" {
				out = append(out, item)
			}
		}
		if len(out) == n {
			return nil, fmt.Errorf("%s is set to nothing (only blanks or commas), which is refused rather than taken as unset: give it a value, or leave it out", given)
		}
	}
	if s.kind != list {
		return out[len(out)-1:], nil
	}
	return out, nil
}

// nameOf is the name settingName takes for s.
func nameOf(s *setting) string {
	if s.flag == "" {
		return s.env
	}
	return s.flag
}

// join checks what several settings say together, and derives what
// depends on more than one.
func (c *config) join() error {
	if err := c.http.check(); err != nil {
		return err
	}
	if c.http.addr != "" && len(c.envFiles) > 0 {
		// Every caller would import the operator's files into their account.
		return settingError("env-file", "is for stdio only: over HTTP, every caller could import the server's files into their own account")
	}
	now, where := stdio, "over stdio"
	if c.http.addr != "" {
		now, where = httpMode, "in HTTP mode"
	}
	for _, s := range c.given {
		if s.modes != 0 && s.modes&now == 0 {
			c.ignored = append(c.ignored, settingName(nameOf(s))+" does not apply "+where+", and is ignored")
		}
	}
	if c.http.addr == "" {
		// Checked now, so a bad address stops start-up; it listens on first use.
		if _, err := intake.New(c.intake); err != nil {
			return settingError("intake-addr", "%v (set %s to mean it)", err, settingName("intake-allow-non-loopback"))
		}
	}
	c.tools.Names, c.tools.EnvFiles = c.toolNames, len(c.envFiles) > 0
	// Over stdio the page is for a user at this machine; over HTTP it is
	// the team page, served only at a public URL.
	c.tools.Intake = c.http.addr == "" || c.publicURL != ""
	if _, err := c.tools.Resolve(); err != nil {
		return settingError("tools", "%v", err)
	}
	return c.chooseKey()
}

// chooseKey checks that the API key comes from one source at most, and
// that the variable, when it is that source, holds one line that can be
// sent. It reads no file and runs nothing: resolveKey does, once parsing is
// done.
func (c *config) chooseKey() error {
	var sources []string
	for _, s := range []struct {
		set  bool
		name string
	}{{c.keyEnv != "", keyVariable}, {c.keyFile != "", "api-key-file"}, {c.keyCommand != "", "api-key-command"}} {
		if s.set {
			sources = append(sources, settingName(s.name))
		}
	}
	switch {
	case len(sources) > 1:
		return fmt.Errorf("the API key may come from one place, and %s are all set; keep only one", strings.Join(sources, " and "))
	case len(keycommand.Lines(c.keyEnv)) > 1:
		return settingError(keyVariable, "holds %d non-empty lines, and a key is one line: set it to the key alone", len(keycommand.Lines(c.keyEnv)))
	case keycommand.Unsendable(c.keyEnv):
		return settingError(keyVariable, "holds %s: set it to the key alone", keycommand.UnsendableWords)
	case c.keyEnv != "":
		c.keyVar = togetherapi.NewSensitive(c.keyEnv)
	}
	c.keyEnv = ""
	return nil
}

// keySource says where the API key comes from, for the start-up log and
// the tools' advice; "" when no source is set.
func (c config) keySource() string {
	switch {
	case c.keyFile != "":
		return "the key file " + c.keyFile + ", from " + settingName("api-key-file")
	case c.keyCommand != "":
		return "the key command, from " + settingName("api-key-command")
	case !c.keyVar.IsZero():
		return keyVariable
	}
	return ""
}

// resolveKey is the one place the API key is taken from its source: the
// variable, the key file, or the key command. The file is read wherever it
// is set, so that one that cannot be read stops start-up in any mode; the
// command runs only where the key is used, to serve stdio with Together:
// the sandbox, HTTP mode (where each caller sends a key) and the demo need
// none.
func resolveKey(ctx context.Context, cfg config) (togetherapi.Sensitive, error) {
	switch {
	case cfg.keyFile != "":
		key, err := readKeyFile(cfg.keyFile)
		if err != nil {
			return togetherapi.Sensitive{}, settingError("api-key-file", "%v", err)
		}
		return togetherapi.NewSensitive(key), nil
	case cfg.keyCommand != "" && cfg.command == "" && !cfg.sandbox && cfg.http.addr == "":
		key, err := keycommand.Run(ctx, cfg.keyCommand, cfg.keyCommandTimeout)
		if err != nil {
			return togetherapi.Sensitive{}, settingError("api-key-command", "%v", err)
		}
		return key, nil
	}
	return cfg.keyVar, nil
}

// settingText is one value a setting was given.
type settingText struct {
	s    *setting
	text string
}

// noSettingHoldsKey refuses a setting whose value holds the API key, which
// was set there by mistake: a path, a URL or a prefix is repeated in that
// setting's errors, in log lines, and in the names of the files it makes.
// The key's own variable is left out, and so is the key command, since a
// command may print the key by holding it, and its errors are scrubbed of it.
func (c config) noSettingHoldsKey(key togetherapi.Sensitive) error {
	if key.IsZero() {
		return nil
	}
	holds := togetherapi.Scrubber{key}
	for _, st := range c.texts {
		if st.s.env != keyVariable && st.s.flag != "api-key-command" && holds.Scrub(st.text) != st.text {
			return settingError(nameOf(st.s), "holds the API key (not shown): the key is set only by %s, %s or %s; "+
				"give this setting what --help says it takes", keyVariable, settingName("api-key-file"), settingName("api-key-command"))
		}
	}
	return nil
}

// nameSeparators are the characters the API allows in names other than
// letters and digits; a name prefix must end in one.
const nameSeparators = "/-_."

// addNamePrefix takes one name scope: the start of a valid secret name,
// with no empty, "." or ".." segment before its last "/", holding a letter
// or digit, and ending in a separator. Without one at its end, team-a
// would admit team-abc/X and team-aSECRET too: names of another team that
// merely start with the same letters.
func (c *config) addNamePrefix(p string) error {
	if fe := (*togetherapi.FieldError)(nil); errors.As(togetherapi.ValidateName("prefix", p), &fe) {
		return fmt.Errorf("%q is not the start of a secret name: it %s", p, fe.Problem)
	}
	segs := strings.Split(p, "/")
	for _, seg := range segs[:len(segs)-1] {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("%q has an empty, \".\" or \"..\" segment; give a prefix such as team-a/", p)
		}
	}
	if last := segs[len(segs)-1]; last == "." || last == ".." {
		return fmt.Errorf("%q ends in a \".\" or \"..\" segment; give a prefix such as team-a/", p)
	}
	if !strings.ContainsFunc(p, func(r rune) bool { return !strings.ContainsRune(nameSeparators, r) }) {
		return fmt.Errorf("%q holds only separators, and would admit names of any team; give a prefix such as team-a/", p)
	}
	if !strings.ContainsRune(nameSeparators, rune(p[len(p)-1])) {
		return fmt.Errorf("%q does not end in \"/\", \"-\", \"_\" or \".\", so it would also admit names that merely start with the same letters, such as %sb/X; "+
			"write %s/ (or end it in the separator that follows it in your names, such as %s-)", p, p, p, p)
	}
	c.namePrefixes = append(c.namePrefixes, p)
	return nil
}

// setPublicURL takes the team page's public URL, checked as the page
// checks it. Its errors never quote it: a URL may hold a password.
func (c *config) setPublicURL(v string) error {
	if v == "" {
		return nil // unset: no page
	}
	if err := intake.CheckPublicURL(v); err != nil {
		if pe := (*intake.PublicURLError)(nil); errors.As(err, &pe) {
			return errors.New("the URL " + pe.Problem)
		}
		return err
	}
	c.publicURL = v
	return nil
}

func (c *config) addOrigin(o string) error {
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		return fmt.Errorf("%q is not a full origin such as https://agents.example.com", o)
	}
	c.http.allowedOrigins = append(c.http.allowedOrigins, u.Scheme+"://"+strings.ToLower(u.Host))
	return nil
}

func (c *config) addHost(h string) error {
	h = strings.ToLower(h)
	name := h
	if hn, _, err := net.SplitHostPort(h); err == nil {
		name = hn
	}
	if strings.ContainsAny(h, "/@?# ") || strings.Trim(name, "[]") == "" {
		return fmt.Errorf("%q is not a host name such as mcp.example.com or mcp.example.com:8443", h)
	}
	c.http.allowedHosts = append(c.http.allowedHosts, h)
	return nil
}

func parseBool(dst *bool, v string) error {
	b, err := strconv.ParseBool(v)
	if err != nil {
		return fmt.Errorf("%q is not true or false", v)
	}
	*dst = b
	return nil
}

func positiveDuration(dst *time.Duration, v string) error {
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return fmt.Errorf("%q is not a positive duration such as 30s or 2m", v)
	}
	*dst = d
	return nil
}

func wholeNumber(dst *int, v string, lo, hi int) error {
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return fmt.Errorf("%q is not a whole number from %d to %d", v, lo, hi)
	}
	*dst = n
	return nil
}

// readKeyFile reads a key from path, trimmed, reading at most
// maxKeyFileBytes. Its errors never quote the contents, nor the path until
// it has opened: what was set as a path may be a key set there by mistake.
func readKeyFile(path string) (string, error) {
	// Without blocking, so that a FIFO with no writer cannot hold start-up
	// for good; what it is is checked next.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return "", keyFileOpenError(err)
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		// A FIFO, a terminal or a socket may never end: the key comes from
		// a program through the key command, which is bounded in time.
		return "", fmt.Errorf("the key file %s is not a regular file: give a file that holds the key, or set %s to a command that prints it", path, settingName("api-key-command"))
	}
	b, err := io.ReadAll(io.LimitReader(f, maxKeyFileBytes+1))
	defer clear(b)
	switch {
	case err != nil:
		return "", fmt.Errorf("cannot read the key file %s: %w", path, err)
	case len(b) > maxKeyFileBytes:
		return "", fmt.Errorf("the key file %s holds more than %d bytes; it should hold only the API key", path, maxKeyFileBytes)
	}
	// Held to the rule of the key command's output: a file of two lines
	// would otherwise make every call fail as if Together were unreachable.
	switch lines := keycommand.Lines(string(b)); {
	case len(lines) == 0:
		return "", fmt.Errorf("the key file %s is empty", path)
	case len(lines) > 1:
		return "", fmt.Errorf("the key file %s holds %d non-empty lines, and a key is one line: keep only the key in it (a newline after it is fine)", path, len(lines))
	case keycommand.Unsendable(lines[0]):
		return "", fmt.Errorf("the key file %s holds %s: keep only the key in it", path, keycommand.UnsendableWords)
	default:
		return lines[0], nil
	}
}

// linkKeys are the keys that seal the team page's links, in HTTP mode:
// those of the link key file, read after parsing as the API key file is;
// or, with a public URL and no file, a key made now, in memory, which made
// reports. Neither is needed over stdio, nor without a page.
func linkKeys(cfg config) (keys *linkseal.Keys, made bool, err error) {
	switch {
	case cfg.http.addr == "":
		return nil, false, nil
	case cfg.linkKeyFile != "":
		keys, err := readLinkKeyFile(cfg.linkKeyFile)
		if err != nil {
			return nil, false, settingError("link-key-file", "%v", err)
		}
		return keys, false, nil
	case cfg.publicURL != "":
		keys, err := linkseal.NewKeys()
		return keys, true, err
	}
	return nil, false, nil
}

// readLinkKeyFile reads the link keys at path, at most a byte more than a
// key file may hold. Like readKeyFile, its errors never quote the file,
// nor its path until it has opened.
func readLinkKeyFile(path string) (*linkseal.Keys, error) {
	// As the API key file: without blocking, then a regular file only, so
	// that a FIFO with no writer cannot hold start-up for good.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, keyFileOpenError(err)
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return nil, fmt.Errorf("the key file %s is not a regular file: give a file that holds the link key, such as one made by `openssl rand -hex 32 > FILE`", path)
	}
	b, err := io.ReadAll(io.LimitReader(f, linkseal.MaxKeyFileBytes+1))
	defer clear(b)
	if err != nil {
		return nil, fmt.Errorf("cannot read the key file %s: %w", path, err)
	}
	keys, err := linkseal.ParseKeys(b)
	if ke := (*linkseal.KeyFileError)(nil); errors.As(err, &ke) {
		return nil, fmt.Errorf("the key file %s: %s", path, ke.Problem)
	}
	return keys, err
}

// keyFileOpenError says why the key file did not open, without its path:
// err itself is not wrapped, since its text holds the path.
func keyFileOpenError(err error) error {
	const unshown = "; its path is not shown, in case a key was set there by mistake: the setting takes the path of a file that holds the key"
	var pe *fs.PathError
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return errors.New("cannot open the key file: there is no such file" + unshown)
	case errors.Is(err, fs.ErrPermission):
		return errors.New("cannot open the key file: permission denied; make it readable by the user the server runs as" + unshown)
	case errors.As(err, &pe):
		return fmt.Errorf("cannot open the key file: %w%s", pe.Err, unshown)
	}
	return fmt.Errorf("cannot open the key file%s", unshown)
}

// advice names this program's settings for the tools' error messages.
func advice(cfg config) tools.Advice {
	return tools.Advice{
		KeySource: cfg.keySource(),
		SetKey: "Set " + keyVariable + " (or " + settingName("api-key-file") + ", or " + settingName("api-key-command") + ") " +
			"in the \"env\" of this server's entry in the MCP client's configuration, then restart the server. " +
			"To try the tools without a key, start the server with --" + lookup("sandbox").flag + ".",
		BaseURL:     settingName("base-url"),
		ReadOnly:    settingName("read-only"),
		Tools:       settingName("tools"),
		AllowDelete: settingName("allow-delete") + " set to true",
		EnvFile:     settingName("env-file"),

		AllowDeploymentChanges: settingName("allow-deployment-changes") + " set to true",
		ValuesFromUserOnly:     settingName("values-from-user-only"),
		NamePrefix:             settingName("name-prefix"),
		AuditLog:               settingName("audit-log"),
		PublicURL:              settingName("public-url"),
	}
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

// httpWords name the settings that HTTP mode's refusals tell a caller to
// have changed.
func httpWords() httpserve.Words {
	return httpserve.Words{AllowedHosts: settingName("allowed-hosts"), AllowedOrigins: settingName("allowed-origins")}
}

// httpSettingNames are the settings that the fields of httpserve.Config
// named by its errors come from.
var httpSettingNames = map[string]string{"Addr": "http"}

// httpSettingError words a setting HTTP mode cannot serve with as the
// operator set it.
func httpSettingError(se *httpserve.SettingError) error {
	name, ok := httpSettingNames[se.Setting]
	if !ok {
		return se
	}
	return settingError(name, "%s", se.Problem)
}
