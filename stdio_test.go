package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/together-secrets-mcp/together-secrets-mcp/internal/apitest"
	"github.com/together-secrets-mcp/together-secrets-mcp/internal/syncio"
	"github.com/together-secrets-mcp/together-secrets-mcp/sandbox"
)

const (
	e2eValue = "CANARYVALUE-e2e-5a4b3c2d1e-\"<&>\""
	e2eKey   = "CANARYKEY-e2e-99887766"
)

// The server binary, built on first use by the tests that run it, so that
// the table tests of this package do not wait for a build.
var (
	buildOnce sync.Once
	builtDir  string
	builtBin  string
	buildErr  error
)

// serverBinary returns the path of the server binary, building it once.
// Every test that runs the binary asks for it here, so that none runs in
// the fast loop.
func serverBinary(t *testing.T) string {
	t.Helper()
	apitest.NeedsProcess(t)
	buildOnce.Do(func() {
		if builtDir, buildErr = os.MkdirTemp("", "together-secrets-mcp-test"); buildErr != nil {
			return
		}
		builtBin = filepath.Join(builtDir, "together-secrets-mcp")
		out, err := exec.Command("go", "build", "-o", builtBin, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("building the server: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if builtDir != "" {
		os.RemoveAll(builtDir)
	}
	os.Exit(code)
}

// sandboxAPI is the shared stand-in for Together with one sandbox account,
// whose key the tests give the binary, and that account.
func sandboxAPI(t *testing.T) (*apitest.API, *sandbox.Server) {
	t.Helper()
	api := apitest.NewSandbox(t, sandbox.Options{APIKey: e2eKey})
	return api, api.Account(e2eKey)
}

// proc is the server binary running with pipes on all three streams.
type proc struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan string // stdout, line by line
	stdout bytes.Buffer
	stderr syncio.Buffer
	mu     sync.Mutex
	done   chan struct{}
}

func start(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	return startWithStderr(t, nil, env, args...)
}

// startWithStderr is start with the server's stderr sent to stderr instead
// of to p.stderr, when it is not nil.
func startWithStderr(t *testing.T, stderr io.Writer, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{lines: make(chan string, 100), done: make(chan struct{})}
	p.cmd = exec.Command(serverBinary(t), args...)
	p.cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
	p.cmd.Stderr = &p.stderr
	if stderr != nil {
		p.cmd.Stderr = stderr
	}
	var err error
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.stdout.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			p.lines <- sc.Text()
		}
		close(p.lines)
	}()
	t.Cleanup(func() { _ = p.cmd.Process.Kill(); _ = p.cmd.Wait() })
	return p
}

func (p *proc) send(t *testing.T, line string) {
	t.Helper()
	if _, err := io.WriteString(p.stdin, line+"\n"); err != nil {
		t.Fatalf("writing to the server: %v", err)
	}
}

// response waits for the JSON-RPC response with the given id, failing on
// any stdout line that is not JSON-RPC.
func (p *proc) response(t *testing.T, id any) map[string]any {
	t.Helper()
	want, _ := json.Marshal(id)
	timeout := time.After(10 * time.Second)
	for {
		select {
		case line, ok := <-p.lines:
			if !ok {
				t.Fatalf("stdout closed before response %s; stderr:\n%s", want, p.stderr.String())
			}
			var msg map[string]any
			if err := json.Unmarshal([]byte(line), &msg); err != nil || msg["jsonrpc"] != "2.0" {
				t.Fatalf("stdout carries a line that is not JSON-RPC: %q", line)
			}
			got, _ := json.Marshal(msg["id"])
			if bytes.Equal(got, want) {
				return msg
			}
		case <-timeout:
			t.Fatalf("no response %s within 10s; stderr:\n%s", want, p.stderr.String())
		}
	}
}

// responses collects the next n responses, in whatever order they come,
// keyed by their id as JSON.
func (p *proc) responses(t *testing.T, n int) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	timeout := time.After(60 * time.Second)
	for len(out) < n {
		select {
		case line, ok := <-p.lines:
			if !ok {
				t.Fatalf("stdout closed after %d of %d responses; stderr:\n%s", len(out), n, p.stderr.String())
			}
			var msg map[string]any
			if err := json.Unmarshal([]byte(line), &msg); err != nil || msg["jsonrpc"] != "2.0" {
				t.Fatalf("stdout carries a line that is not JSON-RPC: %q", line)
			}
			id, _ := json.Marshal(msg["id"])
			if _, dup := out[string(id)]; dup {
				t.Fatalf("two responses with id %s", id)
			}
			out[string(id)] = msg
		case <-timeout:
			t.Fatalf("%d of %d responses within 60s", len(out), n)
		}
	}
	return out
}

// exit closes stdin and returns the exit code.
func (p *proc) exit(t *testing.T) int {
	t.Helper()
	_ = p.stdin.Close()
	return p.waitExit(t)
}

func (p *proc) waitExit(t *testing.T) int {
	t.Helper()
	errc := make(chan error, 1)
	go func() { <-p.done; errc <- p.cmd.Wait() }()
	select {
	case err := <-errc:
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(10 * time.Second):
		t.Fatal("the server did not exit within 10s")
		return -1
	}
}

func (p *proc) allStdout() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stdout.String()
}

// assertClean fails the test for each output that holds a value or a key
// the tests sent, all of which start with one of apitest.Canaries.
func assertClean(t *testing.T, outputs map[string]string) {
	t.Helper()
	apitest.AssertClean(t, outputs)
}

func createCall(id int, name string) string {
	args, _ := json.Marshal(map[string]any{"name": name, "value": e2eValue})
	return fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"create_secret","arguments":%s}}`, id, args)
}

func TestStdioInitializeHandshakeCreatesASecret(t *testing.T) {
	t.Parallel()
	srv, api := sandboxAPI(t)
	p := start(t, []string{"TOGETHER_API_KEY=" + e2eKey, "TOGETHER_BASE_URL=" + srv.URL + "/v1"})

	p.send(t, `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`)
	init := p.response(t, 1)
	result, _ := init["result"].(map[string]any)
	if result["protocolVersion"] != "2025-11-25" {
		t.Fatalf("initialize = %v", init)
	}
	if info, _ := result["serverInfo"].(map[string]any); info["name"] != "together-secrets-mcp" {
		t.Errorf("serverInfo = %v", result["serverInfo"])
	}
	p.send(t, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	p.send(t, `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`)
	list := p.response(t, 2)
	if !strings.Contains(fmt.Sprint(list["result"]), "create_secret") {
		t.Errorf("tools/list = %v", list)
	}
	p.send(t, createCall(3, "e2e/TOKEN"))
	call := p.response(t, 3)
	res, _ := call["result"].(map[string]any)
	if res["isError"] == true || res["structuredContent"] == nil {
		t.Fatalf("tools/call = %v", call)
	}
	if !api.ValueMatches("e2e/TOKEN", e2eValue) {
		t.Error("the API did not receive the value")
	}

	if code := p.exit(t); code != 0 {
		t.Errorf("exit code after stdin EOF = %d, want 0", code)
	}
	stderr := p.stderr.String()
	if !strings.Contains(stderr, `"tool":"create_secret"`) || !strings.Contains(stderr, `"outcome":"ok"`) {
		t.Errorf("stderr lacks the call's log event:\n%s", stderr)
	}
	assertClean(t, map[string]string{"stdout": p.allStdout(), "stderr": stderr})
}

func TestStdioWithTheMCPGoClientInBothGenerations(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		opts []client.ClientOption
	}{
		{"2026-07-28 discover", nil},
		{"2025-11-25 initialize", []client.ClientOption{client.WithProtocolVersion(mcp.ProtocolVersion20251125)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, api := sandboxAPI(t)
			var stderr syncio.Buffer
			tr := transport.NewStdioWithOptions(serverBinary(t), []string{"TOGETHER_API_KEY=" + e2eKey, "TOGETHER_BASE_URL=" + srv.URL + "/v1"}, nil,
				transport.WithCommandStderrWriter(&stderr))
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if err := tr.Start(ctx); err != nil {
				t.Fatal(err)
			}
			c := client.NewClient(tr, tc.opts...)
			defer c.Close()
			init, err := c.Initialize(ctx, mcp.InitializeRequest{Params: mcp.InitializeParams{ClientInfo: mcp.Implementation{Name: "t", Version: "1"}}})
			if err != nil {
				t.Fatal(err)
			}
			want := mcp.ProtocolVersion20260728
			if tc.opts != nil {
				want = mcp.ProtocolVersion20251125
			}
			if init.ProtocolVersion != want {
				t.Errorf("negotiated %s, want %s", init.ProtocolVersion, want)
			}
			res, err := c.CallTool(ctx, mcp.CallToolRequest{Params: mcp.CallToolParams{Name: "create_secret", Arguments: map[string]any{"name": "GEN", "value": e2eValue}}})
			if err != nil {
				t.Fatal(err)
			}
			if res.IsError || !api.ValueMatches("GEN", e2eValue) {
				t.Fatalf("create_secret = %+v", res)
			}
			b, _ := json.Marshal(res)
			c.Close()
			assertClean(t, map[string]string{"result": string(b), "stderr": stderr.String()})
		})
	}
}

func TestStdioSurvivesProtocolGarbage(t *testing.T) {
	t.Parallel()
	srv, _ := sandboxAPI(t)
	p := start(t, []string{"TOGETHER_API_KEY=" + e2eKey, "TOGETHER_BASE_URL=" + srv.URL + "/v1"})
	p.send(t, `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`)
	p.response(t, 1)
	p.send(t, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)

	p.send(t, `this is not json`)
	if msg := p.response(t, nil); msg["error"].(map[string]any)["code"] != -32700.0 {
		t.Errorf("not JSON: %v", msg)
	}
	p.send(t, `{"jsonrpc":"2.0","id":99,"method":"tools/call","params":{"name":"create_sec`)
	if msg := p.response(t, nil); msg["error"].(map[string]any)["code"] != -32700.0 {
		t.Errorf("truncated JSON: %v", msg)
	}
	p.send(t, `[{"jsonrpc":"2.0","id":98,"method":"ping"}]`) // batches are not part of MCP
	if msg := p.response(t, nil); msg["error"].(map[string]any)["code"] != -32700.0 {
		t.Errorf("batch: %v", msg)
	}
	p.send(t, `{}`)
	if msg := p.response(t, nil); msg["error"].(map[string]any)["code"] != -32600.0 {
		t.Errorf("empty object: %v", msg)
	}
	p.send(t, `{"jsonrpc":"1.0","id":97,"method":"ping"}`)
	if msg := p.response(t, 97); msg["error"].(map[string]any)["code"] != -32600.0 {
		t.Errorf("wrong JSON-RPC version: %v", msg)
	}
	p.send(t, `{"jsonrpc":"2.0","id":2,"method":"no/such/method"}`)
	if msg := p.response(t, 2); msg["error"].(map[string]any)["code"] != -32601.0 {
		t.Errorf("unknown method: %v", msg)
	}
	p.send(t, `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"no_such_tool","arguments":{}}}`)
	if msg, _ := json.Marshal(p.response(t, 3)); !strings.Contains(string(msg), `"isError":true`) || !strings.Contains(string(msg), "The tools it offers are create_secret, list_secrets") {
		t.Errorf("unknown tool: %s", msg)
	}
	p.send(t, `{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"create_secret","arguments":["x"]}}`)
	if msg := p.response(t, 4); msg["result"].(map[string]any)["isError"] != true {
		t.Errorf("arguments not an object: %v", msg)
	}
	if n := srv.Count(); n != 0 {
		t.Errorf("%d requests reached the API from garbage", n)
	}
	p.send(t, createCall(5, "AFTER_GARBAGE"))
	if msg := p.response(t, 5); msg["result"].(map[string]any)["isError"] == true {
		t.Errorf("a valid call after garbage failed: %v", msg)
	}
	if code := p.exit(t); code != 0 {
		t.Errorf("exit code = %d", code)
	}
	assertClean(t, map[string]string{"stdout": p.allStdout(), "stderr": p.stderr.String()})
}

func TestStdioWithoutAKeyStartsAndExplains(t *testing.T) {
	t.Parallel()
	p := start(t, nil)
	p.send(t, `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`)
	p.response(t, 1)
	p.send(t, createCall(2, "A"))
	msg := p.response(t, 2)
	res := msg["result"].(map[string]any)
	if res["isError"] != true || !strings.Contains(fmt.Sprint(res["content"]), "TOGETHER_API_KEY") {
		t.Errorf("call without a key = %v", msg)
	}
	p.exit(t)
	if !strings.Contains(p.stderr.String(), "no API key") {
		t.Errorf("no start-up warning on stderr:\n%s", p.stderr.String())
	}
	assertClean(t, map[string]string{"stdout": p.allStdout(), "stderr": p.stderr.String()})
}

func TestStdioSandboxSaysSoAndNeedsNoKey(t *testing.T) {
	t.Parallel()
	p := start(t, nil, "--sandbox")
	p.send(t, `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`)
	init := p.response(t, 1)
	if !strings.Contains(fmt.Sprint(init["result"].(map[string]any)["instructions"]), "SANDBOX MODE") {
		t.Errorf("instructions do not announce the sandbox: %v", init)
	}
	p.send(t, createCall(2, "SANDBOXED"))
	if res := p.response(t, 2)["result"].(map[string]any); res["isError"] == true {
		t.Errorf("sandbox call failed: %v", res)
	}
	p.exit(t)
	if !strings.Contains(p.stderr.String(), "never reach Together") {
		t.Errorf("stderr does not announce the sandbox:\n%s", p.stderr.String())
	}
	assertClean(t, map[string]string{"stdout": p.allStdout(), "stderr": p.stderr.String()})
}

func TestSignalsEndTheServerCleanly(t *testing.T) {
	t.Parallel()
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			p := start(t, nil, "--sandbox")
			p.send(t, `{"jsonrpc":"2.0","id":1,"method":"ping"}`)
			p.response(t, 1)
			if err := p.cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			if code := p.waitExit(t); code != 0 {
				t.Errorf("exit code after %s = %d, want 0; stderr:\n%s", sig, code, p.stderr.String())
			}
		})
	}
}

func TestCommandLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		args     []string
		env      []string
		wantCode int
		stdout   string
		stderr   string
	}{
		{"version", []string{"--version"}, nil, 0, "together-secrets-mcp ", ""},
		{"help", []string{"--help"}, nil, 0, "TOGETHER_API_KEY_FILE", ""},
		{"unknown flag", []string{"--colour"}, nil, 2, "", "flag provided but not defined: -colour"},
		{"plain http to a remote host", nil, []string{"TOGETHER_BASE_URL=http://api.together.ai/v1"}, 2, "", "use https"},
		{"demo", []string{"demo"}, nil, 0, "the value appears nowhere in the results, nor does any plain value", ""},
		{"demo with an argument", []string{"demo", "extra"}, nil, 2, "", `demo takes no arguments: remove the argument "extra" after it`},
		{"a key as a flag", []string{"--api-key", "tgp_FLAG_KEY"}, nil, 2, "", "there is no --api-key flag"},
		{"unknown tool", []string{"--tools", "create_secret,drop_all"}, nil, 2, "", `unknown tool "drop_all"; the tools are create_secret, list_secrets, get_secret, update_secret, delete_secret`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(serverBinary(t), tt.args...)
			cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, tt.env...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tt.wantCode || !strings.Contains(stdout.String(), tt.stdout) || !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("exit %d (want %d)\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, stdout.String(), stderr.String())
			}
		})
	}
}

// initialized starts the binary against url and completes the handshake.
func initialized(t *testing.T, url string, extra ...string) *proc {
	t.Helper()
	p := start(t, append([]string{"TOGETHER_API_KEY=" + e2eKey, "TOGETHER_BASE_URL=" + url + "/v1"}, extra...))
	p.send(t, `{"jsonrpc":"2.0","id":"init","method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`)
	p.response(t, "init")
	p.send(t, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	return p
}

func TestStdioServesHundredsOfConcurrentCalls(t *testing.T) {
	t.Parallel()
	const n = 500
	srv, api := sandboxAPI(t)
	p := initialized(t, srv.URL)
	// Every call is written before any answer is read: one burst, as an
	// agent fanning out would send it.
	var batch strings.Builder
	for i := 1; i <= n; i++ {
		batch.WriteString(createCall(i, fmt.Sprintf("load/S%04d", i)) + "\n")
	}
	if _, err := io.WriteString(p.stdin, batch.String()); err != nil {
		t.Fatal(err)
	}
	got := p.responses(t, n)
	ids := map[string]bool{}
	for i := 1; i <= n; i++ {
		msg := got[fmt.Sprint(i)]
		res, _ := msg["result"].(map[string]any)
		sc, _ := res["structuredContent"].(map[string]any)
		if res["isError"] == true || sc["name"] != fmt.Sprintf("load/S%04d", i) {
			t.Fatalf("call %d = %v", i, msg)
		}
		ids[fmt.Sprint(sc["id"])] = true
	}
	if len(ids) != n || api.Len() != n {
		t.Errorf("%d distinct results and %d secrets, want %d of each", len(ids), api.Len(), n)
	}
	if code := p.exit(t); code != 0 {
		t.Errorf("exit code %d", code)
	}
	assertClean(t, map[string]string{"stdout": p.allStdout(), "stderr": p.stderr.String()})
}

// hangingAPI answers nothing until the request is cancelled, and reports
// each cancellation it sees.
func hangingAPI(t *testing.T) (string, chan struct{}, chan struct{}) {
	t.Helper()
	arrived, cancelled := make(chan struct{}, 10), make(chan struct{}, 10)
	// The stand-in reads the body first: the server sees a hang-up only
	// once the body is read.
	srv := apitest.NewAnswering(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-r.Context().Done()
		cancelled <- struct{}{}
	}))
	return srv.URL, arrived, cancelled
}

func waitFor(t *testing.T, ch chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatalf("%s did not happen within 5s", what)
	}
}

func TestStdioCancellationReachesTheAPIAtOnce(t *testing.T) {
	t.Parallel()
	url, arrived, cancelled := hangingAPI(t)
	p := initialized(t, url, "TOGETHER_SECRETS_TIMEOUT=60s")
	p.send(t, createCall(7, "CANCEL_ME"))
	waitFor(t, arrived, "the request reaching the API")
	p.send(t, `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":7,"reason":"user stopped"}}`)
	waitFor(t, cancelled, "the API seeing the cancellation")

	p.send(t, `{"jsonrpc":"2.0","id":8,"method":"ping"}`)
	p.response(t, 8)
	if code := p.exit(t); code != 0 {
		t.Errorf("exit code %d", code)
	}
	assertClean(t, map[string]string{"stdout": p.allStdout(), "stderr": p.stderr.String()})
}

func TestStdioEndOfInputCancelsCallsInFlightAndExits(t *testing.T) {
	t.Parallel()
	url, arrived, cancelled := hangingAPI(t)
	p := initialized(t, url, "TOGETHER_SECRETS_TIMEOUT=60s")
	p.send(t, createCall(9, "IN_FLIGHT"))
	waitFor(t, arrived, "the request reaching the API")
	if code := p.exit(t); code != 0 {
		t.Errorf("exit code %d", code)
	}
	waitFor(t, cancelled, "the API seeing the cancellation")
}

func TestStdioShutdownSignalCancelsCallsInFlight(t *testing.T) {
	t.Parallel()
	url, arrived, cancelled := hangingAPI(t)
	p := initialized(t, url, "TOGETHER_SECRETS_TIMEOUT=60s")
	p.send(t, createCall(10, "IN_FLIGHT"))
	waitFor(t, arrived, "the request reaching the API")
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitFor(t, cancelled, "the API seeing the cancellation")
	if code := p.waitExit(t); code != 0 {
		t.Errorf("exit code %d", code)
	}
}

// barrier holds requests until n are in flight at once, then lets them all
// go; a request that waits 10s without that happening goes on anyway.
type barrier struct {
	mu      sync.Mutex
	n, in   int
	max     int
	release chan struct{}
}

func newBarrier(n int) *barrier { return &barrier{n: n, release: make(chan struct{})} }

func (b *barrier) wait() {
	b.mu.Lock()
	b.in++
	if b.in > b.max {
		b.max = b.in
	}
	if b.in == b.n {
		close(b.release)
	}
	b.mu.Unlock()
	select {
	case <-b.release:
	case <-time.After(10 * time.Second):
	}
	b.mu.Lock()
	b.in--
	b.mu.Unlock()
}

func (b *barrier) peak() int { b.mu.Lock(); defer b.mu.Unlock(); return b.max }

func TestStdioRunsManyCallsAtOnce(t *testing.T) {
	t.Parallel()
	// mcp-go's default runs 5 tool calls at a time; a fan-out of 60 must
	// reach the API stdioWorkers at a time, and the rest queue and succeed.
	const n = 60
	srv, api := sandboxAPI(t)
	b := newBarrier(stdioWorkers)
	srv.Answer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.wait()
		api.ServeHTTP(w, r)
	}))
	p := initialized(t, srv.URL)
	var batch strings.Builder
	for i := 1; i <= n; i++ {
		batch.WriteString(createCall(i, fmt.Sprintf("fan/S%02d", i)) + "\n")
	}
	if _, err := io.WriteString(p.stdin, batch.String()); err != nil {
		t.Fatal(err)
	}
	p.responses(t, n)
	if got := b.peak(); got < stdioWorkers {
		t.Errorf("at most %d calls reached the API at once, want %d", got, stdioWorkers)
	}
	if api.Len() != n {
		t.Errorf("%d secrets, want %d", api.Len(), n)
	}
}

func TestStdioOffersTheSelectedTools(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		env  []string
		want string
	}{
		{nil, nil, "create_secret,get_secret,list_secrets,request_secret_from_user,update_secret"},
		{[]string{"--allow-delete"}, nil, "create_secret,delete_secret,get_secret,list_secrets,request_secret_from_user,update_secret"},
		{nil, []string{"TOGETHER_SECRETS_READ_ONLY=true", "TOGETHER_SECRETS_ALLOW_DELETE=true"}, "get_secret,list_secrets"},
		{[]string{"--tools=delete_secret,list_secrets"}, nil, "delete_secret,list_secrets"},
		{[]string{"--allow-deployment-changes"}, nil, "attach_secret,create_secret,get_secret,list_secrets,request_secret_from_user,update_secret"},
		{[]string{"--allow-deployment-changes", "--read-only"}, nil, "get_secret,list_secrets"},
	} {
		t.Run(strings.Join(append(tc.args, tc.env...), " "), func(t *testing.T) {
			t.Parallel()
			p := start(t, tc.env, append([]string{"--sandbox"}, tc.args...)...)
			p.send(t, `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`)
			p.response(t, 1)
			p.send(t, `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`)
			var list struct {
				Result struct {
					Tools []struct{ Name string } `json:"tools"`
				} `json:"result"`
			}
			b, _ := json.Marshal(p.response(t, 2))
			_ = json.Unmarshal(b, &list)
			var names []string
			for _, tool := range list.Result.Tools {
				names = append(names, tool.Name)
			}
			slices.Sort(names)
			if got := strings.Join(names, ","); got != tc.want {
				t.Errorf("tools = %s, want %s", got, tc.want)
			}
			// A tool not offered cannot be called either: the call is a tool
			// error naming the setting that offers it, and nothing is stored.
			if !strings.Contains(tc.want, "create_secret") {
				p.send(t, createCall(3, "X"))
				msg := p.response(t, 3)
				res, _ := msg["result"].(map[string]any)
				b, _ := json.Marshal(res)
				if res == nil || res["isError"] != true || !strings.Contains(string(b), "create_secret is not offered by this server") ||
					!strings.Contains(string(b), "TOGETHER_SECRETS_") {
					t.Errorf("create_secret was callable: %v", msg)
				}
				p.send(t, `{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"list_secrets"}}`)
				if b, _ := json.Marshal(p.response(t, 4)); !strings.Contains(string(b), `"count":0`) {
					t.Errorf("list_secrets after a refused create: %s", b)
				}
			}
			p.exit(t)
		})
	}
}

func TestStdioEveryToolKeepsTheValueOut(t *testing.T) {
	t.Parallel()
	srv, api := sandboxAPI(t)
	p := initialized(t, srv.URL, "TOGETHER_SECRETS_ALLOW_DELETE=1", "TOGETHER_SECRETS_ALLOW_DEPLOYMENT_CHANGES=1")
	const rotated = "CANARYVALUE-rotated-e2e"
	attach := map[string]any{"deployment": sandbox.ExampleDeployment, "variable": "E2E", "secret": "e2e/ALL"}
	steps := []struct {
		tool string
		args map[string]any
	}{
		{"create_secret", map[string]any{"name": "e2e/ALL", "value": e2eValue, "description": "all tools"}},
		{"attach_secret", attach},
		{"list_secrets", map[string]any{"name_prefix": "e2e/", "include_usage": true}},
		{"get_secret", map[string]any{"id": "e2e/ALL"}},
		{"update_secret", map[string]any{"id": "e2e/ALL", "value": rotated, "name": "e2e/ALL2"}},
		{"attach_secret", map[string]any{"deployment": sandbox.ExampleDeployment, "variable": "E2E", "detach": true}},
		{"delete_secret", map[string]any{"id": "e2e/ALL2"}},
	}
	for i, s := range steps {
		args, _ := json.Marshal(s.args)
		p.send(t, fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":%q,"arguments":%s}}`, i+1, s.tool, args))
		msg := p.response(t, i+1)
		if res, _ := msg["result"].(map[string]any); res == nil || res["isError"] == true || res["structuredContent"] == nil {
			t.Fatalf("%s = %v", s.tool, msg)
		}
		if i == 4 && !api.ValueMatches("e2e/ALL2", rotated) {
			t.Error("update_secret did not rotate and rename")
		}
	}
	if api.Len() != 0 {
		t.Errorf("%d secrets left after delete", api.Len())
	}
	p.exit(t)
	outputs := map[string]string{"stdout": p.allStdout(), "stderr": p.stderr.String()}
	assertClean(t, outputs)
	for where, text := range outputs {
		if strings.Contains(text, rotated) || strings.Contains(text, sandbox.ExamplePlainValue) {
			t.Errorf("%s leaks the rotated value or a deployment's plain value", where)
		}
	}
}

func TestStdioKeepsServingWhenTheHostNeverReadsStderr(t *testing.T) {
	t.Parallel()
	srv, _ := sandboxAPI(t)
	// stderr is a pipe nobody reads: it fills at 64 KiB, then the log's own
	// buffer fills, and from then on log lines must be dropped, not waited on.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	p := startWithStderr(t, w, []string{"TOGETHER_API_KEY=" + e2eKey, "TOGETHER_BASE_URL=" + srv.URL + "/v1"})
	w.Close()
	p.send(t, `{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`)
	p.response(t, 0)
	p.send(t, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)

	// Each call logs a warning of about 500 bytes: 3,000 of them are well
	// past the pipe and the 1 MiB buffer.
	const calls = 3000
	id := strings.Repeat("n", 250)
	go func() {
		for i := 1; i <= calls; i++ {
			fmt.Fprintf(p.stdin, `{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"get_secret","arguments":{"id":"%s"}}}`+"\n", i, id)
		}
	}()
	got := p.responses(t, calls)
	for k, msg := range got {
		if res, _ := msg["result"].(map[string]any); res == nil || res["isError"] != true {
			t.Fatalf("response %s = %v", k, msg)
		}
	}

	// Reading resumes: the queued lines, then how many were dropped.
	var logs bytes.Buffer
	readDone := make(chan struct{})
	go func() { _, _ = io.Copy(&logs, r); close(readDone) }()
	if code := p.exit(t); code != 0 {
		t.Errorf("exit code %d", code)
	}
	<-readDone
	if !strings.Contains(logs.String(), `"dropped_log_lines":`) {
		t.Errorf("no report of dropped log lines in %d bytes of stderr", logs.Len())
	}
}

func TestStdioA401NamesWhereTheKeyCameFrom(t *testing.T) {
	t.Parallel()
	srv, _ := sandboxAPI(t)
	keyFile := filepath.Join(t.TempDir(), "together-key")
	if err := os.WriteFile(keyFile, []byte("CANARYKEY-revoked-000\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := start(t, []string{"TOGETHER_BASE_URL=" + srv.URL + "/v1"}, "--api-key-file", keyFile)
	p.send(t, `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`)
	p.response(t, 1)
	p.send(t, createCall(2, "A"))
	b, _ := json.Marshal(p.response(t, 2))
	if !strings.Contains(string(b), "HTTP 401") || !strings.Contains(string(b), "check that the key file "+keyFile) ||
		strings.Contains(string(b), "TOGETHER_API_KEY holds") {
		t.Errorf("401 = %s", b)
	}
	p.exit(t)
	assertClean(t, map[string]string{"stdout": p.allStdout(), "stderr": p.stderr.String()})
}

func TestStdioStartUpErrorsNameTheFlagAndTheVariable(t *testing.T) {
	t.Parallel()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	fifo := filepath.Join(t.TempDir(), "fifo.env")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(t.TempDir(), "big-key")
	if err := os.WriteFile(big, bytes.Repeat([]byte("k"), 65537), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		env  []string
		want string
	}{
		{[]string{"--timeout", "soon"}, nil, `--timeout (TOGETHER_SECRETS_TIMEOUT): "soon" is not a positive duration`},
		{nil, []string{"TOGETHER_BASE_URL=http://api.example.test/v1"}, `--base-url (TOGETHER_BASE_URL): base URL "http://api.example.test/v1" is plain http`},
		{[]string{"--log-level", "disabled"}, nil, `--log-level (TOGETHER_SECRETS_LOG_LEVEL): "disabled" is not one of debug, info, warn, error`},
		{[]string{"--api-key-file", big}, nil, "--api-key-file (TOGETHER_API_KEY_FILE): the key file " + big + " holds more than 65536 bytes"},
		// A FIFO with no writer, or a terminal, would hold start-up for good,
		// deaf to SIGTERM, which start-up takes for the drain.
		{[]string{"--api-key-file", fifo}, nil, "--api-key-file (TOGETHER_API_KEY_FILE): the key file " + fifo + " is not a regular file"},
		{[]string{"--api-key-file", "/dev/zero"}, nil, "--api-key-file (TOGETHER_API_KEY_FILE): the key file /dev/zero is not a regular file"},
		// Found once running: still one plain line, like the rest.
		{[]string{"--api-key-command", "exit 3"}, nil, "--api-key-command (TOGETHER_API_KEY_COMMAND): the key command failed with exit status 3"},
		// A FIFO would block an open for reading until a writer came.
		{[]string{"--env-file", fifo}, nil, "--env-file (TOGETHER_SECRETS_ENV_FILES): cannot use " + fifo + " as a dotenv file: " + fifo + " is not a regular file"},
		{[]string{"--env-file", "/proc/self/environ"}, nil, "--env-file (TOGETHER_SECRETS_ENV_FILES): cannot use /proc/self/environ as a dotenv file: /proc/self/environ is on a kernel file system"},
		{[]string{"--http", taken.Addr().String()}, nil, "--http (TOGETHER_SECRETS_HTTP): cannot listen on " + taken.Addr().String()},
		{[]string{"--audit-log", fifo}, nil, "--audit-log (TOGETHER_SECRETS_AUDIT_LOG): the audit log " + fifo + " is not a regular file"},
		{[]string{"--audit-log", "/"}, nil, "--audit-log (TOGETHER_SECRETS_AUDIT_LOG): the audit log / is not a regular file"},
		{nil, []string{"TOGETHER_SECRETS_NAME_PREFIXES=team-a/,team-a/../"}, `--name-prefix (TOGETHER_SECRETS_NAME_PREFIXES): "team-a/../" has an empty, "." or ".." segment`},
		{[]string{"--name-prefix", "a//"}, nil, `--name-prefix (TOGETHER_SECRETS_NAME_PREFIXES): "a//" has an empty, "." or ".." segment`},
		{[]string{"--name-prefix", " , "}, nil, `--name-prefix (TOGETHER_SECRETS_NAME_PREFIXES): the flag is set to nothing (only blanks or commas)`},
		{[]string{"--name-prefix", "team a/"}, nil, `--name-prefix (TOGETHER_SECRETS_NAME_PREFIXES): "team a/" is not the start of a secret name: it may contain only letters, digits`},
	} {
		p := start(t, tc.env, tc.args...)
		code := p.waitExit(t)
		stderr := p.stderr.String()
		if code != 2 || !strings.Contains(stderr, tc.want) || strings.Contains(stderr, "togetherapi:") {
			t.Errorf("%v %v: exit %d, stderr %q", tc.args, tc.env, code, stderr)
		}
		// The error is a plain line of its own, not a log event.
		if !strings.Contains(stderr, "\ntogether-secrets-mcp: "+tc.want) && !strings.HasPrefix(stderr, "together-secrets-mcp: "+tc.want) {
			t.Errorf("%v: the start-up error is not a plain line: %q", tc.args, stderr)
		}
	}
}

func TestStdioImportsADotenvFileInTheSandbox(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, ".env.production")
	body := "export HF_TOKEN='" + e2eValue + "-hf'\nOPENAI_KEY='" + e2eValue + "-openai'\nEMPTY=\n"
	if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	p := start(t, nil, "--sandbox", "--env-file", file)
	p.send(t, `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`)
	p.response(t, 1)
	// One at a time: calls over stdio run concurrently.
	p.send(t, `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"import_env_file","arguments":{"prefix":"prod/","dry_run":true}}}`)
	dry, _ := json.Marshal(p.response(t, 2))
	p.send(t, `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"import_env_file","arguments":{"prefix":"prod/"}}}`)
	done, _ := json.Marshal(p.response(t, 3))
	p.send(t, `{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"list_secrets","arguments":{"name_prefix":"prod/"}}}`)
	list, _ := json.Marshal(p.response(t, 4))
	if !strings.Contains(string(dry), `"would_create":2`) || !strings.Contains(string(done), `"created":2`) || !strings.Contains(string(list), `"count":2`) {
		t.Errorf("dry run %s\nimport %s\nlist %s", dry, done, list)
	}
	p.exit(t)
	assertClean(t, map[string]string{"stdout": p.allStdout(), "stderr": p.stderr.String()})
	if strings.Contains(p.allStdout()+p.stderr.String(), "-openai") {
		t.Error("a value leaked")
	}
}

func TestStdioTakesTheKeyFromACommand(t *testing.T) {
	t.Parallel()
	srv, api := sandboxAPI(t)
	p := start(t, []string{"TOGETHER_BASE_URL=" + srv.URL + "/v1", "TOGETHER_API_KEY_COMMAND=printf '%s\\n' " + e2eKey})
	p.send(t, `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`)
	p.response(t, 1)
	p.send(t, createCall(2, "FROM_COMMAND"))
	if res := p.response(t, 2)["result"].(map[string]any); res["isError"] == true {
		t.Fatalf("create with the command's key: %v", res)
	}
	if !api.ValueMatches("FROM_COMMAND", e2eValue) {
		t.Error("the secret was not stored")
	}
	p.exit(t)
	if !strings.Contains(p.stderr.String(), `"key_source":"the key command`) {
		t.Errorf("stderr = %s", p.stderr.String())
	}
	assertClean(t, map[string]string{"stdout": p.allStdout(), "stderr": p.stderr.String()})

	// A failing command stops start-up with its status and stderr, never
	// its stdout.
	p = start(t, nil, "--api-key-command", "echo "+e2eKey+"; echo 'vault locked' >&2; exit 4")
	if code := p.waitExit(t); code != 2 || !strings.Contains(p.stderr.String(), "--api-key-command (TOGETHER_API_KEY_COMMAND): the key command failed with exit status 4; it said: vault locked") {
		t.Errorf("exit %d, stderr %q", code, p.stderr.String())
	}
	assertClean(t, map[string]string{"stdout": p.allStdout(), "stderr": p.stderr.String()})
}

func TestStdioSandboxTakesAValueFromThePage(t *testing.T) {
	t.Parallel()
	p := start(t, nil, "--sandbox")
	p.send(t, `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`)
	p.response(t, 1)
	p.send(t, `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"request_secret_from_user","arguments":{"name":"SANDBOX_PAGE"}}}`)
	b, _ := json.Marshal(p.response(t, 2))
	var res struct {
		Result struct {
			StructuredContent struct{ URL string } `json:"structuredContent"`
		} `json:"result"`
	}
	_ = json.Unmarshal(b, &res)
	link := res.Result.StructuredContent.URL
	u, err := url.Parse(link)
	if err != nil || link == "" {
		t.Fatalf("result = %s", b)
	}
	page, _ := http.Get(link)
	body, _ := io.ReadAll(page.Body)
	page.Body.Close()
	if !strings.Contains(string(body), "Sandbox mode") {
		t.Errorf("the page does not say it is the sandbox:\n%s", body)
	}
	req, _ := http.NewRequest("POST", link, strings.NewReader(url.Values{"value": {e2eValue}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "http://"+u.Host)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("submit: %v %v", err, resp)
	}
	resp.Body.Close()
	p.send(t, `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"get_secret","arguments":{"id":"SANDBOX_PAGE"}}}`)
	if got, _ := json.Marshal(p.response(t, 3)); strings.Contains(string(got), `"isError":true`) {
		t.Errorf("get_secret = %s", got)
	}
	p.exit(t)
	token := link[strings.LastIndex(link, "/")+1:]
	if strings.Contains(p.stderr.String(), token) || !strings.Contains(p.stderr.String(), `"link":"`) {
		t.Errorf("the log should name the link by fingerprint only:\n%s", p.stderr.String())
	}
	assertClean(t, map[string]string{"stdout": p.allStdout(), "stderr": p.stderr.String()})
}

func TestStdioAHugeMessageIsAnsweredWithoutBeingRead(t *testing.T) {
	t.Parallel()
	srv, api := sandboxAPI(t)
	p := initialized(t, srv.URL)
	// 50 MB in one line, the id after the arguments as the TypeScript SDK
	// writes it.
	huge := `{"method":"tools/call","params":{"name":"create_secret","arguments":{"name":"HUGE","value":"` +
		strings.Repeat("v", 50<<20) + `"}},"jsonrpc":"2.0","id":77}`
	p.send(t, huge)
	msg := p.response(t, 77)
	b, _ := json.Marshal(msg)
	if !strings.Contains(string(b), `"code":-32600`) || !strings.Contains(string(b), "more than the 4194304 this server reads") {
		t.Errorf("response = %.400s", b)
	}
	if api.Len() != 0 {
		t.Error("the huge call was sent to Together")
	}
	// Still serving.
	p.send(t, createCall(78, "SMALL"))
	if res := p.response(t, 78)["result"].(map[string]any); res["isError"] == true {
		t.Errorf("after a huge message: %v", res)
	}
	rss := peakRSS(t, p.cmd.Process.Pid)
	if rss > 64 {
		t.Errorf("peak RSS %d MiB for a 50 MB message; it should not be read whole", rss)
	}
	t.Logf("peak RSS after a 50 MB message: %d MiB", rss)
	p.exit(t)
}

// peakRSS is the process's peak resident set, in MiB. It fails t rather
// than return a figure it could not read, which would pass any ceiling.
func peakRSS(t *testing.T, pid int) int {
	t.Helper()
	path := fmt.Sprintf("/proc/%d/status", pid)
	status, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading the peak RSS: %v", err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			if err != nil || kb <= 0 {
				t.Fatalf("%s: VmHWM is %q, not a size in kB: %v", path, rest, err)
			}
			return kb >> 10
		}
	}
	t.Fatalf("%s has no VmHWM line:\n%s", path, status)
	return 0
}

func TestStdioQueuedMessagesAreBoundedInBytesHoweverTheirIDIsSpelled(t *testing.T) {
	t.Parallel()
	// JSON keys are matched as mcp-go's decoder matches them, without
	// regard to case, and an id of any length counts.
	for _, tt := range []struct{ name, id string }{
		{"id", `"jsonrpc":"2.0","id":%d`},
		{"ID", `"jsonrpc":"2.0","ID":%d`},
		{"a string id of 300 bytes", `"jsonrpc":"2.0","id":"` + strings.Repeat("i", 300) + `-%d"`},
		{"a jsonrpc that is no string, answered with a null id", `"jsonrpc":2,"id":%d`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			queuedMessagesAreBoundedInBytes(t, tt.id)
		})
	}
}

// queuedMessagesAreBoundedInBytes busies every worker, sends calls of 3.9
// MiB whose jsonrpc and id are written by idFormat, and requires all but
// the four that fit in 16 MiB to be answered busy at once.
func queuedMessagesAreBoundedInBytes(t *testing.T, idFormat string) {
	t.Helper()
	p := everyWorkerBusy(t)
	// Then 40 calls of 3.9 MiB each, which would wait in the queue.
	const n, size = 40, 3900 << 10
	big := strings.Repeat("v", size)
	for i := range n {
		// Joined, not formatted: fmt copies 3.9 MiB slowly under -race.
		p.send(t, fmt.Sprintf(`{`+idFormat+`,"method":"tools/call","params":{"name":"create_secret","arguments":{"name":"BIG","value":"`, 2000+i)+big+`"}}}`)
	}
	// At most 16 MiB of them may wait, four; the rest are answered at once.
	want := n - maxPendingBytes/size
	busy := 0
	timeout := time.After(10 * time.Second)
	for busy < want {
		select {
		case line := <-p.lines:
			if strings.Contains(line, `"code":-32000`) && strings.Contains(line, "busy: ") && strings.Contains(line, "nothing was done") {
				busy++
			}
		case <-timeout:
			t.Fatalf("%d of %d queued calls were answered busy within 10s, want %d", busy, n, want)
		}
	}
	rss := peakRSS(t, p.cmd.Process.Pid)
	t.Logf("peak RSS with %d workers busy and %d calls of 3.9 MiB sent: %d MiB", stdioWorkers, n, rss)
	if rss > 150 {
		t.Errorf("peak RSS %d MiB: queued messages are not bounded", rss)
	}
	// Still reading; and end of input ends it all, the calls waiting too.
	p.send(t, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	go func() {
		for range p.lines { // the hanging calls' answers, once cancelled
		}
	}()
	if code := p.exit(t); code != 0 {
		t.Errorf("exit %d", code)
	}
	assertClean(t, map[string]string{"stderr": p.stderr.String()})
}

// everyWorkerBusy starts the binary with every tool-call worker on a call
// that hangs until the server is stopped.
func everyWorkerBusy(t *testing.T) *proc {
	t.Helper()
	arrived := make(chan struct{}, stdioWorkers)
	// Closed after the server is killed, so that the hanging calls end
	// first.
	api := apitest.NewAnswering(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-r.Context().Done()
	}))
	p := initialized(t, api.URL)
	for i := range stdioWorkers {
		p.send(t, createCall(1000+i, fmt.Sprintf("HANG_%d", i)))
	}
	for range stdioWorkers {
		<-arrived
	}
	return p
}

func TestStdioAToolCallTheServerWouldNeverAnswerIsNotQueued(t *testing.T) {
	t.Parallel()
	// mcp-go queues every tools/call for a worker, a notification too, and
	// then answers nothing: 60 of 3.9 MiB would wait behind the busy
	// workers, counted by no bound.
	p := everyWorkerBusy(t)
	// One line, built once, its name's digits rewritten for each call:
	// copying 3.9 MiB sixty times over is slow under -race.
	line := []byte(`{"jsonrpc":"2.0","method":"tools/call","params":{"name":"create_secret","arguments":{"name":"IDLE_00","value":"` +
		strings.Repeat("v", 3900<<10) + `"}}}` + "\n")
	at := bytes.Index(line, []byte("IDLE_00")) + len("IDLE_")
	for i := range 60 {
		line[at], line[at+1] = '0'+byte(i/10), '0'+byte(i%10)
		if _, err := p.stdin.Write(line); err != nil {
			t.Fatalf("writing to the server: %v", err)
		}
	}
	// Once the ping is answered, the server has read every line before it.
	p.send(t, `{"jsonrpc":"2.0","id":"after","method":"ping"}`)
	p.response(t, "after")
	rss := peakRSS(t, p.cmd.Process.Pid)
	t.Logf("peak RSS with %d workers busy and 60 tools/call notifications of 3.9 MiB sent: %d MiB", stdioWorkers, rss)
	if rss > 150 {
		t.Errorf("peak RSS %d MiB: tool calls never answered wait in the queue", rss)
	}
	if !strings.Contains(p.stderr.String(), "dropped a tools/call that the server would never answer") {
		t.Errorf("not logged; stderr:\n%s", p.stderr.String())
	}
	go func() {
		for range p.lines {
		}
	}()
	p.exit(t)
}

func TestStdioLinesTheServerNeverAnswersHoldNoPlaceAmongThoseWaiting(t *testing.T) {
	t.Parallel()
	srv, _ := sandboxAPI(t)
	p := initialized(t, srv.URL)
	// More lines than may wait, each with an id and a method, none of which
	// mcp-go answers with its id: one carries a result (and is dropped as a
	// response), the others a jsonrpc or a method that is not a string (and
	// are answered "parse error", with a null id).
	var batch strings.Builder
	for i := range maxPending + 1 {
		switch i % 3 {
		case 0:
			fmt.Fprintf(&batch, `{"jsonrpc":"2.0","id":%d,"method":"tools/call","result":{}}`+"\n", i)
		case 1:
			fmt.Fprintf(&batch, `{"jsonrpc":2,"id":%d,"method":"tools/list"}`+"\n", i)
		default:
			fmt.Fprintf(&batch, `{"jsonrpc":"2.0","id":%d,"method":5}`+"\n", i)
		}
	}
	batch.WriteString(`{"jsonrpc":"2.0","id":"after","method":"tools/list"}` + "\n")
	written := make(chan error, 1)
	go func() { _, err := io.WriteString(p.stdin, batch.String()); written <- err }()
	msg := p.response(t, "after")
	if err := <-written; err != nil {
		t.Fatal(err)
	}
	if _, ok := msg["result"]; !ok {
		t.Errorf("a request after %d lines never answered: %v", maxPending+1, msg)
	}
	if code := p.exit(t); code != 0 {
		t.Errorf("exit %d", code)
	}
}

func TestStdioAResponseTheServerDidNotAskForIsAnsweredAndNotRead(t *testing.T) {
	t.Parallel()
	srv, api := sandboxAPI(t)
	p := initialized(t, srv.URL)
	// An error response to no request of the server's, with a tool call's
	// method and arguments: it is not run, and the answer says why.
	call := createCall(5, "STRAY")
	p.send(t, strings.TrimSuffix(call, "}")+`,"error":{"code":1,"message":"x"}}`)
	b, _ := json.Marshal(p.response(t, 5))
	if !strings.Contains(string(b), `"code":-32600`) || !strings.Contains(string(b), "so it is a response") || !strings.Contains(string(b), "nothing was done") {
		t.Errorf("answer = %s", b)
	}
	p.send(t, createCall(6, "AFTER"))
	p.response(t, 6)
	if api.Len() != 1 {
		t.Errorf("%d secrets stored, want only the one after", api.Len())
	}
	p.exit(t)
	assertClean(t, map[string]string{"stdout": p.allStdout(), "stderr": p.stderr.String()})
}

func TestStdioAValueThatIsNotUTF8IsRefusedAndNothingIsStored(t *testing.T) {
	t.Parallel()
	srv, api := sandboxAPI(t)
	p := initialized(t, srv.URL)
	for i, value := range []string{"p\xe4ssw\xf6rd-123", `p\ud800ssword-123`, `p\udc00ssword-123`, `\ud83dssword-123`} {
		p.send(t, fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"create_secret","arguments":{"name":"LATIN1_%d","value":"%s"}}}`, 10+i, i, value))
		res, _ := p.response(t, 10+i)["result"].(map[string]any)
		b, _ := json.Marshal(res)
		if res["isError"] != true || !strings.Contains(string(b), "value must be valid UTF-8 text") || !strings.Contains(string(b), "Nothing was sent") ||
			strings.Contains(string(b), "rd-123") {
			t.Errorf("%q: %s", value, b)
		}
	}
	if api.Len() != 0 {
		t.Errorf("%d secrets stored altered", api.Len())
	}
	p.exit(t)
	if strings.Contains(p.stderr.String(), "rd-123") {
		t.Error("the log quotes the value")
	}
}

func TestAKeySetWhereAPathOrACommandGoesNeverShowsOnStderr(t *testing.T) {
	t.Parallel()
	const key = "tgp_v1_PASTEDKEY0123456789abcdefABCDEF"
	for _, tt := range []struct {
		name string
		args []string
		env  []string
		want string
	}{
		{"as the key file's flag", []string{"--api-key-file", key}, nil, "--api-key-file (TOGETHER_API_KEY_FILE): cannot open the key file: there is no such file"},
		{"as the key file's variable", nil, []string{"TOGETHER_API_KEY_FILE= " + key + "\n"}, "cannot open the key file: there is no such file"},
		{"as the key file, in HTTP mode", []string{"--http", "127.0.0.1:0", "--api-key-file", key}, nil, "cannot open the key file"},
		{"as the key command", []string{"--api-key-command", key}, nil,
			"--api-key-command (TOGETHER_API_KEY_COMMAND): the key command failed with exit status 127: the shell found no program to run"},
		{"as the key command's variable", nil, []string{"TOGETHER_API_KEY_COMMAND=" + key}, "exit status 127"},
		// What the shell prints is then no longer the text set.
		{"as the key command, holding a $ the shell expands", []string{"--api-key-command", key[:20] + "$0" + key[20:]}, nil, "the shell found no program to run"},
		{"in place of the key command's argument", []string{"--api-key-command", "ls /nonexistent/" + key}, nil, "it said: ls: cannot access"},
		// The base URL's variable sits beside the key's.
		{"as the base URL", nil, []string{"TOGETHER_BASE_URL=" + key}, "--base-url (TOGETHER_BASE_URL): the base URL must be an absolute https URL"},
		{"in the base URL's query", nil, []string{"TOGETHER_BASE_URL=https://api.together.xyz/v1?api_key=" + key}, `base URL "https://api.together.xyz/v1" must not carry credentials, a query`},
		{"as the base URL's user", []string{"--base-url", "https://" + key + "@api.together.xyz/v1"}, nil, `base URL "https://api.together.xyz/v1" must not carry credentials`},
		// bash, unlike dash, repeats a line it cannot parse.
		{"in a line bash cannot parse", []string{"--api-key-command", "bash -c '" + key + "('"}, nil, "the key command failed with exit status 2; it said: bash: -c: line 1: syntax error"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := start(t, tt.env, tt.args...)
			code := p.waitExit(t)
			stderr := p.stderr.String()
			if code != 2 || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr %q, want it to say %q", code, stderr, tt.want)
			}
			for i := 0; i+12 <= len(key); i++ {
				if piece := key[i : i+12]; strings.Contains(stderr, piece) {
					t.Fatalf("stderr shows %q of the key: %q", piece, stderr)
				}
			}
		})
	}
}
