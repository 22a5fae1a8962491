// Command httpcaps measures two of HTTP mode's bounds on the real binary,
// for two builds side by side in one run (Linux: it reads /proc):
//
//	git worktree add /tmp/before <commit> && (cd /tmp/before && go build -o /tmp/before.bin .)
//	go build -o /tmp/after.bin .
//	go run ./scripts/httpcaps -before /tmp/before.bin -after /tmp/after.bin
//
// The figures, each from a fresh server in sandbox mode on loopback:
//
//   - how long a caller waits for a tools/call while --max-connections 32 is
//     held by 32 idle keep-alive connections (each made one GET /healthz),
//     and by 32 connections that sent nothing;
//   - the server's peak RSS (VmHWM) while 300 connections, each with any
//     bearer, declare a 1 MiB body, send all but 64 bytes of it and stall,
//     under the Go memory limit the server sets in the Kubernetes manifests'
//     256 MiB container (90% of it, given as GOMEMLIMIT here, outside a
//     container); and how those 300 were answered.
//
// It is not part of the tests: the idle case waits out the idle timeout
// (120 s) on a build that does not reclaim idle connections.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

var (
	before = flag.String("before", "", "the server binary before the change")
	after  = flag.String("after", "", "the server binary after the change")
	wait   = flag.Duration("wait", 150*time.Second, "how long a caller waits before it gives up")
	conns  = flag.Int("stalled", 300, "connections that stall mid-body")
)

// memoryLimit is what the server sets in a 256 MiB container: 90% of it.
const memoryLimit = 256 << 20 * 9 / 10

func main() {
	flag.Parse()
	if *before == "" || *after == "" {
		fmt.Fprintln(os.Stderr, "usage: httpcaps -before BINARY -after BINARY")
		os.Exit(2)
	}
	bins := []struct{ name, path string }{{"before", *before}, {"after", *after}}
	fmt.Printf("%-8s %-28s %-28s %-14s %s\n", "build", "served beside 32 idle", "served beside 32 silent", "peak RSS", "the stalled bodies were answered")
	for _, b := range bins {
		idle := servedBeside(b.path, true)
		silent := servedBeside(b.path, false)
		peak, answers := stalledBodies(b.path)
		fmt.Printf("%-8s %-28s %-28s %-14s %s\n", b.name, idle, silent, fmt.Sprintf("%.1f MiB", float64(peak)/(1<<20)), answers)
	}
}

// server is the binary running in HTTP mode.
type server struct {
	cmd  *exec.Cmd
	addr string
}

func start(bin string, env []string, args ...string) *server {
	cmd := exec.Command(bin, append([]string{"--http", "127.0.0.1:0", "--sandbox"}, args...)...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
	stderr, err := cmd.StderrPipe()
	check(err)
	check(cmd.Start())
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sent := false
		for sc.Scan() {
			var ev struct{ Addr string }
			if !sent && json.Unmarshal(sc.Bytes(), &ev) == nil && ev.Addr != "" {
				addr <- ev.Addr
				sent = true
			}
		}
	}()
	select {
	case a := <-addr:
		return &server{cmd: cmd, addr: a}
	case <-time.After(10 * time.Second):
		panic("the server did not say where it listens")
	}
}

func (s *server) stop() {
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
}

// servedBeside times one tools/call while 32 connections hold a cap of 32,
// idle after one request each, or silent.
func servedBeside(bin string, idle bool) string {
	s := start(bin, nil, "--max-connections", "32", "--max-in-flight", "32")
	defer s.stop()
	for range 32 {
		c, err := net.Dial("tcp", s.addr)
		check(err)
		defer c.Close()
		if idle {
			fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: %s\r\n\r\n", s.addr)
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			check(err)
			resp.Body.Close()
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), *wait)
	defer cancel()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	begin := time.Now()
	resp, err := (&http.Client{Transport: tr}).Do(call(ctx, "http://"+s.addr+"/mcp"))
	if err != nil {
		return fmt.Sprintf("not within %s", *wait)
	}
	resp.Body.Close()
	return fmt.Sprintf("%s (%d)", time.Since(begin).Round(time.Millisecond), resp.StatusCode)
}

func call(ctx context.Context, url string) *http.Request {
	req, err := http.NewRequestWithContext(ctx, "POST", url, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_secrets","arguments":{}}}`))
	check(err)
	req.Header.Set("Authorization", "Bearer measure")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
	return req
}

// stalledBodies opens the stalled connections at once, waits until each is
// answered (a refusal, or the body deadline), and returns the server's peak
// RSS and a count of the answers.
func stalledBodies(bin string) (peak int64, answers string) {
	s := start(bin, []string{fmt.Sprintf("GOMEMLIMIT=%d", memoryLimit)})
	defer s.stop()
	const declared = 1 << 20
	var mu sync.Mutex
	got := map[string]int{}
	var wg sync.WaitGroup
	for range *conns {
		wg.Go(func() {
			status := stall(s.addr, declared, declared-64)
			mu.Lock()
			got[status]++
			mu.Unlock()
		})
	}
	wg.Wait()
	var parts []string
	for status, n := range got {
		parts = append(parts, fmt.Sprintf("%d %s", n, status))
	}
	return vmHWM(s.cmd.Process.Pid), strings.Join(parts, ", ")
}

// stall sends a POST declaring declared bytes of body, sends sent of them,
// and returns the status it is answered with.
func stall(addr string, declared, sent int) string {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return "not connected"
	}
	defer c.Close()
	fmt.Fprintf(c, "POST /mcp HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer stalled\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", addr, declared)
	go func() { _, _ = io.Copy(c, io.LimitReader(spaces{}, int64(sent))) }()
	_ = c.SetReadDeadline(time.Now().Add(time.Minute))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return "unanswered"
	}
	resp.Body.Close()
	return resp.Status
}

type spaces struct{}

func (spaces) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	return len(p), nil
}

// vmHWM is a process's peak resident set, from /proc.
func vmHWM(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	check(err)
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kb int64
			_, err := fmt.Sscanf(strings.TrimSpace(v), "%d kB", &kb)
			check(err)
			return kb << 10
		}
	}
	panic("no VmHWM in /proc/PID/status")
}

func check(err error) {
	if err != nil {
		panic(err)
	}
}
