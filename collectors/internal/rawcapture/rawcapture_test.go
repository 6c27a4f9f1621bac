package rawcapture

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRecordAndReplay(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/text" {
			w.WriteHeader(503)
			w.Write([]byte("busy"))
			return
		}
		w.Header().Set("Set-Cookie", "session=secret")
		w.Write([]byte(`{"value": [ {"id": "1"} ]}`))
	}))
	defer srv.Close()
	dir := filepath.Join(t.TempDir(), "raw")
	rec, err := NewRecorder(dir, "graph.jsonl", nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Transport: rec}
	for _, p := range []string{"/v1.0/users?$top=999", "/text"} {
		req, _ := http.NewRequest("GET", srv.URL+p, nil)
		req.Header.Set("Authorization", "Bearer SECRET-TOKEN")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(dir)
	if err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("capture dir mode = %v, %v; want 0700", st.Mode().Perm(), err)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, "graph.jsonl"))
	if strings.Contains(string(raw), "SECRET") || strings.Contains(string(raw), "secret") {
		t.Fatalf("capture contains credentials: %s", raw)
	}
	files, err := Files(dir)
	if err != nil || len(files) != 1 {
		t.Fatalf("Files = %v, %v", files, err)
	}
	var got []string
	err = Each(context.Background(), files[0], func(p Page) error {
		got = append(got, p.Path()+" "+string(p.Body)+" "+http.StatusText(p.Status))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`/v1.0/users {"value":[{"id":"1"}]} OK`, `/text "busy" Service Unavailable`}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("replay (-want +got):\n%s", d)
	}
}

func TestEachErrorsNameFileAndLine(t *testing.T) {
	for _, tc := range []struct{ name, text, want string }{
		{"garbage", "{\"url\":\"/a\",\"status\":200,\"body\":{}}\nnot json\n", "x.jsonl:2: not a page record"},
		{"no url", `{"status":200,"body":{}}`, `x.jsonl:1: field "url" is missing`},
		{"no status", `{"url":"/a","body":{}}`, `x.jsonl:1: field "status" is missing`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := filepath.Join(t.TempDir(), "x.jsonl")
			os.WriteFile(f, []byte(tc.text), 0o600)
			err := Each(context.Background(), f, func(Page) error { return nil })
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestMatchPath(t *testing.T) {
	for _, tc := range []struct {
		pattern, path string
		want          bool
	}{
		{"/v1.0/groups/{}/members", "/v1.0/groups/abc/members", true},
		{"/v1.0/groups/{}/members", "/v1.0/groups/abc/owners", false},
		{"/subscriptions/{}/providers/Microsoft.Authorization/roleAssignments", "/subscriptions/S/providers/microsoft.authorization/roleassignments", true},
		{"/v1.0/users", "/v1.0/users/x", false},
	} {
		if got := MatchPath(tc.pattern, tc.path); got != tc.want {
			t.Errorf("MatchPath(%q, %q) = %v", tc.pattern, tc.path, got)
		}
	}
	if Segment("/v1.0/groups/abc/members", 2) != "abc" || Segment("/a", 5) != "" {
		t.Error("Segment")
	}
}

func TestCaptureFilesSkipsOtherJSONLines(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "directory.jsonl"), []byte("\n{\"url\":\"https://x/a\",\"status\":200,\"body\":{}}\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "cai.jsonl"), []byte(`{"name":"//cloudresourcemanager.googleapis.com/projects/p","asset_type":"cloudresourcemanager.googleapis.com/Project"}`+"\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "empty.jsonl"), nil, 0o600)
	got, err := CaptureFiles(dir)
	if err != nil || len(got) != 1 || filepath.Base(got[0]) != "directory.jsonl" {
		t.Fatalf("CaptureFiles = %v, %v", got, err)
	}
}
