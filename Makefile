# kodomohub — build and test. `make test` is what CI runs (.ci/run); it needs only Go today.
GO ?= go
PKGS := ./...

.PHONY: all build test deps vet fmt-check generate fuzz clean

all: build

build:
	$(GO) build -o bin/kodomohub ./cmd/kodomohub

# test checks formatting and vet, then runs every test (store conformance suite, server,
# the R4 examples round trip, the crash test with the real binary, the OpenID end-to-end
# tests against oidc-provider).
test: deps fmt-check vet
	$(GO) test -count=1 -timeout 30m $(PKGS)

# deps installs what the tests need beyond Go: the npm packages of the OpenID provider used
# by the end-to-end tests (Node.js 20 or later must be installed).
deps:
	@if [ ! -d e2e/oidc/node_modules ]; then \
		command -v npm >/dev/null || { echo "npm (Node.js 20+) is needed for the end-to-end tests"; exit 1; }; \
		npm ci --prefix e2e/oidc --no-audit --no-fund; \
	fi

vet:
	$(GO) vet $(PKGS)

fmt-check:
	@out="$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))"; \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# generate rebuilds the tables compiled from the FHIR R4 definitions (needs ../shared).
generate:
	$(GO) generate ./...

# fuzz runs each fuzz target for FUZZTIME (default 30s).
FUZZTIME ?= 30s
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzValidate -fuzztime $(FUZZTIME) ./conformance
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime $(FUZZTIME) ./fhir

clean:
	rm -rf bin
