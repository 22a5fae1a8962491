package httpserve

import (
	"context"
	"net/http"
	"strings"

	"github.com/together-secrets-mcp/together-secrets-mcp/internal/netguard"
	"github.com/together-secrets-mcp/together-secrets-mcp/togetherapi"
	"github.com/together-secrets-mcp/together-secrets-mcp/tools"
)

// callerKey carries the caller's key from bearerGuard to depsGuard.
type callerKey struct{}

// bearerGuard takes the caller's Together key from the Authorization
// header, and names the caller in the log by its fingerprint.
func bearerGuard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, ok := bearerToken(r.Header.Get("Authorization"))
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="together-secrets-mcp"`)
			writePlain(w, http.StatusUnauthorized, "unauthorized: send your Together API key in the header \"Authorization: Bearer <key>\", set in your MCP client's configuration of this server")
			return
		}
		if info, ok := r.Context().Value(requestInfoKey{}).(*requestInfo); ok {
			info.caller = netguard.Fingerprint(key)
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), callerKey{}, togetherapi.NewSensitive(key))))
	})
}

// bearerToken reads a bearer token from an Authorization header. The
// scheme is case-insensitive (RFC 7235); the token is not.
func bearerToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// depsGuard gives the request's tool calls a client with the caller's key.
func (s *Server) depsGuard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, _ := r.Context().Value(callerKey{}).(togetherapi.Sensitive)
		var caller string
		if info, ok := r.Context().Value(requestInfoKey{}).(*requestInfo); ok {
			caller = info.caller
		}
		ctx := tools.WithDeps(r.Context(), tools.Deps{Client: s.cfg.Base.WithAPIKey(key), Caller: caller})
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}
