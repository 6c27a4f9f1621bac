package emulate

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteTable prints a report for people: per scenario, each expectation
// with what fired and the false positives with their reasons, then per rule
// recall and precision.
func WriteTable(w io.Writer, rep *Report) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, s := range rep.Scenarios {
		verdict := "PASS"
		if !s.Pass {
			verdict = "FAIL"
		}
		fmt.Fprintf(tw, "== %s %s: %s (%d events, %d alerts)\n", s.Scenario, verdict, s.Title, s.Events, s.Alerts)
		fmt.Fprintln(tw, "RULE\tACTOR\tSTEPS\tREQUIRED\tFIRED\tSTATUS\tWHY")
		for _, e := range s.Expectations {
			rule := e.Rule
			if e.Label != "" {
				rule += ":" + e.Label
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", rule, e.Actor, strings.Join(e.Steps, ","), yesNo(e.Required), e.Fired, e.Status, e.Reason)
		}
		for _, f := range s.FalsePositives {
			fmt.Fprintf(tw, "%s\t%s\t-\tFP:%s\t%d\t%s\t%s\n", f.Rule, f.Actor, f.Kind, f.Count, "false positive", f.Reason+": "+f.Summary)
		}
		fmt.Fprintln(tw)
	}
	fmt.Fprintln(tw, "== per rule")
	fmt.Fprintln(tw, "RULE\tREQUIRED\tDETECTED\tRECALL\tFIRED\tTRUE POS\tPRECISION\tBENIGN/NOISE FP")
	for _, r := range rep.Rules {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%d\t%d\t%s\t%d\n", r.Rule, r.Required, r.Detected, pct(r.Recall, r.Required), r.Fired, r.TruePos, pct(r.Precision, r.Fired), r.BenignFP)
	}
	verdict := "PASS: every required attack step detected, no benign look-alike or noise alerted"
	if !rep.Pass {
		verdict = "FAIL: a required attack step was missed or a benign look-alike / noise alerted"
	}
	fmt.Fprintln(tw, verdict)
	return tw.Flush()
}

func pct(v float64, n int) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f%%", v*100)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
