// Package pipeline is the main job of gamma-conformance as one Go
// function: Conformance brings a cluster up with a harness provider,
// installs the Gateway API CRDs, runs the negative control, installs the
// reference mesh, runs both suites against it, renders the reports and
// brings the cluster down, handing the Cluster from step to step. Data
// flows one way: cluster → mesh install → suites → results → reports.
//
// Suite is the one place where the suite binary's command line is made;
// ReferenceMeshFlags the one place where the reference mesh's suite flags
// are.
package pipeline
