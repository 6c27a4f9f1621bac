package k8saudit_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"permgraph/bench/gen"
	"permgraph/detect/event"
	"permgraph/detect/internal/jsonscan"
	"permgraph/detect/internal/sampletest"
	"permgraph/detect/k8saudit"
)

// checkSame parses raw with the jsonscan parser and the encoding/json
// reference and reports any difference: the same event, or errors of the
// same kind (unrecognized or not). lenient allows the documented tolerances
// of the scanner (raw control characters in strings, nesting deeper than
// jsonscan.MaxDepth).
//
// p, when not nil, is a Parser used across a stream: its shared strings
// must not change any event.
func checkSame(t testing.TB, name string, raw []byte, p *k8saudit.Parser) {
	t.Helper()
	got, err := k8saudit.ParseEvent(raw)
	want, refErr := k8saudit.RefParseEvent(raw)
	if p != nil {
		evs, perr := p.Append(nil, raw)
		if (perr == nil) != (err == nil) || (err == nil && len(evs) != 1) {
			t.Fatalf("%s: Parser.Append %d events, error %v; ParseEvent error %v", name, len(evs), perr, err)
		}
		if err == nil {
			if diff := cmp.Diff(got, evs[0]); diff != "" {
				t.Fatalf("%s: Parser.Append differs from ParseEvent (-ParseEvent +Append):\n%s", name, diff)
			}
		}
	}
	switch {
	case refErr == nil && err == nil:
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("%s: event differs from the encoding/json reference (-want +got):\n%s\ninput: %q", name, diff, raw)
		}
	case refErr == nil:
		if errors.Is(err, jsonscan.ErrDepth) {
			return // documented: deeper than jsonscan.MaxDepth
		}
		t.Fatalf("%s: reference parsed, jsonscan parser failed: %v\ninput: %q", name, err, raw)
	case err == nil:
		var se *json.SyntaxError
		if errors.As(refErr, &se) && hasControl(raw) {
			return // documented: raw control characters inside strings are tolerated
		}
		t.Fatalf("%s: reference failed (%v), jsonscan parser parsed %+v\ninput: %q", name, refErr, got, raw)
	default:
		if a, b := errors.Is(refErr, event.ErrUnrecognized), errors.Is(err, event.ErrUnrecognized); a != b {
			var se *json.SyntaxError
			if errors.As(refErr, &se) && hasControl(raw) {
				return
			}
			t.Fatalf("%s: reference error %q (unrecognized %v), jsonscan error %q (unrecognized %v)\ninput: %q", name, refErr, a, err, b, raw)
		}
	}
}

// hasControl reports a control character inside a JSON string, raw or
// escaped (a wrapper's inner record holds it raw once unquoted): the
// reference rejects those, the scanner tolerates them.
func hasControl(raw []byte) bool {
	in := false
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; {
		case !in:
			in = c == '"'
		case c == '\\':
			i++
		case c == '"':
			in = false
		case c < 0x20:
			return true
		}
	}
	for _, esc := range []string{`\u00`, `\t`, `\n`, `\r`, `\b`, `\f`} {
		if bytes.Contains(raw, []byte(esc)) {
			return true
		}
	}
	return false
}

// TestEquivalenceSharedSamples compares both parsers on every line and every
// whole file of every shared sample folder (most are other formats: both
// must call them unrecognized).
func TestEquivalenceSharedSamples(t *testing.T) {
	root := sampletest.Path()
	if _, err := os.Stat(root); err != nil {
		t.Skipf("shared samples not available: %v", err)
	}
	records := 0
	p := k8saudit.NewParser()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		checkSame(t, rel, b, p)
		records++
		for i, line := range bytes.Split(b, []byte("\n")) {
			if len(bytes.TrimSpace(line)) == 0 {
				continue
			}
			checkSame(t, rel+":"+strconv.Itoa(i+1), line, p)
			records++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if records < 100 {
		t.Fatalf("only %d records compared", records)
	}
}

// generated returns a generated Kubernetes audit stream of n events with
// the attack mix ("" for the default -attack-every).
func generated(t testing.TB, mix string, n int, seed uint64) [][]byte {
	t.Helper()
	o, err := gen.NewOrg(gen.ForPrincipals(400))
	if err != nil {
		t.Fatal(err)
	}
	c := gen.K8sAuditConfig{Events: n, Rate: 20, Seed: seed, Actors: 50}
	if mix != "" {
		if c.Mix, err = gen.ParseAttackMix(mix); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if _, err := o.WriteK8sAudit(&buf, c); err != nil {
		t.Fatal(err)
	}
	var lines [][]byte
	sc := bufio.NewScanner(&buf)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		lines = append(lines, bytes.Clone(sc.Bytes()))
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

// TestEquivalenceGenerated compares both parsers on generated streams with
// every attack kind, the default mix and no attacks.
func TestEquivalenceGenerated(t *testing.T) {
	mixes := []string{"", "none"}
	for _, k := range gen.K8sAttackKinds() {
		mixes = append(mixes, k+"=0.05")
	}
	n := 2000
	if testing.Short() {
		n = 300
	}
	for _, mix := range mixes {
		t.Run("mix="+mix, func(t *testing.T) {
			lines := generated(t, mix, n, 7)
			classes := map[event.Class]int{}
			p := k8saudit.NewParser()
			for i, line := range lines {
				checkSame(t, "line "+strconv.Itoa(i+1), line, p)
				ev, err := k8saudit.ParseEvent(line)
				if err != nil {
					t.Fatalf("line %d: %v", i+1, err)
				}
				classes[ev.Class]++
			}
			if len(lines) != n || len(classes) < 2 {
				t.Fatalf("%d lines, classes %v", len(lines), classes)
			}
		})
	}
}

const edgeBase = `"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"a1","stage":"ResponseComplete","verb":"create","user":{"username":"u","groups":["g1","g2"]},"objectRef":{"resource":"pods","namespace":"ns"},"responseStatus":{"code":201},"stageTimestamp":"2025-01-02T03:04:05.123456Z"`

// edgeCases are records where encoding/json's rules (key case, repeated
// keys, null, wrong types, string decoding, numbers, times) decide the result.
func edgeCases() []string {
	obj := func(s string) string { return `{` + edgeBase + `,` + s + `}` }
	pod := func(spec string) string {
		return obj(`"requestObject":{"metadata":{"ownerReferences":[{"kind":"ReplicaSet","name":"rs"}]},"spec":` + spec + `}`)
	}
	dep := func(spec string) string {
		return `{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"d","stage":"ResponseComplete","verb":"create","objectRef":{"resource":"deployments","namespace":"x"},"requestObject":{"spec":` + spec + `}}`
	}
	inner := `{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"w1","stage":"ResponseComplete","verb":"create","user":{"username":"u"},"objectRef":{"resource":"pods","namespace":"default"},"responseStatus":{"code":201},"stageTimestamp":"2025-01-02T03:04:05Z"}`
	q := strconv.Quote(inner)
	return []string{
		obj(`"x":1`),
		// Key case and repeated keys.
		obj(`"Verb":"delete"`),
		obj(`"VERB":"get","verb":"list"`),
		obj(`"\u212aind":"Event"`),
		obj(`"user":{"username":"v"}`),
		obj(`"user":{"UserName":"w","Groups":null}`),
		obj(`"user":{"groups":["a"]},"user":{"groups":["b",null,"c"]}`),
		obj(`"user":{"groups":["a","b","c"]},"user":{"groups":[null]}`),
		obj(`"user":{"groups":["a","b","c"]},"user":{"groups":["x"]},"user":{"groups":[null,null,null]}`),
		obj(`"user":{"groups":[]}`),
		obj(`"user":{"groups":null}`),
		obj(`"user":null`),
		obj(`"user":{"extra":{"canonicalArn":["arn:aws:iam::1:role/r"],"sessionName":["s"]}},"user":{"extra":{"sessionName":null,"arn":[null,"x"],"accessKeyId":[]}}`),
		obj(`"user":{"extra":{"canonicalArn":["arn:aws:iam::1:role/r"]}},"user":{"extra":null}`),
		obj(`"user":{"extra":{"canonical\u0041rn":["arn:aws:iam::2:role/r"],"authentication.kubernetes.io\/pod-name":["p"]}}`),
		obj(`"impersonatedUser":{"username":"admin","groups":["system:masters"]}`),
		obj(`"impersonatedUser":{"username":"admin"},"impersonatedUser":null`),
		obj(`"impersonatedUser":{"username":""}`),
		obj(`"impersonatedUser":{"groups":["x"]},"impersonatedUser":{"username":"i"}`),
		obj(`"objectRef":{"resource":"pods","subresource":"exec","name":"p"},"stage":"ResponseStarted","requestURI":"/api/v1/namespaces/ns/pods/p/exec?command=sh&command=-c&container=c1"`),
		obj(`"objectRef":null`),
		obj(`"objectRef":{"resource":"pods"},"objectRef":{"namespace":"other"}`),
		obj(`"objectRef":{"Resource":"deployments","NAMESPACE":"n2"}`),
		obj(`"sourceIPs":["10.0.0.1","10.0.0.2"],"sourceIPs":[null]`),
		obj(`"sourceIPs":[]`),
		obj(`"sourceIPs":null,"userAgent":"k\u00e9"`),
		obj(`"responseStatus":{"code":403,"reason":"Forbidden"}`),
		obj(`"responseStatus":{"code":500}`),
		obj(`"responseStatus":{"code":-5}`),
		obj(`"responseStatus":{"code":404,"reason":"NotFound"},"responseStatus":null`),
		obj(`"responseStatus":{"code":201.0}`),
		obj(`"responseStatus":{"code":2e2}`),
		obj(`"responseStatus":{"code":99999999999999999999}`),
		obj(`"responseStatus":{"code":"201"}`),
		obj(`"responseStatus":{"code":null,"status":"Failure","metadata":{}}`),
		obj(`"annotations":{"authorization.k8s.io/decision":"forbid"}`),
		obj(`"annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":"r"},"annotations":{"authorization.k8s.io/decision":null}`),
		obj(`"annotations":{"authorization.k8s.io/decision":"forbid"},"annotations":null`),
		obj(`"annotations":{"a":5}`),
		obj(`"annotations":"x"`),
		// Wrong types: an error for an audit event.
		obj(`"level":5`),
		obj(`"user":"bob"`),
		obj(`"user":{"groups":"g"}`),
		obj(`"user":{"groups":[1]}`),
		obj(`"user":{"extra":{"k":"v"}}`),
		obj(`"user":{"extra":{"k":[true]}}`),
		obj(`"objectRef":{"apiVersion":1}`),
		obj(`"sourceIPs":"1.2.3.4"`),
		obj(`"requestObject":5,"message":[1]`),
		obj(`"properties":5`),
		obj(`"stageTimestamp":12`),
		// Strings.
		obj(`"user":{"username":"caf\u00e9 \ud83d\ude00 \ud800 \udc00x"}`),
		obj("\"user\":{\"username\":\"bad \xff\xfe utf8 \xe2\x82\"}"),
		obj(`"auditID":"a\"b\\c\/d\b\f\n\r\t"`),
		// Times.
		obj(`"stageTimestamp":"2025-01-02T03:04:05Z"`),
		obj(`"stageTimestamp":"2025-01-02T03:04:05.1Z"`),
		obj(`"stageTimestamp":"2025-01-02T03:04:05.123456789Z"`),
		obj(`"stageTimestamp":"2025-01-02T03:04:05.1234567891Z"`),
		obj(`"stageTimestamp":"2025-01-02T03:04:05+02:00"`),
		obj(`"stageTimestamp":"2025-01-02T03:04:05.5-07:30"`),
		obj(`"stageTimestamp":"2025-01-02 03:04:05"`),
		obj(`"stageTimestamp":"2025-01-02T03:04:05,5Z"`),
		obj(`"stageTimestamp":"2024-02-29T23:59:59Z"`),
		obj(`"stageTimestamp":"2025-02-29T23:59:59Z"`),
		obj(`"stageTimestamp":"2025-13-01T00:00:00Z"`),
		obj(`"stageTimestamp":"2025-01-02T24:00:00Z"`),
		obj(`"stageTimestamp":"2025-01-02T03:04:60Z"`),
		obj(`"stageTimestamp":"2025-01-02T03:04:05.Z"`),
		obj(`"stageTimestamp":"","requestReceivedTimestamp":"2025-01-02T03:04:04Z"`),
		obj(`"stageTimestamp":"x","timestamp":"2025-01-02T03:04:03Z"`),
		obj(`"stageTimestamp":"2025-01-02T03:04:05.123\u005a"`),
		// Request objects.
		pod(`{"containers":[{"image":"a","command":["sh"]}],"containers":[{"name":"b"}]}`),
		pod(`{"containers":[{"image":"a"},{"image":"b"}],"containers":[null]}`),
		pod(`{"containers":[{"image":"a","securityContext":{"privileged":true}}],"containers":[{"securityContext":null}]}`),
		pod(`{"containers":[{"image":"a","securityContext":{"privileged":"true","capabilities":{"add":["NET_ADMIN",5]}}}]}`),
		pod(`{"hostNetwork":1,"hostPID":true,"hostIPC":null,"volumes":[{"hostPath":{"path":"/"}},{"hostPath":null},{"hostPath":{"path":5}},{"hostPath":[]}]}`),
		pod(`{"Containers":[{"Image":"up"}],"SERVICEACCOUNTNAME":"sa","serviceAccount":"old"}`),
		pod(`{"initContainers":[{"image":"i","args":["x"],"command":null}],"ephemeralContainers":[{"image":"e"}]}`),
		pod(`null`),
		pod(`[]`),
		pod(`{}`),
		obj(`"requestObject":{"metadata":{"annotations":{"image-policy.k8s.io/break-glass":"true"}},"metadata":{"annotations":{"other":"x"}}}`),
		obj(`"requestObject":{"metadata":{"annotations":{"image-policy.k8s.io/break-glass":"true"}},"metadata":{"annotations":null}}`),
		obj(`"requestObject":{"metadata":{"ownerReferences":[{"kind":"Job","name":"j"}]},"metadata":{"ownerReferences":[{"name":"k"}]}}`),
		obj(`"requestObject":{"metadata":{"ownerReferences":[]}}`),
		obj(`"requestObject":[1,2]`),
		obj(`"requestObject":null`),
		dep(`{"template":{"spec":{"containers":[{"image":"t"}]}}}`),
		dep(`{"template":{},"jobTemplate":{"spec":{"template":{"spec":{"hostPID":true}}}}}`),
		dep(`{"template":{"spec":{}},"jobTemplate":{"spec":{"template":{"spec":{"hostPID":true}}}}}`),
		dep(`{"template":{"spec":null},"JobTemplate":{"Spec":{"Template":{"Spec":{"hostIPC":true}}}}}`),
		dep(`{"template":5}`),
		dep(`{"hostPID":true,"containers":[{"image":"top"}]}`),
		`{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"b","stage":"ResponseComplete","verb":"create","objectRef":{"resource":"clusterrolebindings","name":"b"},"requestObject":{"roleRef":{"kind":"ClusterRole","name":"cluster-admin"},"subjects":[{"kind":"User","name":"u"},{"kind":"ServiceAccount","name":"s","namespace":"n"},null,5]}}`,
		`{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"b","stage":"ResponseComplete","verb":"create","objectRef":{"resource":"rolebindings","name":"b"},"requestObject":{"roleRef":{"kind":"Role"},"subjects":[{"kind":"User","name":"u"}],"subjects":[{"namespace":"n"}],"roleRef":null}}`,
		`{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"r","stage":"ResponseComplete","verb":"create","objectRef":{"resource":"clusterroles","name":"r"},"requestObject":{"rules":[{"verbs":["get"],"resources":["*"]}]}}`,
		`{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"r","stage":"ResponseComplete","verb":"create","objectRef":{"resource":"roles","name":"r"},"requestObject":{"rules":[{"verbs":["*"]}],"rules":[{"apiGroups":[null]}]}}`,
		// Recognition.
		`{"auditID":"a","stage":"ResponseComplete","verb":"get"}`,
		`{"auditID":"a","stage":"ResponseComplete","verb":""}`,
		`{"kind":"Event","apiVersion":"audit.k8s.io/v1beta1"}`,
		`{"kind":"Event","apiVersion":"audit.k8s.io\/v1"}`,
		`{"kind":"Event","apiVersion":"v1"}`,
		`{"kind":"Event","apiVersion":"audit.k8s.io/v1","verb":5}`,
		`{"Kind":"Event","APIVERSION":"audit.k8s.io/v1","AuditID":"z"}`,
		// Wrappers.
		`{"id":"1","timestamp":1735787045000,"message":` + q + `}`,
		`{"message":` + q + `,"user":"bob"}`,
		`{"message":{"value":` + q + `}}`,
		`{"message":{"Value":` + q + `,"value":null}}`,
		`{"message":"{\"auditID\":\"x\"}"}`,
		`{"message":5}`,
		`{"category":"kube-audit","resourceId":"/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c1/x","properties":{"log":` + q + `}}`,
		`{"category":"KUBE-AUDIT-ADMIN","properties":{"log":"  ` + strings.Trim(q, `"`) + `  "},"properties":{"stream":"stdout"}}`,
		`{"category":"kube-audit","properties":{"log":` + q + `},"properties":null}`,
		`{"Category":"kube-audit","Properties":{"Log":` + q + `}}`,
		`{"category":"kube-audit","properties":{"log":` + q + `},"message":` + q + `}`,
		"{\"\":{\"\t\":null}}", // a raw tab in a key: tolerated by the scanner
		// Not objects, invalid.
		`[]`, `null`, `5`, `"x"`, `[] x`, `{} x`, ``, ` `, `{`, `{"kind":"Event",}`, `{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"a"`,
		`{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"a","stage":"x","verb":"get","requestObject":{"a":[1,2,}}`,
	}
}

func TestEquivalenceEdgeCases(t *testing.T) {
	p := k8saudit.NewParser()
	for range 2 { // the second round hits the shared strings
		for i, raw := range edgeCases() {
			checkSame(t, "case "+strconv.Itoa(i), []byte(raw), p)
		}
	}
}

// TestErrorsNameTheField checks that errors say what is wrong and where.
func TestErrorsNameTheField(t *testing.T) {
	tests := []struct {
		raw, want string
	}{
		{`{` + edgeBase + `,"user":{"groups":"g"}}`, "field user.groups: JSON string at byte"},
		{`{` + edgeBase + `,"responseStatus":{"code":1.5}}`, "field responseStatus.code: JSON number at byte"},
		{`{` + edgeBase + `,"level":true}`, "field level: JSON bool at byte"},
		{`{` + edgeBase + `,"x":[1,}`, "decode audit event: at byte"},
	}
	for _, tt := range tests {
		_, err := k8saudit.ParseEvent([]byte(tt.raw))
		if err == nil || !strings.Contains(err.Error(), tt.want) || errors.Is(err, event.ErrUnrecognized) {
			t.Errorf("ParseEvent(%s) error %v, want one containing %q", tt.raw, err, tt.want)
		}
	}
}

func fuzzSeeds(f *testing.F) {
	for _, raw := range edgeCases() {
		f.Add([]byte(raw))
	}
	if b, err := os.ReadFile(sampletest.Path("k8s-audit", "falco-trace-files-k8s-audit.jsonl")); err == nil {
		for _, line := range bytes.Split(b, []byte("\n")) {
			f.Add(line)
		}
	}
	for _, line := range generated(f, "scenario=0.02,privileged=0.02,exec=0.02,rbac-grant=0.01", 200, 3) {
		f.Add(line)
	}
}

// FuzzParseEvent: no panic, and the reference's result wherever the
// reference accepts the input.
func FuzzParseEvent(f *testing.F) {
	fuzzSeeds(f)
	p := k8saudit.NewParser()
	f.Fuzz(func(t *testing.T, raw []byte) {
		checkSame(t, "fuzz", raw, p)
		if ev, err := k8saudit.ParseEvent(raw); err == nil && (ev.Format != k8saudit.Format || ev.Cloud != "k8s") {
			t.Fatalf("bad event %+v", ev)
		}
	})
}

// FuzzObjectDetails compares ObjectDetails with the reference on any valid
// JSON (as gcpaudit passes GKE request bodies) and every resource kind.
func FuzzObjectDetails(f *testing.F) {
	f.Add(uint8(0), []byte(`{"spec":{"containers":[{"image":"x","securityContext":{"privileged":true}}]}}`))
	f.Add(uint8(1), []byte(`{"spec":{"template":{"spec":{"hostNetwork":true,"volumes":[{"hostPath":{"path":"/"}}]}}}}`))
	f.Add(uint8(3), []byte(`{"roleRef":{"kind":"ClusterRole","name":"admin"},"subjects":[{"kind":"User","name":"u"}]}`))
	f.Add(uint8(5), []byte(`{"rules":[{"verbs":["*"]}]}`))
	for _, raw := range edgeCases() {
		var rec struct {
			RequestObject json.RawMessage `json:"requestObject"`
		}
		if json.Unmarshal([]byte(raw), &rec) == nil && len(rec.RequestObject) > 0 {
			for r := range uint8(4) {
				f.Add(r, []byte(rec.RequestObject))
			}
		}
	}
	resources := [][2]string{{"pods", ""}, {"deployments", ""}, {"cronjobs", ""}, {"clusterrolebindings", ""},
		{"rolebindings", ""}, {"roles", ""}, {"pods", "ephemeralcontainers"}, {"pods", "status"}, {"configmaps", ""}}
	f.Fuzz(func(t *testing.T, r uint8, raw []byte) {
		if !json.Valid(raw) {
			return // callers pass validated JSON
		}
		res := resources[int(r)%len(resources)]
		var got, want event.Event
		err := k8saudit.ObjectDetails(&got, res[0], res[1], raw)
		refErr := k8saudit.RefObjectDetails(&want, res[0], res[1], raw)
		if errors.Is(err, jsonscan.ErrDepth) && refErr == nil {
			return
		}
		if (err == nil) != (refErr == nil) {
			t.Fatalf("error %v, reference %v", err, refErr)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("%v: details differ (-want +got):\n%s\ninput: %s", res, diff, raw)
		}
	})
}
