#!/usr/bin/env bash
# Runs `go test` for the given packages against one cluster: brings it up,
# exports its kubeconfig as GAMMA_KUBECONFIG, and always brings it down
# (also on failure or interrupt); for the local provider, down also checks
# that the host is exactly as before up. A cluster that is already up is
# reused and left up. The local provider needs root; without
# root the tests run without a cluster and the cluster tests skip themselves.
#
# usage: hack/test-with-cluster.sh <gammaconf binary> <go test args...>
#        hack/test-with-cluster.sh <gammaconf binary> --exec <command> <args...>
# env:   GAMMA_PROVIDER (local|existing), GAMMA_CLUSTER_DIR, GAMMA_CLUSTER_FLAGS
set -uo pipefail
gammaconf=$1; shift
run=(go test)
if [[ ${1:-} == --exec ]]; then
	run=(); shift
fi
provider=${GAMMA_PROVIDER:-local}
flags=(--provider "$provider" --dir "${GAMMA_CLUSTER_DIR:-/var/lib/gamma-conformance/local}")
# shellcheck disable=SC2206 # word splitting of the extra flags is wanted
flags+=(${GAMMA_CLUSTER_FLAGS:-})

if [[ $provider == local && $(id -u) != 0 ]]; then
	echo "test: not root, so no local cluster: the tests that need a cluster are skipped (run as root, or GAMMA_PROVIDER=existing GAMMA_CLUSTER_FLAGS='--kubeconfig <file>')"
	exec "${run[@]}" "$@"
fi
if "$gammaconf" cluster status "${flags[@]}" >/dev/null 2>&1; then
	# Someone brought a cluster up before (make cluster-up): use it, leave it up.
	out=$("$gammaconf" cluster up "${flags[@]}") || exit 1
	kubeconfig=$(sed -n 's/^kubeconfig: //p' <<<"$out")
	echo "test: reusing the cluster that is already up (left up afterwards), GAMMA_KUBECONFIG=$kubeconfig"
	GAMMA_KUBECONFIG=$kubeconfig exec "${run[@]}" "$@"
fi
[[ $provider == local ]] && flags+=(--verify-clean)

down() {
	trap - EXIT INT TERM
	echo "test: bringing the cluster down"
	"$gammaconf" cluster down "${flags[@]}"
}
trap 'down; exit 130' INT TERM
trap 'rc=$?; down || rc=1; exit $rc' EXIT

out=$("$gammaconf" cluster up "${flags[@]}") || { echo "test: cluster up failed"; exit 1; }
kubeconfig=$(sed -n 's/^kubeconfig: //p' <<<"$out")
echo "test: cluster up, GAMMA_KUBECONFIG=$kubeconfig"
GAMMA_KUBECONFIG=$kubeconfig "${run[@]}" "$@"
