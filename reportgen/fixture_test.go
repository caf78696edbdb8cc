package reportgen

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	confv1 "sigs.k8s.io/gateway-api/conformance/apis/v1"
	meshtests "sigs.k8s.io/gateway-api/conformance/tests/mesh"
	"sigs.k8s.io/gateway-api/conformance/utils/suite"
	"sigs.k8s.io/yaml"

	"gamma-conformance/profiles"
	"gamma-conformance/reportgen/results"
)

// The fixture run: every upstream v1.6.3 mesh test with its real features
// and the real profiles, plus semantics specs, with these outcomes.
const (
	failedUpstream       = "MeshHTTPRouteWeight"      // MESH-HTTP core
	skippedUpstream      = "MeshHTTPRouteNamedRule"   // MESH-HTTP extended, --skip-tests
	notSupportedUpstream = "MeshHTTPRouteRewritePath" // exempt feature
	failedUnprofiled     = "MeshHTTPRoute307Redirect" // in no upstream profile
	failedSpec           = "Consumer routes replace the producer route in their namespace only"
	skippedSpec          = "Request timeouts a consumer route timeout overrides the producer's"
	controlSpec          = "Pass-through traffic to a pod IP is never routed"
	fixtureGatewayAPI    = "v1.6.3"
	fixtureMeshVersion   = "v0.1.0"
	fixtureReportPrefix  = "experimental-v0.1.0-default"
	exemptFeature        = "MeshHTTPRouteRewritePath"
)

// unprofiledTests are the upstream mesh tests upstream counts in no profile.
var unprofiledTests = []string{
	"MeshConsumerRoute", "MeshFrontend", "MeshFrontendHostname", "MeshHTTPRoute303Redirect",
	"MeshHTTPRoute307Redirect", "MeshHTTPRoute308Redirect", "MeshPorts",
}

// fixtureRun writes a results file and the upstream report beside it into a
// temporary folder, the way the suite binary does, and returns its path.
func fixtureRun(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	r := fixtureResults()
	up := upstreamReportFor(r)
	raw, err := yaml.Marshal(up) // as the upstream runner writes it
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "upstream-report.yaml"), raw, 0o600); err != nil {
		t.Fatal(err)
	}
	r.UpstreamReport = "upstream-report.yaml"
	path := filepath.Join(dir, results.File)
	if err := results.Write(path, r); err != nil {
		t.Fatal(err)
	}
	return path
}

// fixtureRequirement is the sentence one fixture spec checks.
const fixtureRequirement = "the Gateway MUST return a timeout error"

func fixtureResults() *results.Results {
	start := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	r := &results.Results{
		SchemaVersion: results.SchemaVersion,
		SuiteVersion:  "v0.1.0",
		GatewayAPI:    results.GatewayAPI{Version: fixtureGatewayAPI, Channel: "experimental"},
		Implementation: results.Implementation{
			Organization: "gamma-conformance", Project: "reference-mesh", URL: "https://example.invalid/gamma-conformance",
			Version: fixtureMeshVersion, Contact: []string{"@gamma-conformance/maintainers"},
		},
		Run: results.Run{
			Start: start, End: start.Add(4*time.Minute + 12*time.Second), Mode: "default",
			ConformanceProfiles: []string{"MESH-HTTP", "MESH-GRPC", profiles.MeshSemanticsName},
			ExemptFeatures:      []string{exemptFeature},
			Command:             "out/bin/suites.test",
			Args:                []string{"--kubeconfig=/tmp/kubeconfig", "--all-features", "--exempt-features=" + exemptFeature, "--skip-tests=" + skippedUpstream},
		},
	}
	supported := map[string]bool{}
	for _, p := range []suite.ConformanceProfile{suite.MeshHTTPConformanceProfile, suite.MeshGRPCConformanceProfile} {
		rp := results.Profile{Name: string(p.Name), Suite: results.Upstream}
		for f := range p.CoreFeatures {
			rp.Core = append(rp.Core, string(f))
		}
		for f := range p.ExtendedFeatures {
			rp.Extended = append(rp.Extended, string(f))
			if string(f) == exemptFeature {
				rp.UnsupportedExtended = append(rp.UnsupportedExtended, string(f))
			} else {
				rp.SupportedExtended = append(rp.SupportedExtended, string(f))
			}
		}
		for _, s := range [][]string{rp.Core, rp.Extended, rp.SupportedExtended, rp.UnsupportedExtended} {
			slices.Sort(s)
		}
		r.Profiles = append(r.Profiles, rp)
	}
	for _, mt := range meshtests.MeshConformanceTests {
		t := results.Test{ID: mt.ShortName, Suite: results.Upstream, Description: mt.Description, Outcome: results.Passed,
			DurationSeconds: 3.5, Rerun: "out/bin/suites.test -test.run=^TestUpstream$ --run-test=" + mt.ShortName}
		for _, f := range mt.Features {
			t.Features = append(t.Features, string(f))
			if string(f) != exemptFeature {
				supported[string(f)] = true
			}
		}
		t.Profiles = results.Attribute(t.Features, r.Profiles)
		switch mt.ShortName {
		case failedUpstream, failedUnprofiled:
			t.Outcome, t.Failure = results.Failed, "weights_test.go:97: expected 0.70±0.05 of requests on echo-v1, got 0.81\n<tab>\tafter 10 tries"
		case skippedUpstream:
			t.Outcome, t.Failure = results.Skipped, "skipped by --skip-tests"
		case notSupportedUpstream:
			t.Outcome = results.NotSupported
		}
		r.Tests = append(r.Tests, t)
	}
	p := profiles.MeshSemantics
	rp := results.Profile{Name: p.Name, Suite: results.Semantics, Core: p.Core, Extended: p.Extended, SupportedExtended: p.Extended}
	r.Profiles = append(r.Profiles, rp)
	specs := []struct {
		id, feature string
		outcome     results.Outcome
	}{
		{"Producer routes reach clients in other namespaces", profiles.ProducerRoute, results.Passed},
		{failedSpec, profiles.RouteMerging, results.Failed},
		{"Route type conflicts a GRPCRoute wins over an HTTPRoute on one port", profiles.RoutePrecedence, results.Passed},
		{controlSpec, profiles.PassThrough, results.Passed},
		{"Request timeouts a producer route's request timeout answers 504", profiles.RequestTimeout, results.Passed},
		{skippedSpec, profiles.ConsumerTimeout, results.Skipped},
	}
	for _, s := range specs {
		t := results.Test{ID: s.id, Suite: results.Semantics, Outcome: s.outcome, Features: []string{s.feature},
			Labels: []string{s.feature}, DurationSeconds: 1.25, Location: "suites/spec_test.go:42",
			Rerun: "out/bin/suites.test '-test.run=^TestSemantics$' '--ginkgo.focus=^" + s.id + "$'"}
		if s.id == controlSpec {
			t.Labels = append(t.Labels, results.ControlLabel)
		}
		if s.feature == profiles.RequestTimeout {
			t.Requirement = &results.Requirement{Text: fixtureRequirement, Source: "HTTPRouteTimeouts.Request", Level: results.MUST}
		}
		switch s.outcome {
		case results.Failed:
			t.Failure = "Expected\n    <int>: 200\nto equal\n    <int>: 404 & <x>"
		case results.Skipped:
			t.Failure = "skipped by label filter"
		}
		t.Profiles = results.Attribute(t.Features, []results.Profile{rp})
		r.Tests = append(r.Tests, t)
		supported[s.feature] = true
	}
	for f := range supported {
		r.Run.SupportedFeatures = append(r.Run.SupportedFeatures, f)
	}
	slices.Sort(r.Run.SupportedFeatures)
	return r
}

// upstreamReportFor builds the report the upstream suite would write for the
// fixture's upstream tests, with upstream's rules (not-supported tests are
// not counted; tests in no profile are in no statistic).
func upstreamReportFor(r *results.Results) *confv1.ConformanceReport {
	rep := &confv1.ConformanceReport{
		Implementation: confv1.Implementation{Organization: r.Implementation.Organization, Project: r.Implementation.Project,
			URL: r.Implementation.URL, Version: r.Implementation.Version, Contact: r.Implementation.Contact},
		Date: r.Run.End.Format(time.RFC3339), GatewayAPIVersion: r.GatewayAPI.Version,
		GatewayAPIChannel: r.GatewayAPI.Channel, Mode: r.Run.Mode,
	}
	rep.APIVersion, rep.Kind = confv1.GroupVersion.String(), "ConformanceReport"
	for _, p := range r.Profiles {
		if p.Suite != results.Upstream {
			continue
		}
		pb := newProfile(p.Name)
		for _, t := range sortedTests(r.Tests) {
			for _, a := range t.Profiles {
				if a.Profile == p.Name {
					pb.add(t.ID, t.Outcome, a.Level == results.Extended)
				}
			}
		}
		rep.ProfileReports = append(rep.ProfileReports, pb.compile(p.SupportedExtended, p.UnsupportedExtended))
	}
	return rep
}
