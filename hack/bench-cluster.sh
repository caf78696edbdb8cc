#!/usr/bin/env bash
# Phase 2 of `make bench`, run by hack/test-with-cluster.sh with
# GAMMA_KUBECONFIG set: the benchmarks that need a cluster. First those of
# the Go packages given (they install and remove the reference mesh
# themselves), then the suite run times (suite_s, upstream_runner_s,
# semantics_spec_median_s, semantics_pods, fixture_ready_s,
# upstream_test_median_s) against the reference
# mesh, installed here with the experimental-channel CRDs: first on those of
# Gateway API v1.6.3, then on v1.7.0's (figures suite_v1_7_0_s, ...; the
# mesh reads either).
#
# usage: hack/bench-cluster.sh <gammaconf binary> <output dir> <go packages...>
set -euo pipefail
gammaconf=$1 out=$(realpath -m "$2"); shift 2
: "${GAMMA_KUBECONFIG:?run me through hack/test-with-cluster.sh}"
go test -run '^$' -bench . -benchtime=1x -timeout 60m "$@"
# The suite binary measured here is the root module's (Gateway API v1.6.3).
"$gammaconf" crds install --kubeconfig "$GAMMA_KUBECONFIG" --version v1.6.3 --prune --channel experimental >&2
"$gammaconf" mesh install --kubeconfig "$GAMMA_KUBECONFIG" --work-dir "$out/mesh" >&2
# The same upstream flags go to this suite binary and to the upstream runner
# alone: the reference mesh's (package pipeline, GAMMA_BENCH_REFERENCE=1).
GAMMA_BENCH_KUBECONFIG=$GAMMA_KUBECONFIG GAMMA_BENCH_LOGS=$out/suites-bench GAMMA_BENCH_REFERENCE=1 \
	go test -run '^$' -bench '^BenchmarkConformanceRun$' -benchtime=1x -timeout 60m ./suites
"$gammaconf" crds install --kubeconfig "$GAMMA_KUBECONFIG" --version v1.7.0 --prune --channel experimental >&2
GAMMA_BENCH_KUBECONFIG=$GAMMA_KUBECONFIG GAMMA_BENCH_LOGS=$out/suites-bench-v1.7.0 GAMMA_BENCH_REFERENCE=1 GAMMA_BENCH_GATEWAY_API_VERSION=v1.7.0 \
	go test -run '^$' -bench '^BenchmarkConformanceRun$' -benchtime=1x -timeout 60m ./suites
