# kodomohub — build and test. `make test` is what CI runs (.ci/run); it needs only Go today.
GO ?= go
PKGS := ./...

.PHONY: all build test vet fmt-check generate fuzz clean

all: build

build:
	$(GO) build -o bin/kodomohub ./cmd/kodomohub

# test checks formatting and vet, then runs every test (store conformance suite, server,
# the R4 examples round trip, the crash test with the real binary).
test: fmt-check vet
	$(GO) test -count=1 -timeout 30m $(PKGS)

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
