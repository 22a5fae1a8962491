package httpserve

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/together-secrets-mcp/together-secrets-mcp/internal/apitest"
)

// serveCapped serves hh's handler on loopback through HTTP mode's own
// server and connection cap, new connections without a request giving up
// their places after grace, over TLS when tf is set, and returns its base
// URL and the cap.
func (hh *httpHarness) serveCapped(t *testing.T, grace time.Duration, tf *tlsFiles) (string, *connCap) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, capped := hh.h.server(ln)
	capped.newGrace = grace
	t.Cleanup(func() { _ = srv.Close() })
	if tf != nil {
		go func() { _ = srv.ServeTLS(capped, tf.cert, tf.key) }()
		return "https://" + ln.Addr().String(), capped
	}
	go func() { _ = srv.Serve(capped) }()
	return "http://" + ln.Addr().String(), capped
}

// idle is how many of l's connections the server has said are idle.
func (l *connCap) idle() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for c := range l.open {
		if c.state == http.StateIdle {
			n++
		}
	}
	return n
}

// tlsFiles are a certificate and key for 127.0.0.1, and a client
// configuration that trusts them, to clone for each client: one that
// speaks HTTP/2 changes it.
type tlsFiles struct {
	cert, key string
	client    *tls.Config
}

func newTLSFiles(t *testing.T) *tlsFiles {
	t.Helper()
	cert, key, pool := apitest.SelfSigned(t)
	return &tlsFiles{cert: cert, key: key, client: &tls.Config{RootCAs: pool}}
}

// holdIdle opens a connection to base, makes one request on it and reads
// the answer, and leaves it open and idle.
func holdIdle(t *testing.T, base string, _ *tlsFiles) net.Conn {
	t.Helper()
	addr := strings.TrimPrefix(base, "http://")
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
	if got := statusOf(t, c, 5*time.Second); got != http.StatusOK {
		t.Fatalf("GET /healthz: %d", got)
	}
	return c
}

// holdSilent opens a connection to base and sends nothing.
func holdSilent(t *testing.T, base string, _ *tlsFiles) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// holdIdleTLS makes one request to base through a client of its own,
// over HTTP/2 when h2, and leaves the connection in that client's idle
// pool. It returns nil: the connection is the client's.
func holdIdleTLS(h2 bool) func(t *testing.T, base string, tf *tlsFiles) net.Conn {
	return func(t *testing.T, base string, tf *tlsFiles) net.Conn {
		t.Helper()
		tr := &http.Transport{TLSClientConfig: tf.client.Clone(), ForceAttemptHTTP2: h2}
		t.Cleanup(tr.CloseIdleConnections)
		resp, err := (&http.Client{Transport: tr}).Get(base + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || (resp.ProtoMajor == 2) != h2 {
			t.Fatalf("GET /healthz: %d over %s", resp.StatusCode, resp.Proto)
		}
		return nil
	}
}

func TestHTTPConnectionsServingNoRequestGiveUpTheirPlaceToANewCaller(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		hold  func(t *testing.T, base string, tf *tlsFiles) net.Conn
		idle  bool // the holders go idle, one after the other
		tls   bool
		grace time.Duration // how long a new connection may go without a request
	}{
		{name: "idle keep-alive connections", hold: holdIdle, idle: true, grace: time.Hour},
		{name: "new connections that send nothing", hold: holdSilent, grace: newConnGrace},
		{name: "idle keep-alive connections over TLS", hold: holdIdleTLS(false), idle: true, tls: true, grace: time.Hour},
		{name: "idle HTTP/2 connections", hold: holdIdleTLS(true), idle: true, tls: true, grace: time.Hour},
	} {
		t.Run(tt.name, func(t *testing.T) {
			hh := newHTTPHarness(t, func(c *Config) { c.MaxConnections, c.MaxInFlight = 4, 4 })
			var tf *tlsFiles
			if tt.tls {
				tf = newTLSFiles(t)
			}
			base, capped := hh.serveCapped(t, tt.grace, tf)
			var holders []net.Conn
			for i := range 4 {
				holders = append(holders, tt.hold(t, base, tf))
				if tt.idle {
					// So that the first is the longest idle.
					apitest.WaitUntil(t, "the holder goes idle", func() bool { return capped.idle() == i+1 })
				}
			}
			// Well within the idle timeout (120s) and the header timeout
			// (10s), which were the only ways out before.
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			start := time.Now()
			tr := &http.Transport{}
			if tf != nil {
				tr.TLSClientConfig = tf.client.Clone()
			}
			defer tr.CloseIdleConnections()
			resp, err := (&http.Client{Transport: tr}).Do(apitest.MCPRequest(ctx, base+"/mcp", "k", apitest.ListCall))
			if err != nil {
				t.Fatalf("a caller beside 4 connections holding a cap of 4 was not served: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", resp.StatusCode)
			}
			t.Logf("served in %s", time.Since(start))
			if holders[0] == nil {
				return
			}
			// The one that had waited longest gave up its place.
			_ = holders[0].SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := holders[0].Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
				t.Errorf("the longest-waiting connection is still open: %v", err)
			}
		})
	}
}

func TestHTTPHeadersOverTheLimitAreAnswered431ThroughTheConnectionCap(t *testing.T) {
	t.Parallel()
	hh := newHTTPHarness(t)
	base, _ := hh.serveCapped(t, newConnGrace, nil)
	addr := strings.TrimPrefix(base, "http://")
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	go func() {
		// Twice the 64 KiB the server reads; the rest is never read.
		fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: %s\r\nX-Padding: %s\r\n\r\n", addr, strings.Repeat("a", 128<<10))
	}()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	got, err := io.ReadAll(bufio.NewReader(c))
	if err != nil || !strings.HasPrefix(string(got), "HTTP/1.1 431 ") {
		t.Errorf("headers over the limit: %q, %v; want a 431 and then the end of the connection", got, err)
	}
}

func TestHTTPConnectionsAreCappedApartFromCalls(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ll := newConnCap(ln, 2)
	// No server tells it what the connections do: they stay new, and
	// would give up their places once silent for this long.
	ll.newGrace = time.Hour
	defer ll.Close()
	accepted := make(chan net.Conn, 3)
	go func() {
		for {
			c, err := ll.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	for range 3 {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	first, second := <-accepted, <-accepted
	// Once the accepting goroutine waits for a place, it has handed on
	// every connection it took, and takes no other until a place comes
	// free, which only closing one of these two makes: so a third
	// connection absent now was refused by the cap, not merely late, as
	// it could be after any wait however long.
	apitest.WaitUntil(t, "the accepting goroutine to wait for a place", func() bool {
		return waitingForAPlace("TestHTTPConnectionsAreCappedApartFromCalls")
	})
	select {
	case c := <-accepted:
		c.Close()
		t.Fatal("a third connection was accepted beyond the cap of 2")
	default:
	}
	first.Close()
	select {
	case c := <-accepted:
		c.Close()
	case <-time.After(10 * time.Second):
		t.Fatal("the third connection was not accepted once one closed")
	}
	second.Close()
}

// waitingForAPlace reports whether a goroutine that test started is
// waiting in a connCap for a place, as the runtime's stacks say.
func waitingForAPlace(test string) bool {
	for _, g := range apitest.Goroutines() {
		if strings.Contains(g, ".(*connCap).wait(") && strings.Contains(g, "created by github.com/together-secrets-mcp/together-secrets-mcp/internal/httpserve."+test+" ") {
			return true
		}
	}
	return false
}
