package semantics

import "gamma-conformance/reportgen/results"

// requirements maps each spec's full text to the sentence of the
// specification it checks, with its source and level. Every spec has one
// (TestEverySpecStatesItsRequirement).
var requirements = map[string]results.Requirement{}

// Requirement is the sentence of the specification the spec checks.
func (sp Spec) Requirement() (results.Requirement, bool) {
	r, ok := requirements[sp.FullText()]
	return r, ok
}
