package httpserve

import (
	"net/http/httptest"
	"testing"
)

func TestOriginGuardLetsThroughOnlyKnownOrigins(t *testing.T) {
	t.Parallel()
	h := handlerWith(t, func(c *Config) { c.AllowedOrigins = []string{"https://agents.example.com"} })
	tests := []struct {
		origin, method string
		status         int // 0 when passed on
		cors           bool
	}{
		{"", "POST", 0, false},
		{"https://agents.example.com", "POST", 0, true},
		{"https://agents.example.com", "OPTIONS", 204, true},
		{"http://localhost:3000", "POST", 0, false},
		{"https://evil.example", "POST", 403, false},
		{"null", "POST", 403, false},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(tt.method, "/mcp", nil)
		if tt.origin != "" {
			r.Header.Set("Origin", tt.origin)
		}
		w, next := guarded(t, h.originGuard, r)
		got := w.Code
		if next.n == 1 {
			got = 0
		}
		if got != tt.status || (w.Header().Get("Access-Control-Allow-Origin") != "") != tt.cors {
			t.Errorf("%s %q: status %d (want %d), CORS %q", tt.method, tt.origin, got, tt.status, w.Header().Get("Access-Control-Allow-Origin"))
		}
	}
}
