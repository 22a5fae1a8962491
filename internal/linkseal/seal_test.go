package linkseal_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/together-secrets-mcp/together-secrets-mcp/internal/linkseal"
	"github.com/together-secrets-mcp/together-secrets-mcp/togetherapi"
)

const purpose = "test/v1"

// alphabet is base64url's.
const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

func TestWhatIsSealedOpensAsItWasWithUrlSafeText(t *testing.T) {
	t.Parallel()
	k := mustKeys(t, keyHex)
	for _, plain := range [][]byte{nil, []byte("x"), bytes.Repeat([]byte{0, 0xff, '<', '/'}, 300)} {
		sealed := k.Seal(purpose, plain)
		if strings.Trim(sealed, alphabet) != "" {
			t.Errorf("sealed text %q is not URL-safe", sealed)
		}
		got, gen, err := k.Open(purpose, sealed)
		if err != nil || !bytes.Equal(got, plain) || gen != linkseal.Current {
			t.Errorf("Open = %q, %d, %v; want %q", got, gen, err, plain)
		}
		if again := k.Seal(purpose, plain); again == sealed {
			t.Error("two seals of one plaintext are alike: the nonce is not random")
		}
	}
}

// tampered returns every text one change away from sealed that the key set
// must refuse: each bit flipped, cuts, extensions, and other spellings of
// the same bytes.
func tampered(t *testing.T, sealed string) map[string]string {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(sealed)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for i := range raw {
		for bit := range 8 {
			b := bytes.Clone(raw)
			b[i] ^= 1 << bit
			out[fmt.Sprintf("bit %d of byte %d", bit, i)] = base64.RawURLEncoding.EncodeToString(b)
		}
	}
	for _, n := range []int{1, 2, 3, 4, len(sealed) / 2, len(sealed) - 1} {
		out[fmt.Sprintf("cut by %d", n)] = sealed[:len(sealed)-n]
	}
	out["cut in front"] = sealed[1:]
	out["empty"] = ""
	for _, tail := range []string{"A", "AA", "AAA", "AAAA", "=", "==", "%3D"} {
		out["extended by "+tail] = sealed + tail
	}
	out["extended by a byte"] = base64.RawURLEncoding.EncodeToString(append(raw, 0))
	out["a newline inside"] = sealed[:10] + "\n" + sealed[10:]
	out["a CR inside"] = sealed[:10] + "\r" + sealed[10:]
	out["padded"] = base64.URLEncoding.EncodeToString(raw)
	out["in the standard alphabet"] = strings.NewReplacer("-", "+", "_", "/").Replace(sealed)
	// The last character carries bits past the end of the bytes: a lenient
	// decoder reads another character there as the same bytes.
	if len(raw)%3 != 0 {
		last := strings.IndexByte(alphabet, sealed[len(sealed)-1])
		out["unused bits set"] = sealed[:len(sealed)-1] + string(alphabet[last^1])
	}
	for name, text := range out {
		if text == sealed {
			delete(out, name)
		}
	}
	return out
}

func TestEveryChangeToASealedTextIsRefusedWithOneError(t *testing.T) {
	t.Parallel()
	k := mustKeys(t, keyHex)
	sealed := k.Seal(purpose, []byte("create prod/HF_TOKEN"))
	cases := tampered(t, sealed)
	if len(cases) < 8*30 {
		t.Fatalf("only %d tampered texts", len(cases))
	}
	for name, text := range cases {
		got, _, err := k.Open(purpose, text)
		if err != linkseal.ErrInvalid || got != nil {
			t.Errorf("%s: Open = %q, %v; want nothing and ErrInvalid itself", name, got, err)
		}
	}
}

func TestOneKindOfSealedTextNeverOpensAsAnother(t *testing.T) {
	t.Parallel()
	k := mustKeys(t, keyHex)
	for _, p := range []string{"test/v2", "test/v", "test/v10", "", linkseal.PurposeTicket} {
		if _, _, err := k.Open(p, k.Seal(purpose, []byte("x"))); err != linkseal.ErrInvalid {
			t.Errorf("sealed for %q, opened for %q: %v", purpose, p, err)
		}
	}
}

func TestARotationKeepsOldLinksOpenAndSealsWithTheNewKey(t *testing.T) {
	t.Parallel()
	before := mustKeys(t, keyHex)
	during := mustKeys(t, otherHex+"\n"+keyHex)
	after := mustKeys(t, otherHex)
	old := before.Seal(purpose, []byte("old"))
	fresh := during.Seal(purpose, []byte("new"))

	tests := []struct {
		name   string
		keys   *linkseal.Keys
		sealed string
		opens  bool
		gen    linkseal.Generation
	}{
		{"the new set opens an old link, as the previous key's", during, old, true, linkseal.Previous},
		{"the new set opens its own link, as the current key's", during, fresh, true, linkseal.Current},
		{"a replica not yet rolled over does not open a new link", before, fresh, false, 0},
		{"once the old key is dropped, its links die", after, old, false, 0},
		{"the set without the old key still opens new links", after, fresh, true, linkseal.Current},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, gen, err := tt.keys.Open(purpose, tt.sealed)
			if (err == nil) != tt.opens || gen != tt.gen {
				t.Errorf("Open: generation %d, %v; want opened %v as %d", gen, err, tt.opens, tt.gen)
			}
			if err != nil && err != linkseal.ErrInvalid {
				t.Errorf("err = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestATypedKeyVerifiesOnlyAgainstItsOwnFingerprintAcrossARotation(t *testing.T) {
	t.Parallel()
	apiKey := togetherapi.NewSensitive("tgp_v1_CANARYKEY-linkseal-000111")
	other := togetherapi.NewSensitive("tgp_v1_SOMEONEELSE-linkseal-22233")
	before := mustKeys(t, keyHex)
	during := mustKeys(t, otherHex+"\n"+keyHex)
	fp := before.Fingerprint(apiKey)

	tests := []struct {
		name string
		keys *linkseal.Keys
		gen  linkseal.Generation
		key  togetherapi.Sensitive
		want bool
	}{
		{"the key, under the key set that fingerprinted it", before, linkseal.Current, apiKey, true},
		{"the key, after a rotation, under the previous key", during, linkseal.Previous, apiKey, true},
		{"the key, after a rotation, under the wrong generation", during, linkseal.Current, apiKey, false},
		{"another key", before, linkseal.Current, other, false},
		{"an empty key", before, linkseal.Current, togetherapi.Sensitive{}, false},
		{"a generation the set has not got", before, linkseal.Previous, apiKey, false},
		{"a negative generation", before, -1, apiKey, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.keys.Verify(tt.gen, fp, tt.key); got != tt.want {
				t.Errorf("Verify = %v, want %v", got, tt.want)
			}
		})
	}
	if before.Verify(linkseal.Current, linkseal.Fingerprint{}, togetherapi.Sensitive{}) {
		t.Error("an empty key verifies against an empty fingerprint")
	}
	if during.Fingerprint(apiKey) == fp {
		t.Error("a new link key fingerprints a caller as the old one did")
	}
	if !before.Fingerprint(togetherapi.Sensitive{}).IsZero() {
		t.Error("an empty key has a fingerprint")
	}
}

// FuzzOpen holds that no text opens unless the key set sealed exactly it,
// and that nothing panics. Each input is tried as it is, and spliced into
// a real sealed text (drop bytes at a place, insert others), where a
// forgery would start. The key set is new each run, so that a text sealed
// on an earlier run and kept in the corpus is refused too.
func FuzzOpen(f *testing.F) {
	k, err := linkseal.NewKeys()
	if err != nil {
		f.Fatal(err)
	}
	var texts []string
	sealed := map[string][]byte{}
	for _, plain := range []string{"", "x", "create prod/HF_TOKEN with a description"} {
		s := k.Seal(purpose, []byte(plain))
		texts = append(texts, s)
		sealed[s] = []byte(plain)
	}
	f.Add(uint8(0), uint16(0), uint8(0), "")
	f.Add(uint8(1), uint16(10), uint8(1), "A")
	f.Add(uint8(2), uint16(40), uint8(0), "AQ")
	f.Fuzz(func(t *testing.T, which uint8, at uint16, drop uint8, insert string) {
		base := texts[int(which)%len(texts)]
		i := min(int(at), len(base))
		spliced := base[:i] + insert + base[min(i+int(drop), len(base)):]
		for _, text := range []string{insert, spliced} {
			got, gen, err := k.Open(purpose, text)
			if err != nil {
				if err != linkseal.ErrInvalid || got != nil {
					t.Fatalf("refused with %v and %q, want ErrInvalid alone", err, got)
				}
				continue
			}
			want, ok := sealed[text]
			if !ok {
				t.Fatalf("opened %q, which the key set never sealed", text)
			}
			if !bytes.Equal(got, want) || gen != linkseal.Current {
				t.Fatalf("opened %q as %q (generation %d), sealed as %q", text, got, gen, want)
			}
		}
	})
}
