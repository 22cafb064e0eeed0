# Tabby: build, test, demo and benchmarks. Every target installs what it needs first.
SHELL := /bin/bash
BENCH ?=
TEST_FILES ?= dist
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)

.PHONY: all deps build test demo bench clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	@tsc -p .
	@node scripts/bundle.mjs
	@if [ -f src/cni/shim/Makefile ]; then $(MAKE) --no-print-directory -C src/cni/shim; fi
	@$(MAKE) -s --no-print-directory -C src/lab/probe
	@$(MAKE) -s --no-print-directory -C src/dataplane/nft-policy/nflog
	@$(MAKE) -s --no-print-directory -C src/bgp/sockopt

# All tests: unit, contract (memory + real etcd, plain and TLS), integration.
test: build
	@node --test --test-concurrency=2 --test-timeout=900000 --test-reporter=spec --test-reporter-destination=stdout \
	  --test-reporter=tap --test-reporter-destination=dist/test-results.tap $(TEST_FILES)
	@tail -n 9 dist/test-results.tap

demo: build
	@scripts/demo.sh

# make bench            every benchmark
# make bench BENCH=ipam one of them
bench: build
	@scripts/bench.sh $(BENCH)

clean:
	rm -rf dist
