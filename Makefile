# Targets a newcomer can guess. `make run` starts the reference server; `make test` runs the tests;
# `make ci` is what CI runs.

GO        ?= go
ADDR      ?= 127.0.0.1:8080
DATA      ?= ./data
# The race detector needs cgo; without a C compiler Go turns cgo off and the tests run without it.
RACE      := $(if $(filter 1,$(shell $(GO) env CGO_ENABLED)),-race,)
SPECTRAL_VERSION := 6.16.3
TOOLS     := .tools
SPECTRAL  := $(TOOLS)/node_modules/.bin/spectral
BASE_REF  ?=
FUZZTIME  ?= 10s
BENCHSTAT   := $(GO) run golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da
BENCH_COUNT ?= 8
# Tests that move 64 MiB parts, too slow under the race detector: `make test` runs them a second time without it.
NORACE_TESTS := ^(TestAddPart64MiB|TestPartAllocation)$$
BENCH_OUT   ?= $(or $(TMPDIR),/tmp)/uploads-bench.txt

.PHONY: all run test conformance generate check-generated lint lint-go lint-spec bench bench-check bench-e2e bench-server binary-size fuzz mutate ci spec-diff upstream-diff

all: test

## run: start the reference server on the embedded SQLite store (http://$(ADDR)/v1)
run:
	$(GO) run ./cmd/uploads-server -addr $(ADDR) -data $(DATA)

## test: run every test, with the race detector where cgo is available (and the 64 MiB part tests without it)
test:
	$(GO) test $(RACE) -count=1 ./...
	$(if $(RACE),$(GO) test -count=1 -run '$(NORACE_TESTS)' ./server/)

## conformance: check every exchange in EXCHANGES=DIR (default testdata/exchanges) against the spec; prints each failing file and its violations
conformance:
	UPLOADS_EXCHANGES="$(if $(EXCHANGES),$(abspath $(EXCHANGES)))" $(GO) test -count=1 -run '^TestExchanges$$' .

## generate: regenerate gen/ from openapi/uploads.yaml
generate:
	$(GO) generate ./

## check-generated: fail, naming the files, when gen/ is not what openapi/ generates
check-generated:
	bash scripts/check-generated.sh

## lint: gofmt, go vet, staticcheck and the OpenAPI linter (Spectral)
lint: lint-go lint-spec

lint-go:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...

$(SPECTRAL):
	@command -v npm >/dev/null || { echo "npm is needed for the OpenAPI linter (Spectral)"; exit 1; }
	npm install --silent --no-audit --no-fund --no-package-lock --prefix $(TOOLS) @stoplight/spectral-cli@$(SPECTRAL_VERSION)

lint-spec: $(SPECTRAL)
	$(SPECTRAL) lint --fail-severity=warn --ruleset .spectral.yaml openapi/uploads.yaml

## bench: benchmarks of bench/ and server/, ours beside the official SDK and the floors, summarised by benchstat (not part of `make test`; ~4 min)
bench:
	$(GO) test -run='^$$' -bench=. -benchmem -count=$(BENCH_COUNT) ./bench/ ./server/ > $(BENCH_OUT) || { cat $(BENCH_OUT); exit 1; }
	$(BENCHSTAT) -col '/impl@(floor novalidate ours sdk bare)' $(BENCH_OUT)
	@echo "raw results: $(BENCH_OUT)"

## bench-check: fail unless the performance targets of BENCHMARKS.md hold, as ratios measured in one run, end to end included (~1 min)
bench-check:
	UPLOADS_BENCH_ASSERT=1 $(GO) test -count=1 -run='^Test(Server)?Targets$$' -v ./bench/ ./server/
	UPLOADS_BENCH_ASSERT=1 $(GO) test -count=1 -run='^TestCancelRateTarget$$' -v ./store/sqlitestore/
	UPLOADS_BENCH_ASSERT=1 bash scripts/ci-engines.sh $(GO) test -count=1 -run='^TestPostgresTargets$$' -v ./internal/loadbench/
	UPLOADS_BENCH_ASSERT=1 bash scripts/bench-e2e.sh

## binary-size: the size of a five-line client program on this module and on openai-go, and the modules in its go.mod
binary-size:
	bash scripts/binary-size.sh

## bench-server: the server under load (every operation at 1, 16 and 64 clients) on SQLite and on PostgreSQL + S3 with one and two replicas, beside the bare handler, as the tables of BENCHMARKS.md (~10 min)
bench-server:
	UPLOADS_LOAD=1 bash scripts/ci-engines.sh $(GO) test -count=1 -timeout 60m -run='^TestLoad$$' -v ./internal/loadbench/

## bench-e2e: upload a generated 1 GiB file through the built server and client; rate and peak memory of each
bench-e2e:
	bash scripts/bench-e2e.sh

## spec-diff: print the spec's changes since BASE_REF (default: newest v* tag, else the commit that added the spec); fail on breaking ones CHANGELOG.md does not list
spec-diff:
	$(GO) run ./internal/specdiff/cmd/specdiff -base-ref "$(BASE_REF)"

## upstream-diff: compare the spec with the published OpenAPI document UPSTREAM=FILE (saved; .gz too); fail on differences openapi/DIVERGENCES.md does not list
upstream-diff:
	@test -n "$(UPSTREAM)" || { echo "usage: make upstream-diff UPSTREAM=path/to/openapi.yaml[.gz] [EXTRACT=out.yaml] [DOCUMENTATION=1]"; exit 2; }
	$(GO) run ./internal/specdiff/cmd/upstreamdiff -upstream "$(UPSTREAM)" $(if $(EXTRACT),-extract "$(EXTRACT)") $(if $(DOCUMENTATION),-documentation)

## fuzz: run every fuzz target for FUZZTIME each (default 10s); a failing input is saved under testdata/fuzz
fuzz:
	FUZZTIME=$(FUZZTIME) bash scripts/fuzz.sh

## mutate: mutation testing (gremlins) of the client, the server and the SQLite store, one package at a time; not part of ci (see RELIABILITY.md for its time and results)
mutate:
	bash scripts/mutate.sh

## ci: everything CI checks
ci: check-generated lint spec-diff test
