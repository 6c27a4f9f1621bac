package awsorg

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"testing"
	"time"
)

// The test binary doubles as a fake `aws` command for TestDocExportScript:
// with fakeCLIEnv set it answers `aws organizations ...` from the fakeData
// in that file, as AWS CLI v2 prints it (pages merged, --query applied,
// timestamps in ISO 8601), and appends each command line to fakeCLILogEnv.
const (
	fakeCLIEnv    = "PERMGRAPH_FAKE_AWS_CLI_DATA"
	fakeCLILogEnv = "PERMGRAPH_FAKE_AWS_CLI_LOG"
)

func TestMain(m *testing.M) {
	if path := os.Getenv(fakeCLIEnv); path != "" {
		os.Exit(fakeAWSCLI(path, os.Args[1:]))
	}
	os.Exit(m.Run())
}

func fakeAWSCLI(dataPath string, args []string) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(os.Stderr, "fake aws: "+format+"\n", a...)
		return 252
	}
	// Like a command that reads its standard input, so a script loop that
	// feeds `while read` from a file breaks unless aws gets </dev/null.
	_, _ = io.Copy(io.Discard, os.Stdin)
	if log := os.Getenv(fakeCLILogEnv); log != "" {
		f, err := os.OpenFile(log, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
		if err != nil {
			return fail("%v", err)
		}
		fmt.Fprintln(f, strings.Join(args, " "))
		f.Close()
	}
	b, err := os.ReadFile(dataPath)
	if err != nil {
		return fail("%v", err)
	}
	var d fakeData
	if err := json.Unmarshal(b, &d); err != nil {
		return fail("%v", err)
	}
	if len(args) < 2 || args[0] != "organizations" {
		return fail("unsupported command %q", args)
	}
	opts := map[string]string{}
	for i := 2; i < len(args); i++ {
		if !strings.HasPrefix(args[i], "--") || i+1 >= len(args) {
			return fail("unsupported argument %q", args[i])
		}
		opts[args[i][2:]] = args[i+1]
		i++
	}
	if opts["output"] != "json" {
		return fail("want --output json, got %q", opts["output"])
	}
	var resp map[string]any
	switch cmd := args[1]; cmd {
	case "describe-organization":
		resp = map[string]any{"Organization": d.Org}
	case "list-roots":
		resp = map[string]any{"Roots": d.Roots}
	case "list-organizational-units-for-parent":
		ous := []any{}
		for _, o := range d.OUs {
			if o.Parent == opts["parent-id"] {
				ous = append(ous, o.OU)
			}
		}
		resp = map[string]any{"OrganizationalUnits": ous}
	case "list-accounts-for-parent":
		accounts := []any{}
		for _, a := range d.Accounts {
			if a.Parent == opts["parent-id"] {
				accounts = append(accounts, cliAccount(a.Account))
			}
		}
		resp = map[string]any{"Accounts": accounts}
	case "list-policies", "describe-policy", "list-targets-for-policy":
		if cmd == "list-policies" {
			if opts["filter"] != "SERVICE_CONTROL_POLICY" {
				return fail("list-policies --filter %q", opts["filter"])
			}
			policies := []any{}
			for _, p := range d.Policies {
				policies = append(policies, p.Summary)
			}
			resp = map[string]any{"Policies": policies}
			break
		}
		for _, p := range d.Policies {
			if p.Summary.Id != opts["policy-id"] {
				continue
			}
			if cmd == "describe-policy" {
				resp = map[string]any{"Policy": map[string]any{"PolicySummary": p.Summary, "Content": p.Content}}
			} else {
				resp = map[string]any{"Targets": p.Targets}
			}
		}
		if resp == nil {
			return fail("PolicyNotFoundException: %q", opts["policy-id"])
		}
	default:
		return fail("unsupported command %q", cmd)
	}
	// Round-trip to generic JSON so --query can walk it.
	var out any
	b, _ = json.Marshal(resp)
	_ = json.Unmarshal(b, &out)
	if q := opts["query"]; q != "" {
		if out, err = cliQuery(out, q); err != nil {
			return fail("%v", err)
		}
	}
	b, _ = json.MarshalIndent(out, "", "    ")
	fmt.Println(string(b))
	return 0
}

// cliAccount renders an account as CLI v2 prints it: JoinedTimestamp in ISO
// 8601 with the offset, fractions of a second when present.
func cliAccount(a wAccount) map[string]any {
	b, _ := json.Marshal(a)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	sec, frac := math.Modf(a.JoinedTimestamp)
	ts := time.Unix(int64(sec), int64(frac*1e9)).UTC()
	layout := "2006-01-02T15:04:05-07:00"
	if frac != 0 {
		layout = "2006-01-02T15:04:05.000000-07:00"
	}
	m["JoinedTimestamp"] = ts.Format(layout)
	return m
}

// cliQuery supports the JMESPath forms the export script uses: "Name" and
// "Name[].Field".
func cliQuery(v any, q string) (any, error) {
	name, field, projected := strings.Cut(q, "[].")
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("query %q on a non-object", q)
	}
	sel := obj[name]
	if !projected {
		return sel, nil
	}
	items, _ := sel.([]any)
	out := []any{}
	for _, it := range items {
		if m, ok := it.(map[string]any); ok {
			out = append(out, m[field])
		}
	}
	return out, nil
}
