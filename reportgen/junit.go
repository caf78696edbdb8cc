package reportgen

import (
	"encoding/xml"
	"fmt"
	"strings"
	"time"

	"gamma-conformance/reportgen/results"
)

// JUnit types: the common subset Jenkins, GitLab and GitHub test reporters
// read.
type (
	junitSuites struct {
		XMLName  xml.Name     `xml:"testsuites"`
		Name     string       `xml:"name,attr"`
		Tests    int          `xml:"tests,attr"`
		Failures int          `xml:"failures,attr"`
		Skipped  int          `xml:"skipped,attr"`
		Time     string       `xml:"time,attr"`
		Suites   []junitSuite `xml:"testsuite"`
	}
	junitSuite struct {
		Name       string          `xml:"name,attr"`
		Tests      int             `xml:"tests,attr"`
		Failures   int             `xml:"failures,attr"`
		Errors     int             `xml:"errors,attr"`
		Skipped    int             `xml:"skipped,attr"`
		Time       string          `xml:"time,attr"`
		Timestamp  string          `xml:"timestamp,attr"`
		Properties []junitProperty `xml:"properties>property"`
		Cases      []junitCase     `xml:"testcase"`
	}
	junitProperty struct {
		Name  string `xml:"name,attr"`
		Value string `xml:"value,attr"`
	}
	junitCase struct {
		Name      string        `xml:"name,attr"`
		Classname string        `xml:"classname,attr"`
		Time      string        `xml:"time,attr"`
		Failure   *junitMessage `xml:"failure"`
		Skipped   *junitMessage `xml:"skipped"`
		SystemOut string        `xml:"system-out,omitempty"`
	}
	junitMessage struct {
		Message string `xml:"message,attr"`
		Type    string `xml:"type,attr,omitempty"`
		Text    string `xml:",chardata"`
	}
)

// renderJUnit renders the results as JUnit XML: one testsuite per suite (upstream,
// semantics) that has tests, one testcase per test or spec. Not-supported
// tests are skipped with the features they need as the message.
func renderJUnit(r *results.Results) ([]byte, error) {
	all := junitSuites{Name: "gamma-conformance " + r.SuiteVersion, Time: seconds(r.Run.End.Sub(r.Run.Start).Seconds())}
	for _, s := range []results.Suite{results.Upstream, results.Semantics} {
		js := junitSuite{
			Name:      string(s),
			Timestamp: r.Run.Start.UTC().Format(time.RFC3339),
			Properties: []junitProperty{
				{"gatewayAPIVersion", r.GatewayAPI.Version},
				{"gatewayAPIChannel", r.GatewayAPI.Channel},
				{"mode", r.Run.Mode},
				{"implementation", strings.TrimSpace(r.Implementation.Organization + " " + r.Implementation.Project + " " + r.Implementation.Version)},
			},
		}
		total := 0.0
		for _, t := range r.Tests {
			if t.Suite != s {
				continue
			}
			c := junitCase{Name: t.ID, Classname: classname(t), Time: seconds(t.DurationSeconds), SystemOut: "rerun: " + t.Rerun}
			switch t.Outcome {
			case results.Failed:
				text := t.Failure
				if t.Location != "" {
					text += "\n\nat " + t.Location
				}
				c.Failure = &junitMessage{Message: firstLine(t.Failure), Type: "failed", Text: text + "\n\nrerun: " + t.Rerun}
				js.Failures++
			case results.Flaky:
				c.Failure = &junitMessage{Message: firstLine(t.Failure), Type: "flaky", Text: t.Failure + "\n\nrerun: " + t.Rerun}
				js.Failures++
			case results.Skipped:
				c.Skipped = &junitMessage{Message: "skipped: " + firstLine(t.Failure)}
				js.Skipped++
			case results.NotSupported:
				c.Skipped = &junitMessage{Message: "not supported: needs features " + strings.Join(t.Features, ", ")}
				js.Skipped++
			}
			js.Tests++
			total += t.DurationSeconds
			js.Cases = append(js.Cases, c)
		}
		if js.Tests == 0 {
			continue
		}
		js.Time = seconds(total)
		all.Tests += js.Tests
		all.Failures += js.Failures
		all.Skipped += js.Skipped
		all.Suites = append(all.Suites, js)
	}
	out, err := xml.MarshalIndent(all, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("render JUnit: %w", err)
	}
	return append([]byte(xml.Header), append(out, '\n')...), nil
}

// classname groups testcases: the upstream package, or the semantics
// spec's first feature.
func classname(t results.Test) string {
	if t.Suite == results.Upstream {
		return "gateway-api.conformance.mesh"
	}
	if len(t.Features) > 0 {
		return "gamma-semantics." + t.Features[0]
	}
	return "gamma-semantics"
}

func seconds(s float64) string { return fmt.Sprintf("%.3f", s) }

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if r := []rune(s); len(r) > 200 {
		s = string(r[:200]) + "…"
	}
	return s
}
