// Command bench measures the server against its floor and against a naive
// forwarder, side by side in one run on one machine:
//
//	go run ./bench
//
// Everything talks to a stand-in for Together on loopback that answers each
// create with canned metadata. The figures:
//
//   - cold start: spawn to the answers of initialize and then tools/list,
//     median of many starts, against a bare mcp-go server with one tool;
//   - sequential create_secret latency over stdio, p50 and p99;
//   - pipelined throughput with 32 calls in flight;
//   - peak RSS under that load (VmHWM), and the stripped binary's size;
//   - the floor: the same POST made directly with net/http, plus a stdio
//     round trip to a program that answers with canned JSON; and, since
//     that POST is timed inside this process, a second floor timed across
//     processes as the server is: a relay that makes the POST for each line
//     it reads on stdin, with no MCP at all;
//   - the naive forwarder: the same tool on mcp-go's and net/http's defaults.
//
// And over streamable HTTP, each caller's key in its Authorization header:
// the server's --http mode against a plain mcp-go stateless forwarder, the
// official Go SDK's stateless forwarder, and a relay with no MCP at all (the
// floor): sequential p50, throughput at 32 and 256 in flight, and peak RSS
// at 256 in flight.
//
// Rounds are interleaved, so that a noisy moment hits every contender alike.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

var (
	calls    = flag.Int("calls", 1000, "sequential calls per contender per round")
	total    = flag.Int("total", 4000, "pipelined calls per contender per round")
	inflight = flag.Int("inflight", 32, "calls in flight when pipelining")
	rounds   = flag.Int("rounds", 3, "interleaved rounds")
	starts   = flag.Int("starts", 40, "cold starts per contender")
	keep     = flag.String("keep", "", "keep the built binaries in this folder")
)

const apiKey = "bench-key"

func main() {
	flag.Parse()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run() error {
	dir := *keep
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "together-secrets-mcp-bench"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	}
	bins, err := build(dir)
	if err != nil {
		return err
	}

	api := newStandIn()
	defer api.Close()
	env := []string{"TOGETHER_API_KEY=" + apiKey, "TOGETHER_BASE_URL=" + api.URL + "/v1"}

	fmt.Printf("machine: %s/%s, %d CPUs, %s\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), cpuModel())
	fmt.Printf("run: %d rounds of %d sequential and %d pipelined calls (%d in flight); %d cold starts each\n\n",
		*rounds, *calls, *total, *inflight, *starts)

	var (
		postLat, echoLat, relayLat, oursLat, naiveLat []time.Duration
		postTput, echoTput, oursTput, naiveTput       []float64
		oursRSS, naiveRSS                             int64
	)
	direct := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	for r := 0; r < *rounds; r++ {
		lat, err := directPOSTs(direct, api.URL, *calls)
		if err != nil {
			return err
		}
		postLat = append(postLat, lat...)
		postTput = append(postTput, directThroughput(direct, api.URL, *total, *inflight))

		for _, c := range []struct {
			bin  string
			lat  *[]time.Duration
			tput *[]float64
			rss  *int64
		}{
			{bins.echo, &echoLat, &echoTput, nil},
			{bins.relay, &relayLat, nil, nil},
			{bins.ours, &oursLat, &oursTput, &oursRSS},
			{bins.naive, &naiveLat, &naiveTput, &naiveRSS},
		} {
			lat, tput, rss, err := stdioRun(c.bin, env, r, c.tput != nil)
			if err != nil {
				return fmt.Errorf("%s: %w", filepath.Base(c.bin), err)
			}
			*c.lat = append(*c.lat, lat...)
			if c.tput != nil {
				*c.tput = append(*c.tput, tput)
			}
			if c.rss != nil && rss > *c.rss {
				*c.rss = rss
			}
		}
	}

	var oursStart, bareStart, naiveStart []time.Duration
	for i := 0; i < *starts; i++ {
		for _, c := range []struct {
			bin string
			out *[]time.Duration
		}{{bins.bare, &bareStart}, {bins.ours, &oursStart}, {bins.naive, &naiveStart}} {
			d, err := coldStart(c.bin, env)
			if err != nil {
				return fmt.Errorf("cold start of %s: %w", filepath.Base(c.bin), err)
			}
			*c.out = append(*c.out, d)
		}
	}

	floorP50 := pct(postLat, 50) + pct(echoLat, 50)
	floorP99 := pct(postLat, 99) + pct(echoLat, 99)
	// Each call costs both an HTTP exchange and a stdio exchange on the
	// same cores, so the floor's rate combines the two like resistors.
	floorTput := 1 / (1/median(postTput) + 1/median(echoTput))

	fmt.Println("sequential create_secret over stdio (p50 / p99):")
	row := func(name string, lat []time.Duration, note string) {
		fmt.Printf("  %-34s %9s / %9s   %s\n", name, us(pct(lat, 50)), us(pct(lat, 99)), note)
	}
	row("floor: direct POST", postLat, "")
	row("floor: stdio round trip (canned)", echoLat, "")
	fmt.Printf("  %-34s %9s / %9s\n", "floor: sum", us(floorP50), us(floorP99))
	row("floor across processes: relay", relayLat, "")
	relayP50 := pct(relayLat, 50)
	row("together-secrets-mcp", oursLat, fmt.Sprintf("p50 %.2fx floor, %.2fx relay, %.2fx naive",
		ratio(pct(oursLat, 50), floorP50), ratio(pct(oursLat, 50), relayP50), ratio(pct(oursLat, 50), pct(naiveLat, 50))))
	row("naive forwarder", naiveLat, fmt.Sprintf("p50 %.2fx floor, %.2fx relay", ratio(pct(naiveLat, 50), floorP50), ratio(pct(naiveLat, 50), relayP50)))

	fmt.Printf("\npipelined throughput, %d in flight (median of rounds):\n", *inflight)
	fmt.Printf("  %-34s %9.0f calls/s\n", "floor: direct POST", median(postTput))
	fmt.Printf("  %-34s %9.0f calls/s\n", "floor: stdio round trip (canned)", median(echoTput))
	fmt.Printf("  %-34s %9.0f calls/s\n", "floor: combined", floorTput)
	fmt.Printf("  %-34s %9.0f calls/s   %.2fx floor, %.2fx naive\n", "together-secrets-mcp", median(oursTput), median(oursTput)/floorTput, median(oursTput)/median(naiveTput))
	fmt.Printf("  %-34s %9.0f calls/s   %.2fx floor\n", "naive forwarder", median(naiveTput), median(naiveTput)/floorTput)

	fmt.Printf("\ncold start, spawn to tools/list answered (median of %d):\n", *starts)
	fmt.Printf("  %-34s %9s\n", "bare mcp-go server, one tool", ms(median(bareStart)))
	fmt.Printf("  %-34s %9s   %.2fx bare\n", "together-secrets-mcp", ms(median(oursStart)), ratio(median(oursStart), median(bareStart)))
	fmt.Printf("  %-34s %9s   %.2fx bare\n", "naive forwarder", ms(median(naiveStart)), ratio(median(naiveStart), median(bareStart)))
	ours, all, err := initTrace(bins.ours)
	if err != nil {
		return err
	}
	fmt.Printf("  package init (GODEBUG=inittrace=1): %.3f ms in all, %.3f ms of it in this module's packages\n", all, ours)

	if err := httpBench(bins, api.URL); err != nil {
		return err
	}

	fmt.Printf("\nmemory and size:\n")
	fmt.Printf("  %-34s %6.1f MB   (naive forwarder %.1f MB)\n", "peak RSS under pipelined load", float64(oursRSS)/1e6, float64(naiveRSS)/1e6)
	for _, b := range []struct{ name, path string }{{"stripped binary", bins.ours}, {"bare mcp-go server binary", bins.bare}} {
		st, err := os.Stat(b.path)
		if err != nil {
			return err
		}
		fmt.Printf("  %-34s %6.1f MB\n", b.name, float64(st.Size())/1e6)
	}
	return nil
}

// binaries are the programs the benchmark runs.
type binaries struct{ ours, bare, naive, echo, relay, naiveHTTP, httpRelay, goSDK string }

// build compiles every contender the way the product is shipped: static,
// trimmed and stripped.
func build(dir string) (binaries, error) {
	b := binaries{
		ours:      filepath.Join(dir, "together-secrets-mcp"),
		bare:      filepath.Join(dir, "bare"),
		naive:     filepath.Join(dir, "naive"),
		echo:      filepath.Join(dir, "echo"),
		relay:     filepath.Join(dir, "relay"),
		naiveHTTP: filepath.Join(dir, "naivehttp"),
		httpRelay: filepath.Join(dir, "httprelay"),
		goSDK:     filepath.Join(dir, "gosdk"),
	}
	for out, pkg := range map[string]string{b.ours: ".", b.bare: "./bench/bare", b.naive: "./bench/naive", b.echo: "./bench/echo",
		b.relay: "./bench/relay", b.naiveHTTP: "./bench/naivehttp", b.httpRelay: "./bench/httprelay", b.goSDK: "."} {
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", out, pkg)
		if out == b.goSDK {
			// A module of its own, so the server's never depends on the SDK.
			cmd.Dir = filepath.Join("bench", "gosdk")
		}
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			return b, fmt.Errorf("building %s (run from the repository root): %w", pkg, err)
		}
	}
	return b, nil
}

// newStandIn answers every create with canned metadata under a fresh ID,
// and every other request with 404. It reads each body whole, as Together
// would.
func newStandIn() *httptest.Server {
	var n atomic.Int64
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || r.Header.Get("Authorization") != "Bearer "+apiKey {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		var req struct {
			Name string `json:"name"`
		}
		_ = json.Unmarshal(body, &req)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"object":"secret","id":"sec-%024d","name":%q,"created_at":"2026-11-26T00:00:00Z","updated_at":"2026-11-26T00:00:00Z","created_by":"bench","last_updated_by":"bench"}`,
			n.Add(1), req.Name)
	}))
}

const postBody = `{"name":"bench/DIRECT","value":"bench-value-0123456789abcdef"}`

func directPOST(c *http.Client, url string) error {
	req, err := http.NewRequest(http.MethodPost, url+"/v1/deployments/secrets", strings.NewReader(postBody))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+apiKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.Body.Close()
}

func directPOSTs(c *http.Client, url string, n int) ([]time.Duration, error) {
	out := make([]time.Duration, 0, n)
	for i := 0; i < n; i++ {
		start := time.Now()
		if err := directPOST(c, url); err != nil {
			return nil, err
		}
		out = append(out, time.Since(start))
	}
	return out, nil
}

func directThroughput(c *http.Client, url string, n, conc int) float64 {
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < conc; w++ {
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				_ = directPOST(c, url)
			}
		})
	}
	wg.Wait()
	return float64(n) / time.Since(start).Seconds()
}

// stdioRun starts bin, completes the handshake, makes the sequential calls,
// then (if pipeline) the pipelined ones, and reads the process's peak RSS.
func stdioRun(bin string, env []string, round int, pipeline bool) ([]time.Duration, float64, int64, error) {
	p, err := spawn(bin, nil, env)
	if err != nil {
		return nil, 0, 0, err
	}
	defer p.close()
	if _, err := p.roundTrip(`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}`); err != nil {
		return nil, 0, 0, err
	}
	if err := p.write(`{"jsonrpc":"2.0","method":"notifications/initialized"}`); err != nil {
		return nil, 0, 0, err
	}

	lat := make([]time.Duration, 0, *calls)
	for i := 1; i <= *calls; i++ {
		line := callLine(i, fmt.Sprintf("bench/R%dS%06d", round, i))
		start := time.Now()
		resp, err := p.roundTrip(line)
		if err != nil {
			return nil, 0, 0, err
		}
		lat = append(lat, time.Since(start))
		if i == 1 && (!bytes.Contains(resp, []byte(`"result"`)) || bytes.Contains(resp, []byte(`"isError":true`))) {
			return nil, 0, 0, fmt.Errorf("create_secret failed: %s", resp)
		}
	}

	if !pipeline {
		return lat, 0, 0, nil
	}

	// Pipelined: keep *inflight calls outstanding until *total are answered.
	sem := make(chan struct{}, *inflight)
	done := make(chan error, 1)
	go func() {
		for i := 0; i < *total; i++ {
			if _, err := p.out.ReadBytes('\n'); err != nil {
				done <- err
				return
			}
			<-sem
		}
		done <- nil
	}()
	start := time.Now()
	for i := 1; i <= *total; i++ {
		sem <- struct{}{}
		if err := p.write(callLine(*calls+i, fmt.Sprintf("bench/R%dP%06d", round, i))); err != nil {
			return nil, 0, 0, err
		}
	}
	if err := <-done; err != nil {
		return nil, 0, 0, err
	}
	tput := float64(*total) / time.Since(start).Seconds()
	return lat, tput, p.peakRSS(), nil
}

func callLine(id int, name string) string {
	return `{"jsonrpc":"2.0","id":` + strconv.Itoa(id) + `,"method":"tools/call","params":{"name":"create_secret","arguments":{"name":"` +
		name + `","value":"bench-value-0123456789abcdef"}}}`
}

// coldStart times one spawn until initialize and then tools/list are
// answered.
func coldStart(bin string, env []string) (time.Duration, error) {
	start := time.Now()
	p, err := spawn(bin, nil, env)
	if err != nil {
		return 0, err
	}
	defer p.close()
	if _, err := p.roundTrip(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}`); err != nil {
		return 0, err
	}
	if err := p.write(`{"jsonrpc":"2.0","method":"notifications/initialized"}`); err != nil {
		return 0, err
	}
	if _, err := p.roundTrip(`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// initTrace runs bin with GODEBUG=inittrace=1 and returns the package
// initialisation time of this module's packages and of all, in ms.
func initTrace(bin string) (ours, all float64, err error) {
	cmd := exec.Command(bin, "--version")
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return 0, 0, fmt.Errorf("inittrace: %w", err)
	}
	// init github.com/x/y @0.12 ms, 0.004 ms clock, 1016 bytes, 9 allocs
	for _, line := range strings.Split(stderr.String(), "\n") {
		f := strings.Fields(line)
		if len(f) < 6 || f[0] != "init" {
			continue
		}
		clock, err := strconv.ParseFloat(f[4], 64)
		if err != nil {
			continue
		}
		all += clock
		if strings.HasPrefix(f[1], "github.com/together-secrets-mcp/") {
			ours += clock
		}
	}
	return ours, all, nil
}

// proc is a contender running with pipes.
type proc struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
}

func spawn(bin string, args, env []string) (*proc, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = io.Discard
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return &proc{cmd: cmd, in: in, out: bufio.NewReaderSize(out, 1<<16)}, nil
}

func (p *proc) write(line string) error {
	_, err := io.WriteString(p.in, line+"\n")
	return err
}

func (p *proc) roundTrip(line string) ([]byte, error) {
	if err := p.write(line); err != nil {
		return nil, err
	}
	return p.out.ReadBytes('\n')
}

// peakRSS reads the process's high-water resident set, in bytes.
func (p *proc) peakRSS() int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

func (p *proc) close() {
	_ = p.in.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	go func() { <-ctx.Done(); _ = p.cmd.Process.Kill() }()
	_ = p.cmd.Wait()
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "model name"); ok {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(rest), ":"))
		}
	}
	return "unknown CPU"
}

func pct(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[(len(s)-1)*p/100]
}

func median[T time.Duration | float64](v []T) T {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

func ratio(a, b time.Duration) float64 { return float64(a) / float64(b) }

func us(d time.Duration) string { return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond)) }
func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }
