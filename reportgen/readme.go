package reportgen

import (
	"bytes"
	"cmp"
	_ "embed"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/template"
)

//go:embed readme.md.tmpl
var readmeSource string

var readmeTemplate = template.Must(template.New("readme").Parse(readmeSource))

type readmeRow struct {
	Channel, Version, Mode, Report, Semantics string
}

// Readme renders the README.md of a reports folder like upstream's
// per-implementation READMEs: a channel | version | mode | report table and
// how to reproduce. It lists every *-report.yaml (other than our semantics
// reports) already in dir or about to be written there (files).
func Readme(dir string, files []File) (File, error) {
	reports := map[string][]byte{}
	existing, _ := filepath.Glob(filepath.Join(dir, "*-report.yaml"))
	for _, p := range existing {
		data, err := os.ReadFile(p)
		if err != nil {
			return File{}, fmt.Errorf("README: %w", err)
		}
		reports[filepath.Base(p)] = data
	}
	var badges []string
	for _, f := range files {
		if filepath.Dir(f.Name) == "." && strings.HasSuffix(f.Name, "-report.yaml") {
			reports[f.Name] = f.Data
		}
		if filepath.Dir(f.Name) == BadgesDir {
			badges = append(badges, filepath.ToSlash(f.Name))
		}
	}
	var rows []readmeRow
	version := ""
	for name, data := range reports {
		if strings.HasSuffix(name, "-semantics-report.yaml") {
			continue
		}
		rep, err := ParseReport(data)
		if err != nil {
			return File{}, fmt.Errorf("README: %s: %w", filepath.Join(dir, name), err)
		}
		version = rep.GatewayAPIVersion
		row := readmeRow{Channel: rep.GatewayAPIChannel, Version: rep.Implementation.Version, Mode: rep.Mode, Report: name}
		if sem := strings.TrimSuffix(name, "-report.yaml") + "-semantics-report.yaml"; reports[sem] != nil {
			row.Semantics = sem
		}
		rows = append(rows, row)
	}
	slices.SortFunc(rows, func(a, b readmeRow) int { return strings.Compare(a.Report, b.Report) })
	slices.Sort(badges)
	var buf bytes.Buffer
	if err := readmeTemplate.Execute(&buf, map[string]any{"Rows": rows, "Badges": badges, "GatewayAPIVersion": cmp.Or(version, "<version>")}); err != nil {
		return File{}, fmt.Errorf("render README: %w", err)
	}
	return File{ReadmeFile, buf.Bytes()}, nil
}
