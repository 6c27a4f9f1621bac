package azurerbac

import (
	"context"
	"encoding/base64"
	"slices"
	"testing"

	"permgraph/collectors/internal/azauth"
	"permgraph/graph"
)

func TestLiveRecordsCallerIdentities(t *testing.T) {
	enc := base64.RawURLEncoding.EncodeToString
	jwt := enc([]byte(`{"typ":"JWT","alg":"none"}`)) + "." +
		enc([]byte(`{"oid":"11111111-aaaa-bbbb-cccc-000000000001","upn":"collector@contoso.com"}`)) + ".c2ln"
	f := newFakeARM(t)
	fixture(f)
	o := testOptions(f, &fakeCred{})
	tok, err := azauth.NewStaticToken(jwt)
	if err != nil {
		t.Fatal(err)
	}
	o.Credential = tok
	l, err := NewLive(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Collect(context.Background(), graph.NewCollection()); err != nil {
		t.Fatal(err)
	}
	want := []string{"11111111-aaaa-bbbb-cccc-000000000001", "collector@contoso.com"}
	if !slices.Equal(l.CallerIdentities(), want) {
		t.Errorf("CallerIdentities = %q, want %q", l.CallerIdentities(), want)
	}
	// An opaque token (not a JWT) records nothing and does not fail.
	l2, _ := NewLive(testOptions(f, &fakeCred{}))
	if err := l2.Collect(context.Background(), graph.NewCollection()); err != nil {
		t.Fatal(err)
	}
	if len(l2.CallerIdentities()) != 0 {
		t.Errorf("opaque token gave %q", l2.CallerIdentities())
	}
}
