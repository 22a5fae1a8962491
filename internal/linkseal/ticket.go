package linkseal

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/together-secrets-mcp/together-secrets-mcp/togetherapi"
)

// Purposes of the sealed kinds this package makes. A new layout of either
// is a new purpose, so old texts are refused rather than misread.
const (
	PurposeTicket       = "intake-link/v2"
	PurposeRequestState = "request-state/v1"
)

// ErrExpired is a sealed record that is authentic but past its expiry.
var ErrExpired = errors.New("linkseal: the sealed record has expired")

// maxIDLen bounds a ticket's secret ID and timestamp, which come from
// Together and are short.
const maxIDLen = 256

// Action is what a value page does with the value.
type Action string

// The actions of a ticket.
const (
	// Create creates a secret of the ticket's name.
	Create Action = "create"
	// Update gives an existing secret a new value.
	Update Action = "update"
)

// Ticket is what a value page's link carries, sealed: all a replica needs
// to serve the page and store the value, with no state of its own. Sealed,
// a ticket with the longest name, a 1,000-byte description and an
// update's ID makes a link of 1.7 KB; the API's longest description, 500
// characters of four bytes, one of 3 KB.
type Ticket struct {
	Action Action
	// Name is the secret's; Description, optional, is stored with it.
	Name, Description string
	// SecretID and UpdatedAt, for an Update, are the secret's ID and its
	// updated_at as Together gave it when the link was made; a secret
	// changed since is not overwritten.
	SecretID, UpdatedAt string
	// Fingerprint names the caller that made the link.
	Fingerprint Fingerprint
	// CallID and Caller are what the audit trail names the call that made
	// the link by (its call_id, and the caller fingerprint of its key that
	// the tool calls log), so that a page's lines match that call's. Each
	// is at most 256 bytes, and both may be empty.
	CallID, Caller string
	// IssuedAt and ExpiresAt are Unix seconds.
	IssuedAt, ExpiresAt int64

	gen Generation
}

// Generation is the generation of the key that opened the ticket: the one
// to Verify a typed key under.
func (t Ticket) Generation() Generation { return t.gen }

// Expires returns ExpiresAt as a time.
func (t Ticket) Expires() time.Time { return time.Unix(t.ExpiresAt, 0) }

// Check reports the first field of t that no page could serve.
func (t Ticket) Check() error {
	switch t.Action {
	case Create:
		if t.SecretID != "" || t.UpdatedAt != "" {
			return errors.New("linkseal: a create ticket names no existing secret")
		}
	case Update:
		if t.SecretID == "" {
			return errors.New("linkseal: an update ticket needs the secret's ID")
		}
	default:
		return fmt.Errorf("linkseal: a ticket's action is %q or %q", Create, Update)
	}
	if err := togetherapi.ValidateName("name", t.Name); err != nil {
		return fmt.Errorf("linkseal: ticket: %w", err)
	}
	if err := togetherapi.ValidateDescription(t.Description); err != nil {
		return fmt.Errorf("linkseal: ticket: %w", err)
	}
	if len(t.SecretID) > maxIDLen || len(t.UpdatedAt) > maxIDLen {
		return fmt.Errorf("linkseal: a ticket's secret ID and updated_at are at most %d bytes", maxIDLen)
	}
	if len(t.CallID) > maxIDLen || len(t.Caller) > maxIDLen {
		return fmt.Errorf("linkseal: a ticket's call ID and caller are at most %d bytes", maxIDLen)
	}
	return checkRecord(t.Fingerprint, t.IssuedAt, t.ExpiresAt)
}

// checkRecord checks what every sealed record holds.
func checkRecord(fp Fingerprint, issued, expires int64) error {
	switch {
	case fp.IsZero():
		return errors.New("linkseal: a sealed record needs the caller's fingerprint")
	case issued < 0 || expires <= issued:
		return errors.New("linkseal: a sealed record expires after it is issued")
	}
	return nil
}

// SealTicket checks t and seals it into text for a link's path.
func (k *Keys) SealTicket(t Ticket) (string, error) {
	if err := t.Check(); err != nil {
		return "", err
	}
	var w writer
	w.byte(codeOf(t.Action))
	w.uint(uint64(t.IssuedAt))
	w.uint(uint64(t.ExpiresAt))
	w.bytes(t.Fingerprint[:])
	w.string(t.Name)
	w.string(t.Description)
	w.string(t.SecretID)
	w.string(t.UpdatedAt)
	w.string(t.CallID)
	w.string(t.Caller)
	return k.Seal(PurposeTicket, w.b), nil
}

// OpenTicket opens a sealed ticket: ErrInvalid, before anything in it is
// read, if the key set did not seal it; else the ticket, and ErrExpired
// with it once now has reached its expiry, so that a page can still say
// what the link was for.
func (k *Keys) OpenTicket(sealed string, now time.Time) (Ticket, error) {
	plain, gen, err := k.Open(PurposeTicket, sealed)
	if err != nil {
		return Ticket{}, err
	}
	r := reader{b: plain}
	t := Ticket{gen: gen}
	code := r.byte()
	t.IssuedAt, t.ExpiresAt = int64(r.uint()), int64(r.uint())
	copy(t.Fingerprint[:], r.bytes(uint64(len(t.Fingerprint))))
	t.Name, t.Description, t.SecretID, t.UpdatedAt = r.string(), r.string(), r.string(), r.string()
	t.CallID, t.Caller = r.string(), r.string()
	t.Action = actionOf(code)
	if !r.done() || t.Action == "" {
		// Only a layout this version never wrote could get here.
		return Ticket{}, ErrInvalid
	}
	if now.Unix() >= t.ExpiresAt {
		return t, ErrExpired
	}
	return t, nil
}

// An action's byte in a sealed ticket.
const (
	codeCreate byte = 1
	codeUpdate byte = 2
)

func codeOf(a Action) byte {
	if a == Update {
		return codeUpdate
	}
	return codeCreate
}

func actionOf(code byte) Action {
	switch code {
	case codeCreate:
		return Create
	case codeUpdate:
		return Update
	}
	return ""
}

// RequestState is what a client carries between the legs of a
// request_secret_from_user call (the MCP requestState of a 2026-07-28
// client's retry), sealed, so that the retry may reach any replica and be
// taken only from the caller, for the call, that it was made for.
type RequestState struct {
	// Tool is the tool's name.
	Tool string
	// Args is ArgsDigest of the call's arguments.
	Args [sha256.Size]byte
	// Fingerprint names the caller.
	Fingerprint Fingerprint
	// IssuedAt and ExpiresAt are Unix seconds.
	IssuedAt, ExpiresAt int64

	gen Generation
}

// Generation is the generation of the key that opened the state.
func (s RequestState) Generation() Generation { return s.gen }

// ArgsDigest binds a call's arguments, such as a name and a description,
// in order; no two lists give one digest.
func ArgsDigest(args ...string) [sha256.Size]byte {
	var w writer
	w.string("linkseal args v1")
	for _, a := range args {
		w.string(a)
	}
	return sha256.Sum256(w.b)
}

// SealRequestState checks s and seals it.
func (k *Keys) SealRequestState(s RequestState) (string, error) {
	if s.Tool == "" || len(s.Tool) > maxIDLen {
		return "", fmt.Errorf("linkseal: a request state names its tool in at most %d bytes", maxIDLen)
	}
	if err := checkRecord(s.Fingerprint, s.IssuedAt, s.ExpiresAt); err != nil {
		return "", err
	}
	var w writer
	w.uint(uint64(s.IssuedAt))
	w.uint(uint64(s.ExpiresAt))
	w.bytes(s.Fingerprint[:])
	w.bytes(s.Args[:])
	w.string(s.Tool)
	return k.Seal(PurposeRequestState, w.b), nil
}

// OpenRequestState opens a sealed request state, as OpenTicket opens a
// ticket.
func (k *Keys) OpenRequestState(sealed string, now time.Time) (RequestState, error) {
	plain, gen, err := k.Open(PurposeRequestState, sealed)
	if err != nil {
		return RequestState{}, err
	}
	r := reader{b: plain}
	s := RequestState{gen: gen}
	s.IssuedAt, s.ExpiresAt = int64(r.uint()), int64(r.uint())
	copy(s.Fingerprint[:], r.bytes(uint64(len(s.Fingerprint))))
	copy(s.Args[:], r.bytes(uint64(len(s.Args))))
	s.Tool = r.string()
	if !r.done() {
		return RequestState{}, ErrInvalid
	}
	if now.Unix() >= s.ExpiresAt {
		return s, ErrExpired
	}
	return s, nil
}

// writer lays out a record: fixed fields as they are, numbers as uvarints,
// strings behind their uvarint length. It is smaller than JSON, which
// spells a '<' in a description in six bytes, before base64 makes every
// byte a third larger again.
type writer struct{ b []byte }

func (w *writer) byte(c byte)     { w.b = append(w.b, c) }
func (w *writer) uint(n uint64)   { w.b = binary.AppendUvarint(w.b, n) }
func (w *writer) bytes(p []byte)  { w.b = append(w.b, p...) }
func (w *writer) string(s string) { w.uint(uint64(len(s))); w.b = append(w.b, s...) }

// reader reads what writer wrote. A misstep marks it bad, after which it
// reads nothing; done reports whether all was read, and well.
type reader struct {
	b   []byte
	bad bool
}

func (r *reader) uint() uint64 {
	if r.bad {
		return 0
	}
	n, size := binary.Uvarint(r.b)
	if size <= 0 || n > math.MaxInt64 {
		r.bad = true
		return 0
	}
	r.b = r.b[size:]
	return n
}

func (r *reader) bytes(n uint64) []byte {
	if r.bad || n > uint64(len(r.b)) {
		r.bad = true
		return nil
	}
	p := r.b[:n]
	r.b = r.b[n:]
	return p
}

func (r *reader) byte() byte {
	if p := r.bytes(1); len(p) == 1 {
		return p[0]
	}
	return 0
}

func (r *reader) string() string { return string(r.bytes(r.uint())) }

func (r *reader) done() bool { return !r.bad && len(r.b) == 0 }
