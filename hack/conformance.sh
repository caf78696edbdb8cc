#!/usr/bin/env bash
# The main job (`make conformance`): on this host, with nothing prepared by
# hand, bring up the embedded cluster, install the experimental-channel
# Gateway API CRDs, run the negative control (semantics suite, no mesh),
# install the reference mesh, run both suites, switch the mesh to the
# alternate choices (the other legal answer wherever the specification leaves
# one) and run both suites again, render the reports, and bring the cluster
# down again (always, also on failure). It fails unless the negative control
# holds and both meshes pass every test they claim.
#
# usage: hack/conformance.sh <gammaconf binary> <output dir>
set -uo pipefail
gammaconf=$1 out=$2
start=$(date +%s)
kubeconfig=${GAMMA_CLUSTER_DIR:-/var/lib/gamma-conformance/local}/kubeconfig
cluster_flags=(--provider local --dir "$(dirname "$kubeconfig")")
log() { echo "conformance: [$(( $(date +%s) - start ))s] $*"; }

if [[ $(id -u) != 0 ]]; then
	echo "conformance: the embedded cluster needs root (it runs containerd, kubelet and kube-proxy on this host); run as root, or run \`gammaconf run\` against your own cluster" >&2
	exit 2
fi

down() {
	trap - EXIT INT TERM
	log "bringing the cluster down"
	"$gammaconf" cluster down "${cluster_flags[@]}"
}
trap 'down; exit 130' INT TERM
trap 'rc=$?; down || rc=1; log "done (exit $rc)"; echo "conformance_wall_s=$(( $(date +%s) - start ))"; exit $rc' EXIT

set -e
rm -rf "$out/suites" "$out/negative-control" "$out/alternate"
mkdir -p "$out"
log "cluster up"
"$gammaconf" cluster up "${cluster_flags[@]}"
log "Gateway API CRDs (experimental channel)"
"$gammaconf" crds install --kubeconfig "$kubeconfig" --channel experimental
"$gammaconf" run --kubeconfig "$kubeconfig" --output-dir "$out" --negative-control
log "negative control held; installing the reference mesh"
"$gammaconf" mesh install --kubeconfig "$kubeconfig" --work-dir "$out/mesh"
# suites <project> [suite flags...]: both suites against the installed mesh.
suites() {
	local project=$1
	shift
	"$gammaconf" run --kubeconfig "$kubeconfig" --output-dir "$out" --suite-binary "$out/bin/suites.test" -- \
		--gateway-class= --mesh-name=gamma-reference --conformance-profiles=MESH-HTTP,MESH-GRPC \
		--namespace-labels=mesh.gamma-conformance.dev/inject=enabled \
		--controller-name=gamma-conformance.dev/reference-mesh \
		--organization=gamma-conformance --project="$project" \
		--url=https://github.com/gamma-conformance/gamma-conformance --version=v0.1.0 \
		--contact=gamma-conformance-maintainers --mode=default "$@"
}
log "running both suites against the reference mesh"
set +e
suites gamma-conformance-reference
rc=$?
set -e
log "switching the mesh to the alternate choices"
"$gammaconf" mesh switch-choices alternate --kubeconfig "$kubeconfig"
# The flags claim what the alternate claims on its XMesh (upstream and
# semantics features), and exempt the semantics features it drops.
read -r -a alt_claims < <("$gammaconf" mesh claims alternate)
log "running both suites against the alternate mesh"
set +e
suites gamma-conformance-alternate "${alt_claims[@]}" --output-dir="$out/alternate"
alt_rc=$?
set -e
log "rendering the reports into $out/suites and $out/alternate"
"$gammaconf" report --results "$out/suites"
"$gammaconf" report --results "$out/negative-control"
"$gammaconf" report --results "$out/alternate"
if [[ $rc != 0 ]]; then
	log "the reference mesh failed tests it claims (exit $rc): see $out/suites/report.html"
	exit "$rc"
fi
if [[ $alt_rc != 0 ]]; then
	log "the alternate mesh failed tests it claims (exit $alt_rc): see $out/alternate/report.html"
	exit "$alt_rc"
fi
log "every claimed test passed on both meshes; reports in $out/suites and $out/alternate"
