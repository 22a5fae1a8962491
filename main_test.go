package main

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rs/zerolog"

	"github.com/together-secrets-mcp/together-secrets-mcp/internal/apitest"
	"github.com/together-secrets-mcp/together-secrets-mcp/internal/envfile"
	"github.com/together-secrets-mcp/together-secrets-mcp/internal/httpserve"
	"github.com/together-secrets-mcp/together-secrets-mcp/internal/keycommand"
	"github.com/together-secrets-mcp/together-secrets-mcp/togetherapi"
)

func envOf(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

// load is what run makes of args and the variables env before it serves:
// the settings, and the dotenv files and the key they name.
func load(t *testing.T, args []string, env map[string]string) (config, resources, error) {
	t.Helper()
	c, err := parseConfig(args, envOf(env))
	if err != nil {
		return c, resources{}, err
	}
	rs, err := prepare(t.Context(), c)
	return c, rs, err
}

func TestParseConfigReadsFlagsOverTheEnvironment(t *testing.T) {
	t.Parallel()
	keyFile := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(keyFile, []byte("  key-from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	emptyFile := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(emptyFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	blankFile := filepath.Join(t.TempDir(), "blank")
	if err := os.WriteFile(blankFile, []byte(" \t\n  \n"), 0o600); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		check   func(t *testing.T, c config, rs resources)
		wantErr string
		shell   bool // runs the key command
	}{
		{name: "defaults", check: func(t *testing.T, c config, rs resources) {
			if c.baseURL != togetherapi.DefaultBaseURL || c.timeout != togetherapi.DefaultTimeout || c.logLevel != zerolog.InfoLevel ||
				c.logFormat != "json" || c.sandbox || !rs.key.IsZero() || c.command != "" || c.retries != defaultRetries {
				t.Errorf("config = %+v", c)
			}
		}},
		{name: "environment", env: map[string]string{
			"TOGETHER_API_KEY": " k1 \n", "TOGETHER_BASE_URL": "http://localhost:1/v1", "TOGETHER_SECRETS_TIMEOUT": "5s",
			"TOGETHER_SECRETS_LOG_LEVEL": "debug", "TOGETHER_SECRETS_LOG_FORMAT": "console", "TOGETHER_SECRETS_SANDBOX": "true",
		}, check: func(t *testing.T, c config, rs resources) {
			if rs.key != togetherapi.NewSensitive("k1") || c.keySource() != "TOGETHER_API_KEY" || c.baseURL != "http://localhost:1/v1" ||
				c.timeout != 5*time.Second || c.logLevel != zerolog.DebugLevel || c.logFormat != "console" || !c.sandbox {
				t.Errorf("config = %+v", c)
			}
		}},
		{name: "retries", args: []string{"--max-retries", "0"}, env: map[string]string{"TOGETHER_SECRETS_MAX_RETRIES": "5"}, check: func(t *testing.T, c config, rs resources) {
			if c.retries != 0 {
				t.Errorf("retries = %d, want 0 from the flag", c.retries)
			}
		}},
		{name: "tool selection", args: []string{"--read-only", "--tools", " get_secret , list_secrets,"}, env: map[string]string{"TOGETHER_SECRETS_ALLOW_DELETE": "true"},
			check: func(t *testing.T, c config, rs resources) {
				if !c.tools.ReadOnly || !c.tools.AllowDelete || strings.Join(c.tools.Names, ",") != "get_secret,list_secrets" {
					t.Errorf("tools = %+v", c.tools)
				}
			}},
		{name: "tool selection from the environment", env: map[string]string{"TOGETHER_SECRETS_TOOLS": "create_secret", "TOGETHER_SECRETS_READ_ONLY": "0"},
			check: func(t *testing.T, c config, rs resources) {
				if c.tools.ReadOnly || strings.Join(c.tools.Names, ",") != "create_secret" {
					t.Errorf("tools = %+v", c.tools)
				}
			}},
		{name: "unknown tool", args: []string{"--tools", "create_secret,nuke_all"}, wantErr: `--tools (TOGETHER_SECRETS_TOOLS): unknown tool "nuke_all"; the tools are create_secret, list_secrets`},
		{name: "bad read-only variable", env: map[string]string{"TOGETHER_SECRETS_READ_ONLY": "yes please"}, wantErr: `--read-only (TOGETHER_SECRETS_READ_ONLY): "yes please" is not true or false`},
		{name: "bad retries", args: []string{"--max-retries", "-1"}, wantErr: `--max-retries (TOGETHER_SECRETS_MAX_RETRIES): "-1" is not a whole number from 0 to 10`},
		{name: "flags win", args: []string{"--timeout=2s", "--log-level", "warn", "--sandbox=false", "--base-url", "https://example.test/v1"},
			env: map[string]string{"TOGETHER_SECRETS_TIMEOUT": "5s", "TOGETHER_SECRETS_SANDBOX": "1", "TOGETHER_BASE_URL": "https://x/v1"},
			check: func(t *testing.T, c config, rs resources) {
				if c.timeout != 2*time.Second || c.logLevel != zerolog.WarnLevel || c.sandbox || c.baseURL != "https://example.test/v1" {
					t.Errorf("config = %+v", c)
				}
			}},
		{name: "key file is trimmed", args: []string{"--api-key-file", keyFile}, check: func(t *testing.T, c config, rs resources) {
			if rs.key != togetherapi.NewSensitive("key-from-file") || c.keySource() != "the key file "+keyFile+", from --api-key-file (TOGETHER_API_KEY_FILE)" {
				t.Errorf("key from file not read or not trimmed (source %q)", c.keySource())
			}
		}},
		{name: "key file from the environment", env: map[string]string{"TOGETHER_API_KEY_FILE": keyFile}, check: func(t *testing.T, c config, rs resources) {
			if rs.key != togetherapi.NewSensitive("key-from-file") {
				t.Error("key file named in the environment was not read")
			}
		}},
		{name: "env files from flags win", args: []string{"--env-file", keyFile, "--env-file", emptyFile, "--env-file", keyFile},
			env: map[string]string{"TOGETHER_SECRETS_ENV_FILES": "/nonexistent"}, check: func(t *testing.T, c config, rs resources) {
				if paths(rs.envFiles) != keyFile+","+emptyFile || !c.tools.EnvFiles {
					t.Errorf("env files = %v (%+v)", rs.envFiles, c.tools)
				}
			}},
		{name: "env files from the environment", env: map[string]string{"TOGETHER_SECRETS_ENV_FILES": " " + keyFile + " , " + emptyFile}, check: func(t *testing.T, c config, rs resources) {
			if paths(rs.envFiles) != keyFile+","+emptyFile {
				t.Errorf("env files = %v", rs.envFiles)
			}
		}},
		{name: "a relative env file is made absolute, and said so", args: []string{"--env-file", "main.go"}, check: func(t *testing.T, c config, rs resources) {
			wd, _ := os.Getwd()
			if paths(rs.envFiles) != filepath.Join(wd, "main.go") || len(rs.envFileNotes) != 1 || !strings.Contains(rs.envFileNotes[0], "is a relative path, taken as "+filepath.Join(wd, "main.go")) {
				t.Errorf("env files = %v, notes %v", paths(rs.envFiles), rs.envFileNotes)
			}
		}},
		{name: "an env file named twice, once relative, is one file", args: []string{"--env-file", "main.go", "--env-file", "./main.go"}, check: func(t *testing.T, c config, rs resources) {
			if len(rs.envFiles) != 1 {
				t.Errorf("env files = %v", paths(rs.envFiles))
			}
		}},
		{name: "no env files", check: func(t *testing.T, c config, rs resources) {
			if len(rs.envFiles) != 0 || c.tools.EnvFiles {
				t.Errorf("env files = %v (%+v)", rs.envFiles, c.tools)
			}
		}},
		{name: "missing env file", args: []string{"--env-file", "/nonexistent/.env"}, wantErr: "--env-file (TOGETHER_SECRETS_ENV_FILES): cannot use /nonexistent/.env as a dotenv file: /nonexistent/.env: file does not exist"},
		{name: "env file that is a directory", env: map[string]string{"TOGETHER_SECRETS_ENV_FILES": os.TempDir()}, wantErr: "is not a regular file"},
		{name: "import named without env files", args: []string{"--tools", "import_env_file"}, wantErr: "--tools (TOGETHER_SECRETS_TOOLS): tool \"import_env_file\" reads dotenv files, and none is configured"},
		{name: "public intake page without the word for it", args: []string{"--intake-addr", "0.0.0.0:8765"}, wantErr: "--intake-addr (TOGETHER_SECRETS_INTAKE_ADDR): 0.0.0.0:8765 is not a loopback address"},
		{name: "public intake page, chosen", args: []string{"--intake-addr", "0.0.0.0:8765", "--intake-allow-non-loopback"}, check: func(t *testing.T, c config, rs resources) {
			if c.intake.Addr != "0.0.0.0:8765" || !c.intake.AllowNonLoopback || !c.tools.Intake {
				t.Errorf("intake = %+v", c.intake)
			}
		}},
		{name: "short intake ttl", env: map[string]string{"TOGETHER_SECRETS_INTAKE_TTL": "1s"}, wantErr: `--intake-ttl (TOGETHER_SECRETS_INTAKE_TTL): "1s" is not a duration from 10s to 24h`},
		{name: "intake ttl over a day", env: map[string]string{"TOGETHER_SECRETS_INTAKE_TTL": "24h1s"}, wantErr: `--intake-ttl (TOGETHER_SECRETS_INTAKE_TTL): "24h1s" is not a duration from 10s to 24h`},
		{name: "no intake page over HTTP", args: []string{"--http", "127.0.0.1:8080"}, check: func(t *testing.T, c config, rs resources) {
			if c.tools.Intake {
				t.Error("the page is offered in HTTP mode")
			}
		}},
		{name: "demo", args: []string{"demo"}, check: func(t *testing.T, c config, rs resources) {
			if c.command != "demo" {
				t.Errorf("command = %q", c.command)
			}
		}},
		{name: "version", args: []string{"--version"}, check: func(t *testing.T, c config, rs resources) {
			if c.command != "version" {
				t.Errorf("command = %q", c.command)
			}
		}},
		{name: "help", args: []string{"-h"}, check: func(t *testing.T, c config, rs resources) {
			if c.command != "help" {
				t.Errorf("command = %q", c.command)
			}
		}},
		{name: "unknown flag", args: []string{"--colour", "x"}, wantErr: "flag provided but not defined: -colour; run with --help to list the settings"},
		{name: "unknown command", args: []string{"serve"}, wantErr: `unexpected argument "serve"`},
		{name: "both keys", args: []string{"--api-key-file", keyFile}, env: map[string]string{"TOGETHER_API_KEY": "k"}, wantErr: "keep only one"},
		{name: "key and key command", env: map[string]string{"TOGETHER_API_KEY": "k", "TOGETHER_API_KEY_COMMAND": "op read x"},
			wantErr: "the API key may come from one place, and TOGETHER_API_KEY and --api-key-command (TOGETHER_API_KEY_COMMAND) are all set; keep only one"},
		{name: "key command", args: []string{"--api-key-command", "printf 'key-from-command\\n'", "--api-key-command-timeout", "5s"}, shell: true, check: func(t *testing.T, c config, rs resources) {
			if c.keyCommandTimeout != 5*time.Second || rs.key != togetherapi.NewSensitive("key-from-command") || !strings.Contains(c.keySource(), "key command") {
				t.Errorf("config = %+v", c)
			}
		}},
		{name: "bad key command timeout", env: map[string]string{"TOGETHER_API_KEY_COMMAND_TIMEOUT": "never"}, wantErr: `--api-key-command-timeout (TOGETHER_API_KEY_COMMAND_TIMEOUT): "never" is not a positive duration`},
		{name: "missing key file", args: []string{"--api-key-file", "/nonexistent/key"}, wantErr: "--api-key-file (TOGETHER_API_KEY_FILE): cannot open the key file: there is no such file; its path is not shown"},
		{name: "empty key file", args: []string{"--api-key-file", emptyFile}, wantErr: "is empty"},
		{name: "key file holding only white space", args: []string{"--api-key-file", blankFile}, wantErr: "is empty"},
		{name: "bad timeout", args: []string{"--timeout", "soon"}, wantErr: `--timeout (TOGETHER_SECRETS_TIMEOUT): "soon" is not a positive duration such as 30s`},
		{name: "zero timeout", args: []string{"--timeout", "0s"}, wantErr: "not a positive duration"},
		{name: "bad level", args: []string{"--log-level", "loud"}, wantErr: `--log-level (TOGETHER_SECRETS_LOG_LEVEL): "loud" is not one of debug, info, warn, error`},
		{name: "undocumented level", env: map[string]string{"TOGETHER_SECRETS_LOG_LEVEL": "disabled"}, wantErr: `--log-level (TOGETHER_SECRETS_LOG_LEVEL): "disabled" is not one of`},
		{name: "trace level", args: []string{"--log-level", "trace"}, wantErr: `"trace" is not one of`},
		{name: "bad base URL", args: []string{"--base-url", "http://api.example.test/v1"}, wantErr: `--base-url (TOGETHER_BASE_URL): base URL "http://api.example.test/v1" is plain http`},
		{name: "base URL with a password", env: map[string]string{"TOGETHER_BASE_URL": "https://u:pw@api.example.test/v1"}, wantErr: `--base-url (TOGETHER_BASE_URL): base URL "https://api.example.test/v1" must not carry credentials`},
		{name: "endless key file", args: []string{"--api-key-file", "/dev/zero"}, wantErr: "--api-key-file (TOGETHER_API_KEY_FILE): the key file /dev/zero is not a regular file"},
		{name: "key file that is a directory", args: []string{"--api-key-file", os.TempDir()}, wantErr: "--api-key-file (TOGETHER_API_KEY_FILE): the key file " + os.TempDir() + " is not a regular file"},
		{name: "bad format", args: []string{"--log-format", "xml"}, wantErr: `--log-format (TOGETHER_SECRETS_LOG_FORMAT): "xml" is not json or console`},
		{name: "bad sandbox variable", env: map[string]string{"TOGETHER_SECRETS_SANDBOX": "maybe"}, wantErr: `--sandbox (TOGETHER_SECRETS_SANDBOX): "maybe" is not true or false`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.shell {
				apitest.NeedsProcess(t)
			}
			c, rs, err := load(t, tt.args, tt.env)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c, rs)
		})
	}
}

func TestHelpSaysBothTransportsAndWhenEachToolIsOfferedByDefault(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	usage(&b, buildVersion())
	help := b.String()
	if !strings.Contains(help, "stdio, or over streamable HTTP with --http") || !strings.Contains(help, "--http ADDR [flags]") {
		t.Errorf("the help speaks of one transport:\n%s", help)
	}
	if !strings.Contains(help, "(default create_secret,list_secrets,get_secret,update_secret; with request_secret_from_user over stdio, and import_env_file with --env-file)") {
		t.Errorf("the default tools are not said as they are:\n%s", help)
	}
	if !strings.Contains(help, "from 10s to 24h") {
		t.Error("the help does not give the shortest and longest --intake-ttl")
	}
	// Each setting's name line, then its help indented beneath: columns that
	// a long name cannot push out of line.
	lines := strings.Split(help, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "  --") || strings.HasPrefix(l, "  TOGETHER_") {
			if i+1 >= len(lines) || !strings.HasPrefix(lines[i+1], "        ") {
				t.Errorf("%q is not followed by its help, indented", l)
			}
		}
	}
}

func TestHelpListsEverySettingAndItsVariable(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	usage(&b, buildVersion())
	for _, s := range settings {
		if !strings.Contains(b.String(), s.env) || (s.flag != "" && !strings.Contains(b.String(), "--"+s.flag)) {
			t.Errorf("help lacks %s / --%s:\n%s", s.env, s.flag, b.String())
		}
	}
}

// paths lists the configured env files' paths, comma-separated.
func paths(files []envfile.Source) string {
	var out []string
	for _, f := range files {
		out = append(out, f.Path)
	}
	return strings.Join(out, ",")
}

func TestEverySettingIsDeclaredOnceAndDocumented(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, s := range settings {
		for _, name := range []string{s.flag, s.env} {
			if name != "" && seen[name] {
				t.Errorf("%s is declared twice", name)
			}
			seen[name] = true
		}
		if s.apply == nil || s.help == "" || !strings.HasPrefix(s.env, "TOGETHER_") {
			t.Errorf("%s: incomplete entry", s.env)
		}
		if !strings.Contains(string(readme), "`"+s.env+"`") || (s.flag != "" && !strings.Contains(string(readme), "`--"+s.flag+"`")) {
			t.Errorf("README's Configuration table lacks %s", settingName(nameOf(&s)))
		}
	}
}

func TestASettingOfTheOtherTransportIsNamedAsIgnored(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		args []string
		env  map[string]string
		want []string
	}{
		{args: []string{"--max-in-flight", "9", "--allowed-hosts", "a.example"}, want: []string{
			"--allowed-hosts (TOGETHER_SECRETS_ALLOWED_HOSTS) does not apply over stdio, and is ignored",
			"--max-in-flight (TOGETHER_SECRETS_MAX_IN_FLIGHT) does not apply over stdio, and is ignored"}},
		{args: []string{"--http", "127.0.0.1:0", "--intake-ttl", "1m", "--intake-addr", "127.0.0.1:9"}, env: map[string]string{"TOGETHER_API_KEY": "k"}, want: []string{
			"TOGETHER_API_KEY does not apply in HTTP mode, and is ignored",
			"--intake-addr (TOGETHER_SECRETS_INTAKE_ADDR) does not apply in HTTP mode, and is ignored"}},
		{args: []string{"--public-url", "https://secrets.example.com", "--link-key-file", "/k"}, want: []string{
			"--public-url (TOGETHER_SECRETS_PUBLIC_URL) does not apply over stdio, and is ignored",
			"--link-key-file (TOGETHER_SECRETS_LINK_KEY_FILE) does not apply over stdio, and is ignored"}},
		{args: []string{"--timeout", "5s"}},
	} {
		c, err := parseConfig(tt.args, envOf(tt.env))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tt.want, c.ignored); diff != "" {
			t.Errorf("%v: ignored (-want +got):\n%s", tt.args, diff)
		}
	}
	var b strings.Builder
	usage(&b, buildVersion())
	if !strings.Contains(b.String(), "HTTP mode: requests served at once") || !strings.Contains(b.String(), "where the one-time value page of request_secret_from_user listens (a free loopback port by default) (stdio only)") {
		t.Errorf("the help does not say which transport a setting is for:\n%s", b.String())
	}
}

func TestTheGoMemoryLimitFollowsTheContainers(t *testing.T) {
	// The limit is the process's: restored as it was, not to a default.
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	// A limit no case sets, so that a case that must leave the limit alone
	// is seen to have done so.
	const untouched = 3 << 40
	files := func(m map[string]string) func(string) ([]byte, error) {
		return func(p string) ([]byte, error) {
			if v, ok := m[p]; ok {
				return []byte(v), nil
			}
			return nil, os.ErrNotExist
		}
	}
	for _, tt := range []struct {
		name  string
		env   map[string]string
		files map[string]string
		want  int64
	}{
		{"cgroup v2", nil, map[string]string{"/sys/fs/cgroup/memory.max": "268435456\n"}, 241591910},
		{"cgroup v1", nil, map[string]string{"/sys/fs/cgroup/memory/memory.limit_in_bytes": "104857600\n"}, 94371840},
		{"no limit (v2)", nil, map[string]string{"/sys/fs/cgroup/memory.max": "max\n"}, 0},
		{"no limit (v1)", nil, map[string]string{"/sys/fs/cgroup/memory/memory.limit_in_bytes": "9223372036854771712\n"}, 0},
		{"not in a container", nil, nil, 0},
		{"GOMEMLIMIT wins", map[string]string{"GOMEMLIMIT": "100MiB"}, map[string]string{"/sys/fs/cgroup/memory.max": "268435456"}, 0},
	} {
		debug.SetMemoryLimit(untouched)
		if got := setMemoryLimit(envOf(tt.env), files(tt.files)); got != tt.want {
			t.Errorf("%s: limit %d, want %d", tt.name, got, tt.want)
		}
		switch now := debug.SetMemoryLimit(-1); {
		case tt.want > 0 && now != tt.want:
			t.Errorf("%s: the runtime's limit is %d, not the %d returned", tt.name, now, tt.want)
		case tt.want == 0 && now != untouched:
			t.Errorf("%s: the runtime's limit was changed to %d; want it left alone", tt.name, now)
		}
	}
}

func TestHTTPSettingsRefuseAnUnprotectedPublicAddress(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--http", ":8080"}, "--http (TOGETHER_SECRETS_HTTP): :8080 listens beyond this machine, where keys would cross the network in clear: serve TLS with --tls-cert (TOGETHER_SECRETS_TLS_CERT) and --tls-key (TOGETHER_SECRETS_TLS_KEY), or, behind a proxy that terminates TLS, say so with --behind-tls-proxy"},
		{[]string{"--http", "0.0.0.0:8080", "--tls-cert", "c.pem"}, "--tls-cert (TOGETHER_SECRETS_TLS_CERT): and --tls-key (TOGETHER_SECRETS_TLS_KEY) go together"},
		{[]string{"--http", "127.0.0.1:8080", "--allowed-origins", "agents.example.com"}, `--allowed-origins (TOGETHER_SECRETS_ALLOWED_ORIGINS): "agents.example.com" is not a full origin`},
		{[]string{"--http", "127.0.0.1:8080", "--max-in-flight", "0"}, "--max-in-flight (TOGETHER_SECRETS_MAX_IN_FLIGHT)"},
		{[]string{"--http", "nonsense"}, `"nonsense" is not an address`},
		{[]string{"--http", "127.0.0.1:8080", "--env-file", "main.go"}, "--env-file (TOGETHER_SECRETS_ENV_FILES): is for stdio only"},
	} {
		if _, err := parseConfig(tt.args, func(string) string { return "" }); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: %v, want %q", tt.args, err, tt.want)
		}
	}
	for _, args := range [][]string{
		{"--http", ":8080", "--behind-tls-proxy"},
		{"--http", "0.0.0.0:8443", "--tls-cert", "c.pem", "--tls-key", "k.pem"},
		{"--http", "[::1]:8080"},
		{"--http", "localhost:8080"},
	} {
		if _, err := parseConfig(args, func(string) string { return "" }); err != nil {
			t.Errorf("%v: %v", args, err)
		}
	}
}

func TestThePublicURLServesThePageOverHTTPAndIsHTTPSUnlessOnLoopback(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		url, want string
	}{
		{"http://secrets.example.com", "--public-url (TOGETHER_SECRETS_PUBLIC_URL): the URL must use https (http only on this machine's loopback)"},
		{"https://admin:hunter2-pass@secrets.example.com", "--public-url (TOGETHER_SECRETS_PUBLIC_URL): the URL must not hold a user name or password"},
		{"secrets.example.com", "--public-url (TOGETHER_SECRETS_PUBLIC_URL): the URL must be an absolute URL such as https://secrets.example.com"},
		{"https://secrets.example.com/?k=v", "--public-url (TOGETHER_SECRETS_PUBLIC_URL): the URL must not hold a query"},
	} {
		_, err := parseConfig([]string{"--http", "127.0.0.1:0", "--public-url", tt.url}, envOf(nil))
		if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%q: %v, want %q, without the URL", tt.url, err, tt.want)
		}
	}
	for _, tt := range []struct {
		args  []string
		offer bool
	}{
		{[]string{"--http", "127.0.0.1:0"}, false},
		{[]string{"--http", "127.0.0.1:0", "--public-url", "https://secrets.example.com/team"}, true},
		{[]string{"--http", "127.0.0.1:0", "--public-url", "http://127.0.0.1:8080"}, true},
		{nil, true},
	} {
		c, err := parseConfig(tt.args, envOf(nil))
		if err != nil || c.tools.Intake != tt.offer {
			t.Errorf("%q: the page offered %v (%v), want %v", tt.args, c.tools.Intake, err, tt.offer)
		}
	}
}

// fifo makes a FIFO at path, which no one writes to.
func fifo(t *testing.T, path string) string {
	t.Helper()
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestTheLinkKeyFileIsReadAfterParsingAndNeverQuoted(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, text string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	const short = "0123456789abcdef0123456789abcdef" // 16 bytes, in hex
	key, previous := strings.Repeat("ab", 32), strings.Repeat("cd", 32)
	for _, tt := range []struct {
		name, file string
		made       bool
		want       string
	}{
		{name: "no file, and a public URL: a key in memory", made: true},
		{name: "a key", file: write("one", key+"\n")},
		{name: "a key and the previous one, with blanks", file: write("two", "  "+key+" \r\n\n"+previous+"\n")},
		{name: "a file that does not exist", file: filepath.Join(dir, "missing"), want: "--link-key-file (TOGETHER_SECRETS_LINK_KEY_FILE): cannot open the key file: there is no such file"},
		{name: "a short key", file: write("short", short), want: "line 1 decodes to 16 bytes, and a link key needs at least 32: write one key made by `openssl rand -hex 32`"},
		{name: "three keys", file: write("three", key+"\n"+previous+"\n"+key+"\n"), want: "holds 3 keys, and may hold two at most"},
		{name: "an empty file", file: write("empty", "\n"), want: "holds no key"},
		{name: "a FIFO, which could hold start-up for good", file: fifo(t, filepath.Join(dir, "fifo")), want: "is not a regular file"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"--http", "127.0.0.1:0", "--public-url", "https://secrets.example.com"}
			if tt.file != "" {
				args = append(args, "--link-key-file", tt.file)
			}
			c, err := parseConfig(args, envOf(nil))
			if err != nil {
				t.Fatalf("parsing read the file: %v", err)
			}
			rs, err := prepare(t.Context(), c)
			if tt.want != "" {
				if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), short) || strings.Contains(err.Error(), key) {
					t.Errorf("prepare: %v, want %q, quoting no key", err, tt.want)
				}
				return
			}
			if err != nil || rs.linkKeys == nil || rs.linkKeysMade != tt.made {
				t.Errorf("prepare: keys %v, made %v, %v; want keys, made %v", rs.linkKeys != nil, rs.linkKeysMade, err, tt.made)
			}
		})
	}
}

func TestHTTPAllowedHostsAreChecked(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"https://mcp.example.com", "mcp.example.com/mcp", "user@mcp.example.com", ":8080"} {
		if _, err := parseConfig([]string{"--http", "127.0.0.1:0", "--allowed-hosts", bad}, func(string) string { return "" }); err == nil ||
			!strings.Contains(err.Error(), "--allowed-hosts (TOGETHER_SECRETS_ALLOWED_HOSTS)") {
			t.Errorf("%q: %v", bad, err)
		}
	}
	// HTTP mode compares them with the Host of each request, lower-case.
	c, err := parseConfig([]string{"--http", "127.0.0.1:0", "--allowed-hosts", "MCP.example.com", "--allowed-origins", "https://Agents.EXAMPLE.com"}, envOf(nil))
	if err != nil || c.http.allowedHosts[0] != "mcp.example.com" || c.http.allowedOrigins[0] != "https://agents.example.com" {
		t.Errorf("hosts %q, origins %q, %v; want them lower-case", c.http.allowedHosts, c.http.allowedOrigins, err)
	}
}

func TestTheBodyBudgetIsAQuarterOfTheMemoryLimit(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		limit int64
		want  int64
	}{
		{"the shipped manifests' 256 MiB, less a tenth", 241591910, 60397977},
		{"no limit", math.MaxInt64, 256 << 20},
		{"a limit too small for one whole body", 2 << 20, httpserve.MaxRequestBody},
	} {
		if got := bodyBudget(tt.limit); got != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestParsingOpensNoFileAndRunsNothing(t *testing.T) {
	t.Parallel()
	apitest.NeedsProcess(t) // prepare runs the key command
	ran := filepath.Join(t.TempDir(), "ran")
	for _, tt := range []struct {
		args []string
		want string // what prepare says of it
	}{
		{[]string{"--api-key-file", "/nonexistent/key"}, "--api-key-file (TOGETHER_API_KEY_FILE): cannot open the key file: there is no such file"},
		{[]string{"--env-file", "/nonexistent/.env"}, "--env-file (TOGETHER_SECRETS_ENV_FILES): cannot use /nonexistent/.env as a dotenv file"},
		{[]string{"--api-key-command", "touch " + ran + "; echo key-from-command"}, ""},
	} {
		c, err := parseConfig(tt.args, envOf(nil))
		if err != nil {
			t.Errorf("%q: parsing read what the settings name: %v", tt.args, err)
			continue
		}
		if _, err := os.Stat(ran); err == nil {
			t.Fatalf("%q: parsing ran the key command", tt.args)
		}
		// What they name is read, or run, when run prepares to serve.
		_, err = prepare(t.Context(), c)
		if (tt.want == "" && err != nil) || (tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want))) {
			t.Errorf("%q: prepare: %v, want %q", tt.args, err, tt.want)
		}
	}
	if _, err := os.Stat(ran); err != nil {
		t.Errorf("prepare did not run the key command: %v", err)
	}
}

func TestConfigUsesNoOtherFileOfTheRoot(t *testing.T) {
	t.Parallel()
	// config.go is what the other files of the root build on: an arrow back
	// from it to one of them would tie the settings to a transport.
	declared := map[string]string{}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var config *ast.File
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		if name == "config.go" {
			config = f
			continue
		}
		for n := range f.Scope.Objects {
			declared[n] = name
		}
	}
	for _, id := range config.Unresolved {
		if where, ok := declared[id.Name]; ok {
			t.Errorf("config.go:%d uses %s, declared in %s", fset.Position(id.Pos()).Line, id.Name, where)
		}
	}
}

func TestASettingSetToNothingIsRefusedNamingIt(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"a name prefix of a comma", []string{"--name-prefix", ","}, nil, "--name-prefix (TOGETHER_SECRETS_NAME_PREFIXES): the flag is set to nothing"},
		{"a name prefix of a comma among blanks", []string{"--name-prefix", " , "}, nil, "--name-prefix (TOGETHER_SECRETS_NAME_PREFIXES): the flag is set to nothing"},
		{"an empty name prefix beside a real one", []string{"--name-prefix", "team-a/", "--name-prefix", ""}, nil, "--name-prefix (TOGETHER_SECRETS_NAME_PREFIXES): the flag is set to nothing"},
		{"name prefixes of commas in the variable", nil, map[string]string{"TOGETHER_SECRETS_NAME_PREFIXES": " , "}, "--name-prefix (TOGETHER_SECRETS_NAME_PREFIXES): the variable is set to nothing"},
		{"an empty audit log", []string{"--audit-log", ""}, nil, "--audit-log (TOGETHER_SECRETS_AUDIT_LOG): the flag is set to nothing"},
		{"an audit log of blanks", nil, map[string]string{"TOGETHER_SECRETS_AUDIT_LOG": "  "}, "--audit-log (TOGETHER_SECRETS_AUDIT_LOG): the variable is set to nothing"},
		{"values from the user only, set to blanks", nil, map[string]string{"TOGETHER_SECRETS_VALUES_FROM_USER_ONLY": " "}, "--values-from-user-only (TOGETHER_SECRETS_VALUES_FROM_USER_ONLY): the variable is set to nothing"},
		{"read-only, set to an empty flag", []string{"--read-only="}, nil, "--read-only (TOGETHER_SECRETS_READ_ONLY): the flag is set to nothing"},
		{"allowed hosts of a comma", []string{"--http", "127.0.0.1:0", "--allowed-hosts", ","}, nil, "--allowed-hosts (TOGETHER_SECRETS_ALLOWED_HOSTS): the flag is set to nothing"},
		{"allowed origins of blanks", []string{"--http", "127.0.0.1:0"}, map[string]string{"TOGETHER_SECRETS_ALLOWED_ORIGINS": " ,, "}, "--allowed-origins (TOGETHER_SECRETS_ALLOWED_ORIGINS): the variable is set to nothing"},
		{"an empty HTTP address", []string{"--http", ""}, nil, "--http (TOGETHER_SECRETS_HTTP): the flag is set to nothing"},
		{"a key of blanks", nil, map[string]string{"TOGETHER_API_KEY": " \n"}, "TOGETHER_API_KEY: the variable is set to nothing"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseConfig(tt.args, envOf(tt.env))
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "give it a value, or leave it out") {
				t.Errorf("err = %v, want one saying %q", err, tt.want)
			}
		})
	}
}

func TestAVariableSetToTheEmptyStringIsUnset(t *testing.T) {
	t.Parallel()
	// An MCP bundle passes every field of its form, an empty one as "".
	c, err := parseConfig(nil, envOf(map[string]string{"TOGETHER_SECRETS_NAME_PREFIXES": "", "TOGETHER_SECRETS_TOOLS": "", "TOGETHER_SECRETS_AUDIT_LOG": ""}))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.namePrefixes) != 0 || len(c.tools.Names) != 0 || c.auditLog != "" {
		t.Errorf("an empty variable was read as set: %+v", c)
	}
}

func TestANamePrefixMustEndInASeparator(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		prefix string
		want   string // "" when the prefix is taken
	}{
		{"team-a", `"team-a" does not end in "/", "-", "_" or ".", so it would also admit names that merely start with the same letters, such as team-ab/X; write team-a/`},
		{"TEAM_A", `"TEAM_A" does not end in`},
		{"team-a/prod", `"team-a/prod" does not end in`},
		{"-", `"-" holds only separators`},
		{"_-", `"_-" holds only separators`},
		{"team-a/", ""},
		{"team-a/prod/", ""},
		{"model-", ""},
		{"TEAM_A_", ""},
		{"team.a.", ""},
	} {
		c, err := parseConfig([]string{"--name-prefix", tt.prefix}, envOf(nil))
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%q: %v", tt.prefix, err)
		case tt.want == "" && (len(c.namePrefixes) != 1 || c.namePrefixes[0] != tt.prefix):
			t.Errorf("%q: prefixes = %q", tt.prefix, c.namePrefixes)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), "--name-prefix (TOGETHER_SECRETS_NAME_PREFIXES): "+tt.want)):
			t.Errorf("%q: err = %v, want one saying %q", tt.prefix, err, tt.want)
		}
	}
}

func TestAKeyIsOneLineWhereverItComesFrom(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := func(name, body string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	const key = "tgp_KEYLINE_0123456789"
	twoLines, blankAround, tabbed, crlf := file("two", key+"\nsecond-line-of-junk\n"), file("blank", "\n\n  "+key+" \r\n\n"), file("tab", "tgp_\tKEY"), file("crlf", key+"\r\n")
	for _, tt := range []struct {
		name    string
		args    []string
		env     map[string]string
		want    string
		wantErr string
	}{
		{name: "a key file of two lines", args: []string{"--api-key-file", twoLines},
			wantErr: "--api-key-file (TOGETHER_API_KEY_FILE): the key file " + twoLines + " holds 2 non-empty lines, and a key is one line: keep only the key in it (a newline after it is fine)"},
		{name: "a key file with a tab within the key", args: []string{"--api-key-file", tabbed},
			wantErr: "the key file " + tabbed + " holds a control character (such as a tab or a carriage return) within the key, which no key holds: keep only the key in it"},
		{name: "a key file with blank lines around the key", args: []string{"--api-key-file", blankAround}, want: key},
		{name: "a key file written on Windows", args: []string{"--api-key-file", crlf}, want: key},
		{name: "a key variable of two lines", env: map[string]string{"TOGETHER_API_KEY": key + "\n" + key},
			wantErr: "TOGETHER_API_KEY: holds 2 non-empty lines, and a key is one line: set it to the key alone"},
		{name: "a key variable with a control character", env: map[string]string{"TOGETHER_API_KEY": key + "\x00"},
			wantErr: "TOGETHER_API_KEY: holds a control character"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, rs, err := load(t, tt.args, tt.env)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one saying %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "KEYLINE") || strings.Contains(err.Error(), "junk") {
					t.Errorf("the error quotes the key: %v", err)
				}
				return
			}
			if err != nil || rs.key != togetherapi.NewSensitive(tt.want) {
				t.Errorf("err = %v, or the key is not the one line", err)
			}
		})
	}
	t.Run("a key command", func(t *testing.T) {
		apitest.NeedsProcess(t)
		// The key command is held to the same rule.
		if _, err := keycommand.Run(context.Background(), `printf 'tgp_\tKEY\n'`, 5*time.Second); err == nil || !strings.Contains(err.Error(), "the key command printed a control character") {
			t.Errorf("a key command printing a tab within the key: %v", err)
		}
	})
}

func TestTheReadmeSaysWhatTheServerDoes(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	for i, l := range strings.Split(readme, "\n") {
		if strings.HasPrefix(l, "|") && !strings.HasSuffix(l, "|") {
			t.Errorf("README line %d is a table row broken across lines: %q", i+1, l)
		}
	}
	if strings.ContainsAny(readme, "\t\r") {
		t.Error("README holds a tab or a carriage return, which reads as an escape written wrong")
	}
	// internal/envfile takes no escape inside double quotes: the readers
	// disagree on every one.
	if row := tableRow(readme, "| `KEY=\"text\"` |"); !strings.Contains(row, "a backslash, a `$` or a backquote** inside is refused") {
		t.Errorf("README's dotenv table does not say a backslash inside double quotes is refused: %q", row)
	}

	t.Run("the key command's advice", func(t *testing.T) {
		apitest.NeedsProcess(t)
		_, err := keycommand.Run(context.Background(), `printf 'notice\ntgp_KEY\n'`, 5*time.Second)
		if err == nil {
			t.Fatal("a key command printing two lines was taken")
		}
		flat := strings.Join(strings.Fields(readme), " ")
		for _, advice := range []string{"| head -n 1 when the key comes first", "| tail -n 1 when it comes last"} {
			if !strings.Contains(strings.ReplaceAll(flat, "`", ""), advice) || !strings.Contains(err.Error(), advice) {
				t.Errorf("README and the key command's error do not both say %q:\n%v", advice, err)
			}
		}
	})

	demo := readme[strings.Index(readme, "`demo` starts"):]
	demo = demo[:strings.Index(demo, "\n\n")]
	var help strings.Builder
	usage(&help, buildVersion())
	for _, call := range []string{"`create_secret`", "`attach_secret`", "`get_secret`"} {
		if !strings.Contains(demo, call) {
			t.Errorf("README's demo does not say it calls %s:\n%s", call, demo)
		}
	}
	if !strings.Contains(help.String(), "demo                 create, attach and read a secret") {
		t.Errorf("the help does not say what demo does:\n%s", help.String())
	}
}

func TestACommandLineMistakeIsNamedAndAKeyNeverRepeated(t *testing.T) {
	t.Parallel()
	const key = "tgp_v1_ARGKEY0123456789abcdefABCDEF"
	keyFlag := "there is no --api-key flag: the API key is never taken from the command line, where ps shows it to every user of the machine; " +
		"set TOGETHER_API_KEY in the environment, or give --api-key-file (TOGETHER_API_KEY_FILE) or --api-key-command (TOGETHER_API_KEY_COMMAND)"
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"demo", "extra"}, `demo takes no arguments: remove the argument "extra" after it, and run it alone, as: together-secrets-mcp demo`},
		{[]string{"demo", "--sandbox"}, `demo takes no arguments: remove the argument "--sandbox" after it`},
		{[]string{"serve"}, `unexpected argument "serve"; the only command is "demo"`},
		{[]string{key}, "unexpected argument (35 characters, not shown in case it is a key); the only command is \"demo\""},
		{[]string{"demo", key}, "demo takes no arguments: remove the argument (35 characters, not shown in case it is a key) after it"},
		{[]string{"--api-key", key}, keyFlag},
		{[]string{"--sandbox", "--api-key=" + key}, keyFlag},
		{[]string{"-api_key", key}, keyFlag},
		{[]string{"--timeout", "5s", "--API-KEY", key}, keyFlag},
	} {
		_, err := parseConfig(tt.args, envOf(nil))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: err = %v, want one saying %q", tt.args, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "ARGKEY") {
			t.Errorf("%q: the error repeats the key: %v", tt.args, err)
		}
	}
}

// tableRow returns the README's table row that starts with prefix, or "".
func tableRow(readme, prefix string) string {
	for _, l := range strings.Split(readme, "\n") {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	return ""
}

func TestASettingThatHoldsTheKeyIsRefusedWithoutRepeatingIt(t *testing.T) {
	t.Parallel()
	const key = "tgp_v1_SETKEY0123456789abcdefABCDEF"
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key")
	if err := os.WriteFile(keyFile, []byte(key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name    string
		args    []string
		setting string
	}{
		{"the audit log's path", []string{"--audit-log", filepath.Join(dir, key)}, "--audit-log"},
		{"a dotenv file's path", []string{"--env-file", key}, "--env-file"},
		{"a name prefix", []string{"--name-prefix", key + "/"}, "--name-prefix"},
		{"the base URL", []string{"--base-url", "https://api.together.xyz/" + key + "/v1"}, "--base-url"},
	} {
		for source, env := range map[string]map[string]string{
			"the variable": {"TOGETHER_API_KEY": key},
			"a key file":   {"TOGETHER_API_KEY_FILE": keyFile},
		} {
			_, _, err := load(t, tt.args, env)
			if err == nil || !strings.Contains(err.Error(), tt.setting+" ") || !strings.Contains(err.Error(), "holds the API key") {
				t.Errorf("%s, key from %s: err = %v, want one naming %s as holding the key", tt.name, source, err, tt.setting)
			}
			if err != nil && strings.Contains(err.Error(), "SETKEY") {
				t.Errorf("%s, key from %s: the error repeats the key: %v", tt.name, source, err)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(dir, key)); !os.IsNotExist(err) {
		t.Errorf("a file named after the key was made: %v", err)
	}
	// Where the key comes from the variable, a mistake the settings' parser
	// finds, before the key is resolved, is scrubbed of it.
	for _, args := range [][]string{{"--intake-ttl", key}, {"--log-level", key}, {"--timeout", "x" + key}} {
		_, err := parseConfig(args, envOf(map[string]string{"TOGETHER_API_KEY": key}))
		if err == nil || strings.Contains(err.Error(), "SETKEY") || !strings.Contains(err.Error(), args[0]) {
			t.Errorf("%q: err = %v, want one naming %s without the key", args, err, args[0])
		}
	}
	// The key's own sources are not refused for holding it.
	if _, rs, err := load(t, nil, map[string]string{"TOGETHER_API_KEY_FILE": keyFile}); err != nil || rs.key.IsZero() {
		t.Errorf("a key file: %v", err)
	}
}
