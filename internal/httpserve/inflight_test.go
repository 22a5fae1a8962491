package httpserve

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/together-secrets-mcp/together-secrets-mcp/internal/apitest"
)

func TestInFlightGuardAnswersBeyondItsSlotsAtOnce(t *testing.T) {
	t.Parallel()
	h := handlerWith(t, func(c *Config) { c.MaxInFlight = 1 })
	h.inFlight <- struct{}{} // one request is in flight
	start := time.Now()
	w, next := guarded(t, h.inFlightGuard, httptest.NewRequest("POST", "/mcp", nil))
	if next.n != 0 || w.Code != 503 || w.Header().Get("Retry-After") != "1" || time.Since(start) > time.Second {
		t.Errorf("beyond the cap: %d", w.Code)
	}
	<-h.inFlight
	if _, next := guarded(t, h.inFlightGuard, httptest.NewRequest("POST", "/mcp", nil)); next.n != 1 || len(h.inFlight) != 0 {
		t.Error("within the cap the request was not served, or its slot not given back")
	}
}

func TestHTTPAnswersBeyondTheInFlightCapWith503(t *testing.T) {
	t.Parallel()
	hh := newHTTPHarness(t, func(c *Config) { c.MaxInFlight = 4 })
	gate := make(chan struct{})
	hh.api.Hold(gate)
	release := sync.OnceFunc(func() { close(gate) })
	t.Cleanup(release) // before the servers close, should the test end early
	statuses := make(chan *http.Response, 10)
	for range 10 {
		go func() {
			resp, err := http.DefaultClient.Do(apitest.MCPRequest(context.Background(), hh.srv.URL+"/mcp", "k", apitest.ListCall))
			if err != nil {
				t.Error(err)
				statuses <- nil
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			statuses <- resp
		}()
	}
	for range 6 {
		r := apitest.Receive(t, "an answer beyond the cap", statuses)
		if r == nil || r.StatusCode != http.StatusServiceUnavailable || r.Header.Get("Retry-After") != "1" {
			t.Fatalf("beyond the cap: %+v", r)
		}
	}
	release()
	for range 4 {
		if r := apitest.Receive(t, "an answer within the cap", statuses); r == nil || r.StatusCode != 200 {
			t.Errorf("within the cap: %+v", r)
		}
	}
	if p := hh.api.Peak(); p > 4 {
		t.Errorf("%d requests reached the API at once, over the cap of 4", p)
	}
}
