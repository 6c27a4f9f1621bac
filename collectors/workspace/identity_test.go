package workspace

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// With domain-wide delegation Workspace logs the impersonated admin as the
// actor; the key's service account is recorded too.
func TestLiveCallerIdentitiesFromADCKey(t *testing.T) {
	key := filepath.Join(t.TempDir(), "sa.json")
	if err := os.WriteFile(key, []byte(`{"type":"service_account","project_id":"p","private_key_id":"k","private_key":"-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n","client_email":"permgraph@p.iam.gserviceaccount.com","client_id":"1","token_uri":"https://oauth2.googleapis.com/token"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", key)
	l, err := NewLive(t.Context(), Options{AdminEmail: "admin@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"admin@example.com", "permgraph@p.iam.gserviceaccount.com"}
	if !slices.Equal(l.CallerIdentities(), want) {
		t.Errorf("CallerIdentities = %q, want %q", l.CallerIdentities(), want)
	}
}
