package awsiam

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"permgraph/graph"
	"permgraph/internal/awstest"
)

// fakeSTS answers sts:GetCallerIdentity (query protocol) with arn, or with
// an AccessDenied error when arn is empty.
func fakeSTS(t *testing.T, arn string) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		_ = r.ParseForm()
		if r.Form.Get("Action") != "GetCallerIdentity" {
			t.Errorf("fake STS got Action %q", r.Form.Get("Action"))
		}
		w.Header().Set("Content-Type", "text/xml")
		if arn == "" {
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(`<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>no</Message></Error><RequestId>r1</RequestId></ErrorResponse>`))
			return
		}
		_, _ = w.Write([]byte(`<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>` +
			`<Arn>` + arn + `</Arn><UserId>AROAEXAMPLE:run</UserId><Account>111122223333</Account>` +
			`</GetCallerIdentityResult><ResponseMetadata><RequestId>r1</RequestId></ResponseMetadata></GetCallerIdentityResponse>`))
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

func TestLiveCollectRecordsCallerIdentity(t *testing.T) {
	cases := []struct {
		name, arn string
		want      []string
	}{
		{"role session", "arn:aws:sts::111122223333:assumed-role/permgraph-reader/snapshot-1",
			[]string{"arn:aws:sts::111122223333:assumed-role/permgraph-reader/snapshot-1", "arn:aws:iam::111122223333:role/permgraph-reader"}},
		{"iam user", "arn:aws:iam::111122223333:user/permgraph", []string{"arn:aws:iam::111122223333:user/permgraph"}},
		{"sts denied: nothing recorded, collection still succeeds", "", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeIAM(t, fixtureMarkers, fixturePages(t)...)
			lt := newLiveTest(t, f, LiveOptions{})
			srv, calls := fakeSTS(t, tc.arn)
			c := &LiveCollector{Client: lt.client, Logger: lt.logger, STS: NewLiveSTS(lt.client, srv.URL)}
			col := graph.NewCollection()
			if err := c.Collect(t.Context(), col); err != nil {
				t.Fatalf("Collect: %v", err)
			}
			if !slices.Equal(c.CallerIdentities(), tc.want) {
				t.Errorf("CallerIdentities = %q, want %q", c.CallerIdentities(), tc.want)
			}
			if n := calls.Load(); n < 1 || n > 2 {
				t.Errorf("STS calls = %d, want 1 (2 with the one retry)", n)
			}
			if tc.arn == "" && !strings.Contains(lt.logs.String(), "GetCallerIdentity failed") {
				t.Errorf("want a debug log of the STS failure; logs:\n%s", lt.logs.String())
			}
			// IAM requests are unchanged: only GetAccountAuthorizationDetails.
			for _, r := range f.requests() {
				if r.Action != "GetAccountAuthorizationDetails" {
					t.Errorf("IAM fake got %q", r.Action)
				}
			}
		})
	}
}

func TestNewLiveSTSReusesCustomEndpoint(t *testing.T) {
	setAWSTestEnv(t)
	srv, calls := fakeSTS(t, "arn:aws:iam::111122223333:user/x")
	client, err := NewLiveClient(t.Context(), LiveOptions{EndpointURL: srv.URL, HTTPClient: awstest.Client(srv)})
	if err != nil {
		t.Fatal(err)
	}
	ids := callerIdentities(t.Context(), NewLiveSTS(client, ""), slog.New(slog.DiscardHandler))
	if !slices.Equal(ids, []string{"arn:aws:iam::111122223333:user/x"}) || calls.Load() != 1 {
		t.Errorf("ids = %q, calls = %d", ids, calls.Load())
	}
}

func TestRoleOfSession(t *testing.T) {
	for in, want := range map[string]string{
		"arn:aws:sts::1:assumed-role/R/s":           "arn:aws:iam::1:role/R",
		"arn:aws-us-gov:sts::2:assumed-role/Ro/s/x": "arn:aws-us-gov:iam::2:role/Ro",
		"arn:aws:iam::1:user/u":                     "",
		"arn:aws:sts::1:federated-user/u":           "",
		"garbage":                                   "",
	} {
		if got := roleOfSession(in); got != want {
			t.Errorf("roleOfSession(%q) = %q, want %q", in, got, want)
		}
	}
}
