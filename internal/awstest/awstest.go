// Package awstest holds test support shared by the AWS collectors' tests.
package awstest

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
)

// Isolate cuts the SDK's default credential chain off from the machine the
// tests run on: no shared config files, the given static keys from the
// environment, no IMDS, no region, no endpoint or retry overrides. It uses
// t.Setenv, so callers cannot run in parallel.
func Isolate(t *testing.T, accessKey, secretKey, sessionToken string) {
	t.Helper()
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_CONFIG_FILE":                        filepath.Join(dir, "no-such-config"),
		"AWS_SHARED_CREDENTIALS_FILE":            filepath.Join(dir, "no-such-credentials"),
		"AWS_ACCESS_KEY_ID":                      accessKey,
		"AWS_SECRET_ACCESS_KEY":                  secretKey,
		"AWS_SESSION_TOKEN":                      sessionToken,
		"AWS_PROFILE":                            "",
		"AWS_DEFAULT_PROFILE":                    "",
		"AWS_REGION":                             "",
		"AWS_DEFAULT_REGION":                     "",
		"AWS_ENDPOINT_URL":                       "",
		"AWS_ENDPOINT_URL_IAM":                   "",
		"AWS_ENDPOINT_URL_ORGANIZATIONS":         "",
		"AWS_ENDPOINT_URL_STS":                   "",
		"AWS_MAX_ATTEMPTS":                       "",
		"AWS_RETRY_MODE":                         "",
		"AWS_CA_BUNDLE":                          "",
		"AWS_WEB_IDENTITY_TOKEN_FILE":            "",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI":     "",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "",
		"AWS_EC2_METADATA_DISABLED":              "true",
	} {
		t.Setenv(k, v)
	}
}

// Client returns an HTTP client for srv that opens a fresh connection per
// request. Tests count requests exactly; a pooled keep-alive connection that
// the server closes while idle can make the SDK retry a request on a loaded
// machine, which would show up as an extra request.
func Client(srv *httptest.Server) *http.Client {
	tr := srv.Client().Transport.(*http.Transport).Clone()
	tr.DisableKeepAlives = true
	return &http.Client{Transport: tr}
}
