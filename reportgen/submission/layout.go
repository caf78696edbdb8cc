package submission

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	confv1 "sigs.k8s.io/gateway-api/conformance/apis/v1"
)

const srcLayout = "conformance/reports/README.md How this folder is structured"

// versionFolder matches the name of a reports/<version> folder.
var versionFolder = regexp.MustCompile(`^v[0-9]+\.[0-9]+(\.[0-9]+)?$`)

// folders returns the <version> and <project> folders the file sits in,
// when it sits in such a layout.
func folders(path string) (version, project string, ok bool) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", "", false
	}
	project = filepath.Dir(abs)
	version = filepath.Base(filepath.Dir(project))
	return version, project, versionFolder.MatchString(version)
}

// layoutNote says when the folder rules were not applied.
func layoutNote(path string) string {
	if _, _, ok := folders(path); ok {
		return ""
	}
	return "the file is not in a <version>/<project>/ folder (as in conformance/reports/v1.7/acme-mesh/): the folder rules were not applied"
}

// checkLayout applies the folder rules to a report in <version>/<project>/:
// the folder's version is the report's (hack/verify-reports.sh), the file
// is named <channel>-<implementation version>-<mode>-report.yaml, and the
// project folder has a README.md with a table row linking the report (its
// channel and mode) and a Reproduce section (the reports README).
func checkLayout(path string, rep *confv1.ConformanceReport) []Broken {
	version, project, ok := folders(path)
	if !ok || rep == nil {
		return nil
	}
	var out []Broken
	bad := func(source, format string, args ...any) {
		out = append(out, Broken{RuleLayout, fmt.Sprintf(format, args...), source})
	}
	if majorMinor(version) != majorMinor(rep.GatewayAPIVersion) {
		bad("hack/verify-reports.sh check_report_fields", "gatewayAPIVersion %s does not match the version folder %s (fix: move the report to reports/%s/)",
			rep.GatewayAPIVersion, version, majorMinor(rep.GatewayAPIVersion))
	}
	base := filepath.Base(path)
	if want := fmt.Sprintf("%s-%s-%s-report.yaml", rep.GatewayAPIChannel, rep.Version, rep.Mode); base != want {
		bad(srcLayout, "file name %s, want <channel>-<implementation version>-<mode>-report.yaml = %s (fix: rename the file)", base, want)
	}
	readme, err := os.ReadFile(filepath.Join(project, "README.md"))
	if err != nil {
		bad("hack/verify-reports.sh", "missing README.md in %s (fix: add one with a table of contents and a Reproduce section; see conformance/reports/README.md)", project)
		return out
	}
	out = append(out, checkReadme(string(readme), base, rep)...)
	return out
}

// checkReadme checks the project README's table row for the report and its
// Reproduce section (conformance/reports/README.md, Table of Contents and
// Reproduce).
func checkReadme(readme, file string, rep *confv1.ConformanceReport) []Broken {
	const src = "conformance/reports/README.md Table of Contents"
	var out []Broken
	link := regexp.MustCompile(`\[[^\]]*\breport\]\(\./` + regexp.QuoteMeta(file) + `\)`)
	row := ""
	for _, line := range strings.Split(readme, "\n") {
		if link.MatchString(line) {
			row = line
			break
		}
	}
	switch cells := strings.Split(strings.Trim(strings.TrimSpace(row), "|"), "|"); {
	case row == "":
		out = append(out, Broken{RuleLayout, fmt.Sprintf("README.md has no table row linking the report as [<version> report](./%s) (fix: add the row: | channel | version | mode | link |)", file), src})
	case len(cells) < 4:
		out = append(out, Broken{RuleLayout, fmt.Sprintf("README.md row of %s has %d cells, want | API channel | Implementation version | Mode | Report |", file, len(cells)), src})
	case strings.TrimSpace(cells[0]) != rep.GatewayAPIChannel || strings.TrimSpace(cells[2]) != rep.Mode:
		out = append(out, Broken{RuleLayout, fmt.Sprintf("README.md row of %s says channel %q mode %q, the report %q %q (fix: make the row match the report)",
			file, strings.TrimSpace(cells[0]), strings.TrimSpace(cells[2]), rep.GatewayAPIChannel, rep.Mode), src})
	}
	if !regexp.MustCompile(`(?m)^#+\s*Reproduce\b`).MatchString(readme) {
		out = append(out, Broken{RuleLayout, "README.md has no Reproduce section (fix: add `## Reproduce` with the steps that reproduce the report)", "conformance/reports/README.md Reproduce"})
	}
	return out
}

// majorMinor is "v1.7" for "v1.7", "v1.7.0" or "1.7.0" (verify-reports.sh
// compares major.minor only).
func majorMinor(v string) string {
	m := regexp.MustCompile(`^v?([0-9]+\.[0-9]+)`).FindStringSubmatch(v)
	if m == nil {
		return v
	}
	return "v" + m[1]
}
