# api-operator-istio
SHELL := /usr/bin/env bash -o pipefail
.SHELLFLAGS := -ec

BIN            ?= $(CURDIR)/bin
K8S_VERSION    ?= 1.37.2
ENVTEST_ASSETS ?= $(BIN)/k8s
GO_TEST_FLAGS  ?= -count=1 -timeout 50m
export KUBEBUILDER_ASSETS := $(ENVTEST_ASSETS)
export ENVTEST_K8S_VERSION := $(K8S_VERSION)

.PHONY: all
all: build

##@ Development

.PHONY: manifests
manifests: ## Generate the CRDs (config/crd; test-only Component, ServiceMonitor and PodMonitor CRDs in test/crds) and RBAC (config/rbac) from the Go sources.
	go tool controller-gen crd paths=./api/... output:crd:dir=config/crd/bases
	mv config/crd/bases/oda.tmforum.org_components.yaml test/crds/oda.tmforum.org_components.yaml
	cp config/crd/bases/oda.tmforum.org_exposedapis.yaml charts/api-operator-istio/files/
	tmp=$$(mktemp -d) && go tool controller-gen crd paths=github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1 output:crd:dir=$$tmp \
	  && cp $$tmp/monitoring.coreos.com_servicemonitors.yaml $$tmp/monitoring.coreos.com_podmonitors.yaml test/crds/ && rm -rf $$tmp
	go tool controller-gen webhook paths=./webhooks/... output:webhook:dir=config/webhook
	go tool controller-gen rbac:roleName=api-operator-istio paths=./controllers/... paths=./certs/... paths=./internal/... output:rbac:dir=config/rbac

.PHONY: generate
generate: ## Generate deepcopy code.
	go tool controller-gen object paths=./api/...

.PHONY: fmt
fmt: ## gofmt every Go file.
	gofmt -w $$(git ls-files '*.go')

.PHONY: vet
vet: ## go vet.
	go vet ./...

.PHONY: lint
lint: vet ## gofmt check, go vet and staticcheck (pinned in tools/go.mod, apart from the product's modules).
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed: $$out"; exit 1; fi
	go tool -modfile=tools/go.mod staticcheck ./...

.PHONY: build
build: ## Build bin/api-operator-istio (static, with the Dockerfile's flags).
	CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o $(BIN)/api-operator-istio ./cmd/api-operator-istio

IMG ?= api-operator-istio:dev

.PHONY: docker-build
docker-build: ## Build the container image IMG (needs a Docker engine; none runs on the build machines).
	docker build -t $(IMG) .

##@ Running

.PHONY: demo
demo: envtest-assets ## Run the operator on a local control plane with the samples, until Ctrl-C.
	@# Built, then run: `go run` exits 1 on Ctrl-C even when the demo stops cleanly.
	go build -o $(BIN)/demo ./test/demo/cmd/demo
	$(BIN)/demo --root $(CURDIR) --log $(BIN)/demo-operator.log

##@ Testing

.PHONY: envtest-assets
envtest-assets: ## Put kube-apiserver, etcd and kubectl in bin/k8s (cached; built offline when needed).
	@bash test/tools/envtest-assets.sh $(ENVTEST_ASSETS)

.PHONY: helm
helm: ## Put helm in bin/ (built from its Go module, cached).
	@bash test/tools/helm.sh $(BIN)

.PHONY: test
test: envtest-assets helm lint ## Run every test against a real API server.
	go test $(GO_TEST_FLAGS) ./... 2>&1 | tee $(BIN)/test.log

CHAOS_FLAGS ?= -count=1 -timeout 40m -v

.PHONY: chaos
chaos: envtest-assets ## The fault suite of issue #16 at full size (API server restart, leader failover, expired watch, webhook outage, many-way race, repeated kills); prints a table.
	CHAOS=full go test $(CHAOS_FLAGS) ./test/chaos 2>&1 | tee $(BIN)/chaos.log | grep -vE '^\s+(\{|[0-9]{4}/)'

.PHONY: bench
bench: envtest-assets helm build ## Benchmarks on a local control plane: prints a table, writes test/bench/RESULTS.md.
	go run ./test/bench --root $(CURDIR) $(BENCH_FLAGS)

.PHONY: fuzz
fuzz: ## Fuzz each target for FUZZTIME (default 30s).
	@for t in $$(grep -rhoE '^func (Fuzz[A-Za-z0-9_]+)' --include='*_test.go' . | awk '{print $$2}' | sed 's/(.*//'); do \
	  pkg=$$(grep -rlE "^func $$t\(" --include='*_test.go' . | xargs dirname); \
	  echo "fuzzing $$t in $$pkg"; go test -run=^$$ -fuzz=^$$t$$ -fuzztime=$${FUZZTIME:-30s} $$pkg; done
