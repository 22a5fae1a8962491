// Package sandbox is an in-memory stand-in for Together's secrets API and
// the part of its deployments API this server uses. It applies the API's
// validation, keeps names unique and answers in the API's shapes, so the
// server can be tried with no key and no network, and tested against
// something as strict as the real thing.
//
// It stores a digest of each secret's value, never the value, and answers
// with metadata only, as the API does. Deployments' plain variables are kept
// and returned as given, as the API does; an update replaces the whole
// list of variables, as the API's does.
package sandbox

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/together-secrets-mcp/together-secrets-mcp/togetherapi"
)

// BaseURL is the base URL a client uses with [Server.Transport]. The .invalid
// domain can never resolve, so a request that escaped the in-memory
// transport would fail instead of reaching a real host.
const BaseURL = "https://sandbox.invalid/v1"

// APIKey is the key the sandbox expects when Options.APIKey is empty.
const APIKey = "sandbox-key"

const maxBodyBytes = 1 << 20

// Options configures a Server.
type Options struct {
	// APIKey is the bearer token every request must carry; APIKey when empty.
	APIKey string
	// Now returns the time stamped on secrets; time.Now when nil.
	Now func() time.Time
	// Actor is reported as created_by and last_updated_by; "sandbox" when empty.
	Actor string
}

// Server is an in-memory secrets API. It is an http.Handler serving the
// paths below /v1, and is safe for concurrent use.
type Server struct {
	opts Options
	mux  *http.ServeMux

	mu          sync.Mutex
	secrets     map[string]*record     // by ID
	deployments map[string]*deployment // by ID
}

type record struct {
	meta   togetherapi.Secret
	digest [sha256.Size]byte
}

// New returns an empty sandbox.
func New(opts Options) *Server {
	if opts.APIKey == "" {
		opts.APIKey = APIKey
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Actor == "" {
		opts.Actor = "sandbox"
	}
	s := &Server{opts: opts, secrets: map[string]*record{}}
	s.seedDeployments()
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("POST /v1/deployments/secrets", s.create)
	s.mux.HandleFunc("GET /v1/deployments/secrets", s.list)
	s.mux.HandleFunc("GET /v1/deployments/secrets/{id...}", s.get)
	s.mux.HandleFunc("PATCH /v1/deployments/secrets/{id...}", s.update)
	s.mux.HandleFunc("DELETE /v1/deployments/secrets/{id...}", s.delete)
	s.mux.HandleFunc("GET /v1/deployments", s.listDeployments)
	s.mux.HandleFunc("GET /v1/deployments/{id}", s.getDeployment)
	s.mux.HandleFunc("PATCH /v1/deployments/{id}", s.updateDeployment)
	return s
}

// ServeHTTP checks the key, then serves the secrets API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || subtle.ConstantTimeCompare([]byte(token), []byte(s.opts.APIKey)) != 1 {
		writeError(w, http.StatusUnauthorized, "authentication_error", "Invalid API key provided")
		return
	}
	s.mux.ServeHTTP(w, r)
}

// Transport returns a RoundTripper that hands each request to s in memory,
// so a real togetherapi.Client exercises its whole code path with no socket.
func (s *Server) Transport() http.RoundTripper {
	return roundTripper{s}
}

type roundTripper struct{ h http.Handler }

func (t roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := req.Context().Err(); err != nil {
		return nil, err
	}
	rec := &recorder{header: http.Header{}}
	t.h.ServeHTTP(rec, req)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	return &http.Response{
		Status:        fmt.Sprintf("%d %s", rec.status, http.StatusText(rec.status)),
		StatusCode:    rec.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        rec.header,
		Body:          io.NopCloser(&rec.body),
		ContentLength: int64(rec.body.Len()),
		Request:       req,
	}, nil
}

// recorder is the ResponseWriter of an in-memory exchange. (httptest has
// one, but would bring a test package and its TLS certificate into the
// server's binary and start-up.)
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

func (r *recorder) Write(p []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(p)
}

// ValueMatches reports whether the secret named name holds value, so tests
// can check what arrived without the sandbox ever keeping a value.
func (s *Server) ValueMatches(name, value string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := s.byName(name)
	if rec == nil {
		return false
	}
	d := sha256.Sum256([]byte(value))
	return subtle.ConstantTimeCompare(d[:], rec.digest[:]) == 1
}

// Len returns how many secrets the sandbox holds.
func (s *Server) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.secrets)
}

// secretBody is CreateSecretRequest and UpdateSecretRequest on the wire.
type secretBody struct {
	Name        *string `json:"name"`
	Value       *string `json:"value"`
	Description *string `json:"description"`
	ProjectID   *string `json:"project_id"`
}

func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	if body.Name == nil || body.Value == nil {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "name and value are required")
		return
	}
	req := togetherapi.CreateSecretRequest{Name: *body.Name, Value: togetherapi.NewSensitive(*body.Value)}
	if body.Description != nil {
		req.Description = *body.Description
	}
	// A name or description that holds the value is this client's rule,
	// which it applies where it knows whose the value is; the API has none.
	var fe *togetherapi.FieldError
	if err := req.Validate(); err != nil && !(errors.As(err, &fe) && fe.HoldsValue) {
		writeError(w, http.StatusBadRequest, "invalid_request_error", err.Error())
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byName(req.Name) != nil {
		writeError(w, http.StatusConflict, "conflict", fmt.Sprintf("secret with name %q already exists", req.Name))
		return
	}
	now := s.opts.Now().UTC().Format(time.RFC3339)
	rec := &record{
		meta: togetherapi.Secret{
			Object:        "secret",
			ID:            newID(),
			Name:          req.Name,
			Description:   req.Description,
			CreatedAt:     now,
			UpdatedAt:     now,
			CreatedBy:     s.opts.Actor,
			LastUpdatedBy: s.opts.Actor,
		},
		digest: sha256.Sum256([]byte(*body.Value)),
	}
	s.secrets[rec.meta.ID] = rec
	writeJSON(w, http.StatusOK, rec.meta)
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	data := make([]togetherapi.Secret, 0, len(s.secrets))
	for _, rec := range s.secrets {
		data = append(data, rec.meta)
	}
	s.mu.Unlock()
	sort.Slice(data, func(i, j int) bool { return data[i].Name < data[j].Name })
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": data})
}

func (s *Server) get(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rec := s.target(w, r); rec != nil {
		writeJSON(w, http.StatusOK, rec.meta)
	}
}

func (s *Server) update(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	if body.Name != nil {
		if err := togetherapi.ValidateName("name", *body.Name); err != nil {
			writeError(w, http.StatusBadRequest, "invalid_request_error", err.Error())
			return
		}
	}
	if body.Value != nil && *body.Value == "" {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "value must not be empty")
		return
	}
	if body.Description != nil {
		if err := togetherapi.ValidateDescription(*body.Description); err != nil {
			writeError(w, http.StatusBadRequest, "invalid_request_error", err.Error())
			return
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	rec := s.target(w, r)
	if rec == nil {
		return
	}
	if body.Name != nil && *body.Name != rec.meta.Name && s.byName(*body.Name) != nil {
		writeError(w, http.StatusConflict, "conflict", fmt.Sprintf("secret with name %q already exists", *body.Name))
		return
	}
	if body.Name != nil {
		rec.meta.Name = *body.Name
	}
	if body.Value != nil {
		rec.digest = sha256.Sum256([]byte(*body.Value))
	}
	if body.Description != nil {
		rec.meta.Description = *body.Description
	}
	rec.meta.UpdatedAt = s.opts.Now().UTC().Format(time.RFC3339)
	rec.meta.LastUpdatedBy = s.opts.Actor
	writeJSON(w, http.StatusOK, rec.meta)
}

func (s *Server) delete(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rec := s.target(w, r); rec != nil {
		delete(s.secrets, rec.meta.ID)
		writeJSON(w, http.StatusOK, map[string]any{"object": "secret", "id": rec.meta.ID, "deleted": true})
	}
}

// target finds the secret the path's {id} names, by ID and then by name as
// the API does, or answers 404 and returns nil. The caller holds s.mu.
func (s *Server) target(w http.ResponseWriter, r *http.Request) *record {
	id := r.PathValue("id")
	if rec, ok := s.secrets[id]; ok {
		return rec
	}
	if rec := s.byName(id); rec != nil {
		return rec
	}
	writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("secret %q not found", id))
	return nil
}

// byName finds a secret by name. The caller holds s.mu.
func (s *Server) byName(name string) *record {
	for _, rec := range s.secrets {
		if rec.meta.Name == name {
			return rec
		}
	}
	return nil
}

// readBody decodes a JSON object body strictly: the right content type, no
// unknown fields, no trailing data, strings where strings belong.
func readBody(w http.ResponseWriter, r *http.Request) (secretBody, bool) {
	var body secretBody
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, "invalid_request_error", "Content-Type must be application/json")
		return body, false
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, maxBodyBytes)); err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "invalid_request_error", "request body too large")
		return body, false
	}
	dec := json.NewDecoder(&buf)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil || dec.More() {
		// The decoder's message can quote the body; say only where it failed.
		writeError(w, http.StatusBadRequest, "invalid_request_error", "request body is not a valid secret object")
		return body, false
	}
	return body, true
}

func writeError(w http.ResponseWriter, status int, typ, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"message": msg, "type": typ}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Request-Id", "sandbox-"+newID()[4:12])
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func newID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "sec-" + hex.EncodeToString(b[:])
}
