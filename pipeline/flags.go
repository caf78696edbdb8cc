package pipeline

import "gamma-conformance/manifests"

// Names the reference mesh is installed under (its XMesh, the namespace
// label that enrolls a namespace, the controllerName of its route status),
// from the install manifests.
const (
	referenceMeshName   = manifests.MeshName
	referenceInject     = manifests.InjectLabel
	referenceController = manifests.ControllerName
)

// ReferenceMeshUpstreamFlags are the upstream runner's flags for a run
// against the reference mesh: features from its XMesh, injection by its
// namespace label, and the report's implementation block. They mean the
// same to gateway-api's own runner.
func ReferenceMeshUpstreamFlags() []string { return meshUpstreamFlags("gamma-conformance-reference") }

// meshUpstreamFlags are the upstream runner's flags for the installed
// reference mesh (either choice set), reported as project.
func meshUpstreamFlags(project string) []string {
	return []string{
		"--gateway-class=", "--mesh-name=" + referenceMeshName, "--conformance-profiles=MESH-HTTP,MESH-GRPC",
		"--namespace-labels=" + referenceInject,
		"--organization=gamma-conformance", "--project=" + project,
		"--url=https://github.com/gamma-conformance/gamma-conformance", "--version=v0.1.0",
		"--contact=gamma-conformance-maintainers", "--mode=default",
	}
}

// ReferenceMeshFlags are all the suite flags of a run against the
// reference mesh: the upstream ones plus route status read under its
// controller name.
func ReferenceMeshFlags() []string {
	return append(ReferenceMeshUpstreamFlags(), "--controller-name="+referenceController)
}

// AlternateMeshFlags are the suite flags of a run against the reference
// mesh switched to its alternate choices: the same mesh name and label
// (its XMesh then claims the alternate's features), reported as its own
// project.
func AlternateMeshFlags() []string {
	return append(meshUpstreamFlags("gamma-conformance-alternate"), "--controller-name="+referenceController)
}
