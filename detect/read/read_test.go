package read

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"permgraph/detect/event"
)

const sharedDir = "../../../shared/testdata"

func skipWithoutShared(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(sharedDir); err != nil {
		t.Skipf("shared samples not available: %v", err)
	}
}

// ct returns a minimal CloudTrail record as one line.
func ct(name, id string) string {
	return fmt.Sprintf(`{"eventVersion":"1.09","eventSource":"iam.amazonaws.com","eventName":%q,"eventID":%q,"eventTime":"2025-01-02T03:04:05Z","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/bob"},"recipientAccountId":"111122223333"}`, name, id)
}

func k8s(id string) string {
	return fmt.Sprintf(`{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":%q,"stage":"ResponseComplete","verb":"create","user":{"username":"bob"},"objectRef":{"resource":"pods","namespace":"default"},"responseStatus":{"code":201}}`, id)
}

type readResult struct {
	ids   []string
	stats Stats
	err   error
}

func drain(t *testing.T, r *Reader) readResult {
	t.Helper()
	var res readResult
	for {
		ev, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			res.err = err
			break
		}
		res.ids = append(res.ids, ev.ID)
	}
	res.stats = r.Stats()
	return res
}

func readString(t *testing.T, data, format string) readResult {
	t.Helper()
	r, err := NewReader(t.Context(), "mem", strings.NewReader(data), format)
	if err != nil {
		t.Fatal(err)
	}
	return drain(t, r)
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func gz(t *testing.T, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestBadLinesDoNotStopReading: a non-JSON line and a truncated last line
// are reported with file and line; the good lines around them are read.
func TestBadLinesDoNotStopReading(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "trail.jsonl")
	full := ct("ListGroups", "e3")
	data := ct("ListGroups", "e1") + "\n" +
		"this is not JSON\n" +
		"\n" +
		ct("GetGroup", "e2") + "\n" +
		full[:len(full)/2] // truncated final line, no newline
	writeFile(t, p, []byte(data))
	r, err := Open(t.Context(), p, "auto")
	if err != nil {
		t.Fatal(err)
	}
	res := drain(t, r)
	if res.err != nil {
		t.Fatal(res.err)
	}
	if diff := cmp.Diff([]string{"e1", "e2"}, res.ids); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	s := res.stats
	if s.Records != 4 || s.Events != 2 || s.Malformed != 2 || s.Unknown != 0 || s.Files != 1 {
		t.Errorf("stats %+v", s)
	}
	if len(s.Problems) != 2 {
		t.Fatalf("problems %v", s.Problems)
	}
	for i, line := range []int64{2, 5} {
		pr := s.Problems[i]
		if pr.File != p || pr.Line != line || pr.Kind != ProblemMalformed || pr.Reason == "" {
			t.Errorf("problem %d = %+v, want %s line %d", i, pr, p, line)
		}
	}
	if !strings.Contains(s.Problems[1].Reason, "unexpected end of JSON input") {
		t.Errorf("truncation reason %q", s.Problems[1].Reason)
	}
}

func TestGzip(t *testing.T) {
	dir := t.TempDir()
	lines := ct("ListGroups", "a") + "\n" + ct("GetGroup", "b") + "\n"
	doc := `{"Records":[` + ct("ListRoles", "c") + "," + ct("GetRole", "d") + `]}`
	writeFile(t, filepath.Join(dir, "1-lines.jsonl.gz"), gz(t, []byte(lines)))
	writeFile(t, filepath.Join(dir, "2-trail.json.gz"), gz(t, []byte(doc)))
	writeFile(t, filepath.Join(dir, "3-no-extension-but-gzip.json"), gz(t, []byte(lines)))
	r, err := Open(t.Context(), dir, "auto")
	if err != nil {
		t.Fatal(err)
	}
	res := drain(t, r)
	if diff := cmp.Diff([]string{"a", "b", "c", "d", "a", "b"}, res.ids); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	if res.stats.Malformed+res.stats.Unknown != 0 {
		t.Errorf("problems %v", res.stats.Problems)
	}
	// A corrupt gzip stream is one malformed problem, then the next file.
	bad := gz(t, []byte(lines))
	writeFile(t, filepath.Join(dir, "0-corrupt.gz"), bad[:len(bad)-12])
	r, err = Open(t.Context(), dir, "auto")
	if err != nil {
		t.Fatal(err)
	}
	res = drain(t, r)
	if len(res.ids) < 6 || res.stats.Malformed == 0 || !strings.Contains(res.stats.Problems[0].File, "0-corrupt.gz") {
		t.Errorf("corrupt gzip: ids %v stats %+v", res.ids, res.stats)
	}
}

func TestDirectory(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "b", "trail.json"), []byte(`[`+ct("ListGroups", "2")+`]`))
	writeFile(t, filepath.Join(dir, "a.jsonl"), []byte(ct("ListGroups", "1")+"\n"))
	writeFile(t, filepath.Join(dir, "b", "c", "k8s.log"), []byte(k8s("3")+"\n"))
	writeFile(t, filepath.Join(dir, "b", "d.ndjson"), []byte(ct("ListGroups", "4")+"\n"))
	writeFile(t, filepath.Join(dir, "notes.txt"), []byte("ignored"))
	writeFile(t, filepath.Join(dir, "PROVENANCE.md"), []byte("ignored"))
	writeFile(t, filepath.Join(dir, ".hidden.json"), []byte("ignored"))
	writeFile(t, filepath.Join(dir, ".git", "x.json"), []byte("ignored"))
	r, err := Open(t.Context(), dir, "auto")
	if err != nil {
		t.Fatal(err)
	}
	res := drain(t, r)
	if diff := cmp.Diff([]string{"1", "3", "4", "2"}, res.ids); diff != "" {
		t.Errorf("events in file order (-want +got):\n%s", diff)
	}
	var files []string
	for _, f := range res.stats.PerFile {
		rel, _ := filepath.Rel(dir, f.File)
		files = append(files, rel+":"+f.Format)
	}
	want := []string{"a.jsonl:cloudtrail", "b/c/k8s.log:k8s-audit", "b/d.ndjson:cloudtrail", "b/trail.json:cloudtrail"}
	if diff := cmp.Diff(want, files); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
}

func TestDetect(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want string
	}{
		{"cloudtrail", ct("ListGroups", "1"), FormatCloudTrail},
		{"cloudtrail insight", `{"eventVersion":"1.07","eventTime":"t","eventType":"AwsCloudTrailInsight","insightDetails":{}}`, FormatCloudTrail},
		{"lookup-events element", `{"EventId":"1","CloudTrailEvent":"{}"}`, FormatCloudTrail},
		{"k8s v1", k8s("1"), FormatK8sAudit},
		{"k8s without apiVersion (Falco fixtures)", `{"auditID":"a","stage":"ResponseComplete","verb":"get","kind":"Event"}`, FormatK8sAudit},
		{"EKS audit in a CloudWatch Logs event", `{"id":"1","timestamp":1,"message":"{\"kind\":\"Event\",\"auditID\":\"a\"}"}`, FormatK8sAudit},
		{"AKS kube-audit record", `{"category":"kube-audit","operationName":"x","resourceId":"/subscriptions/s","properties":{"log":"{}"}}`, FormatK8sAudit},
		{"gcp audit", `{"insertId":"i","logName":"projects/p/logs/cloudaudit.googleapis.com%2Factivity","protoPayload":{"methodName":"m"}}`, FormatGCPAudit},
		{"gcp text entry", `{"insertId":"i","logName":"projects/p/logs/x","textPayload":"hi","resource":{"type":"t"}}`, FormatGCPAudit},
		{"workspace", `{"kind":"admin#reports#activity","id":{"time":"t"},"actor":{},"events":[]}`, FormatWorkspace},
		{"workspace without kind", `{"id":{"applicationName":"admin"},"actor":{"email":"a"},"events":[]}`, FormatWorkspace},
		{"graph activity LA", `{"RequestUri":"https://graph.microsoft.com/v1.0/groups","RequestMethod":"GET","OperationId":"o"}`, FormatGraphActivity},
		{"graph activity export", `{"time":"t","category":"MicrosoftGraphActivityLogs","operationName":"Microsoft Graph Activity","resourceId":"/tenants/x","properties":{}}`, FormatGraphActivity},
		{"entra audit LA", `{"OperationName":"Add member to group","ActivityDisplayName":"Add member to group","InitiatedBy":"{}","ResourceId":"/tenants/x","CorrelationId":"c"}`, FormatGraphActivity},
		{"entra audit API", `{"id":"x","activityDisplayName":"Add member to group","initiatedBy":{}}`, FormatGraphActivity},
		{"entra audit export", `{"time":"t","category":"AuditLogs","operationName":"Add member to group","properties":{}}`, FormatGraphActivity},
		{"azure REST", `{"operationName":{"value":"a/b"},"caller":"x","eventTimestamp":"t","category":{"value":"Administrative"}}`, FormatAzureActivity},
		{"azure export", `{"time":"t","resourceId":"/subscriptions/s","operationName":"a/b","category":"Write","resultType":"Success"}`, FormatAzureActivity},
		{"azure LA", `{"OperationNameValue":"a/b","ActivityStatusValue":"Success","Type":"AzureActivity"}`, FormatAzureActivity},
		{"directory group", `{"kind":"admin#directory#group","id":"1"}`, ""},
		{"GAAD", `{"UserDetailList":[],"GroupDetailList":[]}`, ""},
		{"not an object", `[1]`, ""},
		{"invalid", `{"eventSource":`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Detect([]byte(tt.raw)); got != tt.want {
				t.Errorf("Detect = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSniffLines(t *testing.T) {
	tests := []struct {
		name  string
		peek  string
		atEOF bool
		lines bool
	}{
		{"JSON lines", ct("A", "1") + "\n" + ct("B", "2") + "\n", true, true},
		{"one-line container", `{"Records":[` + ct("A", "1") + `]}`, true, true},
		{"pretty object", "{\n  \"Records\": [\n    {\"a\":1}\n  ]\n}\n", true, false},
		{"array", "[\n" + ct("A", "1") + "\n]", true, false},
		{"first line damaged, then good lines", `{"eventSource":` + "\n" + ct("A", "1") + "\n" + ct("B", "2") + "\n", true, true},
		{"long first line beyond the window", `{"Records":[{"a":"` + strings.Repeat("x", 100), false, false},
		{"not JSON at all", "hello\nworld\n", true, true},
		{"empty", "", true, true},
	}
	for _, tt := range tests {
		if got := sniffLines([]byte(tt.peek), tt.atEOF); got != tt.lines {
			t.Errorf("%s: sniffLines = %v, want %v", tt.name, got, tt.lines)
		}
	}
}

// TestDocumentShapes reads every container layout the formats use.
func TestDocumentShapes(t *testing.T) {
	a, b := ct("ListGroups", "a"), ct("GetGroup", "b")
	lookup := `{"Events":[{"EventId":"a","CloudTrailEvent":` + fmt.Sprintf("%q", a) + `},{"EventId":"b","CloudTrailEvent":` + fmt.Sprintf("%q", b) + `}]}`
	tests := []struct {
		name      string
		data      string
		ids       []string
		malformed int
		unknown   int
	}{
		{"top-level array", "[" + a + ",\n" + b + "]", []string{"a", "b"}, 0, 0},
		{"Records one line", `{"Records":[` + a + "," + b + `]}`, []string{"a", "b"}, 0, 0},
		{"Records pretty with other keys", "{\n \"kind\": \"x\",\n \"Records\": [\n  " + a + ",\n  " + b + "\n ],\n \"nextPageToken\": \"t\"\n}\n", []string{"a", "b"}, 0, 0},
		{"records (Azure export)", "{\"records\": [\n" + a + "\n]}", []string{"a"}, 0, 0},
		{"value (REST list)", "{\n\"value\": [" + a + "], \"nextLink\": null}", []string{"a"}, 0, 0},
		{"items (EventList)", "{\n\"kind\":\"EventList\",\"apiVersion\":\"audit.k8s.io/v1\",\n\"items\": [" + k8s("k1") + "," + k8s("k2") + "]}", []string{"k1", "k2"}, 0, 0},
		{"entries (Cloud Logging)", "{\n\"entries\": [" + a + "],\n\"nextPageToken\": \"x\"}", []string{"a"}, 0, 0},
		{"lookup-events", lookup, []string{"a", "b"}, 0, 0},
		{"CloudWatch Logs subscription (EKS)", `{"messageType":"DATA_MESSAGE","logGroup":"/aws/eks/prod/cluster","logEvents":[{"id":"1","timestamp":1,"message":` + strconv.Quote(k8s("k1")) + `}]}`, []string{"k1"}, 0, 0},
		{"single pretty object", "{\n  \"eventSource\": \"iam.amazonaws.com\",\n  \"eventName\": \"ListGroups\",\n  \"eventID\": \"s\"\n}\n", []string{"s"}, 0, 0},
		{"concatenated documents", "[" + a + "]\n{\"Records\":[" + b + "]}\n", []string{"a", "b"}, 0, 0},
		{"JSON lines with a container line", a + "\n" + `{"Records":[` + b + `]}` + "\n", []string{"a", "b"}, 0, 0},
		{"truncated document", "[\n" + a + ",\n" + b[:40], []string{"a"}, 1, 0},
		{"bad record mid-document", "[\n" + a + ",\n{\"x\" 1},\n" + b + "]", []string{"a", "b"}, 1, 0},
		{"broken structure mid-document", "[\n" + a + "\n" + b + "]", []string{"a"}, 1, 0},
		{"unknown element", "[" + a + `,{"hello":"world"}]`, []string{"a"}, 0, 1},
		{"empty array", "[]", nil, 0, 0},
		{"empty input", "", nil, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := readString(t, tt.data, "auto")
			if res.err != nil {
				t.Fatal(res.err)
			}
			if diff := cmp.Diff(tt.ids, res.ids); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			if res.stats.Malformed != tt.malformed || res.stats.Unknown != tt.unknown {
				t.Errorf("malformed %d unknown %d, want %d %d: %v", res.stats.Malformed, res.stats.Unknown, tt.malformed, tt.unknown, res.stats.Problems)
			}
		})
	}
}

func TestDocumentPositions(t *testing.T) {
	data := "{\n  \"Records\": [\n    " + ct("A", "a") + ",\n\n    " + ct("B", "b") + "\n  ]\n}\n"
	r, err := NewReader(t.Context(), "doc.json", strings.NewReader(data), "auto")
	if err != nil {
		t.Fatal(err)
	}
	var refs []event.Ref
	for {
		ev, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		refs = append(refs, ev.Ref)
	}
	want := []event.Ref{{File: "doc.json", Line: 3, Index: 0}, {File: "doc.json", Line: 5, Index: 1}}
	if diff := cmp.Diff(want, refs); diff != "" {
		t.Errorf("refs (-want +got):\n%s", diff)
	}
	res := readString(t, "[\n"+ct("A", "a")+",\n{\"x\":tru}]", "auto")
	if len(res.stats.Problems) != 1 || res.stats.Problems[0].Line != 3 || res.stats.Problems[0].Index != 1 {
		t.Errorf("problem position %+v", res.stats.Problems)
	}
}

// TestLargeRecords crosses the read chunk (1 MiB) in both layouts.
func TestLargeRecords(t *testing.T) {
	pad := strings.Repeat("x", 3<<20)
	big := `{"eventSource":"s3.amazonaws.com","eventName":"PutObject","eventID":"big","requestParameters":{"pad":"` + pad + `"}}`
	small := ct("ListGroups", "small")
	for name, data := range map[string]string{
		"document": "[" + small + "," + big + "," + small + "]",
		"lines":    small + "\n" + big + "\n" + small + "\n",
	} {
		t.Run(name, func(t *testing.T) {
			res := readString(t, data, "auto")
			if diff := cmp.Diff([]string{"small", "big", "small"}, res.ids); diff != "" || res.stats.Malformed != 0 {
				t.Errorf("events (-want +got):\n%s\n%v", diff, res.stats.Problems)
			}
		})
	}
}

func TestLineTooLong(t *testing.T) {
	data := ct("A", "a") + "\n" + strings.Repeat("y", 5000) + "\n" + ct("B", "b") + "\n"
	s := newLineSource(bufio.NewReaderSize(strings.NewReader(data), 1024))
	s.maxLine = 2048
	var got []string
	for {
		raw, pos, err := s.next()
		if errors.Is(err, io.EOF) {
			break
		}
		var se *sourceError
		if errors.As(err, &se) {
			got = append(got, fmt.Sprintf("error line %d fatal=%v", se.pos.line, se.fatal))
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("line %d len %d", pos.line, len(raw)))
	}
	want := []string{fmt.Sprintf("line 1 len %d", len(ct("A", "a"))), "error line 2 fatal=false", fmt.Sprintf("line 3 len %d", len(ct("B", "b")))}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("lines (-want +got):\n%s", diff)
	}
}

func TestMixedFormats(t *testing.T) {
	data := ct("ListGroups", "a") + "\n" + k8s("k") + "\n" + ct("GetGroup", "b") + "\n"
	res := readString(t, data, "auto")
	if diff := cmp.Diff([]string{"a", "k", "b"}, res.ids); diff != "" {
		t.Errorf("auto (-want +got):\n%s", diff)
	}
	res = readString(t, data, FormatCloudTrail)
	if diff := cmp.Diff([]string{"a", "b"}, res.ids); diff != "" || res.stats.Unknown != 1 {
		t.Errorf("forced cloudtrail (-want +got):\n%s\n%+v", diff, res.stats)
	}
	if p := res.stats.Problems; len(p) != 1 || p[0].Line != 2 || p[0].Kind != ProblemUnknown {
		t.Errorf("problems %+v", p)
	}
}

func TestProblemsCap(t *testing.T) {
	var b strings.Builder
	for i := range MaxProblems + 50 {
		fmt.Fprintf(&b, "bad %d\n", i)
	}
	b.WriteString(ct("ListGroups", "ok") + "\n")
	res := readString(t, b.String(), "auto")
	s := res.stats
	if len(res.ids) != 1 || s.Malformed != MaxProblems+50 || len(s.Problems) != MaxProblems || s.ProblemsDropped != 50 {
		t.Errorf("ids %v malformed %d kept %d dropped %d", res.ids, s.Malformed, len(s.Problems), s.ProblemsDropped)
	}
}

func TestOpenErrors(t *testing.T) {
	if _, err := Open(t.Context(), t.TempDir(), "syslog"); err == nil || !strings.Contains(err.Error(), "unknown format") {
		t.Errorf("unknown format: %v", err)
	}
	if _, err := Open(t.Context(), filepath.Join(t.TempDir(), "missing"), "auto"); err == nil {
		t.Error("missing path: no error")
	}
	r, err := Open(t.Context(), t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Next(); !errors.Is(err, io.EOF) {
		t.Errorf("empty directory: %v", err)
	}
}

func TestContextCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	r, err := NewReader(ctx, "mem", strings.NewReader(ct("A", "a")+"\n"), "auto")
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if _, err := r.Next(); !errors.Is(err, context.Canceled) {
		t.Errorf("Next after cancel: %v", err)
	}
}

func TestFollow(t *testing.T) {
	p := filepath.Join(t.TempDir(), "audit.jsonl")
	writeFile(t, p, []byte(ct("A", "1")+"\n"))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	r, err := OpenFollow(ctx, p, "auto", FollowOptions{Poll: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	next := func() string {
		t.Helper()
		ev, err := r.Next()
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		return ev.ID
	}
	appendTo := func(s string) {
		f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteString(s); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	if got := next(); got != "2" && got != "1" {
		t.Fatalf("first event %q", got)
	}
	// A record written in two parts is read once complete.
	line := ct("B", "2")
	go func() {
		appendTo(line[:20])
		time.Sleep(20 * time.Millisecond)
		appendTo(line[20:] + "\n")
	}()
	if got := next(); got != "2" {
		t.Errorf("appended event %q", got)
	}
	// Truncation (copytruncate rotation): read again from the start.
	if err := os.WriteFile(p, []byte(ct("C", "3")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := next(); got != "3" {
		t.Errorf("after truncation %q", got)
	}
	// Rotation by rename: the new file at the path is followed.
	if err := os.Rename(p, p+".1"); err != nil {
		t.Fatal(err)
	}
	writeFile(t, p, []byte(ct("D", "4")+"\n"))
	if got := next(); got != "4" {
		t.Errorf("after rotation %q", got)
	}
	done := make(chan error, 1)
	go func() {
		_, err := r.Next()
		done <- err
	}()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Next after cancel: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Next did not return after cancel")
	}
}

// TestSharedSamplesAuto reads every shared audit-log folder with format
// auto-detection: each file is detected as its folder's format.
func TestSharedSamplesAuto(t *testing.T) {
	skipWithoutShared(t)
	want := map[string]string{
		"cloudtrail":     FormatCloudTrail,
		"azure-activity": FormatAzureActivity,
		"graph-activity": FormatGraphActivity,
		"gcp-audit":      FormatGCPAudit,
		"k8s-audit":      FormatK8sAudit,
		"gworkspace":     "", // Directory API responses: nothing to detect (see detect/workspace tests)
	}
	for folder, format := range want {
		t.Run(folder, func(t *testing.T) {
			r, err := Open(t.Context(), filepath.Join(sharedDir, folder), "auto")
			if err != nil {
				t.Fatal(err)
			}
			res := drain(t, r)
			if res.err != nil {
				t.Fatal(res.err)
			}
			for _, f := range res.stats.PerFile {
				if f.Format != format {
					t.Errorf("%s detected as %q, want %q", f.File, f.Format, format)
				}
			}
			if res.stats.Malformed != 0 {
				t.Errorf("malformed: %v", res.stats.Problems)
			}
		})
	}
}

func FuzzRead(f *testing.F) {
	f.Add([]byte(ct("A", "1") + "\n" + k8s("2") + "\n"))
	f.Add([]byte(`{"Records":[` + ct("A", "1") + `],"x":[1,{"y":"z"}]}`))
	f.Add([]byte("[\n" + ct("A", "1") + ",\n" + ct("B", "2")[:30]))
	f.Add([]byte("{\n\"value\": [{\"operationName\":{\"value\":\"a/b\"},\"caller\":\"c\"}]}\n[]"))
	f.Add(gz(&testing.T{}, []byte(ct("A", "1"))))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := NewReader(context.Background(), "fuzz", bytes.NewReader(data), "auto")
		if err != nil {
			t.Fatal(err)
		}
		events := 0
		for {
			_, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("Next: %v", err)
			}
			events++
			if events > 1<<20 {
				t.Fatal("too many events")
			}
		}
		s := r.Stats()
		if s.Events != events || s.Unknown+s.Malformed > s.Records+s.Files {
			t.Fatalf("inconsistent stats %+v (events %d)", s, events)
		}
	})
}
