package main

import (
	"fmt"
	"io"
	"strings"

	confv1 "sigs.k8s.io/gateway-api/conformance/apis/v1"

	"gamma-conformance/reportgen/submission"
)

// checkExitCodes documents the exit codes of report --check.
const checkExitCodes = `

Exit codes of --check:
  0  every file keeps every rule (notes, e.g. a partial profile, are fine)
  2  a file breaks a rule (one line per broken rule, named first, e.g.
     "url: ..."), or cannot be read`

// checkReports runs `report --check` on each file: a header line, one line
// per broken rule ("<rule>: <message> [<upstream source>]"), the notes, the
// verdict, and a last line per file.
func checkReports(w io.Writer, paths []string) error {
	broken := 0
	for _, p := range paths {
		res, err := submission.Check(p)
		if err != nil {
			return &exitError{exitUsage, fmt.Errorf("%s: %w", p, err)}
		}
		rules := "no known rules"
		if res.Version != "" {
			rules = "the " + res.Version + " rules"
		}
		fmt.Fprintf(w, "%s: checked against %s\n", p, rules)
		for _, b := range res.Broken {
			fmt.Fprintln(w, b)
		}
		for _, n := range res.Notes {
			fmt.Fprintln(w, "note:", n)
		}
		if v := res.Verdict; v != nil {
			fmt.Fprintf(w, "verdict: mesh %s, gateway %s [%s]\n", verdictWord(v.Mesh, v.MeshProfiles), verdictWord(v.Gateway, v.GatewayProfiles), v.Source)
		}
		if res.OK() {
			fmt.Fprintf(w, "%s: ok, ready to submit\n", p)
			continue
		}
		broken += len(res.Broken)
		fmt.Fprintf(w, "%s: %d rule(s) broken\n", p, len(res.Broken))
	}
	if broken > 0 {
		return &exitError{exitUsage, fmt.Errorf("%d rule(s) broken in %s (see the lines above; fix each, or rerun the suite)", broken, strings.Join(paths, ", "))}
	}
	return nil
}

// verdictWord is an IsConformant result, or "not tested" for a kind of
// profile the report has none of (upstream says failure).
func verdictWord(r confv1.Result, profiles int) string {
	if profiles == 0 {
		return "not tested"
	}
	return string(r)
}
