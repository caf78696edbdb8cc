# gamma-conformance — the two commands that matter:
#   make conformance   run the main job (reference and alternate mesh, embedded cluster) and write reports to $(OUT)
#                      (Gateway API v1.7.0; GATEWAY_API_VERSION=v1.6.3 for the other release)
#   make test          gofmt check, go vet, staticcheck and every test of the project
# Everything the targets need (apt packages, Go tools, Kubernetes binaries) is
# installed or built by the targets themselves.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# Never fall back to fetching modules straight from their origin: only the
# module proxy is reachable, and a direct fetch would send traffic outside.
GOPROXY := $(shell go env GOPROXY | sed -e 's/,direct//g' -e 's/|direct//g')
export GOPROXY
export GOFLAGS := -buildvcs=false
export GOTOOLCHAIN := local

OUT ?= $(CURDIR)/out
export OUT
# The Gateway API release whose CRDs and upstream mesh tests the suites run:
# v1.7.0 (its upstream runner is the nested module suites/upstream17, built
# with Go 1.27.3 by the targets that need it) or v1.6.3.
GATEWAY_API_VERSION ?= v1.7.0
export GATEWAY_API_VERSION
# Where built Kubernetes binaries and images are cached between runs.
GAMMA_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/gamma-conformance
export GAMMA_CACHE
GO_PACKAGES := ./...

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | sort | awk 'BEGIN{FS=":.*## "}{printf "  %-18s %s\n", $$1, $$2}'

.PHONY: fmt-check
fmt-check: ## fail when a Go file is not gofmt'ed
	@files=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.cache/*')); \
	if [ -n "$$files" ]; then echo "gofmt needed on:"; echo "$$files"; echo "fix: gofmt -w <file>"; exit 1; fi

.PHONY: vet
vet: ## go vet every package
	go vet $(GO_PACKAGES)

# staticcheck, fetched through the module proxy at this version: its checks
# include unused code (U1000) and deprecated APIs (SA1019).
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: lint
lint: ## staticcheck every package (no unused code, no deprecated APIs)
	go run $(STATICCHECK) $(GO_PACKAGES)

.PHONY: unit
unit: ## the tests that need no cluster
	go test -count=1 $(GO_PACKAGES)

.PHONY: test
test: fmt-check vet lint upstream17-check gammaconf ## gofmt check, go vet, staticcheck (also of the nested v1.7.0 module, Go 1.27.3), then all tests against one cluster (brought up and down here)
	hack/test-with-cluster.sh $(GAMMACONF) -count=1 -timeout 30m $(GO_PACKAGES)

.PHONY: bench
bench: gammaconf ## run the benchmarks and print each key figure as name=value
	@mkdir -p $(OUT)
	@# Phase 1: benchmarks that need no cluster (one of them brings its own up),
	@# one package at a time (-p 1): a benchmark of latency or CPU must not
	@# share the two cores with another package's cluster or load.
	go test -p 1 -run '^$$' -bench . -benchtime=1x -timeout 60m $(BENCH_PACKAGES) | tee $(OUT)/bench.txt
	@# Phase 2: benchmarks against one cluster with the reference mesh,
	@# then the suite run times against it (hack/bench-cluster.sh).
	hack/test-with-cluster.sh $(GAMMACONF) --exec hack/bench-cluster.sh $(GAMMACONF) $(OUT) $(CLUSTER_BENCH_PACKAGES) | tee -a $(OUT)/bench.txt
	@echo "--- key figures ---"
	@# A benchmark reports a figure with b.ReportMetric(value, "name"); every
	@# unit made of [a-z0-9_] only is a figure.
	@awk '/^Benchmark/ { for (i = 3; i <= NF; i++) if ($$i ~ /^[a-z][a-z0-9_]*$$/ && $$(i-1) ~ /^[-+0-9.e]+$$/) print $$i "=" $$(i-1) }' $(OUT)/bench.txt

BENCH_PACKAGES ?= ./...
CLUSTER_BENCH_PACKAGES ?= ./harness/mesh

-include make/*.mk

.PHONY: conformance
conformance: gammaconf ## the main job: embedded cluster, CRDs, negative control, reference mesh, both suites, alternate mesh, both suites, reports in $(OUT)
	$(GAMMACONF) conformance --provider local --dir $(GAMMA_CLUSTER_DIR) --output-dir $(OUT) --gateway-api-version $(GATEWAY_API_VERSION)
