package azauth

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

func TestStaticToken(t *testing.T) {
	f := filepath.Join(t.TempDir(), "tok")
	os.WriteFile(f, []byte("Bearer eyJ0eXAi.abc.def\n"), 0o600)
	s, err := TokenFromFile(f)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := s.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{"https://graph.microsoft.com/.default"}})
	if err != nil || tok.Token != "eyJ0eXAi.abc.def" {
		t.Fatalf("token = %q, %v", tok.Token, err)
	}
	if strings.Contains(fmt.Sprintf("%v %+v", s, s), "eyJ") {
		t.Fatal("formatting the credential reveals the token")
	}
	for _, bad := range []string{"", "  \n", "two words"} {
		if _, err := NewStaticToken(bad); err == nil {
			t.Errorf("NewStaticToken(%q) accepted", bad)
		}
	}
	os.WriteFile(f, []byte("a b"), 0o600)
	if _, err := TokenFromFile(f); err == nil || strings.Contains(err.Error(), "a b") {
		t.Fatalf("bad file error = %v (must not echo content)", err)
	}
}
