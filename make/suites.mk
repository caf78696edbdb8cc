# Conformance suites (suites/, profiles/): one test binary with the upstream
# mesh tests (TestUpstream) and the GAMMA semantics suite (TestSemantics).
SUITES_BIN := $(OUT)/bin/suites.test
# Cluster to run against; default: the local cluster of cluster.mk.
SUITES_KUBECONFIG ?= $(GAMMA_CLUSTER_DIR)/kubeconfig
# Upstream runner flags (same names and meanings as gateway-api's runner).
SUITES_UPSTREAM_FLAGS ?= --conformance-profiles=MESH-HTTP,MESH-GRPC --all-features --exempt-features=Gateway,ReferenceGrant
# Extra flags for every run, e.g. --namespace-labels=... --controller-name=...
SUITES_FLAGS ?=
# Ginkgo selection for the semantics suite, e.g. SUITES_GINKGO='--ginkgo.label-filter=SemanticsConsumerRoute'
SUITES_GINKGO ?=
NEGATIVE_CONTROL_TIMEOUT ?= 5s

.PHONY: suites-bin
suites-bin: ## build the conformance suite binary into $(OUT)/bin/suites.test
	@mkdir -p $(OUT)/bin
	go test -c -o $(SUITES_BIN) ./suites

# Every target runs the suite binary through `gammaconf run`, which makes its
# command line (package pipeline); results go to <output-dir>/suites.
SUITES_RUN = $(GAMMACONF) run --kubeconfig $(SUITES_KUBECONFIG) --suite-binary $(SUITES_BIN) --gateway-api-version $(GATEWAY_API_VERSION)

.PHONY: suites
suites: suites-bin gammaconf ## run both suites against SUITES_KUBECONFIG, results in $(OUT)/suites
	$(SUITES_RUN) --output-dir $(OUT) -- $(SUITES_UPSTREAM_FLAGS) $(SUITES_FLAGS) $(SUITES_GINKGO)

.PHONY: suites-semantics
suites-semantics: suites-bin gammaconf ## run only the GAMMA semantics suite, results in $(OUT)/semantics/suites
	$(SUITES_RUN) --output-dir $(OUT)/semantics -- -test.run='^TestSemantics$$' $(SUITES_FLAGS) $(SUITES_GINKGO)

.PHONY: suites-meshbasic
suites-meshbasic: suites-bin gammaconf ## run the upstream MeshBasic test alone (passes with no mesh), results in $(OUT)/meshbasic/suites
	$(SUITES_RUN) --output-dir $(OUT)/meshbasic -- -test.run='^TestUpstream$$' --run-test=MeshBasic $(SUITES_FLAGS)

.PHONY: negative-control
negative-control: suites-bin gammaconf ## semantics suite on a cluster with NO mesh: fails unless every mesh spec fails and every control passes
	$(SUITES_RUN) --output-dir $(OUT) --negative-control --negative-control-timeout $(NEGATIVE_CONTROL_TIMEOUT) -- $(SUITES_FLAGS)

.PHONY: suites-unit
suites-unit: ## unit tests of the results schema, profiles and suite helpers (no cluster)
	go test -count=1 ./reportgen/results/... ./profiles/... ./suites/internal/...

.PHONY: suites-bench
suites-bench: ## measure suite_s, upstream_runner_s, semantics_spec_median_s, semantics_pods, fixture_ready_s, upstream_test_median_s against SUITES_KUBECONFIG (mesh installed)
	@mkdir -p $(OUT)
	GAMMA_BENCH_LOGS=$(OUT)/suites-bench GAMMA_BENCH_KUBECONFIG=$(SUITES_KUBECONFIG) GAMMA_BENCH_FLAGS='$(SUITES_FLAGS)' GAMMA_BENCH_UPSTREAM_FLAGS='$(SUITES_UPSTREAM_FLAGS)' \
		go test -run '^$$' -bench '^BenchmarkConformanceRun$$' -benchtime=1x -timeout 90m ./suites | tee $(OUT)/suites-bench.txt
	@awk '/^Benchmark/ { for (i = 3; i <= NF; i++) if ($$i ~ /^[a-z][a-z0-9_]*$$/ && $$(i-1) ~ /^[-+0-9.e]+$$/) print $$i "=" $$(i-1) }' $(OUT)/suites-bench.txt

FLAKE_RUNS ?= 20

.PHONY: flake
flake: gammaconf ## FLAKE_RUNS (20) runs of both suites on the reference mesh beside a one-core CPU hog; prints flake_runs= / flaky_tests= after each run
	hack/test-with-cluster.sh $(GAMMACONF) --exec hack/flake.sh $(GAMMACONF) $(OUT) $(FLAKE_RUNS)
