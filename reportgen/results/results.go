package results

import "time"

// SchemaVersion is the version of the results file format written by this
// package. Read rejects any other version.
const SchemaVersion = "gamma-conformance.results/v1"

// File is the default name of a results file inside a run's output folder.
const File = "results.json"

// Results is one conformance run.
type Results struct {
	// SchemaVersion is always SchemaVersion.
	SchemaVersion string `json:"schemaVersion"`
	// SuiteVersion is the version of the gamma-conformance suites that ran.
	SuiteVersion string `json:"suiteVersion"`
	// GatewayAPI is the version and channel of the installed CRDs, as the
	// upstream suite reads them (UNDEFINED when mismatches were allowed).
	GatewayAPI GatewayAPI `json:"gatewayAPI"`
	// Implementation is the mesh under test; same fields as the upstream
	// report's implementation block.
	Implementation Implementation `json:"implementation"`
	// Run describes how and when the run happened.
	Run Run `json:"run"`
	// Profiles lists every profile the run attributed tests to.
	Profiles []Profile `json:"profiles"`
	// UpstreamReport is the file name, relative to the results file, of the
	// upstream ConformanceReport YAML exactly as the upstream suite wrote it;
	// empty when the upstream part did not run or wrote no report.
	UpstreamReport string `json:"upstreamReport,omitempty"`
	// Tests holds one entry per upstream test and per semantics spec.
	Tests []Test `json:"tests"`
}

// GatewayAPI identifies the Gateway API release the cluster has installed.
type GatewayAPI struct {
	Version string `json:"version"`
	Channel string `json:"channel"`
}

// Implementation mirrors the upstream report's implementation block.
type Implementation struct {
	Organization string   `json:"organization"`
	Project      string   `json:"project"`
	URL          string   `json:"url"`
	Version      string   `json:"version"`
	Contact      []string `json:"contact"`
}

// Run is the metadata of one run.
type Run struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// Mode is the upstream --mode (e.g. "default", "ambient").
	Mode string `json:"mode"`
	// ConformanceProfiles are the profiles requested for the run.
	ConformanceProfiles []string `json:"conformanceProfiles"`
	// SupportedFeatures is the feature set the run treated as supported.
	SupportedFeatures []string `json:"supportedFeatures,omitempty"`
	// ExemptFeatures were excluded on request.
	ExemptFeatures []string `json:"exemptFeatures,omitempty"`
	// ControllerName selects whose route status entries the semantics suite
	// read; empty means any entry for the parentRef.
	ControllerName string `json:"controllerName,omitempty"`
	// Command is the binary that ran; Args are its arguments as given.
	Command string   `json:"command"`
	Args    []string `json:"args"`
}

// Profile is a conformance profile and the features it covers.
type Profile struct {
	Name  string `json:"name"`
	Suite Suite  `json:"suite"`
	// Core and Extended are the profile's feature sets.
	Core     []string `json:"core"`
	Extended []string `json:"extended,omitempty"`
	// SupportedExtended and UnsupportedExtended split Extended by what the
	// implementation claimed for this run.
	SupportedExtended   []string `json:"supportedExtended,omitempty"`
	UnsupportedExtended []string `json:"unsupportedExtended,omitempty"`
}

// Suite names where a test comes from.
type Suite string

const (
	// Upstream is the gateway-api mesh conformance tests.
	Upstream Suite = "upstream"
	// Semantics is the GAMMA semantics suite of this project.
	Semantics Suite = "semantics"
)

// Outcome is the result of one test.
type Outcome string

const (
	Passed  Outcome = "passed"
	Failed  Outcome = "failed"
	Skipped Outcome = "skipped"
	// NotSupported: the test needs a feature the implementation does not claim.
	NotSupported Outcome = "not-supported"
	// Flaky: over the runs of a repeated run the test both passed and
	// failed (see Test.Repeats); never shown as a plain pass or fail.
	Flaky Outcome = "flaky"
)

// Level is how a test counts for a profile.
type Level string

const (
	Core     Level = "core"
	Extended Level = "extended"
)

// Attribution says that a test counts for a profile, at a level.
type Attribution struct {
	Profile string `json:"profile"`
	Level   Level  `json:"level"`
}

// Test is one upstream test or one semantics spec.
type Test struct {
	// ID is the upstream ShortName, or the semantics spec's full text.
	ID    string `json:"id"`
	Suite Suite  `json:"suite"`
	// Description is a human sentence saying what the test checks.
	Description string  `json:"description,omitempty"`
	Outcome     Outcome `json:"outcome"`
	// Features the test needs.
	Features []string `json:"features"`
	// Labels are the semantics spec's Ginkgo labels (one per feature, plus
	// "control" for specs that must pass with no mesh installed).
	Labels []string `json:"labels,omitempty"`
	// Profiles the test counts for; empty means it counts for none (the
	// upstream rules leave 8 mesh tests in no profile).
	Profiles []Attribution `json:"profiles,omitempty"`
	// Provisional marks upstream provisional tests.
	Provisional     bool    `json:"provisional,omitempty"`
	DurationSeconds float64 `json:"durationSeconds"`
	// Failure is the failure text (or the skip reason for skipped tests).
	Failure string `json:"failure,omitempty"`
	// Location is the source location of the failure, when known.
	Location string `json:"location,omitempty"`
	// Rerun is the exact command that reruns just this test.
	Rerun string `json:"rerun"`
	// Requirement is the sentence of the specification a semantics spec
	// checks (nil for upstream tests).
	Requirement *Requirement `json:"requirement,omitempty"`
	// Repeats is how the test fared over the runs of a repeated run
	// (`gammaconf run --repeat N`); nil for a single run. DurationSeconds
	// is then the median.
	Repeats *Repeats `json:"repeats,omitempty"`
}

// Repeats is a test's record over the runs of a repeated run.
type Repeats struct {
	// Runs is how many runs ran it (passed or failed); Passed how many
	// of those it passed.
	Runs   int `json:"runs"`
	Passed int `json:"passed"`
	// MedianSeconds and MaxSeconds are over the runs that ran it.
	MedianSeconds float64 `json:"medianSeconds"`
	MaxSeconds    float64 `json:"maxSeconds"`
}

// Requirement is a sentence of the specification and its level.
type Requirement struct {
	// Text is the sentence, quoted.
	Text string `json:"text"`
	// Source is where it is: an API field doc (e.g. "HTTPRouteRule.Matches")
	// or a GEP ("GEP-1294").
	Source string `json:"source"`
	// Level is the sentence's RFC 2119 keyword: MUST, SHOULD or MAY.
	Level string `json:"level"`
}

// Requirement levels.
const (
	MUST   = "MUST"
	SHOULD = "SHOULD"
	MAY    = "MAY"
)

// ControlLabel is the label of semantics specs that are controls by nature
// (pass-through, pod IP): they pass with or without a mesh.
const ControlLabel = "control"

// IsControl reports whether the test carries the control label.
func (t Test) IsControl() bool {
	for _, l := range t.Labels {
		if l == ControlLabel {
			return true
		}
	}
	return false
}
