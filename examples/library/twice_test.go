package library

import (
	"os"
	"testing"

	"gamma-conformance/harness/providers"
	"gamma-conformance/profiles"
	"gamma-conformance/reportgen/results"
	"gamma-conformance/suites/semantics"
)

// TestTwoRunsInOneProcess runs the semantics suite twice at once, in
// parallel subtests, with two configurations (two selections, two ways of
// claiming the extended feature, two sets of namespace labels), against the cluster `make test` brought up. That
// cluster has no mesh, so the two runs select pass-through controls, which
// pass there; each run must report exactly its own selection.
func TestTwoRunsInOneProcess(t *testing.T) {
	kubeconfig := os.Getenv("GAMMA_KUBECONFIG")
	if kubeconfig == "" {
		t.Skip("GAMMA_KUBECONFIG is not set: run through `make test`, which brings a cluster up")
	}
	c, err := providers.Open(kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := c.RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	runs := map[string]semantics.Config{
		"http": {
			Focus:             []string{`^Pass-through with no routes HTTP to a Service reaches the Service's own pods$`},
			SupportedFeatures: []string{profiles.NoRoutePassThrough},
			NamespaceLabels:   map[string]string{"examples.gamma-conformance.dev/run": "http"},
		},
		"tcp": {
			LabelFilter:     "control && " + profiles.NoRoutePassThrough,
			Focus:           []string{`a TCP port passes through$`},
			AllFeatures:     true,
			NamespaceLabels: map[string]string{"examples.gamma-conformance.dev/run": "tcp"},
		},
	}
	want := map[string]string{
		"http": "Pass-through with no routes HTTP to a Service reaches the Service's own pods",
		"tcp":  "Pass-through with no routes a TCP port passes through",
	}
	for name, cfg := range runs {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cfg.RESTConfig = rc
			cfg.DumpOnFailure = false
			res := semantics.Run(t, cfg)
			if len(res.Tests) != 1 {
				t.Fatalf("run %s recorded %d specs, want 1 (its own selection): %+v", name, len(res.Tests), res.Tests)
			}
			got := res.Tests[0]
			if got.ID != want[name] || got.Outcome != results.Passed || got.DurationSeconds <= 0 {
				t.Errorf("run %s: %q %s in %.1fs, want %q passed", name, got.ID, got.Outcome, got.DurationSeconds, want[name])
			}
			if c := res.Count(); c.Passed != 1 || c.Failed != 0 {
				t.Errorf("run %s counts %+v", name, c)
			}
		})
	}
}
