# memwall: build, test, benchmark, serve.
#
#   make serve      build, install the kernelspec, start a notebook server on notebooks/
#   make test       everything CI runs (installs missing Debian packages first)
#   make bench      kernel benchmarks and the decoding ladder on stories110M-shape weights

SHELL := /bin/bash
GO ?= go
BIN := bin/memwall
PORT ?= 8888
export PATH := $(CURDIR)/bin:$(PATH)

.PHONY: all build deps test test-arm64 test-classroom test-jupyterlab fuzz lint lint-self-contained notebooks serve bench bench-kernels bench-ladder clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/memwall

deps:
	@bash scripts/deps.sh

lint: lint-self-contained
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# The project works from a clone with nothing beside it: no tracked file
# outside docs/ may name the team's directory next to the checkout (the
# pattern is split so that this Makefile does not match itself).
lint-self-contained:
	@pat='../''shared'; \
	  files=$$(git ls-files -- . ':!docs' 2>/dev/null || find . -type f -not -path './.git/*' -not -path './docs/*'); \
	  hits=$$(printf '%s\n' $$files | xargs -r grep -IlF -- "$$pat" 2>/dev/null); \
	  if [ -n "$$hits" ]; then echo "files outside docs/ refer to $$pat (the project must not depend on it):"; echo "$$hits"; exit 1; fi

test: deps lint build
	$(GO) test -race -timeout 20m ./...
	$(MAKE) test-arm64
	$(MAKE) fuzz
	$(MAKE) test-classroom

# JupyterHub with USERS students on loopback, each with a real single-user
# server and a memwall kernel (needs root; see docs/reliability.md), and the
# container recipe's static binary.
USERS ?= 8
test-classroom: build
	/usr/bin/python3 tests/classroom/classroom.py --binary $(BIN) --users $(USERS)
	/usr/bin/python3 tests/classroom/bigcell.py --binary $(BIN)
	bash deploy/check.sh

# The JupyterLab browser test alone (it also runs in `go test ./...`):
# builds or reuses the fixture, screenshots in $(MEMWALL_ARTIFACTS) or a
# temporary directory named in the log.
test-jupyterlab: deps
	$(GO) test -count=1 -v -timeout 10m ./tests/jupyterlab/

# Every fuzz target for a short, bounded time (FUZZTIME each); a crash fails.
FUZZTIME ?= 10s
fuzz:
	FUZZTIME=$(FUZZTIME) bash scripts/fuzz.sh

# The arm64 build (NEON kernels included) under qemu-user.
test-arm64:
	GOARCH=arm64 $(GO) vet ./asm/ ./engine/
	GOARCH=arm64 $(GO) test -short -timeout 20m -exec qemu-aarch64-static ./asm/ ./engine/

# Re-execute every notebook in place with the memwall kernel, keeping outputs.
notebooks: build
	bash scripts/notebooks.sh

serve: deps build
	bash scripts/serve.sh $(PORT)

bench: build bench-kernels bench-ladder

bench-kernels:
	$(GO) test -run '^$$' -bench . -benchtime 20x ./asm/

bench-ladder: build
	bash scripts/ladder.sh

clean:
	rm -rf bin
