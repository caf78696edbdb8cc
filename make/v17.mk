# Gateway API v1.7.0: its upstream mesh runner is the nested Go module
# suites/upstream17 (go 1.27.0, toolchain go1.27.3), because
# sigs.k8s.io/gateway-api/conformance v1.7.0 needs Go 1.27 while the root
# module stays at Go 1.26 and v1.6.3. Only these targets use Go 1.27.3: they
# export GOTOOLCHAIN=go1.27.3 for themselves, and the go command fetches that
# toolchain from the module proxy the first time (about 76 MB, ~10 s).
UPSTREAM17_DIR := suites/upstream17
UPSTREAM17_BIN := $(OUT)/bin/upstream17.test
UPSTREAM17_TOOLCHAIN := go1.27.3

upstream17-bin upstream17-check: export GOTOOLCHAIN := $(UPSTREAM17_TOOLCHAIN)

.PHONY: upstream17-bin
upstream17-bin: ## build the Gateway API v1.7.0 upstream mesh runner into $(OUT)/bin/upstream17.test (Go 1.27.3)
	@mkdir -p $(OUT)/bin
	cd $(UPSTREAM17_DIR) && go test -c -o $(UPSTREAM17_BIN) .

.PHONY: upstream17-check
upstream17-check: ## go vet, staticcheck and the no-cluster tests of the nested v1.7.0 module (Go 1.27.3)
	cd $(UPSTREAM17_DIR) && go vet . && go run $(STATICCHECK) . && go test -count=1 .
