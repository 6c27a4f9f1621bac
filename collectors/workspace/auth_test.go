package workspace

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"permgraph/graph"
)

// TestADCDomainWideDelegation runs the ADC path end to end: a service
// account key file (GOOGLE_APPLICATION_CREDENTIALS) whose token_uri points
// at a fake OAuth server that checks the JWT's sub (the impersonated admin)
// and scopes, then the Directory fake that requires the issued token.
// It sets the environment, so it does not run in parallel.
func TestADCDomainWideDelegation(t *testing.T) {
	const admin = "admin@example.com"
	const issued = "ya29.DWD-SECRET-ISSUED"
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})

	var tokenCalls atomic.Int64
	oauth := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tokenCalls.Add(1)
		r.ParseForm()
		parts := strings.Split(r.Form.Get("assertion"), ".")
		if len(parts) != 3 {
			http.Error(w, `{"error":"invalid_grant"}`, http.StatusBadRequest)
			return
		}
		payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
		var claims struct {
			Iss, Sub, Scope string
		}
		json.Unmarshal(payload, &claims)
		if claims.Sub != admin || claims.Iss != "collector@proj.iam.gserviceaccount.com" ||
			!strings.Contains(claims.Scope, "https://www.googleapis.com/auth/admin.directory.group.readonly") {
			t.Errorf("JWT claims = %+v", claims)
			http.Error(w, `{"error":"unauthorized_client"}`, http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"access_token": issued, "token_type": "Bearer", "expires_in": 3600})
	}))
	defer oauth.Close()

	keyFile := filepath.Join(t.TempDir(), "sa.json")
	b, _ := json.Marshal(map[string]string{
		"type": "service_account", "project_id": "proj", "private_key_id": "k1", "private_key": string(keyPEM),
		"client_email": "collector@proj.iam.gserviceaccount.com", "client_id": "1", "token_uri": oauth.URL,
	})
	os.WriteFile(keyFile, b, 0o600)
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", keyFile)

	d := fixture()
	d.BearerToken = issued
	srv := httptest.NewServer(d)
	defer srv.Close()
	var logs bytes.Buffer
	l, err := NewLive(context.Background(), Options{AdminEmail: admin, Endpoint: srv.URL, Retry: fastRetry(),
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	c := graph.NewCollection()
	if err := l.Collect(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	if n := len(c.Source("google:" + testCustomer).Nodes); n != 17 {
		t.Errorf("nodes = %d, want 17", n)
	}
	if tokenCalls.Load() != 1 {
		t.Errorf("token requests = %d, want 1 (the token is reused)", tokenCalls.Load())
	}
	if strings.Contains(logs.String(), "SECRET") || strings.Contains(logs.String(), "PRIVATE") {
		t.Errorf("log leaks a credential:\n%s", logs.String())
	}

	t.Run("admin email needs a key file", func(t *testing.T) {
		user := filepath.Join(t.TempDir(), "adc.json")
		os.WriteFile(user, []byte(`{"type":"authorized_user","client_id":"c","client_secret":"s","refresh_token":"SECRET-R"}`), 0o600)
		t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", user)
		_, err := NewLive(context.Background(), Options{AdminEmail: admin})
		if err == nil || !strings.Contains(err.Error(), `found "authorized_user"`) || strings.Contains(err.Error(), "SECRET") {
			t.Fatalf("err = %v", err)
		}
	})
}
