package httpserve

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/together-secrets-mcp/together-secrets-mcp/internal/apitest"
	"github.com/together-secrets-mcp/together-secrets-mcp/internal/netguard"
	"github.com/together-secrets-mcp/together-secrets-mcp/togetherapi"
	"github.com/together-secrets-mcp/together-secrets-mcp/tools"
)

func TestBearerGuardGivesTheCallsAClientWithTheCallersKeyInAnyCaseOfTheScheme(t *testing.T) {
	t.Parallel()
	s := handlerWith(t)
	for header, pass := range map[string]bool{
		"Bearer CANARYKEY-k1": true, "bearer CANARYKEY-k1": true, "BEARER   CANARYKEY-k1 ": true,
		"": false, "Bearer": false, "Bearer ": false, "Basic azE6": false, "CANARYKEY-k1": false,
	} {
		r := httptest.NewRequest("POST", "/mcp", nil)
		r.Header.Set("Authorization", header)
		info := &requestInfo{}
		r = r.WithContext(context.WithValue(r.Context(), requestInfoKey{}, info))
		w, next := guarded(t, s.bearerGuard, r)
		if !pass {
			if next.n != 0 || w.Code != 401 || w.Header().Get("WWW-Authenticate") == "" || !strings.Contains(w.Body.String(), "Authorization: Bearer <key>") {
				t.Errorf("%q: %d %s", header, w.Code, w.Body.String())
			}
			continue
		}
		deps := tools.DepsFrom(next.last.Context())
		if next.n != 1 || deps.Client == nil || deps.Client.KeyScrubber().Scrub("CANARYKEY-k1") != togetherapi.Redacted || deps.Caller != netguard.Fingerprint("CANARYKEY-k1") {
			t.Errorf("%q: passed %d, deps %+v", header, next.n, deps)
		}
		// The log event names the caller from the Deps the calls were given.
		if info.deps.Caller != deps.Caller || info.deps.Client != deps.Client {
			t.Errorf("%q: the log event's caller %q is not the calls' %q", header, info.deps.Caller, deps.Caller)
		}
	}
}

func TestHTTPBearerSchemeIsCaseInsensitive(t *testing.T) {
	t.Parallel()
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
