# Reports (reportgen/): render a saved run, refresh the committed reference
# reports, and the headless Chromium the HTML test renders the page with.
# The run whose reports `make reports` copies (a `make conformance` output).
REPORTS_RUN ?= $(OUT)/suites
# Where the committed reports of the reference mesh live (upstream layout:
# reports/<major.minor of GATEWAY_API_VERSION>/<project>).
REPORTS_DIR ?= reports/$(shell echo $(GATEWAY_API_VERSION) | cut -d. -f1,2)/gamma-conformance-reference

.PHONY: report
report: gammaconf ## re-render the reports of the run in REPORTS_RUN (default $(OUT)/suites), in place, no cluster needed
	$(GAMMACONF) report --results $(REPORTS_RUN)

.PHONY: reports
reports: gammaconf ## refresh $(REPORTS_DIR) (reports, badges, README) from the real run in REPORTS_RUN
	@test -f $(REPORTS_RUN)/results.json || { echo "no results in $(REPORTS_RUN): run 'make conformance' first (or set REPORTS_RUN=<run folder>)"; exit 1; }
	$(GAMMACONF) report --results $(REPORTS_RUN) --output $(REPORTS_DIR) --readme

.PHONY: chromium
chromium: ## install Debian's chromium (headless HTML rendering test) when missing; needs root
	@command -v chromium >/dev/null || { \
		[ "$$(id -u)" = 0 ] || { echo "chromium is missing and installing it needs root: sudo apt-get install -y --no-install-recommends chromium"; exit 1; }; \
		echo "installing chromium (apt)"; start=$$(date +%s); \
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium >/dev/null || \
			{ apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium >/dev/null; }; \
		echo "chromium installed in $$(( $$(date +%s) - start ))s"; }

.PHONY: reportgen-test
reportgen-test: chromium ## report renderer tests, including the page rendered in headless Chromium (no cluster)
	go test -count=1 ./reportgen/... && go test -count=1 -run 'Report|Badge' ./cmd/gammaconf

# Every committed upstream report (not our semantics reports, which are not
# submitted upstream).
SUBMITTED_REPORTS = $(filter-out %-semantics-report.yaml,$(wildcard reports/v*/*/*-report.yaml))

.PHONY: reports-check
reports-check: gammaconf ## apply upstream's submission rules to every committed upstream report (gammaconf report --check)
	$(GAMMACONF) report $(addprefix --check ,$(SUBMITTED_REPORTS))
