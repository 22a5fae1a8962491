package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/together-secrets-mcp/together-secrets-mcp/internal/apitest"
)

// endpoints stands in for a Kubernetes Service: it sends each request,
// round robin, to a replica whose /readyz answered 200 at its last poll,
// polled about once a second as endpoint controllers and kube-proxy
// propagate a pod's readiness. A replica that is gone is never removed
// faster than that.
type endpoints struct {
	mu       sync.Mutex
	replicas []*url.URL
	ready    []*url.URL
	next     int
	srv      *httptest.Server
	polled   chan struct{}
}

func newEndpoints(t *testing.T, period time.Duration) *endpoints {
	t.Helper()
	e := &endpoints{polled: make(chan struct{}, 1)}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			target, _ := r.In.Context().Value(targetKey{}).(*url.URL)
			r.SetURL(target)
			r.Out.Host = target.Host // the replicas listen on loopback
		},
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			http.Error(w, "endpoints: "+err.Error(), http.StatusBadGateway)
		},
	}
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		if len(e.ready) == 0 {
			e.mu.Unlock()
			http.Error(w, "endpoints: no ready replica", http.StatusServiceUnavailable)
			return
		}
		target := e.ready[e.next%len(e.ready)]
		e.next++
		e.mu.Unlock()
		proxy.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), targetKey{}, target)))
	}))
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		poller := &http.Client{Timeout: 300 * time.Millisecond}
		for {
			e.mu.Lock()
			replicas := slices.Clone(e.replicas)
			e.mu.Unlock()
			// Every replica at once, so that one slow answer does not
			// hold up the others.
			up := make([]bool, len(replicas))
			var wg sync.WaitGroup
			for i, u := range replicas {
				wg.Go(func() {
					if resp, err := poller.Get(u.String() + "/readyz"); err == nil {
						_, _ = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						up[i] = resp.StatusCode == http.StatusOK
					}
				})
			}
			wg.Wait()
			var ready []*url.URL
			for i, u := range replicas {
				if up[i] {
					ready = append(ready, u)
				}
			}
			e.mu.Lock()
			e.ready = ready
			e.mu.Unlock()
			select {
			case e.polled <- struct{}{}:
			default:
			}
			select {
			case <-stop:
				return
			case <-time.After(period):
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-done; e.srv.Close() })
	return e
}

type targetKey struct{}

func (e *endpoints) add(u *url.URL) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.replicas = append(e.replicas, u)
}

func (e *endpoints) remove(u *url.URL) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.replicas = slices.DeleteFunc(e.replicas, func(x *url.URL) bool { return x == u })
}

// waitReady waits until u is among the ready replicas.
func (e *endpoints) waitReady(t *testing.T, u *url.URL) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		e.mu.Lock()
		ok := slices.Contains(e.ready, u)
		e.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-e.polled:
		case <-deadline:
			t.Fatalf("%s never became ready", u)
		}
	}
}

// waitForgotten waits until u is no longer among the ready replicas.
func (e *endpoints) waitForgotten(t *testing.T, u *url.URL) {
	t.Helper()
	apitest.WaitUntil(t, fmt.Sprintf("the endpoints to forget %s", u), func() bool {
		e.mu.Lock()
		defer e.mu.Unlock()
		return !slices.Contains(e.ready, u)
	})
}

// traffic is a steady stream of tool calls from several callers.
type traffic struct {
	sent, failed atomic.Int64
	slowest      atomic.Int64 // nanoseconds
	mu           sync.Mutex
	failures     []string
	failedSent   []time.Time // when each failed call was sent
	stop         chan struct{}
	wg           sync.WaitGroup
}

func startTraffic(t *testing.T, url string, callers int) *traffic {
	t.Helper()
	tr := &traffic{stop: make(chan struct{})}
	client := &http.Client{Timeout: 10 * time.Second}
	for c := range callers {
		tr.wg.Go(func() {
			key := fmt.Sprintf("rollout-caller-%d", c)
			for i := 0; ; i++ {
				select {
				case <-tr.stop:
					return
				default:
				}
				start := time.Now()
				body := fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"list_secrets","arguments":{}}}`, i)
				problem := ""
				resp, err := client.Do(apitest.MCPRequest(context.Background(), url+"/mcp", key, body))
				if err != nil {
					problem = err.Error()
				} else {
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `"result"`) || strings.Contains(string(b), `"isError":true`) {
						problem = fmt.Sprintf("%d %.200s", resp.StatusCode, b)
					}
				}
				if d := time.Since(start).Nanoseconds(); d > tr.slowest.Load() {
					tr.slowest.Store(d)
				}
				tr.sent.Add(1)
				if problem != "" {
					tr.failed.Add(1)
					tr.mu.Lock()
					tr.failures = append(tr.failures, problem)
					tr.failedSent = append(tr.failedSent, start)
					tr.mu.Unlock()
				}
			}
		})
	}
	return tr
}

// failedSince returns the failures of the calls sent at or after at.
func (tr *traffic) failedSince(at time.Time) []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	var out []string
	for i, sent := range tr.failedSent {
		if !sent.Before(at) {
			out = append(out, tr.failures[i])
		}
	}
	return out
}

// waitCalls waits until n more calls have been sent and answered.
func (tr *traffic) waitCalls(t *testing.T, n int64) {
	t.Helper()
	want := tr.sent.Load() + n
	apitest.WaitUntil(t, fmt.Sprintf("%d more calls", n), func() bool { return tr.sent.Load() >= want })
}

func (tr *traffic) end() {
	close(tr.stop)
	tr.wg.Wait()
}

// replica is one server process behind the endpoints.
type replica struct {
	p   *proc
	url *url.URL
}

func startReplica(t *testing.T, e *endpoints, delay string) replica {
	t.Helper()
	p, base := startHTTP(t, nil, "--sandbox", "--shutdown-delay", delay)
	u, _ := url.Parse(base)
	e.add(u)
	return replica{p, u}
}

func TestHTTPARollingUpdateLosesNoCall(t *testing.T) {
	t.Parallel()
	const period = time.Second
	e := newEndpoints(t, period)
	// The delay outlasts the time the endpoints take to forget a replica,
	// a poll period and a poll (1.3 s at most), by a margin for a busy
	// machine.
	old := []replica{startReplica(t, e, "3s"), startReplica(t, e, "3s")}
	for _, r := range old {
		e.waitReady(t, r.url)
	}
	start := time.Now()
	tr := startTraffic(t, e.srv.URL, 4)
	tr.waitCalls(t, 50)
	// Replace every replica, one by one, as a Deployment with maxSurge 1
	// and maxUnavailable 0 does: start a new one, then SIGTERM an old one.
	for _, r := range old {
		n := startReplica(t, e, "3s")
		e.waitReady(t, n.url)
		_ = r.p.cmd.Process.Signal(syscall.SIGTERM)
		if code := r.p.waitExit(t); code != 0 {
			t.Errorf("a replica exited %d after SIGTERM", code)
		}
		e.remove(r.url)
	}
	tr.waitCalls(t, 50)
	tr.end()
	took := time.Since(start)
	sent, failed := tr.sent.Load(), tr.failed.Load()
	fmt.Printf("rolling update: %d calls sent by 4 callers, %d failed, over %s while 2 replicas were replaced one by one (slowest call %s)\n",
		sent, failed, took.Round(time.Millisecond), time.Duration(tr.slowest.Load()).Round(time.Millisecond))
	if sent < 100 || failed != 0 {
		t.Errorf("%d of %d calls failed; the first: %v", failed, sent, first(tr.failures))
	}
}

func TestHTTPAReplicaKilledMidStreamFailsOnlyItsOwnCallsCleanly(t *testing.T) {
	t.Parallel()
	const period = time.Second
	e := newEndpoints(t, period)
	a, b := startReplica(t, e, "0s"), startReplica(t, e, "0s")
	e.waitReady(t, a.url)
	e.waitReady(t, b.url)
	start := time.Now()
	tr := startTraffic(t, e.srv.URL, 4)
	tr.waitCalls(t, 50)
	_ = a.p.cmd.Process.Signal(syscall.SIGKILL)
	killed := time.Now()
	// The endpoints forget it at their next poll; from then on every call
	// reaches the live replica. A call counts from when it was sent: one on
	// its way to the killed replica as the endpoints forget it fails a
	// moment later.
	e.waitForgotten(t, a.url)
	forgottenAt := time.Now()
	tr.waitCalls(t, 100)
	tr.end()
	late := tr.failedSince(forgottenAt)
	sent, failed := tr.sent.Load(), tr.failed.Load()
	fmt.Printf("killed replica: %d calls sent, %d failed in the %s until the endpoints forgot it, %d after; slowest call %s, over %s\n",
		sent, failed-int64(len(late)), forgottenAt.Sub(killed).Round(time.Millisecond), len(late),
		time.Duration(tr.slowest.Load()).Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	if len(late) != 0 {
		t.Errorf("%d calls sent after the endpoints forgot the killed replica failed: %v", len(late), late)
	}
	if slow := time.Duration(tr.slowest.Load()); slow > 5*time.Second {
		t.Errorf("a call took %s: a lost replica must fail a call, not hang it", slow)
	}
	for _, f := range tr.failures {
		if !strings.HasPrefix(f, "502 ") && !strings.HasPrefix(f, "503 ") {
			t.Errorf("a call failed otherwise than with an error answer: %s", f)
		}
	}
	_ = b.p.cmd.Process.Signal(syscall.SIGTERM)
	if code := b.p.waitExit(t); code != 0 {
		t.Errorf("the live replica exited %d", code)
	}
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}
