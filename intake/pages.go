package intake

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rs/zerolog"

	"github.com/together-secrets-mcp/together-secrets-mcp/internal/netguard"
	"github.com/together-secrets-mcp/together-secrets-mcp/togetherapi"
)

// ServeHTTP serves /s/TOKEN: the form on GET, the submission on POST, and a
// page that says what became of a dead link.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	setPageHeaders(w.Header())
	defer recoverPage(w, s.cfg.Logger, "intake page panicked", s.linkFingerprint(r))
	status := s.serve(w, r)
	s.cfg.Logger.Info().Str("method", r.Method).Int("status", status).Str("link", s.linkFingerprint(r)).Msg("intake request")
}

// setPageHeaders sets what every page is sent with: a policy that lets it
// load and run nothing, post only to itself and be framed by nothing; no
// referrer, no caching, no sniffing.
func setPageHeaders(h http.Header) {
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
}

// recoverPage, deferred by a ServeHTTP, answers a panic with a page that
// shows nothing of it, and logs only that it happened under msg: a panic's
// value could hold anything, the submitted value included, and net/http's
// own recovery would log it.
func recoverPage(w http.ResponseWriter, logger zerolog.Logger, msg, link string) {
	if p := recover(); p != nil {
		logger.Error().Str("link", link).Msg(msg)
		writePage(w, http.StatusInternalServerError, pageData{Title: "Something went wrong", Message: "The page failed. Nothing may have been stored: ask your assistant to check with get_secret."})
	}
}

func (s *Server) linkFingerprint(r *http.Request) string {
	tok, ok := strings.CutPrefix(r.URL.Path, "/s/")
	if !ok || tok == "" {
		return ""
	}
	return fingerprint(sha256.Sum256([]byte(tok)))
}

// serve handles the request and returns the status it answered with.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) int {
	// Against DNS rebinding: the page answers only to the address it gave.
	if !s.hostAllowed(r.Host) {
		return s.page(w, http.StatusForbidden, pageData{Title: "Not this address", Message: "This page answers only at the address in the link your assistant gave you."})
	}
	tok, ok := strings.CutPrefix(r.URL.Path, "/s/")
	if !ok || tok == "" || strings.Contains(tok, "/") {
		return s.page(w, http.StatusNotFound, notFoundPage)
	}
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		return notAllowed(w)
	}
	digest := sha256.Sum256([]byte(tok))

	s.mu.Lock()
	t := s.pending[digest]
	ts, dead := s.tombstones[digest]
	limited := false
	if t == nil && !dead {
		now := s.now()
		if now.Sub(s.wrongSince) > time.Minute {
			s.wrong, s.wrongSince = 0, now
		}
		s.wrong++
		limited = s.wrong > maxWrongTokens
	}
	s.mu.Unlock()

	switch {
	case limited:
		w.Header().Set("Retry-After", "60")
		return s.page(w, http.StatusTooManyRequests, pageData{Title: "Too many tries", Message: "Too many links that do not exist were tried. Wait a minute, then open the link your assistant gave you."})
	case dead:
		return s.deadPage(w, ts.state)
	case t == nil:
		return s.page(w, http.StatusNotFound, pageData{Title: "Unknown link", Message: "This link does not exist. Check that you copied all of it, or ask your assistant for a new one."})
	}

	if r.Method == http.MethodGet {
		return s.page(w, http.StatusOK, s.formData(t, ""))
	}
	return s.submission(w, r, t)
}

// submission handles a POST of the form for a pending link: a value to
// store, or the user declining.
func (s *Server) submission(w http.ResponseWriter, r *http.Request, t *Ticket) int {
	if !s.sameOrigin(r) {
		return s.page(w, http.StatusForbidden, foreignPostPage)
	}
	if status, problem := readForm(w, r); status != 0 {
		return s.page(w, status, s.formData(t, problem))
	}
	raw := r.PostForm.Get("value")
	r.PostForm.Del("value")
	if r.PostForm.Get("action") == "decline" {
		return s.decline(w, t)
	}
	if status, problem := valueProblem(raw); status != 0 {
		return s.page(w, status, s.formData(t, problem))
	}
	value := togetherapi.NewSensitive(raw)

	return s.store(w, r, t, value)
}

// decline ends a pending link with nothing stored, unless a value is
// being stored this moment: that decides.
func (s *Server) decline(w http.ResponseWriter, t *Ticket) int {
	s.finish(t, declined, nil)
	s.mu.Lock()
	end := t.state
	s.mu.Unlock()
	switch end {
	case declined:
		return s.page(w, http.StatusOK, pageData{Title: "Declined", Message: "Nothing was stored, and this link no longer works. You can close this page; your assistant is told that you declined."})
	case pending:
		return s.page(w, http.StatusConflict, s.formData(t, "A value for this link is being stored right now, so it cannot be declined. Wait a moment, then reload."))
	}
	return s.deadPage(w, end)
}

// store hands a submitted value to the link's store function, once at a
// time, and shows what came of it.
func (s *Server) store(w http.ResponseWriter, r *http.Request, t *Ticket, value togetherapi.Sensitive) int {
	s.mu.Lock()
	if t.state != pending {
		s.mu.Unlock()
		return s.deadPage(w, t.state)
	}
	if t.storing {
		s.mu.Unlock()
		return s.page(w, http.StatusConflict, s.formData(t, storingNow))
	}
	t.storing = true
	s.mu.Unlock()
	// release ends the attempt, and returns an end (expiry, cancellation)
	// that came while it ran; that end takes effect unless the value was
	// stored. A panic in Store is released too.
	released := false
	release := func() state {
		s.mu.Lock()
		defer s.mu.Unlock()
		released, t.storing = true, false
		ended := t.endedWhileStoring
		t.endedWhileStoring = ""
		return ended
	}
	defer func() {
		if !released {
			if ended := release(); ended != pending {
				s.finish(t, ended, nil)
			}
		}
	}()

	// Not the browser's context: a tab closed mid-store must not leave a
	// create half-done. The client bounds the call with its own budget.
	secret, err := t.req.Store(context.WithoutCancel(r.Context()), value)
	ended := release()
	if err != nil {
		scrub := append(togetherapi.Scrubber{value}, s.cfg.Redact...)
		msg := scrub.Scrub(err.Error())
		if ended != pending {
			s.finish(t, ended, nil)
			return s.page(w, http.StatusGone, pageData{Title: "This link no longer works",
				Message: "It could not be stored: " + msg + " Meanwhile the link " + string(ended) + ": ask your assistant for a new one."})
		}
		return s.page(w, http.StatusBadGateway, s.formData(t, couldNotStore(msg)))
	}
	s.finish(t, stored, secret)
	return s.page(w, http.StatusOK, storedPage(t.req.Name, t.req.Replace, s.cfg.Sandbox, secret))
}

// hostAllowed reports whether the Host header names the served address: its
// own host and port, or a loopback name with its port.
func (s *Server) hostAllowed(host string) bool {
	s.mu.Lock()
	hostPort := s.hostPort
	s.mu.Unlock()
	if hostPort == "" {
		return false
	}
	if strings.EqualFold(host, hostPort) {
		return true
	}
	h, p, err := net.SplitHostPort(host)
	_, want, _ := net.SplitHostPort(hostPort)
	return err == nil && p == want && netguard.IsLoopback(h)
}

// Pages and words both pages answer with.
var (
	notFoundPage    = pageData{Title: "Not found", Message: "There is nothing here. Use the link your assistant gave you."}
	foreignPostPage = pageData{Title: "Refused", Message: "The value must be sent from this page itself. Nothing was stored; open the link again and submit the form there."}
)

const storingNow = "A value for this link is being stored right now. Wait a moment, then reload."

func notAllowed(w http.ResponseWriter) int {
	w.Header().Set("Allow", "GET, POST")
	return writePage(w, http.StatusMethodNotAllowed, pageData{Title: "Not allowed", Message: "Open the link in a browser."})
}

// couldNotStore words a failure to store that leaves the link usable; msg
// is scrubbed.
func couldNotStore(msg string) string {
	return "It could not be stored: " + msg + " The link still works: try again, or ask your assistant for help."
}

func storedPage(name string, replaced, sandbox bool, secret *togetherapi.Secret) pageData {
	done := "created"
	if replaced {
		done = "replaced"
	}
	return pageData{Title: "Stored", Done: true, Sandbox: sandbox, Secret: secret,
		Message: fmt.Sprintf("The secret %s was %s. You can close this page and go back to your assistant.", name, done)}
}

// sameOrigin reports whether a POST came from this page: its own origin, or
// "null" with Sec-Fetch-Site: same-origin.
func (s *Server) sameOrigin(r *http.Request) bool {
	return fromPage(r, func(origin string) bool {
		own, ok := strings.CutPrefix(origin, "http://")
		return ok && own == r.Host && s.hostAllowed(own)
	})
}

// fromPage reports whether a POST came from the page itself: an Origin own
// accepts, or "null" with Sec-Fetch-Site: same-origin, which browsers send
// under the pages' no-referrer policy and which a page elsewhere cannot
// forge. A missing Origin is refused.
func fromPage(r *http.Request, own func(origin string) bool) bool {
	switch origin := r.Header.Get("Origin"); origin {
	case "null":
		return r.Header.Get("Sec-Fetch-Site") == "same-origin"
	case "":
		return false
	default:
		return own(origin)
	}
}

// readForm reads a POST's form, at most maxBody bytes, and returns the
// status and the words to refuse it with, or 0.
func readForm(w http.ResponseWriter, r *http.Request) (int, string) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	return formError(r.ParseForm())
}

// formError returns the status and the words to refuse a body that could
// not be read with, or 0 for no error.
func formError(err error) (int, string) {
	var tooBig *http.MaxBytesError
	switch {
	case err == nil:
		return 0, ""
	case errors.As(err, &tooBig):
		return http.StatusRequestEntityTooLarge, fmt.Sprintf("That is far too large: a value may be at most %d bytes. Nothing was stored.", togetherapi.ValueMaxBytes)
	}
	return http.StatusBadRequest, "The form could not be read. Nothing was stored; try again."
}

// valueProblem returns the status and the words to refuse a submitted value
// with, or 0. A value that is not valid UTF-8 would be stored altered.
func valueProblem(raw string) (int, string) {
	switch {
	case !utf8.ValidString(raw):
		return http.StatusUnprocessableEntity, "The value is not valid UTF-8 text, and would be stored altered. Nothing was stored; type or paste it again."
	case raw == "":
		return http.StatusUnprocessableEntity, "The value is empty. Type or paste the secret, then press Store."
	case len(raw) > togetherapi.ValueMaxBytes:
		return http.StatusRequestEntityTooLarge, fmt.Sprintf("The value is %d bytes; it may be at most %d. Nothing was stored.", len(raw), togetherapi.ValueMaxBytes)
	}
	return 0, ""
}

func (s *Server) deadPage(w http.ResponseWriter, end state) int {
	msg := map[state]string{
		stored:    "This link has been used: its value was stored, and it works only once. If you meant to store another value, ask your assistant for a new link.",
		expired:   "This link has expired without a value. Ask your assistant for a new link.",
		cancelled: "This link was cancelled, so nothing can be stored with it. Ask your assistant for a new link if you still want to store the secret.",
		declined:  "You declined this request, so nothing was stored and the link no longer works. Ask your assistant for a new link if you change your mind.",
	}[end]
	return s.page(w, http.StatusGone, pageData{Title: "This link no longer works", Message: msg})
}

func (s *Server) formData(t *Ticket, problem string) pageData {
	return formData(s.cfg.Sandbox, t.req, t.ExpiresAt.Format("15:04:05 MST"), time.Until(t.ExpiresAt), problem)
}

// formData is the data of either page's form: what the link asks for,
// when it expires, and the problem with the last submission, if any.
func formData(sandbox bool, req Request, expiresAt string, left time.Duration, problem string) pageData {
	title := "Store a secret in Together AI"
	if sandbox {
		title = "Store a secret in the sandbox"
	}
	return pageData{
		Title:       title,
		Form:        true,
		Name:        req.Name,
		Description: req.Description,
		Replace:     req.Replace,
		ExistingID:  req.ExistingID,
		ExpiresAt:   expiresAt,
		Left:        roughly(left),
		Problem:     problem,
		Sandbox:     sandbox,
		MaxBytes:    togetherapi.ValueMaxBytes,
	}
}

type pageData struct {
	Title, Message               string
	Form, Done, Replace, Sandbox bool
	// Team asks for the API key of the account that made the link too.
	Team                          bool
	Name, Description, ExistingID string
	ExpiresAt, Left, Problem      string
	MaxBytes                      int
	Secret                        *togetherapi.Secret
}

// roughly says a time left in whole minutes, as "9m"; "" under half a
// minute.
func roughly(d time.Duration) string {
	return strings.TrimSuffix(d.Round(time.Minute).String(), "0s")
}

func (s *Server) page(w http.ResponseWriter, status int, d pageData) int {
	return writePage(w, status, d)
}

// writePage answers with the page d, and returns the status.
func writePage(w http.ResponseWriter, status int, d pageData) int {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, render(d))
	return status
}

// render writes the page. Every text it inserts stands in element content
// and goes through html.EscapeString; nothing is inserted into an
// attribute, a script or a style, so that escaping is the whole of what
// the context needs (html/template would cost the binary 2.4 MB and every
// start a template parse).
func render(d pageData) string {
	e := html.EscapeString
	var b strings.Builder
	b.WriteString(pageHead)
	b.WriteString("<title>" + e(d.Title) + "</title>\n" + pageStyle + "</head>\n<body>\n<h1>" + e(d.Title) + "</h1>\n")
	if d.Sandbox {
		b.WriteString(`<p class="sandbox">Sandbox mode: the value is kept in this server's memory only and never reaches Together.</p>` + "\n")
	}
	if !d.Form {
		b.WriteString("<p>" + e(d.Message) + "</p>\n")
		if d.Secret != nil {
			b.WriteString(`<dl class="box">` + "\n<dt>Name</dt><dd>" + e(d.Secret.Name) + "</dd>\n<dt>ID</dt><dd>" + e(d.Secret.ID) + "</dd>\n")
			if d.Secret.UpdatedAt != "" {
				b.WriteString("<dt>Updated</dt><dd>" + e(d.Secret.UpdatedAt) + "</dd>\n")
			}
			b.WriteString("</dl>\n")
		}
		b.WriteString("</body>\n</html>\n")
		return b.String()
	}
	renderRequest(&b, d)
	if d.Problem != "" {
		b.WriteString(`<p class="problem" role="alert">` + e(d.Problem) + "</p>\n")
	}
	renderForm(&b, d)
	return b.String()
}

// renderRequest writes what the form asks for, and where the value goes.
func renderRequest(b *strings.Builder, d pageData) {
	e := html.EscapeString
	name := `<span class="name">` + e(d.Name) + `</span>`
	b.WriteString(`<div class="box">` + "\n<p>Your assistant asked you to enter the value of the secret " + name + ".</p>\n")
	if d.Description != "" {
		b.WriteString("<p>" + e(d.Description) + "</p>\n")
	}
	if d.Replace {
		b.WriteString("<p><strong>This will replace the value</strong> of the existing secret " + name)
		if d.ExistingID != "" {
			b.WriteString(" (" + e(d.ExistingID) + ")")
		}
		b.WriteString(". Deployments that use it get the new value.</p>\n")
	} else {
		b.WriteString("<p><strong>This will create</strong> a new secret named " + name + ".</p>\n")
	}
	if d.Team {
		b.WriteString("<p>Type the API key of the " + account(d) + " that made this link as well as the value, so that a link forwarded to anyone else " +
			"cannot pour their value into the account that made it. The key is used for this one request, and never kept.</p>\n")
	}
	b.WriteString(`<p class="small">`)
	switch {
	case d.Sandbox:
		b.WriteString("The value stays in this server's memory.")
	case d.Team:
		b.WriteString("The value goes from this page only to the Together account that made this link.")
	default:
		b.WriteString("The value goes from this page to Together only.")
	}
	b.WriteString(" Your assistant never sees it. This link works ")
	if !d.Team {
		// A team page keeps no record of a link, so it can only say that
		// a second value is refused, not that the link dies.
		b.WriteString("once, ")
	}
	b.WriteString("until " + e(d.ExpiresAt))
	if d.Left != "" {
		b.WriteString(" (in about " + e(d.Left) + ")")
	}
	b.WriteString(".</p>\n</div>\n")
}

// renderForm writes the form, and what declining does.
func renderForm(b *strings.Builder, d pageData) {
	button := "Store secret"
	if d.Replace {
		button = "Replace value"
	}
	b.WriteString(`<form method="post" autocomplete="off">` + "\n")
	focus := " autofocus"
	if d.Team {
		b.WriteString(`<label for="api_key">API key of the ` + account(d) + ` that made this link</label>
<input type="password" id="api_key" name="api_key" autocomplete="off" required autofocus spellcheck="false">
`)
		focus = ""
	}
	b.WriteString(`<label for="value">Secret value</label>
<input type="password" id="value" name="value" autocomplete="off" required` + focus + ` spellcheck="false">
<button type="submit" name="action" value="store">` + button + `</button>
<button type="submit" name="action" value="decline" formnovalidate class="decline">Decline</button>
</form>
`)
	if d.Team {
		b.WriteString("<p class=\"small\">Did not expect this request? Press Decline: nothing is stored. This server keeps no record of links, " +
			"so the link itself stays valid until it expires; without the account's API key it stores nothing.</p>\n")
	} else {
		b.WriteString("<p class=\"small\">Did not expect this request? Press Decline: nothing is stored, and the link stops working.</p>\n")
	}
	b.WriteString("</body>\n</html>\n")
}

// account names where a team page's value goes.
func account(d pageData) string {
	if d.Sandbox {
		return "sandbox account"
	}
	return "Together account"
}

const pageHead = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
`

const pageStyle = `<style>
body { font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 36rem; margin: 3rem auto; padding: 0 1rem; color: #1a1a1a; }
h1 { font-size: 1.4rem; }
.box { border: 1px solid #ccc; border-radius: 8px; padding: 1rem 1.25rem; margin: 1rem 0; }
.name { font-family: ui-monospace, monospace; font-weight: 600; }
.problem { background: #fdecea; border: 1px solid #f5c2c0; border-radius: 6px; padding: .6rem .8rem; }
.sandbox { background: #fff7e0; border: 1px solid #f0d48a; border-radius: 6px; padding: .6rem .8rem; }
label { display: block; font-weight: 600; margin: 1rem 0 .3rem; }
input[type=password] { width: 100%; box-sizing: border-box; font-size: 1rem; padding: .5rem; }
button { margin-top: 1rem; font-size: 1rem; padding: .5rem 1.2rem; }
button.decline { margin-left: .5rem; background: none; border: 1px solid #999; }
dt { font-weight: 600; } dd { margin: 0 0 .4rem 0; font-family: ui-monospace, monospace; }
.small { color: #555; font-size: .9rem; }
</style>
`
