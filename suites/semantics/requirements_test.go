package semantics

import (
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"gamma-conformance/profiles"
	"gamma-conformance/reportgen/results"
)

var updateReadme = flag.Bool("update-readme", false, "rewrite the spec table in suites/README.md")

func TestEverySpecStatesItsRequirement(t *testing.T) {
	ids := map[string]bool{}
	for _, sp := range Specs() {
		ids[sp.FullText()] = true
		r, ok := sp.Requirement()
		if !ok {
			t.Errorf("%q states no requirement (suites/semantics/requirements.go)", sp.FullText())
			continue
		}
		if strings.TrimSpace(r.Text) == "" || strings.TrimSpace(r.Source) == "" || strings.TrimSpace(sp.AllowedAnswers()) == "" {
			t.Errorf("%q: empty sentence, source or allowed answers: %+v %q", sp.FullText(), r, sp.AllowedAnswers())
		}
		if !slices.Contains([]string{results.MUST, results.SHOULD, results.MAY}, r.Level) {
			t.Errorf("%q: unknown level %q", sp.FullText(), r.Level)
		}
		if r.Level != results.MUST {
			for _, f := range sp.Features() {
				if profiles.IsCore(f) {
					t.Errorf("%q checks a %s but tests the core feature %s: a SHOULD or MAY is an extended feature a mesh claims", sp.FullText(), r.Level, f)
				}
			}
		}
	}
	for id := range specRequirements {
		if !ids[id] {
			t.Errorf("requirement for %q, which is no spec", id)
		}
	}
}

func TestEveryFeatureHasASpec(t *testing.T) {
	for _, f := range profiles.Features() {
		found := false
		for _, sp := range Specs() {
			found = found || slices.Contains(sp.Features(), f)
		}
		if !found {
			t.Errorf("feature %s has no spec", f)
		}
	}
}

// specTable is the Markdown tables of every feature (its level, how many
// specs test it) and of every spec with its features, level, source and
// allowed answers.
func specTable() string {
	var b strings.Builder
	b.WriteString("| feature | profile level | specs | levels of their sentences |\n|---|---|---|---|\n")
	for _, f := range profiles.Features() {
		kind := "extended"
		if profiles.IsCore(f) {
			kind = "core"
		}
		n, levels := 0, map[string]bool{}
		for _, sp := range Specs() {
			if slices.Contains(sp.Features(), f) {
				r, _ := sp.Requirement()
				n, levels[r.Level] = n+1, true
			}
		}
		var ls []string
		for _, l := range []string{results.MUST, results.SHOULD, results.MAY} {
			if levels[l] {
				ls = append(ls, l)
			}
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %s |\n", f, kind, n, strings.Join(ls, ", "))
	}
	b.WriteString("\n| spec | features | level | source | allowed answers |\n|---|---|---|---|---|\n")
	for _, sp := range Specs() {
		r, _ := sp.Requirement()
		var feats []string
		for _, f := range sp.Features() {
			kind := "extended"
			if profiles.IsCore(f) {
				kind = "core"
			}
			feats = append(feats, fmt.Sprintf("%s (%s)", f, kind))
		}
		id := sp.FullText()
		if sp.Control() {
			id += " *(control)*"
		}
		cell := func(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", cell(id), strings.Join(feats, ", "), r.Level, cell(r.Source), cell(sp.AllowedAnswers()))
	}
	return b.String()
}

const (
	tableStart = "<!-- spec table: go test ./suites/semantics -run TestReadmeListsEverySpec -update-readme -->\n"
	tableEnd   = "<!-- end of spec table -->\n"
)

func TestReadmeListsEverySpec(t *testing.T) {
	const path = "../README.md"
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	readme := string(data)
	before, rest, ok1 := strings.Cut(readme, tableStart)
	_, after, ok2 := strings.Cut(rest, tableEnd)
	if !ok1 || !ok2 {
		t.Fatalf("%s has no spec table between %q and %q", path, tableStart, tableEnd)
	}
	want := before + tableStart + specTable() + tableEnd + after
	if want == readme {
		return
	}
	if *updateReadme {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("the spec table in %s is out of date: go test ./suites/semantics -run TestReadmeListsEverySpec -update-readme", path)
}
