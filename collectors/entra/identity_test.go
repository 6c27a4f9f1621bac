package entra

import (
	"encoding/base64"
	"slices"
	"strings"
	"testing"

	"permgraph/collectors/internal/azauth"
)

func TestLiveRecordsCallerIdentities(t *testing.T) {
	t.Parallel()
	enc := base64.RawURLEncoding.EncodeToString
	jwt := enc([]byte(`{"typ":"JWT","alg":"none"}`)) + "." +
		enc([]byte(`{"oid":"7f3c0000-0000-0000-0000-00000000c011","appid":"a1b2c3d4-permgraph","tid":"t"}`)) + ".c2ln"
	f := newFakeGraph(t)
	fixtureTenant(f, false)
	r := newTestRun(t, f)
	tok, err := azauth.NewStaticToken(jwt)
	if err != nil {
		t.Fatal(err)
	}
	r.o.Credential = tok
	_, l, err := r.live(t, t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"7f3c0000-0000-0000-0000-00000000c011", "a1b2c3d4-permgraph"}
	if !slices.Equal(l.CallerIdentities(), want) {
		t.Errorf("CallerIdentities = %q, want %q", l.CallerIdentities(), want)
	}
	if strings.Contains(r.logs.String(), jwt) || strings.Contains(r.logs.String(), strings.Split(jwt, ".")[1]) {
		t.Error("token reached the logs")
	}
}
