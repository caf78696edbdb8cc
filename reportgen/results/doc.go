// Package results is the results file of a conformance run: the contract
// between the suite binary (suites/), which writes it, and the report
// renderers (reportgen/), which read it with no cluster and no suite code.
//
// One run writes one results.json: the schema version, the suite version,
// the Gateway API version and channel, the implementation under test, run
// metadata, the profiles that were run, and one entry per upstream mesh test
// and per GAMMA semantics spec with its outcome, features, profile
// attribution, duration, failure text and the command that reruns just it.
// The upstream ConformanceReport YAML is saved verbatim beside it and named in
// the UpstreamReport field.
package results
