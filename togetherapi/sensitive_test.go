package togetherapi_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/together-secrets-mcp/together-secrets-mcp/togetherapi"
)

const canary = "CANARY-s3cr3t-<&>-\"quoted\"-/path-é-🔑"

func TestSensitivePrintsRedactedThroughEveryFormatter(t *testing.T) {
	t.Parallel()
	v := togetherapi.NewSensitive(canary)
	// Named, since encoding/xml encodes no struct without a name.
	type Holder struct {
		Name  string
		Value togetherapi.Sensitive
		Ptr   *togetherapi.Sensitive
	}
	holder := Holder{"n", v, &v}

	var outputs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10.3s", "%T"} {
		outputs = append(outputs, fmt.Sprintf(verb, v), fmt.Sprintf(verb, holder))
	}
	outputs = append(outputs, fmt.Sprint(v), fmt.Sprintln(v, &v), v.String())
	outputs = append(outputs, fmt.Errorf("wrapped %v: %w", v, errors.New("x")).Error())

	j, err := json.Marshal(holder)
	if err != nil {
		t.Fatal(err)
	}
	outputs = append(outputs, string(j))
	text, _ := v.MarshalText()
	outputs = append(outputs, string(text))

	x, err := xml.Marshal(holder)
	if err != nil {
		t.Fatal(err)
	}
	outputs = append(outputs, string(x))

	for _, h := range []func(io.Writer) slog.Handler{
		func(w io.Writer) slog.Handler { return slog.NewJSONHandler(w, nil) },
		func(w io.Writer) slog.Handler { return slog.NewTextHandler(w, nil) },
	} {
		var slogBuf bytes.Buffer
		slog.New(h(&slogBuf)).Info("m", "value", v, "holder", holder, "ptr", &v)
		outputs = append(outputs, slogBuf.String())
	}

	var zBuf bytes.Buffer
	z := zerolog.New(&zBuf)
	z.Info().Interface("a", v).Any("b", holder).Stringer("c", v).
		Fields(map[string]any{"d": v, "e": &v}).Msgf("%v %+v %s", v, holder, &v)
	z.Info().Msg(fmt.Sprint(v))
	outputs = append(outputs, zBuf.String())

	for _, out := range outputs {
		if strings.Contains(out, "CANARY") || strings.Contains(out, "s3cr3t") {
			t.Errorf("value leaked: %s", out)
		}
		// All but %T, which names the types.
		if !strings.Contains(out, togetherapi.Redacted) && !strings.HasPrefix(out, "togetherapi") {
			t.Errorf("output %q does not say %s", out, togetherapi.Redacted)
		}
	}
}

func TestTwoSensitivesAreEqualExactlyWhenTheirContentsAre(t *testing.T) {
	for _, tt := range []struct {
		a, b togetherapi.Sensitive
		want bool
	}{
		{togetherapi.NewSensitive(canary), togetherapi.NewSensitive(canary), true},
		{togetherapi.NewSensitive(canary), togetherapi.NewSensitive(canary + "x"), false},
		{togetherapi.NewSensitive("e"), togetherapi.NewSensitive("e"), true},
		{togetherapi.NewSensitive(""), togetherapi.Sensitive{}, true},
		{togetherapi.NewSensitive("e"), togetherapi.Sensitive{}, false},
	} {
		if got := tt.a == tt.b; got != tt.want {
			t.Errorf("%q == %q is %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestSensitivePanicValuePrintsRedacted(t *testing.T) {
	t.Parallel()
	defer func() {
		r := recover()
		if got := fmt.Sprint(r); strings.Contains(got, "CANARY") {
			t.Errorf("panic value printed the secret: %s", got)
		}
	}()
	panic(togetherapi.NewSensitive(canary))
}

func TestAMACTellsEqualContentsApartOnlyUnderItsKey(t *testing.T) {
	t.Parallel()
	k1, k2 := []byte("first key of thirty-two bytes..."), []byte("second key of thirty-two bytes.")
	a, same, other := togetherapi.NewSensitive(canary), togetherapi.NewSensitive(canary), togetherapi.NewSensitive(canary+"x")
	if a.MAC(k1) != same.MAC(k1) {
		t.Error("equal contents give different MACs under one key")
	}
	if a.MAC(k1) == other.MAC(k1) {
		t.Error("different contents give one MAC")
	}
	if a.MAC(k1) == a.MAC(k2) {
		t.Error("one content gives the same MAC under two keys")
	}
	// It is HMAC-SHA256 itself, so another implementation can check it.
	m := hmac.New(sha256.New, k1)
	m.Write([]byte(canary))
	if sum := a.MAC(k1); !hmac.Equal(sum[:], m.Sum(nil)) {
		t.Errorf("MAC = %x, want HMAC-SHA256 %x", sum, m.Sum(nil))
	}
}
