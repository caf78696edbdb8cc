// Package submission checks an upstream ConformanceReport YAML against the
// rules gateway-api applies before it accepts a report into its
// conformance/reports/<version>/<project>/ folder, so a vendor can find a
// broken rule before submitting.
//
// The rules are those of the report's own Gateway API version (its
// gatewayAPIVersion): for v1.6, Implementation.Validate of the v1.6.3
// conformance module this module requires; for v1.7, the v1.7.0 functions
// (Implementation.Validate with its URL rule, ConformanceReport.IsConformant,
// ProfileReport.IsConformant, Status.IsConformant with its skip limit),
// re-implemented here because this module cannot require v1.7.0 (it needs
// Go 1.27); each re-implementation names the upstream function it follows.
// Beside them: the reports README's rules (required fields, channel, result,
// file name, the folder's README) and hack/verify-reports.sh's folder check,
// and a consistency rule (the statistics, results and summary are what the
// upstream suite's compileResults and buildSummary make of them, so a
// hand-edited report is caught: reports "MUST be uploaded exactly as they
// have been created by the conformance suite").
package submission

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"golang.org/x/mod/semver"
	confv1 "sigs.k8s.io/gateway-api/conformance/apis/v1"
	"sigs.k8s.io/yaml"
)

// Rule names a rule a report can break; it starts each printed line.
type Rule string

// The rules, in the order they are checked.
const (
	// RuleParse: the file is a ConformanceReport (apiVersion, kind, no
	// unknown field).
	RuleParse Rule = "parse"
	// RuleVersion: gatewayAPIVersion names a version whose rules are known.
	RuleVersion Rule = "version"
	// RuleRequired: every required field has a value.
	RuleRequired Rule = "required"
	// RuleURL: implementation.url is an absolute http(s) URL (v1.7 on).
	RuleURL Rule = "url"
	// RuleChannel: gatewayAPIChannel is standard or experimental.
	RuleChannel Rule = "channel"
	// RuleProfile: each profile is an upstream profile, named once, with a
	// summary.
	RuleProfile Rule = "profile"
	// RuleResult: no profile's core or extended result is a failure.
	RuleResult Rule = "result"
	// RuleSkips: a partial result skips no more tests than the version
	// allows.
	RuleSkips Rule = "skips"
	// RuleConsistency: results and summaries are what the suite makes of
	// the statistics.
	RuleConsistency Rule = "consistency"
	// RuleLayout: the folder the file sits in follows the reports layout.
	RuleLayout Rule = "layout"
)

// Broken is one broken rule.
type Broken struct {
	Rule Rule
	// Message says what is wrong and how to fix it.
	Message string
	// Source is the upstream function or document the rule follows.
	Source string
}

// String is the printed line: "<rule>: <message> [<source>]".
func (b Broken) String() string { return fmt.Sprintf("%s: %s [%s]", b.Rule, b.Message, b.Source) }

// Verdict is what the version's IsConformant says of the report, separately
// for the Gateway and the Mesh profiles.
type Verdict struct {
	Gateway, Mesh confv1.Result
	// GatewayProfiles and MeshProfiles count the profiles of each kind; a
	// kind with none is reported as not tested (upstream: failure).
	GatewayProfiles, MeshProfiles int
	// Source says which rules gave the verdict.
	Source string
}

// Result is the outcome of checking one report file.
type Result struct {
	Path string
	// Version is the rule set applied ("v1.6", "v1.7"; empty if none).
	Version string
	Broken  []Broken
	// Notes are facts worth knowing that break no rule (e.g. a partial
	// profile, folder rules not applied).
	Notes   []string
	Verdict *Verdict
}

// OK reports whether no rule is broken.
func (r *Result) OK() bool { return len(r.Broken) == 0 }

// Check reads and checks one report file; the folder rules apply when it
// sits in a <version>/<project>/ folder. The error is for a file that
// cannot be read; every problem of the report itself is a Broken rule.
func Check(path string) (*Result, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read report: %w (fix: pass the ConformanceReport YAML the upstream suite wrote, e.g. with --report-output)", err)
	}
	res, rep := check(raw)
	res.Path = path
	res.Broken = append(res.Broken, checkLayout(path, rep)...)
	if note := layoutNote(path); note != "" {
		res.Notes = append(res.Notes, note)
	}
	return res, nil
}

// CheckBytes checks a report's content (no folder rules).
func CheckBytes(raw []byte) *Result {
	res, _ := check(raw)
	return res
}

// check checks a report's content and returns the decoded report too (nil
// when it does not decode), for the folder rules.
func check(raw []byte) (*Result, *confv1.ConformanceReport) {
	res := &Result{}
	var rep confv1.ConformanceReport
	if err := yaml.UnmarshalStrict(raw, &rep); err != nil {
		res.Broken = append(res.Broken, Broken{RuleParse, fmt.Sprintf("not a ConformanceReport: %v (fix: submit the file exactly as the upstream suite wrote it)", err), "conformance/apis/v1 ConformanceReport"})
		return res, nil
	}
	if rep.APIVersion != confv1.GroupVersion.String() || rep.Kind != "ConformanceReport" {
		res.Broken = append(res.Broken, Broken{RuleParse, fmt.Sprintf("apiVersion %q kind %q, want %s ConformanceReport (fix: submit the file exactly as the upstream suite wrote it)", rep.APIVersion, rep.Kind, confv1.GroupVersion), "conformance/apis/v1 ConformanceReport"})
	}
	rs, ok := ruleSetOf(rep.GatewayAPIVersion)
	if !ok {
		res.Broken = append(res.Broken, Broken{RuleVersion, fmt.Sprintf("gatewayAPIVersion %q: this checker knows the rules of %s (fix: run the suite against the CRDs of a known version, without --allow-crds-mismatch)", rep.GatewayAPIVersion, strings.Join(KnownVersions(), " and ")), "conformance/reports/README.md Reports rules"})
		return res, &rep
	}
	res.Version = rs.minor
	res.Broken = append(res.Broken, required(&rep)...)
	invalid := rs.validate(&rep.Implementation)
	res.Broken = append(res.Broken, invalid...)
	valid := len(invalid) == 0 && len(requiredImplementation(&rep.Implementation)) == 0
	if c := rep.GatewayAPIChannel; c != "" && c != "standard" && c != "experimental" {
		res.Broken = append(res.Broken, Broken{RuleChannel, fmt.Sprintf("gatewayAPIChannel %q is neither standard nor experimental (fix: install the CRDs of one release channel)", c), "hack/verify-reports.sh check_report_fields"})
	}
	res.Broken = append(res.Broken, profileNames(&rep)...)
	res.Broken = append(res.Broken, consistency(&rep)...)
	v, broken, notes := isConformant(&rep, rep.GatewayAPIVersion, valid)
	v.Source = rs.verdictSource
	res.Verdict = &v
	res.Broken = append(res.Broken, broken...)
	res.Notes = append(res.Notes, notes...)
	return res, &rep
}

// ruleSet is the rules of one Gateway API minor version.
type ruleSet struct {
	minor string
	// validate is the version's Implementation.Validate, as broken rules.
	validate      func(*confv1.Implementation) []Broken
	verdictSource string
}

var ruleSets = []ruleSet{
	{minor: "v1.6", validate: validate16,
		verdictSource: "v1.6.3 has no IsConformant: the reports README's result rules, aggregated as v1.7.0's IsConformant does"},
	{minor: "v1.7", validate: validate17,
		verdictSource: "v1.7.0 conformance/apis/v1 ConformanceReport.IsConformant"},
}

// KnownVersions are the Gateway API minor versions whose rules are known.
func KnownVersions() []string {
	var out []string
	for _, rs := range ruleSets {
		out = append(out, rs.minor)
	}
	return out
}

func ruleSetOf(version string) (ruleSet, bool) {
	mm := semver.MajorMinor(version)
	i := slices.IndexFunc(ruleSets, func(rs ruleSet) bool { return rs.minor == mm })
	if i < 0 {
		return ruleSet{}, false
	}
	return ruleSets[i], true
}

// validate16 is Implementation.Validate of the v1.6.3 conformance module
// (this module's own dependency), called as is: it has no URL rule. Every
// empty field is already a RuleRequired line; the call guards against a
// rule upstream has that required misses.
func validate16(impl *confv1.Implementation) []Broken {
	if err := impl.Validate(); err != nil && len(requiredImplementation(impl)) == 0 {
		return []Broken{{RuleRequired, err.Error(), "v1.6.3 conformance/apis/v1 Implementation.Validate"}}
	}
	return nil
}
