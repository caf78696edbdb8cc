// Package semantics is the GAMMA semantics suite as a library: the specs
// that check what no upstream gateway-api test checks — producer and
// consumer routes, merging and precedence of several routes on one Service,
// route-type conflicts, route status, 404 / 500 / 503 / timeouts, retries,
// retry budgets and session persistence — against a real cluster with a
// mesh installed, with real traffic. Every spec checks a sentence of the
// specification (an API field doc or a GEP) and states it with its level
// (Spec.Requirement); where the specification leaves a choice, the spec
// accepts every allowed answer (Spec.AllowedAnswers).
//
// It has the shape of csi-test's pkg/sanity: Run(t, Config) runs the suite
// under a *testing.T (each spec a subtest) and returns its Results in the
// results-file schema (package reportgen/results); GinkgoTest(&cfg) declares
// the specs in a caller's own Ginkgo suite instead. Specs lists them. The
// package keeps no mutable state outside a run: two Runs with different
// Configs in one process do not interfere.
//
//	func TestMeshSemantics(t *testing.T) {
//		res := semantics.Run(t, semantics.Config{
//			RESTConfig:      cfg,
//			NamespaceLabels: map[string]string{"istio-injection": "enabled"},
//			LabelFilter:     "SemanticsConsumerRoute",
//		})
//		t.Logf("%+v", res.Count())
//	}
//
// A run prepares the echo pods its specs declare once, in namespaces they
// share (labelled gamma-conformance/suite=semantics), and deletes them when
// it ends; each spec creates its own Services selecting those pods, its
// routes attach to them, and it deletes everything it created when it ends
// (fixtures.go says why specs stay independent).
// The user of the suite needs to create namespaces, Deployments, Services,
// routes and XBackendTrafficPolicies, exec into pods and read pod logs.
package semantics
