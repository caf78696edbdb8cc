#!/usr/bin/env bash
# `make flake`, run by hack/test-with-cluster.sh with GAMMA_KUBECONFIG set:
# installs the experimental-channel CRDs of GATEWAY_API_VERSION (default
# v1.7.0) and the reference mesh, then runs
# both suites N times in a row (gammaconf run --repeat), each time both at
# once as make conformance runs them (--parallel-suites), while a CPU hog
# occupies one core the whole time (bounded: it is killed when the runs end,
# and cannot outlive FLAKE_HOG_LIMIT). Prints flake_runs=<k> and
# flaky_tests=<n> after each run; the merged results and report are in
# <out>/flake/suites.
#
# usage: hack/flake.sh <gammaconf binary> <output dir> <runs>
set -euo pipefail
gammaconf=$1 out=$(realpath -m "$2") runs=$3
: "${GAMMA_KUBECONFIG:?run me through hack/test-with-cluster.sh}"
version=${GATEWAY_API_VERSION:-v1.7.0}
"$gammaconf" crds install --kubeconfig "$GAMMA_KUBECONFIG" --version "$version" --prune --channel experimental >&2
"$gammaconf" mesh install --kubeconfig "$GAMMA_KUBECONFIG" --work-dir "$out/mesh" >&2
rm -rf "$out/flake"
timeout "${FLAKE_HOG_LIMIT:-50m}" sh -c 'while :; do :; done' &
hog=$!
trap 'kill "$hog" 2>/dev/null || true' EXIT
start=$(date +%s)
rc=0
"$gammaconf" run --kubeconfig "$GAMMA_KUBECONFIG" --output-dir "$out/flake" --repeat "$runs" --reference-mesh --parallel-suites --gateway-api-version "$version" >"$out/flake.log" || rc=$?
"$gammaconf" report --results "$out/flake/suites" >/dev/null || true
echo "flake_wall_s=$(( $(date +%s) - start ))"
exit "$rc"
