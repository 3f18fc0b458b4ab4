# The two commands of the README (`make demo`, `make test`) and the everyday developer targets.
# Every target installs what it needs first (scripts/setup.sh is idempotent and quick when done).
SHELL := /bin/bash
JOBS ?= $(shell nproc)
RELEASE_BINARIES := mesh-proxy meshd meshctl

.PHONY: all setup build demo test bench fuzz format tidy clean

all: build

setup:
	@bash scripts/setup.sh

# Release binaries, copied to build/bin where the docs point.
build: setup
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS) --target $(RELEASE_BINARIES)
	@mkdir -p build/bin
	@for b in $(RELEASE_BINARIES); do cp -f build/release/bin/$$b build/bin/$$b; done

demo: build
	@bash scripts/demo.sh

# Every test: sanitizer build (unit, integration, fuzz), then the ThreadSanitizer run.
test: setup
	@bash scripts/test.sh

bench: build
	@bash bench/run.sh

# A longer libFuzzer run of every target (FUZZ_SECONDS each).
FUZZ_SECONDS ?= 300
fuzz: setup
	@cmake --preset debug -DMESHD_FUZZ_SECONDS=$(FUZZ_SECONDS) >/dev/null
	@cmake --build --preset debug -j $(JOBS)
	@cd build/debug && ctest -L fuzz --output-on-failure

format:
	@git ls-files '*.cc' '*.h' | xargs clang-format -i

tidy: setup
	@cmake --preset debug >/dev/null
	@git ls-files 'src/*.cc' | xargs clang-tidy -p build/debug --quiet

clean:
	@rm -rf build
