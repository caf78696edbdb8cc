# make protocol: the reference mesh's proxy held to protocol suites the
# project did not write (referenceimpl/README.md, "Protocol suites").
# The suites' own module (referenceimpl/proxy/protocol) pins h2spec and
# grpc-go's interop package with their dependencies.

PROTOCOL_MODULE := referenceimpl/proxy/protocol
H2SPEC := $(OUT)/bin/h2spec

.PHONY: protocol
protocol: ## the proxy vs h2spec (and x/net's h2c server), an HTTP/1.1 battery (vs net/http), grpc-go interop; 10 cluster up/down cycles; counts as name=value
	@mkdir -p $(OUT)/bin
	cd $(PROTOCOL_MODULE) && GOWORK=off go build -o $(H2SPEC) github.com/summerwind/h2spec/cmd/h2spec
	GAMMA_H2SPEC=$(H2SPEC) go test -count=1 -v -run '^(TestH2Spec|TestHTTP1Battery|TestStalledStreamsBounded)$$' ./referenceimpl/proxy/ | tee $(OUT)/protocol.txt
	cd $(PROTOCOL_MODULE) && GOWORK=off go test -count=1 -v ./... | tee -a $(OUT)/protocol.txt
	@# 10 cluster up/down cycles: down must return only once every process
	@# it stopped has exited. Skips when not root or a cluster is up.
	GAMMA_CLUSTER_CYCLES=10 go test -count=1 -v -timeout 30m -run '^TestUpDownCycles$$' ./harness/local/ | tee -a $(OUT)/protocol.txt
	@echo "--- protocol figures ---"
	@grep -hoE '^(h2spec|h1_battery|grpc_interop|proxy|cluster)_[a-z0-9_]*=[0-9.]+( [a-z0-9_]+=[0-9.]+)*' $(OUT)/protocol.txt | tr ' ' '\n'
