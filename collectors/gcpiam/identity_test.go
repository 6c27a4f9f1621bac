package gcpiam

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// A service-account key file as ADC names the caller (client_email); no
// request is made to learn it.
func TestLiveCallerIdentityFromADCKey(t *testing.T) {
	key := filepath.Join(t.TempDir(), "sa.json")
	if err := os.WriteFile(key, []byte(`{"type":"service_account","project_id":"p","private_key_id":"k","private_key":"-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n","client_email":"permgraph@p.iam.gserviceaccount.com","client_id":"1","token_uri":"https://oauth2.googleapis.com/token"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", key)
	l, err := NewLive(t.Context(), Options{Source: "google:C1", Projects: []string{"p"}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(l.CallerIdentities(), []string{"permgraph@p.iam.gserviceaccount.com"}) {
		t.Errorf("CallerIdentities = %q", l.CallerIdentities())
	}
}
