package semantics

import (
	"fmt"
	"regexp"
	"slices"

	"github.com/onsi/ginkgo/v2/types"

	"gamma-conformance/reportgen/results"
	"gamma-conformance/suites/internal/kube"
)

// Spec is one semantics spec as declared: what it is called, which features
// it tests, what it needs before it starts, and its body.
type Spec struct {
	// Container is the text of the group the spec belongs to; Text its
	// own. FullText (both, space-separated, as Ginkgo joins them) is the
	// spec's ID in the results.
	Container string
	Text      string
	// Labels are the features the spec tests, plus "control" for the
	// controls that pass with no mesh.
	Labels []string
	// since is the first Gateway API release whose CRDs accept what the
	// spec creates ("": every release the suite runs on).
	since string
	// id names the spec's objects (s01, s02, … in declaration order).
	id      string
	fixture kube.Fixture
	body    func(s *S)
}

// FullText is the spec's ID: its group's text and its own.
func (sp Spec) FullText() string { return sp.Container + " " + sp.Text }

// Features are the spec's labels without "control".
func (sp Spec) Features() []string {
	return slices.DeleteFunc(slices.Clone(sp.Labels), func(l string) bool { return l == results.ControlLabel })
}

// Control reports whether the spec is a control (passes with no mesh).
func (sp Spec) Control() bool { return slices.Contains(sp.Labels, results.ControlLabel) }

// Pods is how many pods the spec's fixture declares: apps it shares with
// the other specs of a run (SharedPods counts what a run starts).
func (sp Spec) Pods() int { return sp.fixture.Pods() }

// registry holds every spec in declaration order. It is filled while the
// package initializes (the spec files' `var _ = describe(...)`) and only
// read afterwards.
var registry []Spec

// container is the group being declared (package initialization only).
var container string

// describe declares a group of specs.
func describe(text string, body func()) bool {
	container = text
	body()
	container = ""
	return true
}

// meshIt declares a semantics spec: its labels (one per feature, plus
// "control" for controls), the fixture it needs, and its body. Full texts
// are unique across the suite.
func meshIt(text string, labels []string, fx kube.Fixture, body func(s *S)) bool {
	return register(Spec{Container: container, Text: text, Labels: labels, fixture: fx, body: body})
}

// meshItSince is meshIt for a spec that needs the CRDs of Gateway API
// release or later; on older CRDs it is not supported.
func meshItSince(release, text string, labels []string, fx kube.Fixture, body func(s *S)) bool {
	return register(Spec{Container: container, Text: text, Labels: labels, since: release, fixture: fx, body: body})
}

func register(sp Spec) bool {
	sp.id = fmt.Sprintf("s%02d", len(registry)+1)
	for _, other := range registry {
		if other.FullText() == sp.FullText() {
			panic(fmt.Sprintf("semantics: two specs named %q", sp.FullText()))
		}
	}
	registry = append(registry, sp)
	return true
}

// Specs lists every spec of the suite in the order they run.
func Specs() []Spec { return slices.Clone(registry) }

// selected lists the specs the configuration selects (focus, skip, label
// filter), in order. The configuration must be valid.
func selected(cfg Config) []Spec {
	filter := func([]string) bool { return true }
	if cfg.LabelFilter != "" {
		filter, _ = types.ParseLabelFilter(cfg.LabelFilter)
	}
	var out []Spec
	for _, sp := range registry {
		if filter(sp.Labels) && matchesAny(cfg.Focus, sp.FullText(), true) && !matchesAny(cfg.Skip, sp.FullText(), false) {
			out = append(out, sp)
		}
	}
	return out
}

// matchesAny reports whether text matches one of the expressions; empty
// is whether an empty list counts as a match.
func matchesAny(exprs []string, text string, empty bool) bool {
	if len(exprs) == 0 {
		return empty
	}
	for _, e := range exprs {
		if regexp.MustCompile(e).MatchString(text) {
			return true
		}
	}
	return false
}
