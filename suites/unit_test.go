package suites

import (
	"flag"
	"strings"
	"testing"
	"time"
)

// Tests of the suite's own helpers; they need no cluster.

func TestUpstreamDurationsFromVerboseOutput(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(sec float64, text string) line {
		return line{t0.Add(time.Duration(sec * float64(time.Second))), text}
	}
	lines := []line{
		at(0, "=== RUN   TestConformance/MeshBasic"),
		at(0.5, "=== RUN   TestConformance/MeshPorts"),
		at(1.2, "=== RUN   TestConformance/MeshPorts/sub"),
		at(4, "=== RUN   TestConformance/MeshFrontend"),
		at(4, "=== RUN   TestConformance/HTTPRouteSimple"),
		at(9, "--- PASS: TestConformance (9.00s)"),
		at(9, "    --- PASS: TestConformance/MeshBasic (0.01s)"),
		at(9, "    --- SKIP: TestConformance/MeshFrontend (0.00s)"),
	}
	d := upstreamDurations(lines)
	if len(d) != 2 || d[0] != 0.5 || d[1] != 3.5 {
		t.Fatalf("durations %v, want [0.5 3.5]", d)
	}
	if m := median([]float64{3, 1, 2, 10}); m != 2.5 {
		t.Errorf("median %v, want 2.5", m)
	}
}

func TestUnknownFeatureFlagIsRefused(t *testing.T) {
	f := flag.Lookup("supported-features")
	saved := f.Value.String()
	defer f.Value.Set(saved)
	if err := f.Value.Set("Mesh,SemanticsProducerRoute"); err != nil {
		t.Fatal(err)
	}
	if err := checkFeatureFlags(); err != nil {
		t.Errorf("known names refused: %v", err)
	}
	f.Value.Set("Mesh,SemanticsProducerRoutes")
	if err := checkFeatureFlags(); err == nil || !strings.Contains(err.Error(), `unknown feature name "SemanticsProducerRoutes" in --supported-features: did you mean SemanticsProducerRoute?`) {
		t.Errorf("got %v", err)
	}
}
