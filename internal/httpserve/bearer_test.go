package httpserve

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/together-secrets-mcp/together-secrets-mcp/internal/apitest"
	"github.com/together-secrets-mcp/together-secrets-mcp/togetherapi"
	"github.com/together-secrets-mcp/together-secrets-mcp/tools"
)

func TestBearerGuardTakesTheKeyInAnyCaseOfTheScheme(t *testing.T) {
	for header, pass := range map[string]bool{
		"Bearer k1": true, "bearer k1": true, "BEARER   k1 ": true,
		"": false, "Bearer": false, "Bearer ": false, "Basic azE6": false, "k1": false,
	} {
		r := httptest.NewRequest("POST", "/mcp", nil)
		r.Header.Set("Authorization", header)
		info := &requestInfo{}
		r = r.WithContext(context.WithValue(r.Context(), requestInfoKey{}, info))
		w, next := guarded(t, bearerGuard, r)
		if !pass {
			if next.n != 0 || w.Code != 401 || w.Header().Get("WWW-Authenticate") == "" || !strings.Contains(w.Body.String(), "Authorization: Bearer <key>") {
				t.Errorf("%q: %d %s", header, w.Code, w.Body.String())
			}
			continue
		}
		key, _ := next.last.Context().Value(callerKey{}).(togetherapi.Sensitive)
		if next.n != 1 || !key.Equal(togetherapi.NewSensitive("k1")) || !strings.HasPrefix(info.caller, "sha256:") {
			t.Errorf("%q: passed %d, caller %q", header, next.n, info.caller)
		}
	}
}

func TestDepsGuardGivesTheCallsAClientWithTheCallersKey(t *testing.T) {
	h := handlerWith(t)
	r := httptest.NewRequest("POST", "/mcp", nil)
	key := togetherapi.NewSensitive("CANARYKEY-deps")
	r = r.WithContext(context.WithValue(context.WithValue(r.Context(), callerKey{}, key), requestInfoKey{}, &requestInfo{caller: "sha256:abc"}))
	_, next := guarded(t, h.depsGuard, r)
	got := tools.DepsFrom(next.last.Context())
	if got.Client == nil || !got.Client.KeyScrubber().Contained("CANARYKEY-deps") || got.Caller != "sha256:abc" {
		t.Errorf("deps = %+v", got)
	}
}

func TestHTTPBearerSchemeIsCaseInsensitive(t *testing.T) {
	hh := newHTTPHarness(t)
	for _, header := range []string{"Bearer k", "bearer k", "BEARER k", "  Bearer   k  "} {
		req := apitest.MCPRequest(t.Context(), hh.srv.URL+"/mcp", "", apitest.ListCall)
		req.Header.Set("Authorization", header)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("Authorization %q: status %d", header, resp.StatusCode)
		}
	}
	for _, seen := range hh.api.Requests() {
		if !strings.HasPrefix(seen, "k ") {
			t.Errorf("Together got the key %q, want k", seen)
		}
	}
}
