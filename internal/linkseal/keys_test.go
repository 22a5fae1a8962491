package linkseal_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/together-secrets-mcp/together-secrets-mcp/internal/linkseal"
)

// keyBytes is a link key whose base64 holds both '+' and '/' in the
// standard alphabet ('-' and '_' in the URL one), so each spelling is
// really read in its own alphabet.
var keyBytes = bytes.Repeat([]byte{0xfb, 0xef, 0xff}, 11)[:32]

var (
	keyHex    = hex.EncodeToString(keyBytes)
	keyStd    = base64.StdEncoding.EncodeToString(keyBytes)
	keyStdRaw = base64.RawStdEncoding.EncodeToString(keyBytes)
	keyURL    = base64.URLEncoding.EncodeToString(keyBytes)
	keyURLRaw = base64.RawURLEncoding.EncodeToString(keyBytes)
	// otherHex is another key, for rotations.
	otherHex = strings.Repeat("5a", 32)
)

func mustKeys(t testing.TB, text string) *linkseal.Keys {
	t.Helper()
	k, err := linkseal.ParseKeys([]byte(text))
	if err != nil {
		t.Fatalf("ParseKeys: %v", err)
	}
	return k
}

func TestEverySpellingOfAKeyFileReadsTheSameKey(t *testing.T) {
	t.Parallel()
	if !strings.ContainsAny(keyStd, "+/") || !strings.ContainsAny(keyURL, "-_") || !strings.HasSuffix(keyStd, "=") {
		t.Fatalf("the test key does not exercise both alphabets and padding: %s %s", keyStd, keyURL)
	}
	reference := mustKeys(t, keyHex)
	sealed := reference.Seal("test/v1", []byte("hello"))
	tests := []struct {
		name, file string
		// at is the generation the key stands at in the file.
		at linkseal.Generation
	}{
		{"hex", keyHex, linkseal.Current},
		{"hex in capitals", strings.ToUpper(keyHex), linkseal.Current},
		{"base64, padded", keyStd, linkseal.Current},
		{"base64, unpadded", keyStdRaw, linkseal.Current},
		{"base64url, padded", keyURL, linkseal.Current},
		{"base64url, unpadded", keyURLRaw, linkseal.Current},
		{"a trailing newline", keyHex + "\n", linkseal.Current},
		{"CRLF line ends", keyHex + "\r\n" + otherHex + "\r\n", linkseal.Current},
		{"blanks around the key and blank lines", "\n  \t" + keyStd + " \t\n\n", linkseal.Current},
		{"a byte order mark", "\ufeff" + keyHex + "\n", linkseal.Current},
		{"the previous key second", otherHex + "\n\n" + keyURLRaw + "\n", linkseal.Previous},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := mustKeys(t, tt.file)
			if _, gen, err := k.Open("test/v1", sealed); err != nil || gen != tt.at {
				t.Errorf("what the hex spelling sealed opens as generation %d, %v; want %d", gen, err, tt.at)
			}
			// The first key seals.
			_, _, err := reference.Open("test/v1", k.Seal("test/v1", nil))
			if sealsWithIt := tt.at == linkseal.Current; (err == nil) != sealsWithIt {
				t.Errorf("sealed with the key: %v, want %v", err == nil, sealsWithIt)
			}
		})
	}
}

func TestAKeyFileThatCannotBeUsedIsRefusedWithAdviceAndWithoutItsContent(t *testing.T) {
	t.Parallel()
	short := strings.Repeat("c3", 31)
	tests := []struct {
		name, file, says string
	}{
		{"31 bytes of hex", short, "decodes to 31 bytes, and a link key needs at least 32"},
		{"31 bytes of base64", base64.StdEncoding.EncodeToString(keyBytes[:31]), "decodes to 31 bytes"},
		{"three keys", keyHex + "\n" + otherHex + "\n" + keyHex + "\n", "holds 3 keys, and may hold two at most"},
		{"an empty file", "", "holds no key"},
		{"blank lines only", "\n \r\n\t\n", "holds no key"},
		{"a space inside the key", keyHex[:30] + " " + keyHex[30:], "line 1 has a blank inside its key"},
		{"a CR inside the key", otherHex + "\n" + keyHex[:30] + "\r" + keyHex[30:], "line 2 has a blank inside its key"},
		{"an odd number of hex digits", keyHex[1:], "odd number of hex digits"},
		{"neither hex nor base64", strings.Repeat("z!", 32), "is neither hex nor base64"},
		{"both base64 alphabets at once", "+" + keyURLRaw[1:], "is neither hex nor base64"},
		{"padding that does not fit", keyStdRaw + "==", "is neither hex nor base64"},
		{"a comment", "# the link key\n" + keyHex, "line 1 has a blank inside its key"},
		{"a file that is too large", strings.Repeat(keyHex+"\n", 80), "larger than 4096 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := linkseal.ParseKeys([]byte(tt.file))
			var kfe *linkseal.KeyFileError
			if !errors.As(err, &kfe) {
				t.Fatalf("err = %v, want a *KeyFileError", err)
			}
			if !strings.Contains(err.Error(), tt.says) || !strings.Contains(err.Error(), "openssl rand -hex 32") && !strings.Contains(tt.says, "3 keys") {
				t.Errorf("err = %q, want it to say %q and how to make a key", err, tt.says)
			}
			for _, part := range []string{keyHex[:16], keyStdRaw[:16], keyURLRaw[:16], short[:16], "z!z!"} {
				if strings.Contains(strings.ToLower(err.Error()), strings.ToLower(part)) {
					t.Errorf("the error quotes the file: %q", err)
				}
			}
		})
	}
}

func TestNewKeysAreRandomAndOpenOnlyTheirOwnSeals(t *testing.T) {
	t.Parallel()
	a, err := linkseal.NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	b, err := linkseal.NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	sealed := a.Seal("test/v1", []byte("x"))
	if _, _, err := a.Open("test/v1", sealed); err != nil {
		t.Errorf("a key set does not open its own seal: %v", err)
	}
	if _, _, err := b.Open("test/v1", sealed); !errors.Is(err, linkseal.ErrInvalid) {
		t.Errorf("another random key set opened it: %v", err)
	}
}
