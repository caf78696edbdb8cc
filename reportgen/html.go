package reportgen

import (
	"bytes"
	_ "embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"slices"
	"strings"
	"time"

	confv1 "sigs.k8s.io/gateway-api/conformance/apis/v1"

	"gamma-conformance/reportgen/results"
)

//go:embed report.html.tmpl
var pageSource string

var pageTemplate = template.Must(template.New("page").Funcs(template.FuncMap{
	"anchor": anchor,
	"join":   func(s []string) string { return strings.Join(s, ", ") },
	"brief":  brief,
	"secs":   func(s float64) string { return fmt.Sprintf("%.1f s", s) },
}).Parse(pageSource))

type (
	page struct {
		Title, Implementation, GatewayAPI, Mode, SuiteVersion string
		Start, Duration, Command                              string
		Warnings                                              []string
		Badges                                                []pageBadge
		Profiles                                              []pageProfile
		Features                                              []pageFeature
		Suites                                                []pageSuite
		Failures                                              []results.Test
	}
	pageBadge struct {
		Src template.URL
		Alt string
	}
	pageProfile struct {
		Source string
		confv1.ProfileReport
	}
	pageFeature struct {
		Name, Profiles, Status                       string
		Claimed                                      bool
		Passed, Failed, Skipped, NotSupported, Tests int
	}
	pageSuite struct {
		Name   string
		Counts results.Counts
		Tests  []results.Test
	}
)

// renderHTML renders the self-contained report page: the run, the badges (as data
// URIs), per-profile and per-feature tables, every test, and every failure
// with its details and the command that reruns just that test. It loads
// nothing from the network.
func renderHTML(run *Run, semantics *confv1.ConformanceReport) ([]byte, error) {
	r := run.Results
	impl := strings.TrimSpace(strings.Join([]string{r.Implementation.Organization, r.Implementation.Project, r.Implementation.Version}, " "))
	p := page{
		Title:          "GAMMA conformance report",
		Implementation: impl,
		GatewayAPI:     r.GatewayAPI.Version + " (" + r.GatewayAPI.Channel + " channel)",
		Mode:           r.Run.Mode,
		SuiteVersion:   r.SuiteVersion,
		Start:          r.Run.Start.UTC().Format(time.RFC3339),
		Duration:       r.Run.End.Sub(r.Run.Start).Round(time.Second).String(),
		Command:        shellJoin(append([]string{r.Run.Command}, r.Run.Args...)),
	}
	if impl != "" {
		p.Title += ": " + impl
	} else {
		p.Warnings = append(p.Warnings, "No implementation fields (--organization, --project, --url, --version, --contact): the upstream report cannot be submitted as is.")
	}
	if run.Upstream == nil {
		p.Warnings = append(p.Warnings, "No upstream report: the upstream mesh tests did not run or wrote no report.")
	}
	for _, rep := range []struct {
		source string
		r      *confv1.ConformanceReport
	}{{"upstream report", run.Upstream}, {"semantics report", semantics}} {
		if rep.r == nil {
			continue
		}
		profiles := slices.Clone(rep.r.ProfileReports)
		slices.SortFunc(profiles, func(a, b confv1.ProfileReport) int { return strings.Compare(a.Name, b.Name) })
		for _, pr := range profiles {
			p.Profiles = append(p.Profiles, pageProfile{Source: rep.source, ProfileReport: pr})
		}
		for _, b := range Badges(rep.r) {
			p.Badges = append(p.Badges, pageBadge{
				Src: template.URL("data:image/svg+xml;base64," + base64.StdEncoding.EncodeToString(b.SVG)),
				Alt: b.Label + ": " + b.Message,
			})
		}
	}
	p.Features = features(r)
	for _, s := range []results.Suite{results.Upstream, results.Semantics} {
		ps := pageSuite{Name: string(s), Counts: r.Count(s)}
		for _, t := range r.Tests {
			if t.Suite == s {
				ps.Tests = append(ps.Tests, t)
				if t.Outcome == results.Failed || t.Outcome == results.Flaky {
					p.Failures = append(p.Failures, t)
				}
			}
		}
		if len(ps.Tests) > 0 {
			p.Suites = append(p.Suites, ps)
		}
	}
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, p); err != nil {
		return nil, fmt.Errorf("render HTML: %w", err)
	}
	return buf.Bytes(), nil
}

// features builds one row per feature a profile lists or a test needs.
func features(r *results.Results) []pageFeature {
	var names []string
	for _, p := range r.Profiles {
		names = append(append(names, p.Core...), p.Extended...)
	}
	for _, t := range r.Tests {
		names = append(names, t.Features...)
	}
	names = sorted(names)
	var rows []pageFeature
	for _, f := range names {
		row := pageFeature{Name: f, Claimed: slices.Contains(r.Run.SupportedFeatures, f)}
		var in []string
		for _, p := range r.Profiles {
			switch {
			case slices.Contains(p.Core, f):
				in = append(in, p.Name+" core")
				row.Claimed = row.Claimed || slices.Contains(r.Run.ConformanceProfiles, p.Name)
			case slices.Contains(p.Extended, f):
				in = append(in, p.Name+" extended")
			}
		}
		row.Profiles = strings.Join(in, ", ")
		for _, t := range r.Tests {
			if !slices.Contains(t.Features, f) {
				continue
			}
			row.Tests++
			switch t.Outcome {
			case results.Passed:
				row.Passed++
			case results.Failed, results.Flaky:
				row.Failed++
			case results.Skipped:
				row.Skipped++
			case results.NotSupported:
				row.NotSupported++
			}
		}
		switch {
		case row.Failed > 0:
			row.Status = "failure"
		case row.Skipped > 0:
			row.Status = "partial"
		case row.Passed > 0:
			row.Status = "success"
		default:
			row.Status = "untested"
		}
		rows = append(rows, row)
	}
	return rows
}

// brief lists up to 5 names and counts the rest.
func brief(names []string) string {
	if len(names) <= 5 {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more (see Failures)", strings.Join(names[:5], ", "), len(names)-5)
}

// anchor is the HTML id of a test's failure details.
func anchor(suite results.Suite, id string) string {
	var b strings.Builder
	b.WriteString(string(suite))
	b.WriteByte('-')
	for _, c := range strings.ToLower(id) {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			b.WriteRune(c)
		} else {
			b.WriteByte('-')
		}
	}
	return b.String()
}

// shellJoin quotes args for a POSIX shell where needed.
func shellJoin(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if a != "" && strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=./:,@+") == "" {
			out[i] = a
		} else {
			out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(out, " ")
}
