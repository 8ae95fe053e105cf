# kodomohub — build and test. `make test` is what CI runs (.ci/run); it needs only Go today.
GO ?= go
PKGS := ./...

.PHONY: all build test test-hidden test-oracle deps vet fmt-check generate fuzz clean

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

# fuzz runs every fuzz target of every package (go test -list finds them, so a new decoder's
# target runs without being named here) for FUZZTIME each (default 30s).
FUZZTIME ?= 30s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			echo "== $$pkg $$f"; \
			$(GO) test -run '^$$' -fuzz "^$$f\$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
		done; \
	done

# test-hidden runs the "same answer with and without hidden resources" property test with
# HIDDEN_QUERIES random queries for every kind of caller on both backends, and the writes of
# every caller on MongoDB too (make test runs fewer on MongoDB). About 25 minutes at 60.
HIDDEN_QUERIES ?= 60
test-hidden:
	KODOMOHUB_TEST_HIDDEN_QUERIES=$(HIDDEN_QUERIES) $(GO) test -count=1 -timeout 60m -run TestHiddenResourcesChangeNoAnswer ./server

# test-oracle runs the search oracle of the store suite at its full size (600 random queries
# over about 1,200 resources) on both backends; make test runs it small on the embedded
# FerretDB. ORACLE_QUERIES sets the number of queries.
ORACLE_QUERIES ?= 600
test-oracle:
	KODOMOHUB_TEST_ORACLE=full KODOMOHUB_ORACLE_QUERIES=$(ORACLE_QUERIES) $(GO) test -count=1 -timeout 120m -run 'TestConformance/Search/Oracle' ./store/sqlite ./store/mongo

clean:
	rm -rf bin
