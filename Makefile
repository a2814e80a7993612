# prdeploy — the front door. `make help` lists the targets.

GO            ?= go
BIN           ?= bin
TEST_TIMEOUT  ?= 30m
FUZZTIME      ?= 60s
# Tools built from the module proxy live outside the checkout, keyed by version.
TOOLS_DIR     ?= $(HOME)/.cache/prdeploy-tools
STATICCHECK_VERSION ?= v0.8.2
STATICCHECK   := $(TOOLS_DIR)/staticcheck-$(STATICCHECK_VERSION)/staticcheck

.DEFAULT_GOAL := help
KUBE_DIR      ?= /tmp/prdeploy-kube
.PHONY: help build deps test test-unit lint bench fuzz demo clean kube-binaries kube-up kube-down kube-smoke test-kube

help: ## List the targets with what they do
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[1m%-14s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

build: ## Build bin/prdeploy
	@echo "==> Building $(BIN)/prdeploy (the first build downloads the Go modules and compiles the embedded Temporal server: a few minutes; later builds are cached)"
	@$(GO) build -o $(BIN)/prdeploy ./cmd/prdeploy

deps: ## Install the Debian packages tests need (Alertmanager, openssl, python3, git, chromium) if missing
	@bash hack/deps.sh

test: deps kube-binaries ## Run every test (what CI runs), real control plane and Alertmanager included
	PRDEPLOY_REAL=required $(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...

test-unit: ## Run the tests; those needing the control plane or Alertmanager skip if they are missing
	$(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...

lint: ## go vet, gofmt and staticcheck (when it installs from the module proxy)
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	@if [ ! -x $(STATICCHECK) ]; then \
	  GOBIN=$(dir $(STATICCHECK)) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) >/dev/null 2>&1 \
	  || echo "staticcheck $(STATICCHECK_VERSION) did not install; skipped"; fi
	@if [ -x $(STATICCHECK) ]; then $(STATICCHECK) ./...; fi

bench: deps kube-binaries ## Run the benchmarks (figures for the issues' closing notes)
	PRDEPLOY_REAL=required $(GO) test -run '^$$' -bench . -benchmem -timeout $(TEST_TIMEOUT) ./...

fuzz: ## Fuzz the plan parser, then the whole repository loader (FUZZTIME=60s each)
	$(GO) test ./planner -run '^$$' -fuzz '^FuzzParsePlan$$' -fuzztime $(FUZZTIME)
	$(GO) test ./planner -run '^$$' -fuzz '^FuzzLoadRepo$$' -fuzztime $(FUZZTIME)

demo: build ## The whole story on embedded defaults: PR → plan check → merge → rollout → /approve (DEMO_NONINTERACTIVE=1 to exit at the end)
	@./hack/demo.sh

kube-binaries: ## Build the local control plane's binaries into ~/.cache/prdeploy (once per machine, ~11 min)
	@bash hack/kube-binaries.sh >/dev/null

kube-up: ## Start a local control plane in KUBE_DIR (etcd, apiserver, controllers, scheduler, kwok)
	@bash hack/kube-up.sh $(KUBE_DIR)

kube-down: ## Stop the control plane in KUBE_DIR
	@bash hack/kube-down.sh $(KUBE_DIR)

test-kube: kube-binaries ## Only the tests against the real local control plane, verbose
	PRDEPLOY_REAL=required $(GO) test -count=1 -timeout $(TEST_TIMEOUT) -v ./internal/kube/

kube-smoke: ## Start a control plane, roll a Deployment out and change its image, stop
	@bash hack/kube-smoke.sh

clean: ## Remove build output
	rm -rf $(BIN)
