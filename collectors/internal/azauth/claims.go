package azauth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// CallerIdentities asks cred for a token for scope and returns the principal
// identifiers in it (TokenIdentities). Credentials cache tokens, so the
// collector's own first request reuses this one.
func CallerIdentities(ctx context.Context, cred azcore.TokenCredential, scope string) ([]string, error) {
	tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{scope}})
	if err != nil {
		return nil, fmt.Errorf("get token for %s: %w", scope, err)
	}
	return TokenIdentities(tok.Token)
}

// TokenIdentities decodes, without verifying, the payload of a JWT access
// token and returns who it was issued to, as Azure Activity and Graph
// activity logs name the caller: the object id (oid), then the user
// principal name (upn) and the application id (appid or azp) when present.
// The token itself is never returned, logged or kept; errors never quote it.
func TokenIdentities(token string) ([]string, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, errors.New("access token is not a JWT")
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil, errors.New("access token payload is not base64url")
	}
	var c struct {
		OID   string `json:"oid"`
		UPN   string `json:"upn"`
		AppID string `json:"appid"`
		AZP   string `json:"azp"`
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, errors.New("access token payload is not JSON")
	}
	var out []string
	for _, id := range []string{c.OID, c.UPN, c.AppID, c.AZP} {
		if id != "" && !contains(out, id) {
			out = append(out, id)
		}
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
