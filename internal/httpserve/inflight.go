package httpserve

import "net/http"

// inFlightGuard serves at most MaxInFlight requests at once, and
// answers the rest 503 at once rather than queueing them.
func (s *Server) inFlightGuard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case s.inFlight <- struct{}{}:
			defer func() { <-s.inFlight }()
		default:
			w.Header().Set("Retry-After", "1")
			writePlain(w, http.StatusServiceUnavailable, "busy: too many requests in flight; retry in a second")
			return
		}
		next.ServeHTTP(w, r)
	})
}
