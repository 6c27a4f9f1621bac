package azauth

import (
	"encoding/base64"
	"slices"
	"strings"
	"testing"
)

// testJWT builds an unsigned token with the given JSON payload (tests).
func testJWT(payload string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"typ":"JWT","alg":"none"}`)) + "." + enc([]byte(payload)) + ".c2ln"
}

func TestTokenIdentities(t *testing.T) {
	cases := []struct {
		payload string
		want    []string
	}{
		{`{"oid":"0b1c-user","upn":"ops@contoso.com","appid":"04b07795-cli"}`, []string{"0b1c-user", "ops@contoso.com", "04b07795-cli"}},
		{`{"oid":"5e2f-sp","azp":"app-1","appid":"app-1"}`, []string{"5e2f-sp", "app-1"}},
		{`{"sub":"x"}`, nil},
	}
	for _, tc := range cases {
		tok := testJWT(tc.payload)
		got, err := TokenIdentities(tok)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("TokenIdentities(%s) = %q, %v; want %q", tc.payload, got, err, tc.want)
		}
		s, _ := NewStaticToken(tok)
		if ids, err := CallerIdentities(t.Context(), s, "https://graph.microsoft.com/.default"); err != nil || !slices.Equal(ids, tc.want) {
			t.Errorf("CallerIdentities = %q, %v", ids, err)
		}
	}
	for _, bad := range []string{"opaque-token-SECRET", "a.%%%SECRET.c", "a." + base64.RawURLEncoding.EncodeToString([]byte("SECRET")) + ".c"} {
		_, err := TokenIdentities(bad)
		if err == nil {
			t.Errorf("TokenIdentities(%q) accepted", bad)
		} else if strings.Contains(err.Error(), "SECRET") {
			t.Errorf("error quotes the token: %v", err)
		}
	}
}
