package gen_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"permgraph/bench/gen"
	"permgraph/bench/gengraph"
	"permgraph/catalog"
	"permgraph/detect/event"
	"permgraph/detect/read"
	"permgraph/detect/rules"
	"permgraph/graph"
	awspolicy "permgraph/policy/aws"
)

var t0 = time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)

func testOrg(t testing.TB) *gen.Org {
	t.Helper()
	o, err := gen.NewOrg(gen.ForPrincipals(600))
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// writeStream writes a stream to a file in t's temp dir and returns its path
// and bytes.
func writeStream(t testing.TB, write func(io.Writer) (int64, error)) (string, []byte) {
	t.Helper()
	var b bytes.Buffer
	n, err := write(&b)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(b.Len()) {
		t.Fatalf("writer reported %d bytes, wrote %d", n, b.Len())
	}
	path := filepath.Join(t.TempDir(), "stream.jsonl")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, b.Bytes()
}

// readEvents reads path through detect/read (what `permgraph detect` uses),
// format auto-detected, and fails on any unknown or malformed record.
func readEvents(t testing.TB, path string, wantFormat string) []event.Event {
	t.Helper()
	r, err := read.Open(context.Background(), path, read.FormatAuto)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var evs []event.Event
	for {
		ev, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if ev.Format != wantFormat {
			t.Fatalf("event %d: format %q, want %q", len(evs), ev.Format, wantFormat)
		}
		evs = append(evs, ev)
	}
	if s := r.Stats(); s.Unknown+s.Malformed != 0 || s.Records != len(evs) {
		t.Fatalf("reader: %d records, %d events, %d unknown, %d malformed: %+v", s.Records, len(evs), s.Unknown, s.Malformed, s.Problems)
	}
	return evs
}

func k8s(t testing.TB, o *gen.Org, c gen.K8sAuditConfig) (string, []byte) {
	return writeStream(t, func(w io.Writer) (int64, error) { return o.WriteK8sAudit(w, c) })
}

// TestK8sAuditFormat: every record reads through detect/read as a
// k8s-audit event, one per line, and has the log backend's fields.
func TestK8sAuditFormat(t *testing.T) {
	o := testOrg(t)
	const n = 5000
	path, data := k8s(t, o, gen.K8sAuditConfig{Events: n, Rate: 5, AttackEvery: 10, Seed: 3})
	evs := readEvents(t, path, "k8s-audit")
	if len(evs) != n {
		t.Fatalf("%d events, want %d", len(evs), n)
	}
	classes := map[event.Class]int{}
	stages := map[string]int{}
	for _, ev := range evs {
		classes[ev.Class]++
		stages[ev.Detail("stage")]++
	}
	for _, c := range []event.Class{event.Other, event.DiscoveryPermission, event.SelfProbe, event.Deploy, event.Exec, event.Grant, event.Identity, event.Delete} {
		if classes[c] == 0 {
			t.Errorf("no %s events (classes %v)", c, classes)
		}
	}
	if stages["ResponseStarted"] == 0 || stages["ResponseComplete"] < n/2 {
		t.Errorf("stages %v", stages)
	}
	// The raw records: the v1 Event fields the log backend writes.
	ids := map[string][]string{}
	for i, line := range bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n")) {
		var e struct {
			Kind, APIVersion, Level, AuditID, Stage, RequestURI, Verb, UserAgent string
			User                                                                 struct {
				Username string
				Groups   []string
			}
			SourceIPs      []string
			ResponseStatus *struct{ Code int }
			RequestObject  json.RawMessage
			ObjectRef      *struct{ Resource, Subresource string }
			Received       string            `json:"requestReceivedTimestamp"`
			StageTS        string            `json:"stageTimestamp"`
			Annotations    map[string]string `json:"annotations"`
		}
		if err := json.Unmarshal(line, &e); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		if e.Kind != "Event" || e.APIVersion != "audit.k8s.io/v1" || e.AuditID == "" || e.RequestURI == "" || e.Verb == "" ||
			e.User.Username == "" || len(e.User.Groups) == 0 || len(e.SourceIPs) != 1 || e.UserAgent == "" || e.ResponseStatus == nil {
			t.Fatalf("line %d lacks a field: %s", i+1, line)
		}
		if d := e.Annotations["authorization.k8s.io/decision"]; d != "allow" && d != "forbid" {
			t.Fatalf("line %d: decision %q", i+1, d)
		}
		if (e.ResponseStatus.Code == 403) != (e.Annotations["authorization.k8s.io/decision"] == "forbid") {
			t.Fatalf("line %d: code %d with decision %q", i+1, e.ResponseStatus.Code, e.Annotations["authorization.k8s.io/decision"])
		}
		rcv, err1 := time.Parse(time.RFC3339Nano, e.Received)
		st, err2 := time.Parse(time.RFC3339Nano, e.StageTS)
		if err1 != nil || err2 != nil || len(e.StageTS) != len("2026-01-02T00:00:00.000000Z") || rcv.After(st) {
			t.Fatalf("line %d: timestamps %q %q", i+1, e.Received, e.StageTS)
		}
		if e.ObjectRef != nil && (e.ObjectRef.Resource == "pods" || e.ObjectRef.Resource == "deployments") && e.ObjectRef.Subresource == "" && e.Verb == "create" &&
			e.ResponseStatus.Code == 201 && (e.Level != "RequestResponse" || len(e.RequestObject) == 0) {
			t.Fatalf("line %d: create %s without a RequestResponse request object", i+1, e.ObjectRef.Resource)
		}
		if bytes.Contains(line, []byte("&")) {
			t.Fatalf("line %d: unescaped & (the log backend writes \\u0026)", i+1)
		}
		ids[e.AuditID] = append(ids[e.AuditID], e.Stage)
	}
	// auditIDs are unique per request; only a long-running exec has two
	// stages (ResponseStarted, then ResponseComplete).
	for id, st := range ids {
		if len(st) > 1 && !slices.Equal(st, []string{"ResponseStarted", "ResponseComplete"}) {
			t.Fatalf("auditID %s has stages %v", id, st)
		}
	}
}

// TestK8sAuditRate: stageTimestamp of record i is Start + i/Rate (to the
// microsecond the format carries), whatever the attack sequences do.
func TestK8sAuditRate(t *testing.T) {
	o := testOrg(t)
	for _, rate := range []float64{1000, 3, 250} {
		start := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
		path, _ := k8s(t, o, gen.K8sAuditConfig{Events: 2000, Rate: rate, Start: start, AttackEvery: 7, Seed: 1})
		evs := readEvents(t, path, "k8s-audit")
		step := time.Duration(float64(time.Second) / rate)
		for i, ev := range evs {
			want := start.Add(time.Duration(i) * step).Truncate(time.Microsecond)
			if !ev.Time.Equal(want) {
				t.Fatalf("rate %g: event %d at %s, want %s", rate, i, ev.Time.Format(time.RFC3339Nano), want.Format(time.RFC3339Nano))
			}
		}
		if got, want := evs[len(evs)-1].Time.Sub(evs[0].Time).Seconds(), float64(len(evs)-1)/rate; got < want*0.999 || got > want*1.001 {
			t.Fatalf("rate %g: stream spans %.3f s, want %.3f", rate, got, want)
		}
	}
}

// TestK8sAuditDeterministic: the same organisation and config give the same
// bytes; another seed gives another stream.
func TestK8sAuditDeterministic(t *testing.T) {
	o := testOrg(t)
	mix, err := gen.ParseAttackMix("exec=0.01,scenario=0.01,privileged=0.02")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []gen.K8sAuditConfig{{Events: 3000, Seed: 9}, {Events: 3000, Seed: 9, Rate: 2, Mix: mix}} {
		_, a := k8s(t, o, c)
		_, b := k8s(t, o, c)
		if !bytes.Equal(a, b) {
			t.Fatalf("%+v: two runs differ", c)
		}
		c.Seed++
		if _, d := k8s(t, o, c); bytes.Equal(a, d) {
			t.Fatalf("%+v: seed does not change the stream", c)
		}
	}
}

func TestK8sAttackMixErrors(t *testing.T) {
	o := testOrg(t)
	for _, s := range []string{"exec", "exec=x", ""} {
		if _, err := gen.ParseAttackMix(s); err == nil {
			t.Errorf("ParseAttackMix(%q): no error", s)
		}
	}
	for _, m := range []gen.AttackMix{{{Kind: "nope", Frac: 0.1}}, {{Kind: "exec", Frac: 0.7}, {Kind: "deploy", Frac: 0.7}}, {{Kind: "exec", Frac: -1}}} {
		if _, err := o.WriteK8sAudit(io.Discard, gen.K8sAuditConfig{Events: 10, Mix: m}); err == nil {
			t.Errorf("mix %v: no error", m)
		}
	}
	m, err := gen.ParseAttackMix(" exec=0.5 , deploy=0.25")
	if err != nil || m.String() != "exec=0.5,deploy=0.25" {
		t.Fatalf("ParseAttackMix: %v %v", m, err)
	}
	if m, err := gen.ParseAttackMix("none"); err != nil || m == nil || len(m) != 0 || m.String() != "none" {
		t.Fatalf("none: %#v %v", m, err)
	}
}

// staticGraph is one view for every event time (the snapshot before the stream).
type staticGraph struct{ v *graph.View }

func (g staticGraph) ViewAt(context.Context, time.Time) (*graph.View, error) { return g.v, nil }

// orgView is the evaluated graph of o (collected + derived, as `collect aws`
// would store it), one snapshot a day before the streams start.
func orgView(t testing.TB, o *gen.Org) *graph.View {
	t.Helper()
	d, err := catalog.LoadDeploy()
	if err != nil {
		t.Fatal(err)
	}
	g := gengraph.Collected(o)
	if err := awspolicy.Derive(context.Background(), g, d.AWS); err != nil {
		t.Fatal(err)
	}
	src := "aws:" + o.Account()
	at := t0.Add(-24 * time.Hour)
	return graph.NewViewFromGraphs(at, []graph.Manifest{{ID: src + "@1", Source: src, Seq: 1, At: at, Status: graph.StatusComplete}}, g)
}

// detect runs the default rules (in-memory baseline, no config) over evs.
func detect(t testing.TB, v *graph.View, evs []event.Event) ([]rules.Alert, rules.Stats) {
	t.Helper()
	en := rules.NewEngine(staticGraph{v}, rules.Config{}, rules.DefaultRules(nil))
	var out []rules.Alert
	for _, ev := range evs {
		as, err := en.Process(context.Background(), ev)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, as...)
	}
	return out, en.Stats()
}

func byRule(as []rules.Alert) map[string]int {
	m := map[string]int{}
	for _, a := range as {
		m[a.Rule]++
	}
	return m
}

// privilegedCreates counts what R08 judges, from the parsed events: pods and
// workloads created with a host-escape flag, other than by a kube-system
// controller for an owner.
func privilegedCreates(evs []event.Event) int {
	n := 0
	for _, e := range evs {
		if e.Class != event.Deploy || e.Outcome != event.Success {
			continue
		}
		if e.Detail("ownerKind") != "" && (strings.HasPrefix(e.Actor.Raw, "system:serviceaccount:kube-system:") || e.Actor.Raw == "system:kube-controller-manager") {
			continue
		}
		for _, f := range []string{"privileged", "hostPath", "hostNetwork", "hostPID"} {
			if e.Detail(f) == "true" {
				n++
				break
			}
		}
	}
	return n
}

// TestK8sAuditDetect runs the real detection engine over generated streams
// against the organisation's evaluated graph: each attack kind makes the
// rules that judge it fire, a benign-only stream fires nothing.
func TestK8sAuditDetect(t *testing.T) {
	o := testOrg(t)
	v := orgView(t, o)
	mix := func(s string) gen.AttackMix {
		m, err := gen.ParseAttackMix(s)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	// Rate 2/s: 4000 events are 33 minutes of event time, so short-lived
	// pods are deleted and scenarios reach their deployment (5 min gap).
	run := func(t *testing.T, m gen.AttackMix) ([]event.Event, []rules.Alert, rules.Stats) {
		path, _ := k8s(t, o, gen.K8sAuditConfig{Events: 4000, Rate: 2, Mix: m, Seed: 5})
		evs := readEvents(t, path, "k8s-audit")
		as, st := detect(t, v, evs)
		t.Logf("mix %v: %d events, alerts %v, unresolved actors %d", m, len(evs), byRule(as), st.Unresolved)
		return evs, as, st
	}

	t.Run("benign", func(t *testing.T) {
		evs, as, st := run(t, gen.AttackMix{})
		if len(as) != 0 {
			t.Fatalf("benign stream fired %v, first: %s %s", byRule(as), as[0].Rule, as[0].Summary)
		}
		// EKS users, roles and nodes resolve to graph nodes by
		// user.extra.canonicalArn; service accounts and the control
		// plane are not in the AWS graph.
		eks, unresolved := 0, 0
		for _, e := range evs {
			switch {
			case e.Actor.CanonicalARN != "":
				eks++
			case !strings.HasPrefix(e.Actor.Raw, "system:"):
				t.Fatalf("IAM actor without canonicalArn: %+v", e.Actor)
			default:
				unresolved++
			}
		}
		if eks == 0 || st.Unresolved != unresolved {
			t.Fatalf("%d EKS-authenticated events, %d unresolved actors, want %d (every EKS actor resolved)", eks, st.Unresolved, unresolved)
		}
	})

	t.Run("all kinds", func(t *testing.T) {
		var shares []string
		for _, k := range gen.K8sAttackKinds() {
			shares = append(shares, k+"=0.004")
		}
		_, as, _ := run(t, mix(strings.Join(shares, ",")))
		got := byRule(as)
		for _, r := range []string{"R01", "R03", "R04", "R08", "R09", "R10"} {
			if got[r] == 0 {
				t.Errorf("%s did not fire (alerts %v)", r, got)
			}
		}
		// IAM principals are resolved in the alerts.
		for _, a := range as {
			if strings.HasPrefix(a.Actor.Source, "arn:aws:") && a.Actor.Resolved != "graph" {
				t.Fatalf("%s: EKS actor %s unresolved", a.Rule, a.Actor.Source)
			}
		}
	})

	t.Run("privileged", func(t *testing.T) {
		evs, as, _ := run(t, mix("privileged=0.01"))
		got := byRule(as)
		want := privilegedCreates(evs)
		if want == 0 || got["R08"] != want {
			t.Fatalf("R08 fired %d times for %d privileged creates (alerts %v)", got["R08"], want, got)
		}
		if got["R10"]+got["R01"]+got["R03"]+got["R09"] != 0 {
			t.Fatalf("privileged pods alone fired %v", got)
		}
	})

	t.Run("exec", func(t *testing.T) {
		evs, as, _ := run(t, mix("exec=0.01"))
		execs := 0
		for _, e := range evs {
			if e.Class == event.Exec {
				execs++
			}
		}
		got := byRule(as)
		if execs == 0 || got["R09"] == 0 || got["R09"] > execs || len(as) != got["R09"] {
			t.Fatalf("%d exec events, alerts %v", execs, got)
		}
		for _, a := range as {
			if a.Events[len(a.Events)-1].Class != event.Exec {
				t.Fatalf("R09 on %+v", a.Events)
			}
		}
	})

	t.Run("discovery and probing", func(t *testing.T) {
		_, as, _ := run(t, mix("rbac-discovery=0.005,can-i=0.005,forbidden=0.005"))
		got := byRule(as)
		denial := 0
		for _, a := range as {
			if a.Rule == "R03" && slices.Contains(a.Labels, "denial-ratio") {
				denial++
			}
		}
		if got["R01"] == 0 || got["R03"] == 0 || denial == 0 {
			t.Fatalf("alerts %v, %d R03 denial-ratio", got, denial)
		}
		if got["R04"]+got["R08"]+got["R09"] != 0 {
			t.Fatalf("discovery alone fired deploy rules: %v", got)
		}
	})

	t.Run("scenario", func(t *testing.T) {
		// Deploys without discovery do not make R10 fire; the scenario's
		// discovery-then-deploy by one principal does.
		_, as, _ := run(t, mix("deploy=0.005,job=0.005,privileged=0.005,short-lived=0.005"))
		if got := byRule(as); got["R10"] != 0 || got["R04"] == 0 {
			t.Fatalf("deploys alone: %v", got)
		}
		_, as, _ = run(t, mix("scenario=0.003"))
		got := byRule(as)
		if got["R10"] == 0 {
			t.Fatalf("scenario: %v", got)
		}
		for _, a := range as {
			if a.Rule != "R10" {
				continue
			}
			last := a.Events[len(a.Events)-1]
			first := a.Events[0]
			if last.Class != event.Deploy || !isDiscovery(first.Class) || last.Time.Sub(first.Time) < 4*time.Minute {
				t.Fatalf("R10 events %+v", a.Events)
			}
		}
	})
}

func isDiscovery(c event.Class) bool {
	return c == event.DiscoveryGroup || c == event.DiscoveryPermission || c == event.SelfProbe
}
