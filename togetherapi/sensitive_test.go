package togetherapi_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
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
	holder := struct {
		Name  string
		Value togetherapi.Sensitive
		Ptr   *togetherapi.Sensitive
	}{"n", v, &v}

	var outputs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10.3s", "%T"} {
		outputs = append(outputs, fmt.Sprintf(verb, v), fmt.Sprintf(verb, holder))
	}
	outputs = append(outputs, fmt.Sprint(v), fmt.Sprintln(v, &v), v.String(), v.GoString())
	outputs = append(outputs, fmt.Errorf("wrapped %v: %w", v, errors.New("x")).Error())

	j, err := json.Marshal(holder)
	if err != nil {
		t.Fatal(err)
	}
	outputs = append(outputs, string(j))
	text, _ := v.MarshalText()
	outputs = append(outputs, string(text))

	var slogBuf bytes.Buffer
	slog.New(slog.NewJSONHandler(&slogBuf, nil)).Info("m", "value", v, "holder", holder)
	outputs = append(outputs, slogBuf.String())

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
		if !strings.Contains(out, togetherapi.Redacted) && !strings.Contains(out, "togetherapi.Sensitive") {
			t.Errorf("output %q does not say %s", out, togetherapi.Redacted)
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
