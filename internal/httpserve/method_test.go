package httpserve

import (
	"net/http/httptest"
	"testing"
)

func TestMethodGuardRefusesQueriesAndStandingStreams(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		method, target string
		status         int
	}{{"POST", "/mcp", 0}, {"DELETE", "/mcp", 0}, {"POST", "/mcp?api_key=x", 400}, {"GET", "/mcp", 405}} {
		w, next := guarded(t, methodGuard, httptest.NewRequest(tt.method, tt.target, nil))
		got := w.Code
		if next.n == 1 {
			got = 0
		}
		if got != tt.status {
			t.Errorf("%s %s: %d, want %d", tt.method, tt.target, got, tt.status)
		}
	}
}
