package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// httpContender is a server speaking MCP over streamable HTTP.
type httpContender struct {
	name string
	bin  string
	args func(addr string) []string
	path string

	lat             []time.Duration
	tput32, tput256 []float64
	rss256          int64
}

// httpBench measures the HTTP contenders side by side, in interleaved
// rounds, and prints their rows.
func httpBench(bins binaries, apiURL string) error {
	contenders := []*httpContender{
		{name: "floor: relay (no MCP)", bin: bins.httpRelay, args: func(a string) []string { return []string{a} }, path: "/"},
		// --max-in-flight above the load's 256, so no call is turned away
		// while a finished one is still releasing its slot.
		{name: "together-secrets-mcp --http", bin: bins.ours, args: func(a string) []string { return []string{"--http", a, "--max-in-flight", "1024"} }, path: "/mcp"},
		{name: "mcp-go stateless forwarder", bin: bins.naiveHTTP, args: func(a string) []string { return []string{a} }, path: "/mcp"},
		{name: "Go SDK stateless forwarder", bin: bins.goSDK, args: func(a string) []string { return []string{a} }, path: "/mcp"},
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, IdleConnTimeout: 30 * time.Second}}
	env := []string{"TOGETHER_BASE_URL=" + apiURL + "/v1"}
	for r := 0; r < *rounds; r++ {
		for _, c := range contenders {
			if err := c.round(client, env, r); err != nil {
				return fmt.Errorf("%s: %w", c.name, err)
			}
		}
	}
	relay, ours, mcpgo, gosdk := contenders[0], contenders[1], contenders[2], contenders[3]

	fmt.Println("\nsequential create_secret over streamable HTTP (p50 / p99):")
	for _, c := range contenders {
		note := ""
		if c != relay {
			note = fmt.Sprintf("p50 %.2fx relay", ratio(pct(c.lat, 50), pct(relay.lat, 50)))
		}
		if c == ours {
			note += fmt.Sprintf(", %.2fx mcp-go, %.2fx Go SDK", ratio(pct(c.lat, 50), pct(mcpgo.lat, 50)), ratio(pct(c.lat, 50), pct(gosdk.lat, 50)))
		}
		fmt.Printf("  %-34s %9s / %9s   %s\n", c.name, us(pct(c.lat, 50)), us(pct(c.lat, 99)), note)
	}
	for _, load := range []struct {
		n    int
		tput func(*httpContender) []float64
	}{{32, func(c *httpContender) []float64 { return c.tput32 }}, {256, func(c *httpContender) []float64 { return c.tput256 }}} {
		fmt.Printf("\nthroughput over streamable HTTP, %d in flight (median of rounds):\n", load.n)
		for _, c := range contenders {
			t := median(load.tput(c))
			note := fmt.Sprintf("%.2fx relay", t/median(load.tput(relay)))
			if c == ours {
				note += fmt.Sprintf(", %.2fx mcp-go, %.2fx Go SDK", t/median(load.tput(mcpgo)), t/median(load.tput(gosdk)))
			}
			fmt.Printf("  %-34s %9.0f calls/s   %s\n", c.name, t, note)
		}
	}
	fmt.Println("\npeak RSS over streamable HTTP, 256 in flight:")
	for _, c := range contenders {
		fmt.Printf("  %-34s %6.1f MB\n", c.name, float64(c.rss256)/1e6)
	}
	return nil
}

// round starts the contender, makes the sequential calls, then the
// pipelined ones at 32 and at 256 in flight, and reads its peak RSS.
func (c *httpContender) round(client *http.Client, env []string, round int) error {
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	cmd := exec.Command(c.bin, c.args(addr)...)
	cmd.Env = env
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	if err := waitListening(addr); err != nil {
		return err
	}
	url := "http://" + addr + c.path
	call := func(id int, name string) error {
		body := `{"jsonrpc":"2.0","id":` + strconv.Itoa(id) + `,"method":"tools/call","params":{"name":"create_secret","arguments":{"name":"` +
			name + `","value":"bench-value-0123456789abcdef"}}}`
		req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader([]byte(body)))
		req.Header.Set("Authorization", "Bearer "+apiKey)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !bytes.Contains(b, []byte(`"result"`)) || bytes.Contains(b, []byte(`"isError":true`)) {
			return fmt.Errorf("HTTP %d: %.300s", resp.StatusCode, b)
		}
		return nil
	}
	for i := 1; i <= *calls; i++ {
		start := time.Now()
		if err := call(i, fmt.Sprintf("bench/H%dS%06d", round, i)); err != nil {
			return err
		}
		c.lat = append(c.lat, time.Since(start))
	}
	for _, load := range []struct {
		n   int
		out *[]float64
	}{{32, &c.tput32}, {256, &c.tput256}} {
		var next atomic.Int64
		var wg sync.WaitGroup
		var failed atomic.Value
		start := time.Now()
		for w := 0; w < load.n; w++ {
			wg.Go(func() {
				for i := next.Add(1); i <= int64(*total); i = next.Add(1) {
					if err := call(int(i), fmt.Sprintf("bench/H%dP%d_%06d", round, load.n, i)); err != nil {
						failed.Store(err)
						return
					}
				}
			})
		}
		wg.Wait()
		if err, _ := failed.Load().(error); err != nil {
			return err
		}
		*load.out = append(*load.out, float64(*total)/time.Since(start).Seconds())
	}
	if rss := (&proc{cmd: cmd}).peakRSS(); rss > c.rss256 {
		c.rss256 = rss
	}
	return nil
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func waitListening(addr string) error {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if conn, err := net.Dial("tcp", addr); err == nil {
			conn.Close()
			return nil
		}
		time.Sleep(5 * time.Millisecond)
	}
	return fmt.Errorf("nothing listening on %s", addr)
}
