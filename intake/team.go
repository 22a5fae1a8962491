package intake

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/together-secrets-mcp/together-secrets-mcp/internal/linkseal"
	"github.com/together-secrets-mcp/together-secrets-mcp/internal/netguard"
	"github.com/together-secrets-mcp/together-secrets-mcp/togetherapi"
)

// Errors a TeamStore returns for the page to word. A store may return
// togetherapi's ErrAlreadyExists, ErrUnauthorized and ErrForbidden too.
var (
	// ErrNameTaken: a secret of the request's name exists, so nothing was
	// created; perhaps this very link stored it.
	ErrNameTaken = errors.New("intake: a secret of that name already exists")
	// ErrSecretChanged: the secret a Replace request names has changed
	// since the link was made (its updated_at differs), so its value was
	// not replaced; perhaps this very link changed it.
	ErrSecretChanged = errors.New("intake: the secret changed since the link was made")
	// ErrKeyRefused: Together refused the typed key, though it is the one
	// the link was made with.
	ErrKeyRefused = errors.New("intake: Together refused the API key")
)

// RefusedError is a store a rule of the server refused before anything
// was sent, such as a name outside the storing replica's scope. Reason is
// shown on the page, scrubbed, and says what to do.
type RefusedError struct {
	Reason string
}

func (e *RefusedError) Error() string { return "intake: refused: " + e.Reason }

// TeamStore stores value with apiKey, as r says: it creates the secret, or
// replaces the value of the one it names unless that changed since. It
// writes its own audit lines: those of the change, and of a refusal. Its
// error's text is shown on the page, scrubbed of the value, the key and
// Redact.
type TeamStore func(ctx context.Context, r TeamRequest, apiKey, value togetherapi.Sensitive) (*togetherapi.Secret, error)

// TeamOutcome is what a POST to the team page came to.
type TeamOutcome string

// The outcomes a TeamConfig's Record hears of.
const (
	TeamStored        TeamOutcome = "stored"
	TeamKeyMismatch   TeamOutcome = "key_mismatch"
	TeamDeclined      TeamOutcome = "declined"
	TeamReplayRefused TeamOutcome = "replay_refused"
	// TeamRefused: the store refused it by a rule (a *RefusedError).
	TeamRefused TeamOutcome = "refused"
	TeamFailed  TeamOutcome = "failed"
)

// TeamEvent is one outcome, for an audit line.
type TeamEvent struct {
	Outcome TeamOutcome
	// Link names the link as the page's log does: a fingerprint of it.
	Link string
	// Request is what the link asked for, and names the call that made
	// it: the page's lines name that call, whoever typed a key. The typed
	// key is named nowhere: on a mismatch it names nobody this server
	// knows, and a fingerprint of it would only let whoever reads the
	// trail test guesses of it.
	Request TeamRequest
	// Secret is the stored secret's metadata, for TeamStored.
	Secret *togetherapi.Secret
}

// TeamConfig configures a Team.
type TeamConfig struct {
	// Keys opens the links' tickets.
	Keys *linkseal.Keys
	// PublicURL is where users reach the page, such as
	// https://secrets.example.com; links are PublicURL/v/TICKET, and a POST
	// must come from its origin. https, but for a loopback host.
	PublicURL string
	// TTL is how long links work, as the page tells; DefaultTTL when zero.
	// The tickets' own expiry is what counts.
	TTL time.Duration
	// Logger receives one event per request, never a value, a key or a
	// ticket.
	Logger zerolog.Logger
	// Sandbox says values go to an in-memory stand-in, and pages say so.
	Sandbox bool
	// Redact lists strings no page may show.
	Redact togetherapi.Scrubber
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Store stores a value; required.
	Store TeamStore
	// Record, if set, hears of every POST's outcome.
	Record func(context.Context, TeamEvent)
}

// PublicURLError is a TeamConfig.PublicURL that cannot be used.
type PublicURLError struct {
	// Problem says what is wrong, in words for the operator, beside the
	// name of the setting; it never quotes the URL, which may hold a
	// password.
	Problem string
}

func (e *PublicURLError) Error() string { return "intake: the public URL " + e.Problem }

// Team serves the team-mode page, the stdio page's counterpart for a team: HTTP
// mode's replicas, behind one public URL, keep no state, so a link carries
// its request sealed (linkseal.Ticket) and any replica serves it. The user
// types the API key of the account that made the link as well as the
// value, and the value is stored with that typed key.
//
// Its rules, beyond the stdio page's guards and words, which it shares:
//   - A link is <public URL>/v/<sealed ticket>. One that the link keys did
//     not seal is not valid (404); one past its expiry says so (410).
//   - A POST is read whole, within the bound, before the ticket is opened.
//   - The typed key is checked against the ticket's fingerprint of the
//     link maker's key, in constant time, before anything is sent; a
//     mismatch sends nothing and says only that the link was made for
//     another account.
//   - At most maxWrongKeys wrong keys or declines a minute for one link on
//     a replica, then 429 and no audit line; counted by a digest of the
//     link, in a table of bounded size of which one link maker's links
//     take at most a share.
//   - The typed key lives for its request only: it goes to Store, and is
//     scrubbed with the value from every text the page shows.
//   - Nothing is kept, so a declined link stays valid until it expires,
//     and a second value for a link is refused by Together's own state
//     (the name exists, or the secret changed): the page says both.
//   - It makes the links it serves (Issue), and seals and opens the state
//     a client carries to the retry of the call that made one (SealState,
//     OpenState): the link keys and fingerprints stay inside it.
//
// It is safe for concurrent use.
type Team struct {
	cfg    TeamConfig
	origin string // scheme://host[:port], as a browser's Origin spells it
	host   string // host[:port] of the public URL, lower-case
	path   string // the path links start with, ending in /v/
	base   string // origin and path, escaped, for links

	tries *keyTries

	mu      sync.Mutex
	storing map[[sha256.Size]byte]bool
}

// NewTeam returns the page for cfg.
func NewTeam(cfg TeamConfig) (*Team, error) {
	if cfg.Keys == nil || cfg.Store == nil {
		return nil, errors.New("intake: a team page needs link keys and a store")
	}
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	u, err := parsePublicURL(cfg.PublicURL)
	if err != nil {
		return nil, err
	}
	origin := u.Scheme + "://" + u.Host
	dir := strings.TrimSuffix(u.Path, "/") + "/v/"
	return &Team{cfg: cfg, origin: origin, host: u.Host, path: dir, base: origin + (&url.URL{Path: dir}).EscapedPath(),
		tries: newKeyTries(), storing: map[[sha256.Size]byte]bool{}}, nil
}

// CheckPublicURL reports whether raw can be a TeamConfig.PublicURL: a
// *PublicURLError if not.
func CheckPublicURL(raw string) error {
	_, err := parsePublicURL(raw)
	return err
}

// parsePublicURL checks a public URL, and returns it with its scheme and
// host in the case, and without the default port, that a browser's Origin
// header has.
func parsePublicURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	switch {
	case err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "":
		return nil, &PublicURLError{Problem: "must be an absolute URL such as https://secrets.example.com"}
	case u.User != nil:
		return nil, &PublicURLError{Problem: "must not hold a user name or password"}
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return nil, &PublicURLError{Problem: "must not hold a query or a fragment: links are built by adding to its path"}
	case !cleanPath(u.Path):
		return nil, &PublicURLError{Problem: "must not hold an empty, \".\" or \"..\" segment in its path: a browser would ask for another path than its links name, which no page answers"}
	}
	u.Scheme = strings.ToLower(u.Scheme)
	host, problem := originHost(u)
	switch {
	case problem != "":
		return nil, &PublicURLError{Problem: problem}
	case u.Scheme != "https" && !(u.Scheme == "http" && netguard.IsLoopback(u.Hostname())):
		return nil, &PublicURLError{Problem: "must use https (http only on this machine's loopback): the page carries API keys and secret values"}
	}
	u.Host = host
	return u, nil
}

// originHost returns u's host as a browser spells it in the Origin and
// Host headers and in the links it follows: in lower case, its port a
// number without leading zeros, and none for the scheme's default. A host
// a browser would spell otherwise than the operator wrote gets a problem
// instead: the page would refuse every POST as from another origin.
func originHost(u *url.URL) (string, string) {
	name := strings.ToLower(u.Hostname())
	if name == "" || net.ParseIP(name) == nil && strings.IndexFunc(name, notHostRune) >= 0 {
		return "", "must name its host in ASCII letters, digits, dots and hyphens, as browsers send it: " +
			"an internationalized name in its xn-- form, an IPv6 address in brackets without a zone"
	}
	if strings.Contains(name, ":") {
		name = "[" + name + "]"
	}
	if u.Port() == "" {
		return name, ""
	}
	n, err := strconv.Atoi(u.Port())
	switch {
	case err != nil || n < 1 || n > 65535:
		return "", "must have a port from 1 to 65535, or none"
	case u.Scheme == "https" && n == 443, u.Scheme == "http" && n == 80:
		return name, ""
	}
	return name + ":" + strconv.Itoa(n), ""
}

func notHostRune(r rune) bool {
	return !('a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '.' || r == '-' || r == '_')
}

// cleanPath reports whether p, a public URL's path, is as a browser sends
// it: "" or "/", or segments none of which is empty, "." or "..", with or
// without a slash at the end.
func cleanPath(p string) bool {
	if p == "" || p == "/" {
		return true
	}
	c := path.Clean(p)
	return c != "/" && (p == c || p == c+"/")
}

// Path is where links start, such as /v/, escaped: the pattern to mount
// the page at, in which an http.ServeMux unescapes each segment, so that a
// public URL's space or brace is a character to match there, not a part
// of the pattern's syntax. The page reads the ticket from the whole request
// path.
func (p *Team) Path() string { return (&url.URL{Path: p.path}).EscapedPath() }

// Host is the public URL's host, with its port unless it is the scheme's
// default, in lower case: the Host a request for the page names.
func (p *Team) Host() string { return p.host }

// Link returns the link for a sealed ticket.
func (p *Team) Link(sealed string) string { return p.base + sealed }

// Now is the page's clock, by which links are made and expire.
func (p *Team) Now() time.Time { return p.cfg.Now() }

// link is what a request's path names: the sealed ticket, a digest of it
// to count tries by, and its fingerprint for the log.
type link struct {
	sealed      string
	digest      [sha256.Size]byte
	fingerprint string
}

// ServeHTTP serves a link: the form on GET, the submission on POST.
func (p *Team) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	setPageHeaders(w.Header())
	var l link
	if sealed, ok := strings.CutPrefix(r.URL.Path, p.path); ok && sealed != "" && !strings.Contains(sealed, "/") {
		l = link{sealed: sealed, digest: sha256.Sum256([]byte(sealed))}
		l.fingerprint = netguard.FingerprintOf(l.digest)
	}
	defer recoverPage(w, p.cfg.Logger, "team page panicked", l.fingerprint)
	status := p.serve(w, r, l)
	p.cfg.Logger.Info().Str("method", r.Method).Int("status", status).Str("link", l.fingerprint).Msg("team page request")
}

// serve handles a request and returns the status it answered with.
func (p *Team) serve(w http.ResponseWriter, r *http.Request, l link) int {
	if l.sealed == "" {
		return writePage(w, http.StatusNotFound, notFoundPage)
	}
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		return notAllowed(w)
	}
	var status int
	var problem string
	if r.Method == http.MethodPost {
		if !fromPage(r, func(origin string) bool { return strings.EqualFold(origin, p.origin) }) {
			return writePage(w, http.StatusForbidden, foreignPostPage)
		}
		// The whole body is read before anything is answered, so that a
		// browser still sending it sees the page, not a reset.
		if status, problem = readForm(w, r); status == 0 {
			_, err := io.Copy(io.Discard, r.Body)
			status, problem = formError(err)
		}
	}
	t, err := p.cfg.Keys.OpenTicket(l.sealed, p.cfg.Now())
	switch {
	case errors.Is(err, linkseal.ErrExpired):
		return writePage(w, http.StatusGone, pageData{Title: "This link has expired", Message: fmt.Sprintf(
			"This link, for the secret %s, expired at %s, and nothing was stored with it. Links work for %s: ask your assistant for a new one.",
			t.Name, t.Expires().UTC().Format("15:04:05 UTC"), minutes(p.cfg.TTL))})
	case err != nil:
		return writePage(w, http.StatusNotFound, pageData{Title: "This link is not valid", Message: "This link is not valid; ask your assistant for a new one. If you copied it, check that you copied all of it."})
	case r.Method == http.MethodGet:
		return writePage(w, http.StatusOK, p.formData(requestOf(t), ""))
	case status != 0:
		return writePage(w, status, p.formData(requestOf(t), problem))
	}
	return p.submission(w, r, l, t)
}

// submission handles a POST of the form: a key and a value to store, or
// the user declining.
func (p *Team) submission(w http.ResponseWriter, r *http.Request, l link, t linkseal.Ticket) int {
	typed := strings.TrimSpace(r.PostForm.Get("api_key"))
	raw := r.PostForm.Get("value")
	for _, f := range []string{"api_key", "value"} {
		r.PostForm.Del(f)
		r.Form.Del(f)
	}
	req := requestOf(t)
	ev := TeamEvent{Link: l.fingerprint, Request: req}
	if r.PostForm.Get("action") == "decline" {
		// A decline needs no key, and each is an audit line: it counts as
		// a try, so that whoever holds a link cannot fill the trail.
		if wait := p.tries.take(l.digest, t.Fingerprint, p.cfg.Now()); wait > 0 {
			return tooManyTries(w, wait, "Nothing was stored or sent, and you can close this page. This link was declined, or tried with wrong API keys, "+
				"too often in the last minute, so this decline was not recorded. Wait %d seconds to decline it again.")
		}
		ev.Outcome = TeamDeclined
		p.record(r, ev)
		return writePage(w, http.StatusOK, pageData{Title: "Declined", Message: "Nothing was stored. You can close this page. " +
			"This server keeps no record of links, so this one stays valid until " + req.ExpiresAt.Format("15:04:05 UTC") +
			"; without the API key of the account that made it, it stores nothing."})
	}
	if typed == "" {
		return writePage(w, http.StatusUnprocessableEntity, p.formData(req, "The API key is empty. Type the API key of the account that made this link, and the value, then press Store."))
	}
	if status, problem := valueProblem(raw); status != 0 {
		return writePage(w, status, p.formData(req, problem))
	}
	if wait := p.tries.take(l.digest, t.Fingerprint, p.cfg.Now()); wait > 0 {
		return tooManyTries(w, wait, "Too many wrong API keys, or declines, were sent here. Nothing was stored or sent. "+
			"Wait %d seconds, then try again with the API key of the account that made this link.")
	}
	key := togetherapi.NewSensitive(typed)
	if !p.cfg.Keys.Verify(t.Generation(), t.Fingerprint, key) {
		ev.Outcome = TeamKeyMismatch
		p.record(r, ev)
		return writePage(w, http.StatusForbidden, p.formData(req, "This link was made for another account: the API key you typed is not the one of the account that made it. "+
			"Nothing was stored or sent. Type that account's API key, or ask your assistant for a link made with your own."))
	}
	p.tries.giveBack(l.digest)
	return p.store(w, r, l, ev, key, togetherapi.NewSensitive(raw))
}

// store hands a value and the typed key to Store, one at a time for a link
// on this replica, and shows what came of it.
func (p *Team) store(w http.ResponseWriter, r *http.Request, l link, ev TeamEvent, key, value togetherapi.Sensitive) int {
	p.mu.Lock()
	busy := p.storing[l.digest]
	p.storing[l.digest] = true
	p.mu.Unlock()
	if busy {
		return writePage(w, http.StatusConflict, p.formData(ev.Request, storingNow))
	}
	defer func() {
		p.mu.Lock()
		delete(p.storing, l.digest)
		p.mu.Unlock()
	}()

	// Not the browser's context: a tab closed mid-store must not leave a
	// create half-done.
	secret, err := p.cfg.Store(context.WithoutCancel(r.Context()), ev.Request, key, value)
	if err != nil {
		status, d, outcome := p.failure(ev.Request, err, append(togetherapi.Scrubber{value, key}, p.cfg.Redact...))
		ev.Outcome = outcome
		p.record(r, ev)
		return writePage(w, status, d)
	}
	ev.Outcome, ev.Secret = TeamStored, secret
	p.record(r, ev)
	return writePage(w, http.StatusOK, storedPage(ev.Request.Name, ev.Request.Replace, p.cfg.Sandbox, secret))
}

// tooManyTries answers a submission past its link's tries, saying how many
// seconds to wait in msg's one %d. It is not recorded: each refusal is in
// the log, and a trail that heard of every one would be anyone's to fill.
func tooManyTries(w http.ResponseWriter, wait time.Duration, msg string) int {
	secs := int(math.Ceil(wait.Seconds()))
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	return writePage(w, http.StatusTooManyRequests, pageData{Title: "Too many tries", Message: fmt.Sprintf(msg, secs)})
}

// maxProblem bounds what the page shows of a failure.
const maxProblem = 1000

// failure words a failed store: the page, and the outcome to record.
func (p *Team) failure(t TeamRequest, err error, scrub togetherapi.Scrubber) (int, pageData, TeamOutcome) {
	var refused *RefusedError
	switch {
	case errors.As(err, &refused):
		return http.StatusForbidden, pageData{Title: "Not stored", Message: scrub.Bounded(refused.Reason, maxProblem) + " Nothing was sent to Together."}, TeamRefused
	case errors.Is(err, ErrSecretChanged):
		return http.StatusConflict, pageData{Title: "Not replaced", Message: fmt.Sprintf("The secret %s has changed since this link was made, perhaps through this very link, "+
			"so its value was not replaced. Ask your assistant for a new link if it still needs a new value.", t.Name)}, TeamReplayRefused
	case errors.Is(err, ErrNameTaken), errors.Is(err, togetherapi.ErrAlreadyExists):
		return http.StatusConflict, pageData{Title: "Not stored", Message: fmt.Sprintf("A secret named %s already exists, perhaps stored through this very link, "+
			"so nothing was stored. Ask your assistant for a new link if its value should be replaced.", t.Name)}, TeamReplayRefused
	case errors.Is(err, ErrKeyRefused), errors.Is(err, togetherapi.ErrUnauthorized), errors.Is(err, togetherapi.ErrForbidden):
		return http.StatusForbidden, p.formData(t, "Together refused the API key: it may have been revoked since the link was made, or may not store secrets. Nothing was stored."), TeamFailed
	}
	return http.StatusBadGateway, p.formData(t, couldNotStore(scrub.Bounded(err.Error(), maxProblem))), TeamFailed
}

func (p *Team) record(r *http.Request, ev TeamEvent) {
	if p.cfg.Record != nil {
		p.cfg.Record(context.WithoutCancel(r.Context()), ev)
	}
}

func (p *Team) formData(t TeamRequest, problem string) pageData {
	d := formData(p.cfg.Sandbox, Request{Name: t.Name, Description: t.Description, Replace: t.Replace, ExistingID: t.SecretID},
		t.ExpiresAt.Format("15:04:05 UTC"), t.ExpiresAt.Sub(p.cfg.Now()), problem)
	d.Team = true
	return d
}

// minutes says a TTL in minutes, as "10 minutes".
func minutes(d time.Duration) string {
	if n := max(1, int(d.Round(time.Minute)/time.Minute)); n > 1 {
		return fmt.Sprintf("%d minutes", n)
	}
	return "1 minute"
}
