# Cluster targets (harness/): one cluster serves a whole `make test`.
GAMMA_PROVIDER ?= local
# State directory of the local cluster; its kubeconfig is $(GAMMA_CLUSTER_DIR)/kubeconfig.
GAMMA_CLUSTER_DIR ?= /var/lib/gamma-conformance/local
GAMMACONF := $(OUT)/bin/gammaconf

.PHONY: gammaconf
gammaconf: ## build the gammaconf command into $(OUT)/bin
	@mkdir -p $(OUT)/bin
	go build -o $(GAMMACONF) ./cmd/gammaconf

.PHONY: cluster-up
cluster-up: gammaconf ## bring the test cluster up (GAMMA_PROVIDER=local|existing), print its kubeconfig
	$(GAMMACONF) cluster up --provider $(GAMMA_PROVIDER) --dir $(GAMMA_CLUSTER_DIR) $(GAMMA_CLUSTER_FLAGS)

.PHONY: cluster-down
cluster-down: gammaconf ## remove the test cluster and everything it changed on the host
	$(GAMMACONF) cluster down --provider $(GAMMA_PROVIDER) --dir $(GAMMA_CLUSTER_DIR) $(GAMMA_CLUSTER_FLAGS)

.PHONY: cluster-status
cluster-status: gammaconf ## say whether the test cluster is up
	$(GAMMACONF) cluster status --provider $(GAMMA_PROVIDER) --dir $(GAMMA_CLUSTER_DIR) $(GAMMA_CLUSTER_FLAGS)

.PHONY: e2e-kind
e2e-kind: gammaconf ## cluster smoke test on kind (private dockerd from hack/kind-docker-host.sh, stopped afterwards)
	engine=$$(hack/kind-docker-host.sh up) || { hack/kind-docker-host.sh down; exit 1; }; \
	eval "$$engine"; export DOCKER_HOST; \
	trap 'hack/kind-docker-host.sh down' EXIT; \
	GAMMA_PROVIDER=kind GAMMA_CLUSTER_DIR=/var/lib/gamma-conformance/kind \
		hack/test-with-cluster.sh $(GAMMACONF) -count=1 -v ./harness/e2e

.PHONY: conformance-kind
conformance-kind: gammaconf ## the main job on a kind cluster (private dockerd from hack/kind-docker-host.sh, stopped afterwards), reports in $(OUT)/kind
	engine=$$(hack/kind-docker-host.sh up) || { hack/kind-docker-host.sh down; exit 1; }; \
	eval "$$engine"; export DOCKER_HOST; \
	trap 'hack/kind-docker-host.sh down' EXIT; \
	$(GAMMACONF) conformance --provider kind --dir /var/lib/gamma-conformance/kind --output-dir $(OUT)/kind --gateway-api-version $(GATEWAY_API_VERSION)
