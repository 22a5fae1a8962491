package togetherapi

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"unicode/utf8"
)

// The property for metadata: whatever the value, and in particular a value
// cut from Together's own fields, every field comes back either exactly as
// Together sent it or withheld whole; never torn. Fields that cannot carry
// a value (object, timestamps, the name and description as sent) always
// come back intact, and a field is withheld only if it carries the value.
func TestMetadataPropertyFieldsAreWholeOrWithheld(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(5, 6))
	hex := "0123456789abcdef"
	for i := range 5000 {
		id := "sec-"
		for range 24 {
			id += string(hex[r.IntN(16)])
		}
		ts := fmt.Sprintf("20%02d-%02d-%02dT%02d:%02d:%02dZ", r.IntN(100), 1+r.IntN(12), 1+r.IntN(28), r.IntN(24), r.IntN(60), r.IntN(60))
		orig := Secret{Object: "secret", ID: id, Name: "team/app-" + id[4:10], Description: "for " + id[8:14],
			CreatedAt: ts, UpdatedAt: ts, CreatedBy: "user-" + id[10:16], LastUpdatedBy: "user-" + id[12:18]}
		// The value: a piece of one of the fields, of any length.
		fields := []string{orig.Object, orig.ID, orig.Name, orig.Description, orig.CreatedAt, orig.CreatedBy}
		f := fields[r.IntN(len(fields))]
		lo := r.IntN(len(f))
		value := f[lo : lo+1+r.IntN(len(f)-lo)]
		body, _ := json.Marshal(orig)
		desc := orig.Description
		got, err := decodeSecret(body, Scrubber{NewSensitive(value)}, sent{name: orig.Name, description: &desc})
		if err != nil {
			t.Fatal(err)
		}
		v := NewSensitive(value)
		for _, c := range []struct {
			key, orig, got string
			shaped         bool
		}{
			{"object", orig.Object, got.Object, true},
			{"id", orig.ID, got.ID, false},
			{"name", orig.Name, got.Name, true},
			{"description", orig.Description, got.Description, true},
			{"created_at", orig.CreatedAt, got.CreatedAt, true},
			{"updated_at", orig.UpdatedAt, got.UpdatedAt, true},
			{"created_by", orig.CreatedBy, got.CreatedBy, false},
			{"last_updated_by", orig.LastUpdatedBy, got.LastUpdatedBy, false},
		} {
			switch {
			case c.got != c.orig && c.got != Redacted:
				t.Fatalf("case %d, value %q: %s = %q, torn from %q", i, value, c.key, c.got, c.orig)
			case c.shaped && c.got != c.orig:
				t.Fatalf("case %d, value %q: %s withheld, but it cannot carry a value", i, value, c.key)
			case c.got == Redacted && !(Scrubber{v}).carries(c.orig):
				t.Fatalf("case %d, value %q: %s withheld without carrying the value", i, value, c.key)
			case c.got == c.orig && !c.shaped && (Scrubber{v}).carries(c.orig):
				t.Fatalf("case %d, value %q: %s = %q carries the value and was returned", i, value, c.key, c.got)
			case utf8.RuneCountInString(value) < minSubstringLen && c.got != c.orig && c.orig != value:
				t.Fatalf("case %d: short value %q withheld %s = %q", i, value, c.key, c.orig)
			}
		}
	}
}
