package results

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// split makes the sample into an upstream run (v1.7.0 binary) and a later
// semantics-only run that could not read the CRD version.
func split() (up, sem *Results) {
	s := sample()
	u, m := *s, *s
	u.Profiles, u.Tests, u.UpstreamReport = s.Profiles[:1], s.Tests[:1], "upstream-report.yaml"
	u.Run.SupportedFeatures = []string{"Mesh", "HTTPRoute"}
	m.Profiles, m.Tests = s.Profiles[1:], s.Tests[1:]
	m.GatewayAPI = GatewayAPI{Version: "UNDEFINED", Channel: "UNDEFINED"}
	m.Run.Start, m.Run.End = s.Run.End, s.Run.End.Add(2*time.Minute)
	m.Run.SupportedFeatures = []string{"SemanticsProducerRoute", "Mesh"}
	m.Run.ControllerName = "example.com/mesh"
	return &u, &m
}

func TestMerge(t *testing.T) {
	up, sem := split()
	r, err := Merge(up, sem)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Tests) != 3 || len(r.Profiles) != 2 || r.UpstreamReport != "upstream-report.yaml" || r.GatewayAPI.Version != "v1.6.3" {
		t.Errorf("merged %+v", r)
	}
	if !r.Run.Start.Equal(up.Run.Start) || !r.Run.End.Equal(sem.Run.End) || r.Run.ControllerName != "example.com/mesh" {
		t.Errorf("run %+v", r.Run)
	}
	if want := []string{"HTTPRoute", "Mesh", "SemanticsProducerRoute"}; !slices.Equal(r.Run.SupportedFeatures, want) {
		t.Errorf("supported features %v, want %v", r.Run.SupportedFeatures, want)
	}
	if len(up.Tests) != 1 {
		t.Errorf("Merge changed its input: %d tests", len(up.Tests))
	}
}

func TestMergeRefuses(t *testing.T) {
	for name, c := range map[string]struct {
		edit func(up, sem *Results)
		want string
	}{
		"other CRDs":      {func(_, sem *Results) { sem.GatewayAPI = GatewayAPI{Version: "v1.7.0", Channel: "experimental"} }, "different Gateway API CRDs"},
		"two reports":     {func(_, sem *Results) { sem.UpstreamReport = "x.yaml" }, "both runs have an upstream report"},
		"a profile twice": {func(up, sem *Results) { sem.Profiles = append(sem.Profiles, up.Profiles[0]) }, `profile "MESH-HTTP" listed twice`},
		"a test twice":    {func(up, sem *Results) { sem.Tests = append(sem.Tests, up.Tests[0]) }, "duplicate id"},
	} {
		up, sem := split()
		c.edit(up, sem)
		if _, err := Merge(up, sem); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
}
