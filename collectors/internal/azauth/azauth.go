// Package azauth provides the pre-acquired bearer-token credential used by
// `collect azure --token-file` / PERMGRAPH_AZURE_TOKEN, for operators who
// obtain tokens outside permgraph (az account get-access-token). The token
// is held in memory only: never logged, never written.
package azauth

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// StaticToken is an azcore.TokenCredential that returns one fixed token for
// every scope. It does not refresh: a run longer than the token's lifetime
// fails with 401, reported as such.
type StaticToken struct {
	token string
	exp   time.Time
}

// NewStaticToken wraps a bearer token (a leading "Bearer " is removed).
func NewStaticToken(token string) (*StaticToken, error) {
	t := strings.TrimSpace(token)
	t = strings.TrimSpace(strings.TrimPrefix(t, "Bearer "))
	if t == "" {
		return nil, errors.New("static token is empty")
	}
	if strings.ContainsAny(t, " \t\r\n") {
		return nil, errors.New("static token contains whitespace: pass only the access token")
	}
	return &StaticToken{token: t, exp: time.Now().Add(time.Hour)}, nil
}

// TokenFromFile reads a token from path (the file holds only the token).
// The error never includes the file's content.
func TokenFromFile(path string) (*StaticToken, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read token file: %w", err)
	}
	t, err := NewStaticToken(string(b))
	if err != nil {
		return nil, fmt.Errorf("token file %s: %w", path, err)
	}
	return t, nil
}

// GetToken implements azcore.TokenCredential.
func (s *StaticToken) GetToken(ctx context.Context, _ policy.TokenRequestOptions) (azcore.AccessToken, error) {
	if err := ctx.Err(); err != nil {
		return azcore.AccessToken{}, err
	}
	return azcore.AccessToken{Token: s.token, ExpiresOn: s.exp}, nil
}

// String never reveals the token (a stray %v in a log line stays safe).
func (s *StaticToken) String() string { return "StaticToken(redacted)" }
